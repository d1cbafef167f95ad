"""Regenerate docs/screenshot.png: the Translate page on the shipped default checkpoint, in Chromium.

Run from the repo root after `make test` installed the browser: `.venv/bin/python docs/make_screenshot.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from the repo root: `bench` is beside `docs`
from bench import local_app  # noqa: E402

SENTENCE = "If you want to print only the selected pages, enter the page numbers in the Pages box."


def main() -> None:
    port = local_app.free_port()
    server = local_app.start(port)
    try:
        for _ in range(240):
            if local_app.healthy(f"http://127.0.0.1:{port}"):
                break
            time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=local_app.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1650})
            page.goto(f"http://127.0.0.1:{port}/translate")
            page.locator("textarea").first.fill(SENTENCE)
            page.get_by_role("button", name="Translate").click()
            page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
            time.sleep(2)
            page.screenshot(path=str(REPO / "docs" / "screenshot.png"), full_page=False)
            browser.close()
    finally:
        local_app.stop(server)


if __name__ == "__main__":
    main()
