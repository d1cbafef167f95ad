"""A lecture hall: one teacher in Chromium, N students on the light page, all on this machine.

    python -m bench hall --students 30,100,200 [--browsers 10] [--nexts 5]

The students are light clients that do what the page's JavaScript does (classroom/static/lesson.js),
request for request: open the page (a new browser: the server gives it its `s2s_browser` cookie), its
CSS, script and words, then the event stream with that cookie; a guess is the same JSON POST with a
nonce; a dropped stream is opened again after the `retry:` the server sent. Up to `--browsers` of the
students are real Chromium pages instead, reported apart, to show the light clients see what a browser
sees. Measured per class size, on a fresh server and store:

- joined: from all starting at once to each student's first pushed state;
- server CPU while all wait on the question (share of one core, over 10 s, from /proc);
- the teacher's Next (a click on Step through) to each student's state for that step, over `--nexts`;
- every guess (all at once) to the teacher's tally counting it ("Guesses in: n" on the projector);
- the server's memory (RSS) with everyone joined; and how many students did not end on the last change.

The "before" row is issue 35's measurement of the Streamlit student page (each phone a full Streamlit
session, polling every 1.5 s), quoted, not measured again here: at 200 it takes minutes per run.
While a size runs, the machine's two training processes (if any) are paused and always resumed after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import local_app
from .hall_clients import BrowserStudent, LightStudent

SENTENCE = "Select the text that you want to copy, then choose Edit - Copy."
IDLE_S = 10
TIMEOUT_S = 60
TRAINING_PIDS = ("/work/main/runs/koen-general-additive.pid", "/work/main/runs/koen-general-fixed.pid")
BEFORE = {  # issue 35: the Streamlit student page, measured the same way (ranges over runs)
    30: {"joined_s": "7–11", "waiting_cpu": "12–15%", "next_p50_s": "1.1–1.9", "guess_s": "0.9–1.7", "missed": "0"},
    100: {"joined_s": "23–31", "waiting_cpu": "31–42%", "next_p50_s": "3.8–6.9", "guess_s": "1.8–2.8", "missed": "0"},
    200: {"joined_s": "10–71", "waiting_cpu": "60–87%", "next_p50_s": "7–27", "guess_s": "11.5–15.3", "missed": "1–12"},
}  # fmt: skip


# --------------------------------------------------------------------------- the run
@contextmanager
def training_paused(pause: bool = True):
    """SIGSTOP the machine's training processes for one timed run; SIGCONT them whatever happens."""
    pids = []
    for path in TRAINING_PIDS if pause else ():
        try:
            pids.append(int(Path(path).read_text().strip()))
        except (OSError, ValueError):
            continue
    stopped = []
    try:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            except ProcessLookupError:
                pass
        yield stopped
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "p50_s": round(statistics.median(ordered), 3), "p95_s": round(p95, 3),
            "max_s": round(ordered[-1], 3)}  # fmt: skip


# On the teacher's page: report "Guesses in: n" whenever n changes (looked at every 50 ms)
TALLY_JS = """() => { let last = -1; setInterval(() => {
  for (const c of document.querySelectorAll('[data-testid="stCaptionContainer"]')) {
    const m = c.textContent.match(/^Guesses in: (\\d+)$/);
    if (m && Number(m[1]) !== last) { last = Number(m[1]); window.tallied(last); } } }, 50); }"""


async def teacher_opens(context, url: str):
    """The teacher's projector: Step through on the sentence, a lesson opened, Guess first on."""
    page = await context.new_page()
    main = page.locator('[data-testid="stMain"]')
    await page.goto(f"{url}/step_through?s={SENTENCE.replace(' ', '+')}", wait_until="domcontentloaded")
    await main.get_by_text(re.compile("Lesson: the whole class")).click(timeout=TIMEOUT_S * 1000)
    await settled(page)  # a click during a rerun (the back-translation still running) can be lost
    await main.get_by_role("button", name="Open a lesson").click()
    line = main.get_by_text(re.compile(r"^Lesson code: [A-Z2-9]{4}$"))
    await line.wait_for(timeout=TIMEOUT_S * 1000)
    code = (await line.inner_text()).rsplit(" ", 1)[-1]
    await settled(page)
    await main.get_by_role("paragraph").filter(has_text=re.compile(r"^Guess first$")).click()
    await settled(page)
    await page.evaluate(TALLY_JS)
    return page, code


async def settled(page) -> None:
    await page.wait_for_timeout(250)
    await page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=\"stApp\"]'); return a && "
        "a.getAttribute('data-test-script-state') === 'notRunning' && !document.querySelector('[data-stale=\"true\"]'); }",
        timeout=TIMEOUT_S * 1000,
    )


@dataclass
class LectureHall:
    """One class in the bench: the server's pid, the teacher's page, the students, what was measured."""

    pid: int
    teacher: object
    light: list[LightStudent]
    real: list[BrowserStudent]
    tally: list[tuple[float, int]] = field(default_factory=list)  # (when, the projector's count)
    problems: list[str] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)  # (kept: a task nobody holds may be collected)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refused: int = 0

    async def join(self) -> None:
        """Everyone at once: each light client's page then stream, each Chromium page."""
        started = time.monotonic()

        async def one(student: LightStudent) -> None:
            await student.open_page()
            self.tasks.append(asyncio.create_task(student.follow()))

        await asyncio.gather(*(one(s) for s in self.light), *(b.open() for b in self.real))
        while any(not s.states for s in self.light) and time.monotonic() - started < TIMEOUT_S:
            await asyncio.sleep(0.02)
        self.times["joined_light"] = [s.states[0][0] - started for s in self.light if s.states]
        self.times["joined_real"] = [b.joined - started for b in self.real if b.joined]
        if len(self.times["joined_light"]) + len(self.times["joined_real"]) < len(self.light) + len(
            self.real
        ):
            self.problems.append("a student never joined")

    async def next_step(self, n: int) -> None:
        """The teacher's Next, to step `n`: from the click to each student's state for it."""
        await settled(self.teacher)
        clicked = time.monotonic()
        await self.teacher.locator('[data-testid="stMain"]').get_by_role("button", name="Next ▶").click()
        while time.monotonic() - clicked < TIMEOUT_S and (
            any(not s.seen() or s.seen().get("step") != n for s in self.light) or any(n not in b.steps for b in self.real)
        ):  # fmt: skip
            await asyncio.sleep(0.02)
        for s in self.light:
            when = next((t for t, v in s.states if v.get("step") == n and t >= clicked), None)
            if when is None:
                self.problems.append(f"a light student never saw step {n}")
            else:
                self.times["next_light"].append(when - clicked)
        self.times["next_real"] += [b.steps[n] - clicked for b in self.real if n in b.steps]

    async def everyone_guesses(self) -> None:
        """All students guess at once; each guess from its send to the projector's count reaching it."""
        await settled(self.teacher)
        self.tally.clear()
        started = time.monotonic()
        sent = await asyncio.gather(*(s.guess(k) for k, s in enumerate(self.light)),
                                    *(_browser_guess(b, k) for k, b in enumerate(self.real)))  # fmt: skip
        total = len(self.light) + len(self.real)
        while time.monotonic() - started < 2 * TIMEOUT_S and (not self.tally or self.tally[-1][1] < total):
            await asyncio.sleep(0.02)
        self.times["answered"] += [answered - s for s, answered, _ in sent]
        self.refused += sum(status != 200 for _, _, status in sent)
        kinds = ["light"] * len(self.light) + ["real"] * len(self.real)
        ordered = sorted((answered, s, kind) for (s, answered, _), kind in zip(sent, kinds))
        for k, (_, when, kind) in enumerate(ordered, start=1):  # the k-th guess stored is counted at n >= k
            shown = next((t for t, count in self.tally if count >= k), None)
            if shown is None:
                self.problems.append("a guess never reached the tally")
            else:
                self.times[f"guess_{kind}"].append(shown - when)

    async def leave(self) -> None:
        for s in self.light:
            s.closed = True
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def one_class(students: int, browsers: int, nexts: int) -> dict:
    from playwright.async_api import async_playwright

    port = local_app.free_port()
    url = f"http://127.0.0.1:{port}"
    store = Path(tempfile.mkdtemp()) / "lessons.sqlite3"
    env = {**os.environ, "SEQ2SEQ_LESSONS": str(store), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    log = open(Path(tempfile.mkdtemp()) / "server.log", "w")  # noqa: SIM115 - closed in finally
    proc = local_app.start(port, log, env)
    try:
        deadline = time.monotonic() + 90
        while not local_app.healthy(url):
            assert time.monotonic() < deadline, "the server did not start"
            await asyncio.sleep(0.3)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=local_app.CHROMIUM_ARGS + FOREGROUND
            )
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            tally: list[tuple[float, int]] = []
            await context.expose_function("tallied", lambda n: tally.append((time.monotonic(), n)))
            teacher, code = await teacher_opens(context, url)
            real = []
            for _ in range(browsers):
                page = await (await browser.new_context(viewport={"width": 400, "height": 860})).new_page()
                real.append(BrowserStudent(page, f"{url}/class/{code}?lang=en"))
            light = [LightStudent("127.0.0.1", port, code) for _ in range(students - browsers)]
            hall = LectureHall(proc.pid, teacher, light, real, tally)
            await hall.join()
            await asyncio.sleep(2)  # all wait at step 0: the server's CPU
            before = local_app.cpu_s(proc.pid)
            await asyncio.sleep(IDLE_S)
            waiting = (local_app.cpu_s(proc.pid) - before) / IDLE_S
            memory = local_app.rss_mb(proc.pid)
            for n in range(1, nexts + 1):
                await hall.next_step(n)
                if n == 1:  # every student guesses at once, on the first step
                    await hall.everyone_guesses()
                    memory = max(memory, local_app.rss_mb(proc.pid))
            await asyncio.sleep(1)
            version = max((s.seen() or {}).get("version", 0) for s in light) if light else 0
            missed = sum((s.seen() or {}).get("version") != version for s in light)
            memory = max(memory, local_app.rss_mb(proc.pid))
            await hall.leave()
            await browser.close()
        return _result(hall, students, browsers, nexts, waiting, memory, missed)
    finally:
        local_app.stop(proc)
        log.close()


def _result(
    hall: LectureHall, students: int, browsers: int, nexts: int, waiting: float, memory: float, missed: int
) -> dict:
    times = hall.times
    return {
        "students": students, "browsers": browsers, "nexts": nexts,
        "joined_all_s": round(max(times["joined_light"] + times["joined_real"]), 2),
        "joined": {"light": summary(times["joined_light"]), "browser": summary(times["joined_real"])},
        "waiting_cpu_share": round(waiting, 3),
        "next_to_students": {"light": summary(times["next_light"]), "browser": summary(times["next_real"]),
                             "all": summary(times["next_light"] + times["next_real"])},
        "guess_to_tally": {"light": summary(times["guess_light"]), "browser": summary(times["guess_real"]),
                           "all": summary(times["guess_light"] + times["guess_real"])},
        "guess_answered": summary(times["answered"]), "guesses_refused": hall.refused,
        "server_mb": round(memory, 1), "missed_last_change": missed,
        "reconnects": sum(s.reconnects for s in hall.light), "problems": sorted(set(hall.problems)),
    }  # fmt: skip


async def _browser_guess(student: BrowserStudent, unit: int) -> tuple[float, float, int]:
    page = student.page
    buttons = page.locator("#choices button")
    await buttons.nth(unit % await buttons.count()).click()
    sent = time.monotonic()
    await page.locator("#go").click()
    await page.locator("#mine").wait_for(state="visible", timeout=TIMEOUT_S * 1000)
    return sent, time.monotonic(), 200


FOREGROUND = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench hall")
    parser.add_argument("--students", default="30,100,200")
    parser.add_argument("--browsers", type=int, default=10)
    parser.add_argument("--nexts", type=int, default=5)
    parser.add_argument("--keep-training", action="store_true", help="a smoke run: do not pause training")
    args = parser.parse_args(argv)
    runs = []
    for students in (int(n) for n in args.students.split(",")):
        with training_paused(not args.keep_training) as paused:
            result = asyncio.run(one_class(students, min(args.browsers, students), args.nexts))
        result["training_paused"] = len(paused)
        result["before"] = BEFORE.get(students)
        print(json.dumps(result, ensure_ascii=False))
        runs.append(result)
    return {"runs": runs}


def table(results: dict) -> str:
    rows = [
        "| students | all joined | server CPU while all wait | Next → every student p50 / p95 (light · Chromium) "
        "| guess → teacher's tally p50 / p95 (light · Chromium) | server memory | left on an old change | before (issue 35: joined · CPU · Next p50 · guess · left behind) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        nxt, gss = run["next_to_students"], run["guess_to_tally"]

        def pair(s: dict) -> str:
            return f"{s['p50_s']:.2f} / {s['p95_s']:.2f} s" if s.get("n") else "–"

        before = run.get("before") or {}
        old = " · ".join(f"{before[k]}" + (" s" if k.endswith("_s") else "") for k in
                         ("joined_s", "waiting_cpu", "next_p50_s", "guess_s", "missed")) if before else "–"  # fmt: skip
        rows.append(
            f"| {run['students']} ({run['browsers']} in Chromium) | {run['joined_all_s']:.1f} s "
            f"| {run['waiting_cpu_share'] * 100:.1f}% | {pair(nxt['all'])} ({pair(nxt['light'])} · {pair(nxt['browser'])}) "
            f"| {pair(gss['all'])} ({pair(gss['light'])} · {pair(gss['browser'])}) | {run['server_mb']:.0f} MB "
            f"| {run['missed_last_change']} | {old} |"
        )
    return "\n".join(rows)
