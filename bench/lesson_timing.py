"""`bench classroom`'s lesson: a teacher, `--students` students in Chromium, their guesses to the
teacher's tally, the teacher's Next to every page, and the server's CPU while the class waits (with one
student typing their own sentence)."""

from __future__ import annotations

import re
import time

from . import local_app
from .page_timing import CLASS_SENTENCES, TIMEOUT_MS, summary, translate_on, wait_settled

IDLE_S = 10  # seconds of a lesson where everyone waits, for the server's CPU share of the polls alone

WATCH_STEP_2 = """() => {
  window.__step2 = null;
  const main = document.querySelector('[data-testid="stMain"]');
  const check = () => {
    if (window.__step2 === null && [...main.querySelectorAll('h3')].some(h => h.textContent.startsWith('Step 2:')))
      window.__step2 = performance.timeOrigin + performance.now();
  };
  new MutationObserver(check).observe(main, {subtree: true, childList: true, characterData: true});
}"""


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
        wait_settled(teacher)
        main.get_by_text(re.compile("Lesson: the whole class")).click()
        main.get_by_role("button", name="Open a lesson").click()
        main.locator('[data-testid="stCode"]').first.wait_for(timeout=TIMEOUT_MS)
        wait_settled(teacher)
        main.get_by_role("paragraph").filter(has_text=re.compile(r"^Guess first$")).click()  # for the class
        teacher.wait_for_timeout(200)
        wait_settled(teacher)
        main.get_by_role("button", name="Next ▶").click()
        main.get_by_text(re.compile(r"^Guesses in: 0$")).wait_for(timeout=TIMEOUT_MS)
        wait_settled(teacher)
        link = main.locator('[data-testid="stCode"]').first.inner_text().strip()
        pages = [c.new_page() for c in contexts]
        for page in pages:
            page.goto(link, wait_until="commit", timeout=TIMEOUT_MS)
        for page in pages:
            page.locator('[data-testid="stMain"]').get_by_role("button", name="Guess", exact=True).wait_for(
                timeout=TIMEOUT_MS
            )
            wait_settled(page)
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
            wait_settled(page)
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
    return {"students": students, "guess_to_tally": summary(latencies) if latencies else None,
            "next_to_students": summary(followed) if followed else None,
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
    wait_settled(page)
    translate_on(page, CLASS_SENTENCES[0])
    before = local_app.cpu_s(pid)
    started = time.perf_counter()
    box.click()
    while time.perf_counter() - started < IDLE_S:  # a phone's typing: a key every 200 ms
        page.keyboard.type(" and more", delay=200)
    share = (local_app.cpu_s(pid) - before) / (time.perf_counter() - started)
    main.get_by_role("button", name="Follow the teacher again").click()
    main.get_by_role("button", name="Guess", exact=True).wait_for(timeout=TIMEOUT_MS)
    wait_settled(page)
    return share


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


# Set on each student's page before the teacher's Next: the moment (epoch ms) its step 2 question appears.
