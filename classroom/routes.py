"""The students' routes, served beside the Streamlit app by `st.App` (serve.py):

    GET  /class/{code}                the light page (the same HTML for every lesson; it reads the code)
    GET  /class/static/...            its CSS and JavaScript
    GET  /class/api/strings?lang=ko   the page's words, from the explorer's catalogues
    GET  /class/api/{code}            whether the lesson is there (a page that lost its stream asks)
    GET  /class/api/{code}/events     the push: server-sent events, the whole view on every change
    POST /class/api/{code}/guess      a guess, as JSON: {"step", "token", "round", "nonce"}

Stateless over the store: everything a route needs is in the request and the SQLite file, so any number
of processes on the same store serve the same lesson with no sticky sessions. The only memory a process
keeps is its broadcasters (rebuilt from the store on the first stream) and the rate limit (per process).

Who is who: the `s2s_browser` cookie, the same random id the explorer keeps, set here when a browser
has none (HttpOnly: the page's script never sees it). Every refusal is a JSON `{"error", "message"}`
with a 4xx status, and stores nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ui import strings_en, strings_ko

from . import question
from .push import PROCESS, Hall, event
from .store import LessonStore, default_path
from .values import BROWSER_COOKIE, COOKIE_DAYS, LessonError, check_code, is_browser_id, new_student_id

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 512  # bytes: a guess is about 80
RATE = 4.0  # requests a second a browser may make, on average ...
BURST = 8.0  # ... and this many at once (a page's first load is 3: the page, its words, its stream)
GUESS_KEYS = {"step", "token", "round", "nonce"}
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
PAGE_KEYS = ("hall.", "guess.", "lesson.err.", "lesson.explore", "lesson.rejoin", "lesson.wait_start")
CATALOGUES = {"en": strings_en.STRINGS, "ko": strings_ko.STRINGS}
# the light page loads nothing from elsewhere and runs no inline script: a page that shows a student's
# sentence can run no script that came with it
SECURITY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATUS = {
    "no_lesson": 404,
    "bad_code": 404,
    "replayed": 409,
    "ended": 409,
    "revealed": 409,
    "closed": 409,
    "not_open": 409,
    "not_current": 409,
    "too_many": 429,
    "wrong_type": 415,
    "too_large": 413,
}


def refuse(code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=STATUS.get(code, 400))


class RateLimit:
    """A token bucket per browser, in this process: `RATE` a second, `BURST` at once. (Several processes
    each allow as much: a student gains nothing by it but a few requests.)"""

    def __init__(self, rate: float = RATE, burst: float = BURST, size: int = 10_000):
        self.rate, self.burst, self.size = rate, burst, size
        self.buckets: dict[str, tuple[float, float]] = {}

    def allow(self, who: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, then = self.buckets.get(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if len(self.buckets) > self.size:  # forget the quiet ones
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 60}
        if tokens < 1:
            self.buckets[who] = (tokens, now)
            return False
        self.buckets[who] = (tokens - 1, now)
        return True


class Classroom:
    """The routes and their one store, broadcaster hall and rate limit (one per server process)."""

    def __init__(self, store: LessonStore | None = None, rate: RateLimit | None = None):
        self.store = store or LessonStore(default_path())
        self.rate = rate or RateLimit()
        self.hall: Hall | None = None  # made in the server's event loop (`lifespan`, or the first stream)
        self.page = (STATIC / "lesson.html").read_bytes()

    def _hall(self) -> Hall:
        if self.hall is None:
            self.hall = Hall(self.store.version, self.view, self._present)
        return self.hall

    def view(self, code: str) -> dict:
        return question.state(self.store.get(code))

    def _present(self, code: str, students: int) -> None:
        self.store.present(PROCESS, code, students)

    # ------------------------------------------------------------------ the routes
    def routes(self) -> list:
        return [
            Route("/class/api/strings", self.strings, methods=["GET"]),
            Route("/class/api/{code}", self.status, methods=["GET"]),
            Route("/class/api/{code}/events", self.events, methods=["GET"]),
            Route("/class/api/{code}/guess", self.guess, methods=["POST"]),
            Mount("/class/static", app=StaticFiles(directory=STATIC), name="class_static"),
            Route("/class/{code}", self.lesson_page, methods=["GET"]),
        ]

    @asynccontextmanager
    async def lifespan(self, _app):
        """With the server: the streams end as soon as it is told to stop. Uvicorn waits for every open
        response before it shuts down, and an event stream never ends by itself, so Ctrl+C or SIGTERM
        first ends the streams (each page's EventSource reconnects by itself), then does what it did."""
        hall, loop = self._hall(), asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            before = signal.getsignal(number)

            def stop(sig, frame, before=before):
                loop.call_soon_threadsafe(hall.close)
                if callable(before):
                    before(sig, frame)

            try:
                signal.signal(number, stop)
            except ValueError:  # not the main thread (a test's server): nothing to chain
                pass
        try:
            yield None
        finally:
            hall.close()

    async def lesson_page(self, request: Request) -> Response:
        response = Response(self.page, media_type="text/html; charset=utf-8", headers=SECURITY)
        if not is_browser_id(request.cookies.get(BROWSER_COOKIE)):
            _set_browser(response, new_student_id())
        return response

    async def strings(self, request: Request) -> Response:
        lang = request.query_params.get("lang")
        catalogue = CATALOGUES.get(lang or "", CATALOGUES["en"])
        words = {k: v for k, v in catalogue.items() if k.startswith(PAGE_KEYS)}
        return JSONResponse({"lang": lang if lang in CATALOGUES else "en", "strings": words},
                            headers={"Cache-Control": "max-age=300"})  # fmt: skip

    async def status(self, request: Request) -> Response:
        try:
            lesson = self.store.get(request.path_params["code"])
        except LessonError as exc:
            return refuse(exc.code, str(exc))
        return JSONResponse({"code": lesson.code, "ended": lesson.ended, "version": lesson.version})

    def _admit(self, request: Request) -> tuple[str, Response | None]:
        """The browser's id, or the refusal for a request without one or over the rate limit."""
        student = request.cookies.get(BROWSER_COOKIE)
        if not is_browser_id(student):
            return "", refuse("no_browser", "open the lesson's page first: it gives this browser its id")
        if not self.rate.allow(student):
            return student, refuse("too_many", "too many requests from this browser: wait a second")
        return student, None

    async def events(self, request: Request) -> Response:
        student, refused = self._admit(request)
        if refused is not None:
            return refused
        try:
            code = check_code(request.path_params["code"])
            lesson = self.store.get(code)
            mine = self.store.mine(code, student, lesson.sentence, lesson.checkpoint)
        except LessonError as exc:
            return refuse(exc.code, str(exc))
        hello = event({"sentence": lesson.sentence, "model": lesson.checkpoint, "round": lesson.cleared,
                       "guesses": {str(k): v for k, v in mine.items()}}, "mine")  # fmt: skip

        async def stream():
            yield hello  # this browser's own guesses (a reload, a restart): read once, on connecting
            async for message in self._hall().subscribe(code):
                yield message

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def guess(self, request: Request) -> Response:
        student, refused = self._admit(request)
        if refused is not None:
            return refused
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
            return refuse("bad_origin", "a guess comes from the lesson's own page")
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return refuse("wrong_type", "a guess is sent as application/json")
        try:
            declared = int(request.headers.get("content-length", "0"))
        except ValueError:
            declared = MAX_BODY + 1
        if declared > MAX_BODY:
            return refuse("too_large", f"a guess is at most {MAX_BODY} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return refuse("too_large", f"a guess is at most {MAX_BODY} bytes")
        try:
            sent = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return refuse("bad_body", "a guess is a JSON object")
        if not isinstance(sent, dict) or set(sent) != GUESS_KEYS:
            return refuse("bad_body", "a guess is {step, token, round, nonce}")
        if not isinstance(sent["nonce"], str) or not NONCE.fullmatch(sent["nonce"]):
            return refuse("bad_body", "a guess's nonce is 16 to 64 letters, digits, - or _")
        for key in ("step", "token", "round"):
            if isinstance(sent[key], bool) or not isinstance(sent[key], int):
                return refuse(f"bad_{key}", f"{key} is a whole number")
        try:
            lesson = self.store.get(request.path_params["code"])
            if lesson.ended:
                raise LessonError("ended", f"lesson {lesson.code} has ended")
            if not lesson.guess_first or lesson.step < 1:
                raise LessonError("not_open", "the teacher has not opened a step for guessing")
            if sent["step"] != lesson.step:
                raise LessonError(
                    "closed", f"step {sent['step']} is closed: the teacher is at step {lesson.step}"
                )
            if sent["round"] != lesson.cleared:
                raise LessonError("not_current", "the teacher cleared the guesses: guess again")
            self.store.guess(lesson.code, student, lesson.sentence, lesson.checkpoint, sent["step"],
                             sent["token"], nonce=sent["nonce"])  # fmt: skip
        except LessonError as exc:
            return refuse(exc.code, str(exc))
        return JSONResponse({"ok": True, "step": sent["step"], "token": sent["token"]})


def _set_browser(response: Response, browser: str) -> None:
    response.set_cookie(BROWSER_COOKIE, browser, max_age=COOKIE_DAYS * 24 * 3600, path="/", httponly=True,
                        samesite="lax")  # fmt: skip
