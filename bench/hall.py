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
import secrets
import signal
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import local_app

SENTENCE = "Select the text that you want to copy, then choose Edit - Copy."
IDLE_S = 10
TIMEOUT_S = 60
TRAINING_PIDS = ("/work/main/runs/koen-general-additive.pid", "/work/main/runs/koen-general-fixed.pid")
BEFORE = {  # issue 35: the Streamlit student page, measured the same way (ranges over runs)
    30: {"joined_s": "7–11", "waiting_cpu": "12–15%", "next_p50_s": "1.1–1.9", "guess_s": "0.9–1.7", "missed": "0"},
    100: {"joined_s": "23–31", "waiting_cpu": "31–42%", "next_p50_s": "3.8–6.9", "guess_s": "1.8–2.8", "missed": "0"},
    200: {"joined_s": "10–71", "waiting_cpu": "60–87%", "next_p50_s": "7–27", "guess_s": "11.5–15.3", "missed": "1–12"},
}  # fmt: skip


# --------------------------------------------------------------------------- a light client
class LightStudent:
    """One phone's page, as lesson.js behaves: page, assets, words, event stream; guesses by POST."""

    def __init__(self, host: str, port: int, code: str):
        self.host, self.port, self.code = host, port, code
        self.cookie = ""
        self.states: list[tuple[float, dict]] = []  # (when, pushed state)
        self.retry_s = 1.0
        self.reconnects = 0
        self.closed = False

    async def _request(
        self, method: str, path: str, body: bytes = b"", kind: str = ""
    ) -> tuple[int, dict, bytes]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close"]
        if self.cookie:
            lines.append(f"Cookie: s2s_browser={self.cookie}")
        if kind:
            lines.append(f"Content-Type: {kind}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status, headers = await _head(reader)
        content = await _body(reader, headers)
        writer.close()
        return status, headers, content

    async def open_page(self) -> None:
        status, headers, _ = await self._request("GET", f"/class/{self.code}?lang=en")
        found = re.search(r"s2s_browser=([0-9a-f]{32})", headers.get("set-cookie", ""))
        self.cookie = found[1] if found else secrets.token_hex(16)
        for path in ("/class/static/lesson.css", "/class/static/lesson.js", "/class/api/strings?lang=en"):
            await self._request("GET", path)

    async def follow(self) -> None:
        """The EventSource: open, read events; when the stream drops, wait `retry` and open it again."""
        while not self.closed:
            try:
                await self._stream()
            except (OSError, asyncio.IncompleteReadError, ValueError):
                pass
            if self.closed:
                return
            self.reconnects += 1
            await asyncio.sleep(self.retry_s)

    async def _stream(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        request = (f"GET /class/api/{self.code}/events HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   f"Accept: text/event-stream\r\nCookie: s2s_browser={self.cookie}\r\n\r\n")  # fmt: skip
        writer.write(request.encode())
        await writer.drain()
        status, headers = await _head(reader)
        if status != 200:
            writer.close()
            raise ValueError(f"stream refused: {status}")
        buffer = b""
        try:
            async for chunk in _chunks(reader, headers):
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self._event(block.decode())
                if self.closed:
                    return
        finally:
            writer.close()

    def _event(self, block: str) -> None:
        name, data = "message", ""
        for line in block.split("\n"):
            if line.startswith("retry:"):
                self.retry_s = int(line[6:]) / 1000
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if name == "state":
            self.states.append((time.monotonic(), json.loads(data)))
        elif name == "gone":
            self.closed = True

    def seen(self) -> dict | None:
        return self.states[-1][1] if self.states else None

    async def guess(self, unit: int) -> tuple[float, float, int]:
        """(sent, answered, status) of one guess for the current step, as the page sends it."""
        view = self.seen()
        if "starts" not in view:
            raise ValueError(f"no question in {view}")
        body = {"step": view["step"], "token": view["starts"][unit % len(view["starts"])],
                "round": view["round"], "nonce": secrets.token_hex(16)}  # fmt: skip
        sent = time.monotonic()
        status, _, _ = await self._request("POST", f"/class/api/{self.code}/guess", json.dumps(body).encode(),
                                           "application/json")  # fmt: skip
        return sent, time.monotonic(), status


async def _head(reader) -> tuple[int, dict]:
    status_line = await reader.readline()
    if not status_line:
        raise ValueError("no answer")
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = (await reader.readline()).decode().strip()
        if not line:
            return status, headers
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = (headers.get(key.strip().lower(), "") + " " + value.strip()).strip()


async def _chunks(reader, headers: dict):
    if "chunked" not in headers.get("transfer-encoding", ""):
        while data := await reader.read(65536):
            yield data
        return
    while True:
        size = int((await reader.readline()).strip() or b"0", 16)
        if size == 0:
            return
        yield await reader.readexactly(size)
        await reader.readline()


async def _body(reader, headers: dict) -> bytes:
    return b"".join([chunk async for chunk in _chunks(reader, headers)])


# --------------------------------------------------------------------------- a real browser student
SEEN_JS = """() => { const note = () => window.pushed(document.getElementById('ask').textContent,
  document.getElementById('wait').hidden); new MutationObserver(note).observe(document.body,
  {subtree: true, childList: true, characterData: true, attributes: true}); }"""


class BrowserStudent:
    """A Chromium page on the light page; `steps` records when each step's question first showed."""

    def __init__(self, page, url: str):
        self.page, self.url = page, url
        self.steps: dict[int, float] = {}
        self.joined: float | None = None

    async def open(self) -> None:
        def pushed(ask: str, waiting: bool) -> None:
            now = time.monotonic()
            if self.joined is None and (waiting is False or ask):
                self.joined = now
            found = re.match(r"Step (\d+):", ask or "")
            if found:
                self.steps.setdefault(int(found[1]), now)

        await self.page.expose_function("pushed", pushed)
        await self.page.goto(self.url, wait_until="domcontentloaded")
        await self.page.evaluate(SEEN_JS)
        await self.page.wait_for_function("() => !document.getElementById('wait').hidden || "
                                          "!document.getElementById('step').hidden", timeout=TIMEOUT_S * 1000)  # fmt: skip
        self.joined = self.joined or time.monotonic()


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


async def one_class(students: int, browsers: int, nexts: int) -> dict:
    from playwright.async_api import async_playwright

    port = local_app.free_port()
    url, host = f"http://127.0.0.1:{port}", "127.0.0.1"
    store = Path(tempfile.mkdtemp()) / "lessons.sqlite3"
    env = {**os.environ, "SEQ2SEQ_LESSONS": str(store), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    log = open(Path(tempfile.mkdtemp()) / "server.log", "w")  # noqa: SIM115 - closed in finally
    proc = local_app.start(port, log, env)
    problems: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not local_app.healthy(url):
            assert time.monotonic() < deadline, "the server did not start"
            await asyncio.sleep(0.3)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=local_app.CHROMIUM_ARGS + FOREGROUND
            )
            tally: list[tuple[float, int]] = []
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.expose_function("tallied", lambda n: tally.append((time.monotonic(), n)))
            teacher, code = await teacher_opens(context, url)
            main = teacher.locator('[data-testid="stMain"]')
            light = [LightStudent(host, port, code) for _ in range(students - browsers)]
            real = []
            for _ in range(browsers):
                page = await (await browser.new_context(viewport={"width": 400, "height": 860})).new_page()
                real.append(BrowserStudent(page, f"{url}/class/{code}?lang=en"))

            # everyone joins at once
            started = time.monotonic()

            following = []  # (kept: a task nobody holds may be collected while it runs)

            async def join(student: LightStudent) -> None:
                await student.open_page()
                following.append(asyncio.create_task(student.follow()))

            await asyncio.gather(*(join(s) for s in light), *(b.open() for b in real))
            while any(not s.states for s in light) and time.monotonic() - started < TIMEOUT_S:
                await asyncio.sleep(0.02)
            joined_light = [s.states[0][0] - started for s in light if s.states]
            joined_real = [b.joined - started for b in real if b.joined]
            problems += [f"{students - len(joined_light) - len(joined_real)} never joined"] * (
                len(joined_light) + len(joined_real) < students)  # fmt: skip

            # all wait at step 0: the server's CPU
            await asyncio.sleep(2)
            before = local_app.cpu_s(proc.pid)
            await asyncio.sleep(IDLE_S)
            waiting = (local_app.cpu_s(proc.pid) - before) / IDLE_S
            memory = local_app.rss_mb(proc.pid)

            next_light, next_real, guess_light, guess_real, answered_in, refused = [], [], [], [], [], 0
            for n in range(1, nexts + 1):
                await settled(teacher)
                clicked = time.monotonic()
                await main.get_by_role("button", name="Next ▶").click()
                while time.monotonic() - clicked < TIMEOUT_S and (
                    any(not s.seen() or s.seen().get("step") != n for s in light)
                    or any(n not in b.steps for b in real)
                ):
                    await asyncio.sleep(0.02)
                for s in light:
                    when = next((t for t, v in s.states if v.get("step") == n and t >= clicked), None)
                    if when is None:
                        problems.append(f"a light student never saw step {n}")
                    else:
                        next_light.append(when - clicked)
                next_real += [b.steps[n] - clicked for b in real if n in b.steps]
                if os.environ.get("HALL_DEBUG"):
                    print(
                        n,
                        time.monotonic() - clicked,
                        [s.seen() and s.seen().get("step") for s in light],
                        [b.steps for b in real],
                        flush=True,
                    )
                    await teacher.screenshot(path=f"/tmp/hall-teacher-{n}.png")
                if n == 1:  # every student guesses at once, on the first step
                    await settled(teacher)
                    tally.clear()
                    sent = await asyncio.gather(*(s.guess(k) for k, s in enumerate(light)),
                                                *(_browser_guess(b, k) for k, b in enumerate(real)))  # fmt: skip
                    while time.monotonic() - clicked < 2 * TIMEOUT_S and (
                        not tally or tally[-1][1] < students
                    ):
                        await asyncio.sleep(0.02)
                    answered_in += [answered - s for s, answered, _ in sent]
                    refused += sum(status != 200 for _, _, status in sent)
                    ordered = sorted((answered, s, kind) for (s, answered, _), kind in
                                     zip(sent, ["light"] * len(light) + ["browser"] * len(real)))  # fmt: skip
                    for k, (_, when, kind) in enumerate(ordered, start=1):
                        shown = next((t for t, count in tally if count >= k), None)
                        if shown is None:
                            problems.append("a guess never reached the tally")
                            continue
                        (guess_light if kind == "light" else guess_real).append(shown - when)
                    memory = max(memory, local_app.rss_mb(proc.pid))
            await asyncio.sleep(1)
            version = max((s.seen() or {}).get("version", 0) for s in light) if light else 0
            missed = sum((s.seen() or {}).get("version") != version for s in light)
            memory = max(memory, local_app.rss_mb(proc.pid))
            for s in light:
                s.closed = True
            for task in following:
                task.cancel()
            await asyncio.gather(*following, return_exceptions=True)
            await browser.close()
        return {
            "students": students, "browsers": browsers, "nexts": nexts,
            "joined_all_s": round(max(joined_light + joined_real), 2),
            "joined": {"light": summary(joined_light), "browser": summary(joined_real)},
            "waiting_cpu_share": round(waiting, 3),
            "next_to_students": {"light": summary(next_light), "browser": summary(next_real),
                                 "all": summary(next_light + next_real)},
            "guess_to_tally": {"light": summary(guess_light), "browser": summary(guess_real),
                               "all": summary(guess_light + guess_real)},
            "guess_answered": summary(answered_in), "guesses_refused": refused,
            "server_mb": round(memory, 1), "missed_last_change": missed,
            "reconnects": sum(s.reconnects for s in light), "problems": sorted(set(problems)),
        }  # fmt: skip
    finally:
        local_app.stop(proc)
        log.close()


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
