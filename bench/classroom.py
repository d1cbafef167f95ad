"""Classroom interactions in Debian Chromium: how long a click takes until its result is on screen, and
a whole class (30 browser sessions) translating and stepping at once.

- clicks: on Step through, Next, Back and Force; on Translate, the word-level toggle. Each is timed in
  the page, from the click to the frame that shows its result (the new step's heading, the what-if line,
  the word-level heatmap) and to the frame where the page has settled (the run over, every figure
  redrawn), `--clicks` times each; median and p95.
- class: `--sessions` contexts of one Chromium each open Translate, translate their own sentence, then
  step three times on Step through, all at once. Every page must show its own sentence's translation
  (no cross-talk) and no exception; the p95 of every interaction is reported.

- a lesson: measured by `python -m bench hall` since issue 35 (the students' light page); the lesson rows
  a saved result may still hold are those of the Streamlit student page before it.

`--before DIR` times another checkout of the app the same way (a `git worktree` of an older commit, on
the same checkpoints), for a before/after.

    python -m bench classroom [--clicks 20] [--sessions 30] [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from pathlib import Path

from . import local_app
from .page_timing import CLASS_SENTENCES, TIMEOUT_MS, summary, timed, translate_on, wait_settled

SENTENCE = "Select the text that you want to copy, then choose Edit - Copy."
# Every context counts as a page in front (a projector, a phone in a hand): without these, Chromium slows
# the timers of the pages it thinks are in the background, the teacher's tally among them (36 s instead of 8).
FOREGROUND = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def clicks(url: str, browser, repeats: int, step_path: str, translate_path: str) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    main = page.locator('[data-testid="stMain"]')
    page.goto(f"{url}/{step_path}", wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    main.get_by_role("textbox", name="English sentence", exact=True).wait_for(timeout=TIMEOUT_MS)
    translate_on(page, SENTENCE)
    heading = lambda n: main.get_by_role("heading", name=re.compile(rf"^Step {n}: wrote"))  # noqa: E731
    times: dict[str, list[tuple[float, float]]] = {"next": [], "back": [], "force": [], "word level": []}
    main.get_by_role("button", name="Next ▶").click()
    heading(1).wait_for(timeout=TIMEOUT_MS)
    wait_settled(page)
    next_button = main.get_by_role("button", name="Next ▶")
    back_button = main.get_by_role("button", name=re.compile("Back"))
    for _ in range(repeats):
        times["next"].append(timed(page, next_button, "heading", "Step 2: wrote"))
        times["back"].append(timed(page, back_button, "heading", "Step 1: wrote"))
    for _ in range(repeats):
        force = main.get_by_role("button", name="Force", exact=True)
        times["force"].append(timed(page, force, "text", "At step 1: "))
        # the what-if goes with the reset, so the next Force is fresh; wait until the step is gone, or a
        # Next could land on the page as it was
        main.get_by_role("button", name="Reset", exact=True).click()
        heading(1).wait_for(state="detached", timeout=TIMEOUT_MS)
        main.get_by_text(re.compile(r"^At step 1: ")).wait_for(state="detached", timeout=TIMEOUT_MS)
        wait_settled(page)
        next_button.click()
        heading(1).wait_for(timeout=TIMEOUT_MS)
        wait_settled(page)
    page.goto(f"{url}/{translate_path}", wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    main.get_by_role("textbox", name="English sentence", exact=True).wait_for(timeout=TIMEOUT_MS)
    translate_on(page, SENTENCE)
    toggle = main.locator('[data-testid="stCheckbox"]').filter(has_text="Word level").locator("input")
    for k in range(repeats):
        level = "word" if k % 2 == 0 else "subword"
        times["word level"].append(timed(page, toggle, "plot", f"({level} level)"))
    page.close()
    return {
        name: {**summary([v for v, _ in pairs]), "settled": summary([d for _, d in pairs])}
        for name, pairs in times.items()
    }


def a_class(url: str, browser, sessions: int, step_path: str, translate_path: str) -> dict:
    """Every session translates its own sentence and steps three times; all act before any waits."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(sessions)]
    pages = [c.new_page() for c in contexts]
    sentences = [f"{CLASS_SENTENCES[k % len(CLASS_SENTENCES)]} ({k})" for k in range(sessions)]
    times: list[float] = []
    problems: list[str] = []
    try:
        for page in pages:
            page.goto(f"{url}/{translate_path}", wait_until="commit", timeout=TIMEOUT_MS)
        for page in pages:
            page.locator('[data-testid="stMain"]').get_by_role(
                "textbox", name="English sentence", exact=True
            ).wait_for(timeout=TIMEOUT_MS)
            wait_settled(page)
        started = {}
        for page, sentence in zip(pages, sentences):
            main = page.locator('[data-testid="stMain"]')
            main.get_by_role("textbox", name="English sentence", exact=True).fill(sentence)
            started[id(page)] = time.perf_counter()
            main.get_by_role("button", name="Translate", exact=True).click()
        for page, sentence in zip(pages, sentences):
            page.wait_for_timeout(100)
            wait_settled(page)
            times.append((time.perf_counter() - started[id(page)]) * 1000)
            shown = page.locator("textarea").first.input_value()
            if shown != sentence:
                problems.append(f"a session shows {shown!r} instead of {sentence!r}")
        for page in pages:
            page.goto(f"{url}/{step_path}", wait_until="domcontentloaded", timeout=TIMEOUT_MS)
        for page in pages:
            page.locator('[data-testid="stMain"]').get_by_role("button", name="Next ▶").wait_for(
                timeout=TIMEOUT_MS
            )
            wait_settled(page)
        for n in range(1, 4):
            for page in pages:
                started[id(page)] = time.perf_counter()
                page.locator('[data-testid="stMain"]').get_by_role("button", name="Next ▶").click()
            for page in pages:
                page.locator('[data-testid="stMain"]').get_by_role(
                    "heading", name=re.compile(rf"^Step {n}: wrote")
                ).wait_for(timeout=TIMEOUT_MS)
                times.append((time.perf_counter() - started[id(page)]) * 1000)
                wait_settled(page)
        for page in pages:
            if page.locator('[data-testid="stException"]').count():
                problems.append("an exception box")
    finally:
        for context in contexts:
            context.close()
    return {"sessions": sessions, "interactions": summary(times), "problems": problems}


def _commit(app_dir: Path) -> str:
    """The checkout's commit, short hash and subject, so a before/after says what "before" was."""
    out = subprocess.run(
        ["git", "-C", str(app_dir), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    return out.stdout.strip()[:90] if out.returncode == 0 else ""


def run(repeats: int, sessions: int, app_dir: Path | None) -> dict:
    from playwright.sync_api import sync_playwright

    app_dir = app_dir or local_app.REPO
    old = (app_dir / "pages" / "2_Step_through.py").exists()  # the app before st.navigation
    step_path, translate_path = ("Step_through", "Translate") if old else ("step_through", "translate")
    port = local_app.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SEQ2SEQ_CHECKPOINTS": str(local_app.REPO / "checkpoints")}
    proc = local_app.start(port, env=env, cwd=app_dir)
    try:
        started = time.perf_counter()
        while not local_app.healthy(url):
            if proc.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError("the Streamlit server did not start")
            time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=local_app.CHROMIUM_ARGS + FOREGROUND
            )
            try:
                results = {
                    "app_dir": str(app_dir),
                    "commit": _commit(app_dir),
                    "clicks": clicks(url, browser, repeats, step_path, translate_path),
                }
                if sessions:
                    results["class"] = a_class(url, browser, sessions, step_path, translate_path)
            finally:
                browser.close()
    finally:
        local_app.stop(proc)
    return results


def table(results: dict) -> str:
    after, before = results["after"], results.get("before")
    lines = [
        "| click | n | result shown: median / p95 ms | page settled: median / p95 ms "
        "| before: shown / settled, median ms | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in after["clicks"].items():
        old = before["clicks"].get(name) if before else None
        then = f"{old['median_ms']:.0f} / {old['settled']['median_ms']:.0f}" if old else "–"
        done = row["settled"]
        lines.append(
            f"| {name} | {row['n']} | {row['median_ms']:.0f} / {row['p95_ms']:.0f} "
            f"| {done['median_ms']:.0f} / {done['p95_ms']:.0f} | {then} | < 300 ms |"
        )
    lines += [
        "",
        "Shown: the click's result is visible (the new step's heading, the what-if line, the other heatmap). "
        "Settled: the run is over and every element of the page is redrawn (figures included).",
    ]
    if after.get("class"):
        row = after["class"]["interactions"]
        lines += ["", f"**A class at once:** {after['class']['sessions']} sessions in one Chromium, each translating its own "
                  f"sentence and then pressing Next three times, all before any waits: {row['n']} interactions, "
                  f"median {row['median_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms, slowest {row['max_ms']:.0f} ms; "
                  f"problems (cross-talk, exceptions): {', '.join(after['class']['problems']) or 'none'}."]  # fmt: skip
    if after.get("lesson"):
        lesson, row = after["lesson"], after["lesson"]["guess_to_tally"] or {}
        lines += ["", f"**A lesson:** {lesson['students']} students (400 px contexts) joined by the teacher's link, one "
                  f"guess each, all pressing Guess at once: from a student's Guess click to the teacher's tally counting it, "
                  f"median {row.get('median_ms', float('nan')):.0f} ms, p95 {row.get('p95_ms', float('nan')):.0f} ms "
                  f"(the tally refreshes every 1.5 s by itself); server memory with every student joined "
                  f"{lesson['server_mb_joined']:.0f} MB; problems: {', '.join(lesson['problems']) or 'none'}."]  # fmt: skip
        follow, cpu = lesson.get("next_to_students") or {}, lesson.get("server_cpu") or {}
        if cpu:
            lines += ["", f"The teacher's Next reaching every student's page: median {follow.get('median_ms', float('nan')):.0f} ms, "
                      f"p95 {follow.get('p95_ms', float('nan')):.0f} ms (their pages look every 1.5 s). Server CPU: "
                      f"{cpu['waiting_share']:.0%} of one core while all wait on a question, "
                      f"{cpu.get('one_typing_share', float('nan')):.0%} while all wait and one of them types their own sentence "
                      f"(Explore alone), {cpu['guesses_s']:.2f} s for "
                      f"the {lesson['students']} guesses, {cpu['next_step_s']:.2f} s for the next step on every page."]  # fmt: skip
    if before:
        lines += [
            "",
            f"Before: the app at `{before['app_dir']}` (commit {(before.get('commit') or 'unknown').split()[0]}), same checkpoints, "
            "same run.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument(
        "--before", type=Path, default=None, help="another checkout of the app, timed the same way"
    )
    args = parser.parse_args(argv)
    results = {"after": run(args.clicks, args.sessions, None)}
    if args.before is not None:
        results["before"] = run(args.clicks, 0, args.before)
    print(table(results))
    return results


if __name__ == "__main__":
    main()
