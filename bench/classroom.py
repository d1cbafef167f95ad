"""Classroom interactions in Debian Chromium: how long a click takes until its result is on screen, and
a whole class (30 browser sessions) translating and stepping at once.

- clicks: on Step through, Next, Back and Force; on Translate, the word-level toggle. Each is timed in
  the page, from the click to the frame that shows its result (the new step's heading, the what-if line,
  the word-level heatmap) and to the frame where the page has settled (the run over, every figure
  redrawn), `--clicks` times each; median and p95.
- class: `--sessions` contexts of one Chromium each open Translate, translate their own sentence, then
  step three times on Step through, all at once. Every page must show its own sentence's translation
  (no cross-talk) and no exception; the p95 of every interaction is reported.

- lesson: a teacher opens a lesson on Step through and takes one step; `--students` contexts open the
  share link read from the teacher's page, each picks a source token, then all press Guess at once.
  Timed: from each student's Guess click to the teacher's tally counting it (the teacher's page is never
  clicked; its fragment refreshes by itself), median and p95; the server's memory with every student
  joined; then the teacher's Next to each student's page showing step 2; and the server's CPU (from
  /proc) while all wait on a question, while all wait and one of them leaves the lesson to type their
  own sentence, for the guesses, and for that step.

`--before DIR` times another checkout of the app the same way (a `git worktree` of an older commit, on
the same checkpoints), for a before/after.

    python -m bench classroom [--clicks 20] [--sessions 30] [--students 30] [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

from . import local_app

TIMEOUT_MS = 120_000
IDLE_S = 10  # seconds of a lesson where everyone waits, for the server's CPU share of the polls alone
SENTENCE = "Select the text that you want to copy, then choose Edit - Copy."
CLASS_SENTENCES = [
    "How are you?", "I love you.", "Thank you very much.", "The weather is nice today.",
    "Where is the train station?", "Click the Save button.", "Select the cells that you want to merge.",
    "Choose Format - Cells.", "Open a new document.", "Close the dialog.",
]  # fmt: skip


# Every context counts as a page in front (a projector, a phone in a hand): without these, Chromium slows
# the timers of the pages it thinks are in the background, the teacher's tally among them (36 s instead of 8).
FOREGROUND = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median_ms": statistics.median(values),
        "p95_ms": _p95(values),
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


def _settled(page) -> None:
    try:
        page.wait_for_function(f"() => {SETTLED}", timeout=TIMEOUT_MS)
    except Exception as error:  # say what never settled: the script state and the stale elements
        raise RuntimeError(f"the page did not settle: {page.evaluate(STATE)}") from error


def _translate(page, sentence: str) -> None:
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("textbox", name="English sentence", exact=True).fill(sentence)
    main.get_by_role("button", name="Translate", exact=True).click()
    page.wait_for_timeout(200)
    _settled(page)


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


def _timed(page, target, kind: str, text: str) -> tuple[float, float]:
    """Milliseconds from a click on `target` (a locator) to its result showing (`kind`: a step heading, a
    line of text or a figure, starting with or holding `text`), and to the page settled."""
    target.wait_for(timeout=TIMEOUT_MS)
    shown, settled = target.evaluate(CLICK_AND_TIME, [kind, text])
    _settled(page)
    return shown, settled


def clicks(url: str, browser, repeats: int, step_path: str, translate_path: str) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    main = page.locator('[data-testid="stMain"]')
    page.goto(f"{url}/{step_path}", wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    main.get_by_role("textbox", name="English sentence", exact=True).wait_for(timeout=TIMEOUT_MS)
    _translate(page, SENTENCE)
    heading = lambda n: main.get_by_role("heading", name=re.compile(rf"^Step {n}: wrote"))  # noqa: E731
    times: dict[str, list[tuple[float, float]]] = {"next": [], "back": [], "force": [], "word level": []}
    main.get_by_role("button", name="Next ▶").click()
    heading(1).wait_for(timeout=TIMEOUT_MS)
    _settled(page)
    next_button = main.get_by_role("button", name="Next ▶")
    back_button = main.get_by_role("button", name=re.compile("Back"))
    for _ in range(repeats):
        times["next"].append(_timed(page, next_button, "heading", "Step 2: wrote"))
        times["back"].append(_timed(page, back_button, "heading", "Step 1: wrote"))
    for _ in range(repeats):
        force = main.get_by_role("button", name="Force", exact=True)
        times["force"].append(_timed(page, force, "text", "At step 1: "))
        # the what-if goes with the reset, so the next Force is fresh; wait until the step is gone, or a
        # Next could land on the page as it was
        main.get_by_role("button", name="Reset", exact=True).click()
        heading(1).wait_for(state="detached", timeout=TIMEOUT_MS)
        main.get_by_text(re.compile(r"^At step 1: ")).wait_for(state="detached", timeout=TIMEOUT_MS)
        _settled(page)
        next_button.click()
        heading(1).wait_for(timeout=TIMEOUT_MS)
        _settled(page)
    page.goto(f"{url}/{translate_path}", wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    main.get_by_role("textbox", name="English sentence", exact=True).wait_for(timeout=TIMEOUT_MS)
    _translate(page, SENTENCE)
    toggle = main.locator('[data-testid="stCheckbox"]').filter(has_text="Word level").locator("input")
    for k in range(repeats):
        level = "word" if k % 2 == 0 else "subword"
        times["word level"].append(_timed(page, toggle, "plot", f"({level} level)"))
    page.close()
    return {
        name: {**_summary([v for v, _ in pairs]), "settled": _summary([d for _, d in pairs])}
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
            _settled(page)
        started = {}
        for page, sentence in zip(pages, sentences):
            main = page.locator('[data-testid="stMain"]')
            main.get_by_role("textbox", name="English sentence", exact=True).fill(sentence)
            started[id(page)] = time.perf_counter()
            main.get_by_role("button", name="Translate", exact=True).click()
        for page, sentence in zip(pages, sentences):
            page.wait_for_timeout(100)
            _settled(page)
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
            _settled(page)
        for n in range(1, 4):
            for page in pages:
                started[id(page)] = time.perf_counter()
                page.locator('[data-testid="stMain"]').get_by_role("button", name="Next ▶").click()
            for page in pages:
                page.locator('[data-testid="stMain"]').get_by_role(
                    "heading", name=re.compile(rf"^Step {n}: wrote")
                ).wait_for(timeout=TIMEOUT_MS)
                times.append((time.perf_counter() - started[id(page)]) * 1000)
                _settled(page)
        for page in pages:
            if page.locator('[data-testid="stException"]').count():
                problems.append("an exception box")
    finally:
        for context in contexts:
            context.close()
    return {"sessions": sessions, "interactions": _summary(times), "problems": problems}


def a_lesson(url: str, browser, students: int, pid: int) -> dict:
    """A teacher and `students` students: guess-to-tally latency, and the server's memory with all joined."""
    teacher_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    contexts = [browser.new_context(viewport={"width": 400, "height": 860}) for _ in range(students)]
    teacher = teacher_context.new_page()
    main = teacher.locator('[data-testid="stMain"]')
    problems: list[str] = []
    try:
        teacher.goto(
            f"{url}/step_through?s=How+are+you%3F", wait_until="domcontentloaded", timeout=TIMEOUT_MS
        )
        main.get_by_role("button", name="Next ▶").wait_for(timeout=TIMEOUT_MS)
        _settled(teacher)
        main.get_by_text(re.compile("Lesson: the whole class")).click()
        main.get_by_role("button", name="Open a lesson").click()
        main.locator('[data-testid="stCode"]').first.wait_for(timeout=TIMEOUT_MS)
        _settled(teacher)
        main.get_by_role("paragraph").filter(has_text=re.compile(r"^Guess first$")).click()  # for the class
        teacher.wait_for_timeout(200)
        _settled(teacher)
        main.get_by_role("button", name="Next ▶").click()
        main.get_by_text(re.compile(r"^Guesses in: 0$")).wait_for(timeout=TIMEOUT_MS)
        _settled(teacher)
        link = main.locator('[data-testid="stCode"]').first.inner_text().strip()
        pages = [c.new_page() for c in contexts]
        for page in pages:
            page.goto(link, wait_until="commit", timeout=TIMEOUT_MS)
        for page in pages:
            page.locator('[data-testid="stMain"]').get_by_role("button", name="Guess", exact=True).wait_for(
                timeout=TIMEOUT_MS
            )
            _settled(page)
        memory_mb = local_app.rss_mb(pid)
        before = local_app.cpu_s(pid)
        teacher.wait_for_timeout(IDLE_S * 1000)  # everyone waits on the question: only the polls run
        idle_cpu = (local_app.cpu_s(pid) - before) / IDLE_S
        typing_cpu = _one_typing(pages[0], pid)
        seen: dict[int, float] = {}

        def look() -> None:  # the teacher's count as shown now (read between the students' moves too)
            found = re.search(r"Guesses in: (\d+)", main.inner_text())
            now = time.perf_counter()
            for n in range(1, (int(found[1]) if found else 0) + 1):
                seen.setdefault(n, now)

        for k, page in enumerate(pages):  # every student picks first, as a class would while the step is up
            pills = page.locator('[data-testid="stMain"] [data-testid="stButtonGroup"] button')
            pills.filter(has_text=re.compile(rf"^{k % 3 + 1}·")).first.click()
        for page in pages:
            _settled(page)
        clicked: list[float] = []
        before = local_app.cpu_s(pid)
        for page in pages:  # then all press Guess at once
            page.locator('[data-testid="stMain"]').get_by_role("button", name="Guess", exact=True).click()
            clicked.append(time.perf_counter())
            look()
        deadline = time.perf_counter() + TIMEOUT_MS / 1000
        while len(seen) < students and time.perf_counter() < deadline:
            look()
            teacher.wait_for_timeout(50)
        if len(seen) < students:
            problems.append(f"the teacher's tally reached {len(seen)} of {students}")
        guess_cpu = local_app.cpu_s(pid) - before
        latencies = [(seen[n] - clicked[n - 1]) * 1000 for n in sorted(seen)]
        followed, step_cpu = _next_step(teacher, pages, pid, problems)
        for page in pages:
            if page.locator('[data-testid="stException"]').count():
                problems.append("an exception box")
    finally:
        for context in (teacher_context, *contexts):
            context.close()
    return {"students": students, "guess_to_tally": _summary(latencies) if latencies else None,
            "next_to_students": _summary(followed) if followed else None,
            "server_cpu": {"waiting_share": round(idle_cpu, 3), "one_typing_share": round(typing_cpu, 3),
                           "guesses_s": round(guess_cpu, 2), "next_step_s": round(step_cpu, 2)},
            "server_mb_joined": memory_mb, "problems": problems}  # fmt: skip


def _one_typing(page, pid: int) -> float:
    """One student leaves the lesson to type their own sentence (Explore alone, a sentence, Translate) and
    goes on typing while the class waits: the server's CPU share over `IDLE_S` from then on (a page that
    reran without end used 60-78% of a core here). Then the student follows the teacher again."""
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("button", name="Explore alone").click()
    box = main.get_by_role("textbox", name="English sentence", exact=True)
    box.wait_for(timeout=TIMEOUT_MS)
    _settled(page)
    _translate(page, CLASS_SENTENCES[0])
    before = local_app.cpu_s(pid)
    started = time.perf_counter()
    box.click()
    while time.perf_counter() - started < IDLE_S:  # a phone's typing: a key every 200 ms
        page.keyboard.type(" and more", delay=200)
    share = (local_app.cpu_s(pid) - before) / (time.perf_counter() - started)
    main.get_by_role("button", name="Follow the teacher again").click()
    main.get_by_role("button", name="Guess", exact=True).wait_for(timeout=TIMEOUT_MS)
    _settled(page)
    return share


# Set on each student's page before the teacher's Next: the moment (epoch ms) its step 2 question appears.
WATCH_STEP_2 = """() => {
  window.__step2 = null;
  const main = document.querySelector('[data-testid="stMain"]');
  const check = () => {
    if (window.__step2 === null && [...main.querySelectorAll('h3')].some(h => h.textContent.startsWith('Step 2:')))
      window.__step2 = performance.timeOrigin + performance.now();
  };
  new MutationObserver(check).observe(main, {subtree: true, childList: true, characterData: true});
}"""


def _next_step(teacher, pages: list, pid: int, problems: list[str]) -> tuple[list[float], float]:
    """The teacher presses Next: from the click to each student's page asking about step 2 (their pages
    look for the teacher's move every 1.5 s), and the server's CPU seconds until the last one shows it."""
    for page in pages:
        page.evaluate(WATCH_STEP_2)
    before = local_app.cpu_s(pid)
    clicked = time.time() * 1000
    teacher.locator('[data-testid="stMain"]').get_by_role("button", name="Next ▶").click()
    deadline = time.perf_counter() + TIMEOUT_MS / 1000
    shown: list[float | None] = [None] * len(pages)
    while None in shown and time.perf_counter() < deadline:
        for k, page in enumerate(pages):
            if shown[k] is None:
                shown[k] = page.evaluate("() => window.__step2")
        teacher.wait_for_timeout(100)
    cpu = local_app.cpu_s(pid) - before
    if None in shown:
        problems.append(f"{shown.count(None)} students did not reach step 2")
    return [s - clicked for s in shown if s is not None], cpu


def _commit(app_dir: Path) -> str:
    """The checkout's commit, short hash and subject, so a before/after says what "before" was."""
    out = subprocess.run(
        ["git", "-C", str(app_dir), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    return out.stdout.strip()[:90] if out.returncode == 0 else ""


def run(repeats: int, sessions: int, app_dir: Path | None, students: int = 0) -> dict:
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
                if students:
                    results["lesson"] = a_lesson(url, browser, students, proc.pid)
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
    parser.add_argument("--students", type=int, default=30, help="students in the lesson (0: no lesson)")
    parser.add_argument(
        "--before", type=Path, default=None, help="another checkout of the app, timed the same way"
    )
    args = parser.parse_args(argv)
    results = {"after": run(args.clicks, args.sessions, None, args.students)}
    if args.before is not None:
        results["before"] = run(args.clicks, 0, args.before)
    print(table(results))
    return results


if __name__ == "__main__":
    main()
