"""The real-browser harness: `streamlit run serve.py` (the app and the light page) on loopback, Debian Chromium through Playwright, helpers.

The server reads the two tiny checkpoints that `tests/conftest.py` trains (`checkpoints_dir`), never the
shipped models. Chromium is the system one (`make browser-deps` installs it with apt); `playwright install`
is never needed. A missing browser or a server that does not start fails the run; the only way to skip
the browser tests is to set SEQ2SEQ_SKIP_BROWSER=1 explicitly. Starting and stopping the server is shared with
`bench app` and the screenshot script (`bench/local_app.py`). Test modules import the fixtures they use
from here. (Not a conftest.py on purpose: a second `conftest` module would shadow `from conftest import
...` in the tests one folder up.)
"""

from __future__ import annotations

import html
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import local_app
from seq2seq.viz.style import ZERO_WIDTH

pytestmark = pytest.mark.skipif(
    os.environ.get("SEQ2SEQ_SKIP_BROWSER", "") == "1",
    reason="SEQ2SEQ_SKIP_BROWSER=1: real-browser tests skipped on request",
)

try:  # an explicit skip must work even where playwright is not installed
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # pragma: no cover - the browser fixture fails with the reason
    Locator = Page = None  # type: ignore[assignment,misc]
    expect = None  # type: ignore[assignment]
    PlaywrightError = Exception  # type: ignore[assignment,misc]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
MODEL = "tiny-additive"
SENTENCE_A = "the user opens the file ."
SENTENCE_B = "the macro deletes the chart again ."
EVIL = "<script>alert(1)</script> <img src=x onerror=alert(1)>"
RUN_TIMEOUT_MS = 60_000  # one Streamlit rerun, model included, on a busy 2-core machine
MAX_SHOT_HEIGHT = 9_000
ROW_MARKER_X, HEADER_HEIGHT, ROW_HEIGHT = 18, 35, 35  # st.dataframe's grid geometry, in CSS pixels

HEATMAP_TITLE = "Attention α_ij"
PAGES = {  # sidebar label -> (a word of its h1 title, plotly charts expected for the shared sentence)
    "Translate": ("Translate", 1),
    "Step through": ("Step through", 0),
    "Beam search": ("Beam search", 2),
    "Compare": ("Attention vs fixed context", 2),
    "Error analysis": ("Error analysis", 0),
    "Training": ("Training", 1),
    "Model card": ("Model card", 2),
}
# Buttons and labels whose text the browser had to cut (an ellipsis or hidden overflow): none may be
CUT_OFF = """() => {
  const cut = e => { const s = getComputedStyle(e);
    return e.scrollWidth > e.clientWidth + 1 && (s.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(s.overflowX)); };
  return [...document.querySelectorAll('[data-testid="stAppViewContainer"] *')]
    .filter(e => e.offsetParent !== null && e.children.length === 0 && e.innerText && e.innerText.trim())
    .filter(e => e.getBoundingClientRect().width > 2)
    .filter(e => [e, e.parentElement, e.parentElement?.parentElement].some(x => x && cut(x)))
    .map(e => e.innerText.trim().slice(0, 60)); }"""

# Plotly does not wrap: a figure title or subplot title (an annotation) wider than its chart runs past the
# chart's edge, where the page cuts it. The texts that do, each with the chart's own title.
PLOT_TEXT_CUT = """() => [...document.querySelectorAll('[data-testid="stAppViewContainer"] .js-plotly-plot')]
  .filter(p => p.offsetParent !== null)
  .flatMap(p => { const box = p.getBoundingClientRect();
    return [...p.querySelectorAll('.gtitle, .annotation-text')]
      .filter(t => { const r = t.getBoundingClientRect(); return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1); })
      .map(t => t.textContent.trim().slice(0, 60)); })"""


# --------------------------------------------------------------------------- server and browser
SERVER_START_TIMEOUT_S = 90
VIEWPORT = {"width": 1400, "height": 1000}


def chromium_path() -> str:
    """The system Chromium; fails loudly (with the fix) when it is missing."""
    for candidate in (
        os.environ.get("SEQ2SEQ_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "Chromium not found: run `make browser-deps` (apt-get install chromium fonts-nanum), point "
        "SEQ2SEQ_CHROMIUM at a Chromium binary, or set SEQ2SEQ_SKIP_BROWSER=1 to skip the browser tests.",
        pytrace=False,
    )


@dataclass
class Server:
    url: str
    pid: int  # the Streamlit server process (python), for its memory
    log: Path  # its stdout and stderr
    proc: object = None  # the running server (subprocess.Popen)
    env: dict | None = None

    def rss_mb(self) -> float:
        return local_app.rss_mb(self.pid)

    def restart(self) -> None:
        """Stop the server and start it again on the same port with the same environment (and so the
        same lesson store): the pages open in the browsers reconnect by themselves."""
        local_app.stop(self.proc)
        port = int(self.url.rsplit(":", 1)[1])
        with open(self.log, "a", encoding="utf-8") as log:
            log.write("\n--- restarted ---\n")
            log.flush()
            self.proc = local_app.start(port, log, self.env)
        self.pid = self.proc.pid
        _wait_healthy(self.proc, self.url, self.log)


def _wait_healthy(proc, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not local_app.healthy(url):
        if proc.poll() is not None:
            pytest.fail(
                f"the Streamlit server exited with code {proc.returncode}:\n"
                f"{log_path.read_text(encoding='utf-8')[-3000:]}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"the Streamlit server did not answer {url}/_stcore/health within "
                f"{SERVER_START_TIMEOUT_S} s:\n{log_path.read_text(encoding='utf-8')[-3000:]}",
                pytrace=False,
            )
        time.sleep(0.5)


@pytest.fixture(scope="module")
def server(checkpoints_dir: Path, request, tmp_path_factory) -> Iterator[Server]:
    """`streamlit run serve.py` on a free loopback port over the tiny checkpoints, with a lesson store of its
    own (it outlives a `restart`); killed (whole group) after."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = local_app.free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = ARTIFACTS / f"e2e-streamlit-server-{request.module.__name__}.log"
    env = {
        **os.environ,
        "SEQ2SEQ_CHECKPOINTS": str(checkpoints_dir),
        "SEQ2SEQ_LESSONS": str(tmp_path_factory.mktemp("lessons") / "lessons.sqlite3"),
        "OMP_NUM_THREADS": "1",  # the machine is shared: keep the model's CPU use modest
        "MKL_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "w", encoding="utf-8") as log:
        proc = local_app.start(port, log, env)
    running = Server(url, proc.pid, log_path, proc, env)
    try:
        _wait_healthy(proc, url, log_path)
        yield running
    finally:
        local_app.stop(running.proc)


@pytest.fixture(scope="module")
def app_url(server: Server) -> str:
    return server.url


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; each test opens its own contexts (= browser sessions)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - requirements-dev.txt pins it
        pytest.fail(
            f"playwright is not installed ({exc}); pip install -r requirements-dev.txt", pytrace=False
        )
    executable = chromium_path()
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=executable, headless=True, args=local_app.CHROMIUM_ARGS
            )
        except Exception as exc:  # noqa: BLE001 - any launch failure is a hard failure with its reason
            pytest.fail(f"cannot launch Chromium at {executable}: {exc}", pytrace=False)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser):
    """A factory of fresh browser contexts (separate cookies and Streamlit sessions), all closed afterwards."""
    contexts = []

    def make(viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or VIEWPORT, locale="en-US", device_scale_factor=1)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


# --------------------------------------------------------------------------- expected values from the library
@pytest.fixture(scope="module")
def translator(checkpoints_dir):
    from seq2seq import load_translator

    return load_translator(checkpoints_dir / MODEL, device="cpu")


@pytest.fixture(scope="module")
def expected(translator):
    """The library's translations of the sentences the tests type, at the app's default search (the beam)."""
    from seq2seq.decoding import APP_SEARCH

    results = {s: translator.translate(s, APP_SEARCH) for s in (SENTENCE_A, SENTENCE_B, EVIL)}
    assert results[SENTENCE_A].text != results[SENTENCE_B].text, "the two test sentences must differ"
    return results


# --------------------------------------------------------------------------- browser helpers
def open_page(new_context, dialogs: list[str], errors: list[str], viewport: dict | None = None) -> Page:
    """A page in a fresh context (its own Streamlit session) that records dialogs and JS errors."""
    page = new_context(viewport).new_page()

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def settle(page: Page, timeout: int = RUN_TIMEOUT_MS) -> None:
    """Wait until Streamlit has finished the current run: connected, script not running, nothing stale."""
    page.wait_for_timeout(250)  # let a rerun that a click just requested begin
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app
                && app.getAttribute('data-test-connection-state') === 'CONNECTED'
                && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-testid="stStatusWidget"]')
                && !document.querySelector('[data-stale="true"]');
        }""",
        timeout=timeout,
        polling=100,
    )


def goto(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("heading", level=1).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)


def nav(page: Page, label: str, title: str) -> None:
    """Click a page in the sidebar navigation and wait for its title."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=re.compile(re.escape(title)))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    settle(page)


def main(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"]')


def sentence_box(page: Page, label: str = "English sentence") -> Locator:
    return main(page).get_by_role("textbox", name=label, exact=True)


def translate(
    page: Page,
    sentence: str,
    *,
    wait: bool = True,
    label: str = "English sentence",
    button: str = "Translate",
) -> None:
    """Type the sentence and press Translate, as a person would."""
    box = sentence_box(page, label)
    box.fill(sentence)
    main(page).get_by_role("button", name=button, exact=True).click()
    if wait:
        settle(page)


def click_in_view(target: Locator) -> None:
    """Scroll the target to the middle at once, then click. Streamlit's main column scrolls smoothly, and a
    popover (a selectbox's list) opened by a click during that scroll closes again when the scroll ends."""
    target.evaluate("e => e.scrollIntoView({block: 'center', behavior: 'instant'})")
    target.click()


def select_first_row(table: Locator) -> None:
    """Click the row-selection column of a dataframe's first row (the grid is a canvas: click by position)."""
    table.evaluate("e => e.scrollIntoView({block: 'center', behavior: 'instant'})")
    expect(table.locator("[role=gridcell]").first).to_be_attached(timeout=RUN_TIMEOUT_MS)  # data loaded
    box = table.bounding_box()
    table.page.mouse.click(box["x"] + ROW_MARKER_X, box["y"] + HEADER_HEIGHT + ROW_HEIGHT / 2)


def chart(page: Page, title: str) -> Locator:
    """The Plotly chart whose title (SVG text) contains `title`."""
    return main(page).locator(".js-plotly-plot").filter(has_text=title)


def token_labels_drawn(plot: Locator, tokens: list[str], axis: str = "x") -> tuple[bool, object]:
    """Whether a source-token axis shows `tokens`: the figure has one column per token, in order, and the
    labels drawn are every k-th token from the first (Plotly thins them where the plot is too narrow for
    all; a repeat carries zero-width spaces, `viz.style.token_categories`). Plotly shows escaped `</s>` literally."""
    try:
        name = "xaxis" + axis[1:]  # "x" -> xaxis, "x2" -> xaxis2
        columns = plot.evaluate(f"el => el.layout.{name}.categoryarray", timeout=1_000)
        drawn = plot.locator(f".{axis}tick text").all_text_contents()
    except PlaywrightError as exc:  # the chart is being redrawn
        return False, exc
    plain = [html.unescape(re.sub(r"<[^>]+>", "", c)).replace(ZERO_WIDTH, "") for c in columns or []]
    drawn = [text.replace(ZERO_WIDTH, "") for text in drawn]
    shown = plain == tokens and any(drawn == tokens[::k] for k in range(1, len(tokens) + 1))
    return shown, {"columns": plain, "drawn": drawn}


def expect_ticks(
    plot: Locator, x: list[str] | None = None, y: list[str] | None = None, x_axis: str = "x"
) -> None:
    """Token labels as drawn (SVG text), in axis order: source tokens on `x_axis` (see `token_labels_drawn`),
    every target token on y."""
    if x is not None:
        deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
        while not (found := token_labels_drawn(plot, x, x_axis))[0]:
            assert time.monotonic() < deadline, f"the {x_axis} axis never showed the tokens {x}: {found[1]}"
            time.sleep(0.2)
    if y is not None:
        expect(plot.locator(".ytick text")).to_have_text(y, timeout=RUN_TIMEOUT_MS)


def press_next(page: Page, steps: int) -> None:
    """Step through: press Next `steps` times, each time until its step is drawn."""
    for n in range(1, steps + 1):
        main(page).get_by_role("button", name="Next ▶").click()
        expect(main(page).get_by_role("heading", name=re.compile(rf"^Step {n}: wrote"))).to_be_visible(
            timeout=RUN_TIMEOUT_MS
        )
        settle(page)


def expect_translation(page: Page, text: str) -> None:
    """The translation shown big: the same text also sits in the n-best grid's hidden cells (the beam)."""
    shown = main(page).get_by_text(text, exact=True).filter(visible=True).first
    expect(shown).to_be_visible(timeout=RUN_TIMEOUT_MS)


def expect_no_exception(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def shot(page: Page, name: str) -> Path:
    """A screenshot of the whole page: the viewport grows to the main column's scroll height, then shrinks back."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...['stMain', 'stSidebarContent'].map(id => "
        '(document.querySelector(`[data-testid="${id}"]`) || {scrollHeight: 0}).scrollHeight))'
    )
    page.set_viewport_size(
        {"width": size["width"], "height": int(min(max(height, size["height"]), MAX_SHOT_HEIGHT))}
    )
    try:
        page.wait_for_timeout(200)  # one layout pass at the new size
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def js_errors() -> list[str]:
    return []


@pytest.fixture(autouse=True)
def _no_dialogs_or_js_errors(dialogs, js_errors):
    """Every test: no alert/confirm/prompt fired and no uncaught JavaScript error in any page."""
    yield
    assert dialogs == [], f"a dialog fired: {dialogs}"
    assert js_errors == [], f"uncaught JavaScript errors: {js_errors}"
