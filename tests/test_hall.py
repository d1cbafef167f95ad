"""The lecture hall's server side (classroom/): the push, the students' routes against bad input, and the
lesson's record. The routes are called as ASGI, in process: no server, no browser, no timing."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from starlette.applications import Starlette

from classroom.push import Hall, event
from classroom.record import lesson_record, most_picked, record_csv
from classroom.routes import MAX_BODY, Classroom, RateLimit
from classroom.store import LessonStore
from seq2seq.words import group_sums, group_words, word_text

STATIC = Path(__file__).resolve().parents[1] / "classroom" / "static"
SENTENCE, MODEL = "the user opens the file now .", "tiny-additive"
STUDENT, OTHER = "0123456789abcdef" * 2, "fedcba9876543210" * 2


# --------------------------------------------------------------------------- the push
class Lessons:
    """The store as the broadcaster sees it: a version row per lesson, and the view it builds (counted)."""

    def __init__(self):
        self.versions = {"K7QP": 1}
        self.built = Counter()
        self.present: dict[str, int] = {}

    def version(self, code):
        return self.versions.get(code)

    def view(self, code):
        self.built[self.versions[code]] += 1
        return {"code": code, "version": self.versions[code]}


async def collect(hall: Hall, code: str, into: list, ready: asyncio.Event | None = None):
    async for message in hall.subscribe(code):
        into.append(message)
        if ready is not None:
            ready.set()


async def until(condition, timeout: float = 5.0):
    """Wait for a condition (polled), not for a time: the test asserts what happened, never how fast."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never came"
        await asyncio.sleep(0.005)


def test_one_change_reaches_every_subscriber_once_and_a_late_one_gets_the_state_at_once():
    async def run():
        lessons = Lessons()
        hall = Hall(lessons.version, lessons.view, lambda code, n: lessons.present.__setitem__(code, n), 0.01)
        inboxes = [[] for _ in range(5)]
        tasks = [asyncio.create_task(collect(hall, "K7QP", inbox)) for inbox in inboxes]
        await until(lambda: all(inboxes))
        assert all(inbox == [event({"code": "K7QP", "version": 1})] for inbox in inboxes)
        await until(lambda: lessons.present.get("K7QP") == 5)  # the connected count, for the teacher
        lessons.versions["K7QP"] = 2  # the teacher's Next
        await until(lambda: all(len(inbox) == 2 for inbox in inboxes))
        await asyncio.sleep(0.1)  # more polls: nothing more is sent for the same version
        assert all(inbox[1] == event({"code": "K7QP", "version": 2}) for inbox in inboxes)
        assert all(len(inbox) == 2 for inbox in inboxes)
        assert lessons.built == {1: 1, 2: 1}  # the view was built once per change, for the whole class

        late = []
        tasks.append(asyncio.create_task(collect(hall, "K7QP", late)))
        await until(lambda: late)
        assert late == [event({"code": "K7QP", "version": 2})] and lessons.built == {1: 1, 2: 1}
        hall.close()  # a server that stops ends every stream
        await asyncio.wait_for(asyncio.gather(*tasks), 5)

    asyncio.run(run())


def test_a_lesson_that_goes_away_is_said_once():
    async def run():
        lessons = Lessons()
        hall = Hall(lessons.version, lessons.view, None, 0.01)
        inbox = []
        task = asyncio.create_task(collect(hall, "K7QP", inbox))
        await until(lambda: inbox)
        del lessons.versions["K7QP"]
        await until(lambda: len(inbox) == 2)
        await asyncio.sleep(0.05)
        assert len(inbox) == 2 and b"event: gone" in inbox[1]
        hall.close()
        await asyncio.wait_for(task, 5)

    asyncio.run(run())


# --------------------------------------------------------------------------- the routes
async def call(app, method: str, path: str, *, body: bytes = b"", headers: dict | None = None,
               cookie: str | None = STUDENT) -> tuple[int, dict, bytes]:  # fmt: skip
    """One request through the ASGI app; (status, headers, body)."""
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw.append((b"host", b"testserver"))
    if cookie:
        raw.append((b"cookie", f"s2s_browser={cookie}".encode()))
    if body and not any(k == b"content-length" for k, _ in raw):
        raw.append((b"content-length", str(len(body)).encode()))
    path, _, query = path.partition("?")
    scope = {"type": "http", "http_version": "1.1", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": query.encode(), "headers": raw, "scheme": "http", "server": ("testserver", 80),
             "client": ("127.0.0.1", 1234), "root_path": ""}  # fmt: skip
    sent, received = [], False

    async def receive():
        nonlocal received
        if received:
            await asyncio.sleep(3600)
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, content


@pytest.fixture
def hall(tmp_path, monkeypatch, checkpoints_dir):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(checkpoints_dir))
    store = LessonStore(tmp_path / "lessons.sqlite3")
    room = Classroom(store, RateLimit(rate=0.001, burst=1000))  # the rate limit has a test of its own
    code, teacher = store.open()
    store.show(code, teacher, SENTENCE, MODEL, step=2, beam=1, source_tokens=8, steps=2, guess_first=True)
    return Starlette(routes=room.routes()), store, code, teacher


def guess(app, code: str, body: dict | bytes, cookie: str | None = STUDENT, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **headers}
    status, _, content = asyncio.run(call(app, "POST", f"/class/api/{code}/guess", body=data, headers=headers,
                                          cookie=cookie))  # fmt: skip
    return status, json.loads(content)


def body(step=2, token=1, round=0, nonce="n" * 20) -> dict:
    return {"step": step, "token": token, "round": round, "nonce": nonce}


def test_a_guess_is_stored_once_per_browser_and_a_replay_is_refused(hall):
    app, store, code, _ = hall
    assert guess(app, code, body()) == (200, {"ok": True, "step": 2, "token": 1})
    assert guess(app, code, body()) == (409, {"error": "replayed", "message": "this request was sent before"})
    assert guess(app, code, body(token=2, nonce="m" * 20))[0] == 200  # a new guess replaces the first
    assert guess(app, code, body(token=2, nonce="o" * 20), cookie=OTHER)[0] == 200
    assert store.tally(code, SENTENCE, MODEL, 2) == {2: 2}


@pytest.mark.parametrize(
    "data, headers, status, error",
    [
        (body(), {"content-type": "text/plain"}, 415, "wrong_type"),
        (body(), {"content-type": "application/x-www-form-urlencoded"}, 415, "wrong_type"),
        (b"x" * (MAX_BODY + 1), {}, 413, "too_large"),
        (body(), {"content-length": "100000"}, 413, "too_large"),
        (b"{not json", {}, 400, "bad_body"),
        (b"[1, 2]", {}, 400, "bad_body"),
        ({**body(), "student": STUDENT}, {}, 400, "bad_body"),  # a forged field
        ({"step": 2, "token": 1, "round": 0}, {}, 400, "bad_body"),  # no nonce: a replay could not be told
        (body(nonce="short"), {}, 400, "bad_body"),
        (body(nonce="<script>" * 3), {}, 400, "bad_body"),
        (body(step=True), {}, 400, "bad_step"),
        (body(token="1"), {}, 400, "bad_token"),
        (body(token=8), {}, 400, "bad_token"),  # the sentence has 8 source pieces: 0..7
        (body(token=-1), {}, 400, "bad_token"),
        (body(step=1), {}, 409, "closed"),  # the teacher is at step 2
        (body(step=3), {}, 409, "closed"),  # not yet open
        (body(round=1), {}, 409, "not_current"),  # a guess from before a Clear
        (body(), {"origin": "http://evil.example"}, 400, "bad_origin"),
    ],
)
def test_a_bad_guess_is_refused_with_a_clear_message_and_nothing_is_stored(
    hall, data, headers, status, error
):
    app, store, code, _ = hall
    got_status, got = guess(app, code, data, **headers)
    assert (got_status, got["error"]) == (status, error) and got["message"]
    assert store.tally(code, SENTENCE, MODEL, 2) == {} and store.tally(code, SENTENCE, MODEL, 1) == {}


def test_a_guess_needs_an_open_step_a_known_lesson_and_a_browser(hall):
    app, store, code, teacher = hall
    assert guess(app, "ZZZZ", body())[1]["error"] == "no_lesson"
    assert guess(app, "<b>", body())[1]["error"] == "bad_code"
    assert guess(app, code, body(), cookie=None)[1]["error"] == "no_browser"
    assert guess(app, code, body(), cookie="not-an-id")[1]["error"] == "no_browser"
    store.reveal(code, teacher, SENTENCE, MODEL, 2)
    assert guess(app, code, body()) == (409, {"error": "revealed", "message": "step 2 is revealed: its guesses are closed"})  # fmt: skip
    store.show(code, teacher, SENTENCE, MODEL, step=0, beam=1, source_tokens=8, steps=0, guess_first=True)
    assert guess(app, code, body(step=0))[1]["error"] == "not_open"  # before the first Next
    store.end(code, teacher)
    assert guess(app, code, body())[1]["error"] == "ended"
    assert store.tally(code, SENTENCE, MODEL, 2) == {}


def test_one_browser_is_held_to_a_few_requests_a_second():
    limit = RateLimit(rate=4, burst=8)
    assert all(limit.allow(STUDENT, now=100.0) for _ in range(8))
    assert not limit.allow(STUDENT, now=100.0) and limit.allow(OTHER, now=100.0)  # per browser
    assert limit.allow(STUDENT, now=100.3)  # a quarter of a second later: one more


def test_the_page_gives_a_browser_its_id_and_runs_no_script_but_its_own(hall):
    app, _, code, _ = hall
    status, headers, page = asyncio.run(call(app, "GET", f"/class/{code}", cookie=None))
    assert status == 200 and "s2s_browser=" in headers["set-cookie"] and "HttpOnly" in headers["set-cookie"]
    assert "script-src 'self'" in headers["content-security-policy"] and b"<script>" not in page
    _, headers, _ = asyncio.run(call(app, "GET", f"/class/{code}"))
    assert "set-cookie" not in headers  # a browser with an id keeps it: one browser, one vote
    script = (STATIC / "lesson.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "eval(" not in script
    status, _, words = asyncio.run(call(app, "GET", "/class/api/strings?lang=ko"))
    assert status == 200 and json.loads(words)["strings"]["guess.go"] == "추측"
    status, _, content = asyncio.run(call(app, "GET", "/class/api/ZZZZ"))
    assert status == 404 and json.loads(content)["error"] == "no_lesson"
    status, _, content = asyncio.run(call(app, "GET", "/class/api/ZZZZ/events"))
    assert status == 404 and json.loads(content)["error"] == "no_lesson"


# --------------------------------------------------------------------------- the record
def test_the_record_counts_the_class_per_step_and_names_nobody(tmp_path, tiny_translator):
    session = tiny_translator.start(SENTENCE)
    session.go_to(3)
    words = group_words(session.src_tokens)
    # step 1: three browsers on word 1, one on word 2; step 2: one on word 0; step 3: none
    tallies = {1: Counter({words[1][0]: 3, words[2][0]: 1}), 2: Counter({words[0][0]: 1})}
    table = lesson_record(session, "word", tallies)
    rows = list(csv.DictReader(io.StringIO(record_csv(table).decode("utf-8-sig"))))
    assert record_csv(table).startswith("\ufeff".encode())  # Excel reads UTF-8 with its BOM
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert [r["guesses"] for r in rows] == ["4", "1", "0"]
    labels = [word_text(session.src_tokens, g) for g in words]
    assert rows[0]["picked"] == labels[1] and float(rows[0]["picked_share"]) == 0.75
    assert rows[2]["picked"] == "" and rows[2]["top_share"] == ""
    for row, step in zip(rows, session.steps):
        alpha = group_sums(step.weights, words)
        top = int(alpha.argmax())
        assert row["top"] == labels[top]
        shares = {1: Counter({1: 3, 2: 1}), 2: Counter({0: 1})}.get(step.index + 1)
        if shares:
            assert float(row["top_share"]) == pytest.approx(shares[top] / sum(shares.values()), abs=1e-3)
        alphas = [float(v) for k, v in row.items() if k.startswith("α ")]
        assert alphas == pytest.approx(alpha.tolist(), abs=1e-4)
    assert set(rows[0]) >= {"step", "wrote", "guesses", "picked", "picked_share", "top", "top_share"}
    assert STUDENT not in record_csv(table).decode("utf-8-sig")
    assert most_picked(session, "word", tallies) == {0: words[1][0], 1: words[0][0]}
