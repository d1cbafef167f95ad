"""Timing a Streamlit page in Chromium, for the classroom benchmarks: wait for a run to settle, translate,
and time a click from the click to the frame that shows its result and to the settled page."""

from __future__ import annotations

import statistics

TIMEOUT_MS = 120_000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median_ms": statistics.median(values),
        "p95_ms": p95(values),
        "max_ms": max(values),
    }


# The run is over and no element is stale: every figure of the last click has been redrawn
SETTLED = (
    "document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') === 'notRunning'"
    " && !document.querySelector('[data-stale=\"true\"]')"
)


STATE = (
    "() => [document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state'),"
    " [...document.querySelectorAll('[data-stale=\"true\"]')].map(e => (e.innerText || '').slice(0, 60))]"
)


def wait_settled(page) -> None:
    try:
        page.wait_for_function(f"() => {SETTLED}", timeout=TIMEOUT_MS)
    except Exception as error:  # say what never settled: the script state and the stale elements
        raise RuntimeError(f"the page did not settle: {page.evaluate(STATE)}") from error


def translate_on(page, sentence: str) -> None:
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("textbox", name="English sentence", exact=True).fill(sentence)
    main.get_by_role("button", name="Translate", exact=True).click()
    page.wait_for_timeout(200)
    wait_settled(page)


# Clicks the element in the page and checks every animation frame: from the click event to the frame that
# shows the result, and to the frame where the run is over and nothing is stale (every figure redrawn).
# Playwright's own click and waits add its actionability checks and polling round trips, which a person
# clicking does not wait for.
CLICK_AND_TIME = """(element, [kind, text]) => new Promise((resolve, reject) => {
  const has = (selector, test) => [...document.querySelectorAll(selector)].some(e => test((e.innerText || e.textContent || '').trim()));
  const shows = () => kind === 'heading' ? has('[data-testid="stMain"] h3', t => t.startsWith(text))
    : kind === 'plot' ? has('[data-testid="stMain"] .js-plotly-plot', t => t.includes(text))
    : has('[data-testid="stMain"] [data-testid="stMarkdownContainer"]', t => t.startsWith(text));
  const t0 = performance.now();
  let shown = null;
  const check = () => {
    const now = performance.now() - t0;
    if (shown === null && shows()) shown = now;
    if (shown !== null && (SETTLED)) { resolve([shown, now]); return; }
    if (now > TIMEOUT) { reject(new Error('no ' + kind + ' ' + text + ' after the click')); return; }
    requestAnimationFrame(check);
  };
  element.click();
  requestAnimationFrame(check);
})""".replace("TIMEOUT", str(TIMEOUT_MS)).replace("SETTLED", SETTLED)


def timed(page, target, kind: str, text: str) -> tuple[float, float]:
    """Milliseconds from a click on `target` (a locator) to its result showing (`kind`: a step heading, a
    line of text or a figure, starting with or holding `text`), and to the page settled."""
    target.wait_for(timeout=TIMEOUT_MS)
    shown, settled = target.evaluate(CLICK_AND_TIME, [kind, text])
    wait_settled(page)
    return shown, settled


CLASS_SENTENCES = [
    "How are you?", "I love you.", "Thank you very much.", "The weather is nice today.",
    "Where is the train station?", "Click the Save button.", "Select the cells that you want to merge.",
    "Choose Format - Cells.", "Open a new document.", "Close the dialog.",
]  # fmt: skip
