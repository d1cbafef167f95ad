"""Regenerate the README's screenshots on the shipped checkpoints, in Chromium:

- docs/screenshot.png: Translate, "How are you?" on the default (general) model, opened from a link;
- docs/lesson-projector.png: Step through on the projector during a lesson: the code, the link and its
  QR code, and the class's guesses at step 1 (three students, written to the lesson store as their
  pages would).

Run from the repo root after `make test` installed the browser: `.venv/bin/python docs/make_screenshot.py`.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from the repo root: `bench` is beside `docs`
from bench import local_app  # noqa: E402
from classroom.store import LessonStore  # noqa: E402
from classroom.values import new_student_id  # noqa: E402

SENTENCE = "How are you?"
SETTLED = (
    "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') === "
    "'notRunning' && !document.querySelector('[data-stale=\"true\"]')"
)


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(SETTLED, timeout=120_000)


def translate_shot(page, url: str) -> None:
    page.goto(f"{url}/translate?s={SENTENCE.replace(' ', '+').replace('?', '%3F')}&beam=5")
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    settle(page)
    time.sleep(1)
    page.screenshot(path=str(REPO / "docs" / "screenshot.png"), full_page=False)


def lesson_shot(page, url: str, cache: Path) -> None:
    main = page.locator('[data-testid="stMain"]')
    page.goto(f"{url}/step_through?s={SENTENCE.replace(' ', '+').replace('?', '%3F')}&proj=1")
    main.get_by_role("button", name="Next ▶").wait_for(timeout=120_000)
    settle(page)
    main.get_by_text(re.compile("Lesson: the whole class")).click()
    shown = main.get_by_text(re.compile(r"^Lesson code: [A-Z2-9]{4}$"))
    for attempt in range(3):  # under a heavy CPU load a first click can go unseen (tests/e2e/test_lesson.py)
        main.get_by_role("button", name="Open a lesson").click()
        settle(page)
        try:
            shown.wait_for(timeout=40_000)  # the first lesson of a fresh server takes a while
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    code = shown.inner_text().rsplit(" ", 1)[-1]
    main.get_by_role("button", name="Next ▶").click()
    main.get_by_text(re.compile(r"^Guesses in: 0$")).wait_for(timeout=120_000)
    settle(page)
    store = LessonStore(cache / "lessons.sqlite3")
    lesson = store.get(code)
    for token in (0, 0, 2):  # three students' guesses, as their pages write them
        store.guess(code, new_student_id(), lesson.sentence, lesson.checkpoint, 1, token)
    main.get_by_text("Guesses in: 3").wait_for(timeout=30_000)
    settle(page)
    time.sleep(1)
    main.get_by_text(re.compile(r"^Lesson code:")).scroll_into_view_if_needed()
    page.screenshot(path=str(REPO / "docs" / "lesson-projector.png"))


def main() -> None:
    port = local_app.free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SEQ2SEQ_CACHE": cache}
        server = local_app.start(port, env=env)
        try:
            for _ in range(240):
                if local_app.healthy(url):
                    break
                time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=local_app.CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1650})
                translate_shot(page, url)
                lesson_shot(
                    browser.new_page(viewport={"width": 1400, "height": 2000}), url, Path(cache)
                )  # a tall screen: all of it
                browser.close()
        finally:
            local_app.stop(server)


if __name__ == "__main__":
    main()
