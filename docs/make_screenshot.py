"""Regenerate docs/screenshot.png: the Translate page on the shipped default checkpoint, in Chromium.

Run from the repo root after `make test` installed the browser: `.venv/bin/python docs/make_screenshot.py`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "If you want to print only the selected pages, enter the page numbers in the Pages box."
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health").read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1650})
            page.goto(f"http://127.0.0.1:{port}/Translate")
            page.locator("textarea").first.fill(SENTENCE)
            page.get_by_role("button", name="Translate").click()
            page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
            time.sleep(2)
            page.screenshot(path=str(REPO / "docs" / "screenshot.png"), full_page=False)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
