"""App cold start and server memory on the shipped default checkpoint, in Debian Chromium.

Cold start: from `streamlit run app.py` (process start) to the home page's attention heatmap visible in
Chromium (Playwright waits for `.js-plotly-plot`). The browser is already open, as a user's would be.
Memory: the server's resident set (VmRSS) once that heatmap is up, and after more translations on the
Translate page.

    python -m bench app [--runs 3] [--translations 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

from . import local_app

TIMEOUT_MS = 120_000
SENTENCES = [  # the software-documentation domain of the corpus
    "Click the Save button to save the document.",
    "Select the cells that you want to merge.",
    "Choose Format - Cells and click the Borders tab.",
    "Enter the number of rows of labels that you want to have on your page.",
    "To insert a new sheet, right-click the sheet tab and choose Insert Sheet.",
]


def one_run(browser, translations: int) -> dict:
    """Start a server, time the first heatmap, then translate on the Translate page and read memory."""
    port = local_app.free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = local_app.start(port)
    try:
        while not local_app.healthy(url):
            if proc.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError("the Streamlit server did not start")
            time.sleep(0.05)
        healthy = time.perf_counter() - started
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=TIMEOUT_MS)
        first_heatmap = time.perf_counter() - started
        row = {
            "server_up_s": healthy,
            "first_heatmap_s": first_heatmap,
            "rss_mb_first": local_app.rss_mb(proc.pid),
        }
        if translations:
            page.goto(f"{url}/translate", wait_until="domcontentloaded", timeout=TIMEOUT_MS)
            box = page.get_by_role("textbox", name="English sentence", exact=True)
            box.wait_for(timeout=TIMEOUT_MS)
            peak = row["rss_mb_first"]
            for n in range(translations):
                text = f"{SENTENCES[n % len(SENTENCES)]} ({n})"  # each one new: no cache hit
                box.fill(text)
                page.get_by_role("button", name="Translate", exact=True).click()
                page.wait_for_timeout(200)
                page.wait_for_function(
                    "() => document.querySelector('[data-testid=\"stApp\"]')"
                    "?.getAttribute('data-test-script-state') === 'notRunning'",
                    timeout=TIMEOUT_MS,
                )
                peak = max(peak, local_app.rss_mb(proc.pid))
            row.update(rss_mb_after=local_app.rss_mb(proc.pid), rss_mb_peak=peak, translations=translations)
        page.close()
        return row
    finally:
        local_app.stop(proc)


def run(runs: int, translations: int) -> dict:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=local_app.CHROMIUM_ARGS
        )
        try:
            for r in range(runs):
                rows.append(one_run(browser, translations if r == runs - 1 else 0))
                print(f"cold start {r + 1}/{runs}: {rows[-1]}")
        finally:
            browser.close()
    return {
        "runs": rows,
        "first_heatmap_s_median": statistics.median(r["first_heatmap_s"] for r in rows),
        "server_up_s_median": statistics.median(r["server_up_s"] for r in rows),
        "rss_mb_first": rows[-1]["rss_mb_first"],
        "rss_mb_after": rows[-1].get("rss_mb_after"),
        "rss_mb_peak": rows[-1].get("rss_mb_peak"),
        "translations": translations,
    }


def table(results: dict) -> str:
    lines = ["| measure | value | target |", "|---|---|---|"]
    lines.append(f"| server answering (health check), median of {len(results['runs'])} | "
                 f"{results['server_up_s_median']:.1f} s | |")  # fmt: skip
    lines.append(f"| cold start: `streamlit run` → first heatmap visible, median | "
                 f"{results['first_heatmap_s_median']:.1f} s | < 10 s |")  # fmt: skip
    lines.append(
        f"| server RSS, model loaded, first heatmap shown | {results['rss_mb_first']:.0f} MB | < 1 GB |"
    )
    if results.get("rss_mb_after"):
        lines.append(f"| server RSS after {results['translations']} more translations (peak) | "
                     f"{results['rss_mb_after']:.0f} MB ({results['rss_mb_peak']:.0f} MB) | < 1 GB |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--translations", type=int, default=30)
    args = parser.parse_args(argv)
    results = run(args.runs, args.translations)
    print(table(results))
    return results


if __name__ == "__main__":
    main()
