"""The app in a real browser: Chromium (Playwright) against `streamlit run app.py` on loopback.

What AppTest cannot see is checked here: the heatmap's tick labels as the browser draws them (Hangul
included), the Step-through buttons and the what-if force, every page of the sidebar without an exception
box, two browser sessions that keep their own state, and user text that must stay text (no script runs,
no element is injected). The expected tokens and translations come from the library itself, loaded from
the same tiny checkpoint the server reads. Screenshots go to test-artifacts/ (ignored by git).

The server reads the two tiny checkpoints that `tests/conftest.py` trains (`checkpoints_dir`), never the
shipped models. Chromium is the system one (`make browser-deps` installs it with apt); `playwright install`
is never needed. A missing browser or a server that does not start fails the run; the only way to skip
this module is to set SEQ2SEQ_SKIP_BROWSER=1 explicitly. (No conftest.py here on purpose: a second
`conftest` module would shadow `from conftest import ...` in the tests one folder up.)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("SEQ2SEQ_SKIP_BROWSER", "") == "1",
    reason="SEQ2SEQ_SKIP_BROWSER=1: real-browser tests skipped on request",
)

try:  # an explicit skip must work even where playwright is not installed
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # pragma: no cover - the browser fixture fails with the reason
    Locator = Page = None  # type: ignore[assignment,misc]
    expect = None  # type: ignore[assignment]

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
    "Model card": ("Model card", 2),
}


# --------------------------------------------------------------------------- server and browser
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def app_url(checkpoints_dir: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port over the tiny checkpoints; killed (whole group) after."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = ARTIFACTS / "e2e-streamlit-server.log"
    env = {
        **os.environ,
        "SEQ2SEQ_CHECKPOINTS": str(checkpoints_dir),
        "OMP_NUM_THREADS": "1",  # the machine is shared: keep the model's CPU use modest
        "MKL_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _healthy(url):
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
        yield url
    finally:
        _stop(proc)


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
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except Exception as exc:  # noqa: BLE001 - any launch failure is a hard failure with its reason
            pytest.fail(f"cannot launch Chromium at {executable}: {exc}", pytrace=False)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser):
    """A factory of fresh browser contexts (separate cookies and Streamlit sessions), all closed afterwards."""
    contexts = []

    def make():
        context = browser.new_context(viewport=VIEWPORT, locale="en-US", device_scale_factor=1)
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
    """The library's greedy translations of the sentences the tests type, the app's defaults."""
    results = {s: translator.translate(s, beam_size=1) for s in (SENTENCE_A, SENTENCE_B, EVIL)}
    assert results[SENTENCE_A].text != results[SENTENCE_B].text, "the two test sentences must differ"
    return results


# --------------------------------------------------------------------------- browser helpers
def open_page(new_context, dialogs: list[str], errors: list[str]) -> Page:
    """A page in a fresh context (its own Streamlit session) that records dialogs and JS errors."""
    page = new_context().new_page()

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


def sentence_box(page: Page) -> Locator:
    return main(page).get_by_role("textbox", name="English sentence", exact=True)


def translate(page: Page, sentence: str, *, wait: bool = True) -> None:
    """Type the sentence and press Translate, as a person would."""
    box = sentence_box(page)
    box.fill(sentence)
    main(page).get_by_role("button", name="Translate", exact=True).click()
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


def expect_ticks(plot: Locator, x: list[str] | None = None, y: list[str] | None = None) -> None:
    """Tick labels as drawn (SVG text), in axis order; Plotly shows escaped tokens such as `</s>` literally."""
    if x is not None:
        expect(plot.locator(".xtick text")).to_have_text(x, timeout=RUN_TIMEOUT_MS)
    if y is not None:
        expect(plot.locator(".ytick text")).to_have_text(y, timeout=RUN_TIMEOUT_MS)


def expect_translation(page: Page, text: str) -> None:
    expect(main(page).get_by_text(text, exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)


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


# --------------------------------------------------------------------------- tests
def test_home_heatmap_ticks_are_the_model_tokens(app_url, new_context, dialogs, js_errors, expected):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, app_url)
    expect(
        page.get_by_role("heading", level=1, name=re.compile("Seq2Seq Attention Explorer"))
    ).to_be_visible()
    translate(page, SENTENCE_A)
    result = expected[SENTENCE_A]
    expect_translation(page, result.text)
    expect(main(page)).to_contain_text(f"{MODEL} · model time")  # the default (first) checkpoint
    heatmap = chart(page, "which source tokens each target token drew on")
    expect(heatmap).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    expect_ticks(heatmap, x=result.src_tokens, y=result.tgt_tokens)
    assert any(
        "\uac00" <= ch <= "\ud7a3" for ch in "".join(heatmap.locator(".ytick text").all_text_contents())
    )
    expect_no_exception(page)
    shot(page, "e2e-home-translated")


def test_step_through_next_and_force(app_url, new_context, dialogs, js_errors, translator):
    from seq2seq import analysis

    page = open_page(new_context, dialogs, js_errors)
    goto(page, f"{app_url}/Step_through")
    expect(page.get_by_role("heading", level=1, name=re.compile("Step through"))).to_be_visible()
    translate(page, SENTENCE_A)
    expect(main(page).get_by_text("Nothing decoded yet")).to_be_visible(timeout=RUN_TIMEOUT_MS)

    steps = 3
    for n in range(1, steps + 1):
        main(page).get_by_role("button", name="Next ▶").click()
        expect(main(page).get_by_role("heading", name=re.compile(rf"^Step {n}: wrote"))).to_be_visible(
            timeout=RUN_TIMEOUT_MS
        )
        settle(page)
    expect(main(page).get_by_text(f"{steps} tokens so far", exact=False)).to_be_visible()

    # the library, stepped the same way, says what the page must show
    session = translator.start(SENTENCE_A, 5)
    for _ in range(steps):
        session.step()
    step = session.steps[-1]
    taken = session.pieces([step.token])[0]
    bars = chart(page, f"Step {steps}: energies e and weights α")
    expect(bars).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    expect(bars).to_contain_text("energies e_ij")
    expect(bars).to_contain_text("weights α_ij")
    expect(bars.locator(".bars .point").first).to_be_attached()
    expect(bars.locator(".x2tick text")).to_have_text(session.src_tokens)  # the lower (α) subplot
    expect(chart(page, "Next-token probabilities")).to_have_count(1)
    expect(main(page).get_by_role("heading", name=f"Step {steps}: wrote “{taken}”")).to_be_visible()
    shot(page, "e2e-step-through-step3")

    # force a different top-k token: the first one whose greedy continuation differs
    options = session.pieces(step.top_ids)
    whatif = None
    for token in options:
        if token == taken or token == "</s>":
            continue
        trial = translator.start(SENTENCE_A, 5)
        for _ in range(steps):
            trial.step()
        candidate = analysis.force_at(trial, steps - 1, token, None)
        if candidate.forced.text != candidate.original.text:
            whatif = candidate
            break
    assert whatif is not None, f"no top-k token changes the continuation: {options}"

    picker = main(page).locator('[data-testid="stSelectbox"]').filter(has_text="Force one of the top-k")
    expect(picker).to_have_count(1)
    click_in_view(picker.get_by_role("button", name="Open"))
    expect(page.get_by_role("option")).to_have_text(options)  # the top-k of this step, likeliest first
    page.get_by_role("option", name=whatif.forced_token, exact=True).click()
    expect(picker.get_by_role("combobox")).to_have_value(whatif.forced_token)
    settle(page)
    main(page).get_by_role("button", name="Force", exact=True).click()
    expect(main(page).get_by_text(f"At step {steps}:", exact=False)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    expect(
        main(page).get_by_text(f"At step {steps}: {whatif.original_token} → {whatif.forced_token}")
    ).to_be_visible()
    expect_translation(page, whatif.original.text)
    expect_translation(page, whatif.forced.text)
    assert whatif.forced.text != whatif.original.text
    forced_map = chart(page, "Forced")
    expect(forced_map).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    expect_ticks(forced_map, y=whatif.forced.tgt_tokens)
    expect_ticks(chart(page, "Original (greedy)"), y=whatif.original.tgt_tokens)
    expect_no_exception(page)
    shot(page, "e2e-step-through-forced")


def test_every_page_renders_without_exception(app_url, new_context, dialogs, js_errors, expected):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, app_url)
    translate(page, SENTENCE_A)
    expect_translation(page, expected[SENTENCE_A].text)
    expect_no_exception(page)
    shot(page, "e2e-page-home")

    for label, (title, charts) in PAGES.items():
        nav(page, label, title)
        expect_no_exception(page)
        expect(main(page).get_by_role("heading").first).to_be_visible()
        box = sentence_box(page)
        if box.count():  # the sentence is shared by every page that has the box
            expect(box).to_have_value(SENTENCE_A)
        if charts:
            expect(main(page).locator(".js-plotly-plot").nth(charts - 1)).to_be_attached(
                timeout=RUN_TIMEOUT_MS
            )
        if label in ("Translate", "Beam search", "Compare"):
            expect_translation(page, expected[SENTENCE_A].text)
        if label == "Error analysis":  # pick the worst test sentence: its heatmap and coverage appear
            select_first_row(main(page).locator('[data-testid="stDataFrame"]').first)
            expect(main(page).get_by_role("heading", name="Selected sentence")).to_be_visible(
                timeout=RUN_TIMEOUT_MS
            )
            settle(page)
            expect(chart(page, "flagged source tokens")).to_have_count(1, timeout=RUN_TIMEOUT_MS)
            expect(main(page).locator(".js-plotly-plot")).to_have_count(2)
        expect_no_exception(page)
        shot(page, f"e2e-page-{label.lower().replace(' ', '-')}")


def test_two_browser_sessions_keep_their_own_state(app_url, new_context, dialogs, js_errors, expected):
    first, second = (open_page(new_context, dialogs, js_errors) for _ in range(2))
    for page in (first, second):
        goto(page, f"{app_url}/Translate")
    # both act before either waits: the two sessions' runs interleave on the server
    translate(first, SENTENCE_A, wait=False)
    translate(second, SENTENCE_B, wait=False)
    for page, sentence in ((first, SENTENCE_A), (second, SENTENCE_B)):
        settle(page)
        result = expected[sentence]
        expect_translation(page, result.text)
        expect_ticks(chart(page, HEATMAP_TITLE), x=result.src_tokens, y=result.tgt_tokens)

    # each session reruns after the other acted, and still has its own sentence and translation
    translate(second, SENTENCE_B)
    translate(first, SENTENCE_A)
    for page, sentence, other in ((first, SENTENCE_A, SENTENCE_B), (second, SENTENCE_B, SENTENCE_A)):
        click_in_view(
            main(page).get_by_text("Word level", exact=True)
        )  # a rerun that reads the session's state only
        settle(page)
        expect(page.get_by_text("Attention α_ij (word level)")).to_be_visible(timeout=RUN_TIMEOUT_MS)
        expect(sentence_box(page)).to_have_value(sentence)
        expect_translation(page, expected[sentence].text)
        expect(main(page).get_by_text(expected[other].text, exact=True)).to_have_count(0)
        expect_no_exception(page)
    shot(first, "e2e-session-1")
    shot(second, "e2e-session-2")


def test_html_in_the_sentence_stays_text(app_url, new_context, dialogs, js_errors, expected):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, f"{app_url}/Translate")
    translate(page, EVIL)
    result = expected[EVIL]
    expect_translation(page, result.text)
    heatmap = chart(page, HEATMAP_TITLE)
    expect_ticks(heatmap, x=result.src_tokens, y=result.tgt_tokens)  # `<unk>` and `</s>` drawn literally
    main(page).get_by_text("Tokens", exact=True).click()
    expect(main(page).get_by_text(f"normalised input: {EVIL}", exact=True)).to_be_visible()
    shot(page, "e2e-html-injection-translate")

    for label, (title, _) in PAGES.items():  # every page shows the shared sentence in its own way
        nav(page, label, title)
        expect_no_exception(page)
    nav(page, "Step through", "Step through")
    main(page).get_by_role("button", name=re.compile("Run to end")).click()
    expect(main(page).get_by_role("heading", name=re.compile(r"^Step \d+: wrote"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    settle(page)
    shot(page, "e2e-html-injection-step-through")

    expect(page.locator("img[src='x']")).to_have_count(0)
    expect(page.locator("[data-testid='stMain'] script")).to_have_count(0)
    expect_no_exception(page)
    assert dialogs == []
