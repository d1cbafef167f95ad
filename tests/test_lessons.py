"""Tests for classroom.store: the class's shared store in SQLite (WAL), under load, across a restart,
and against forged input."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from classroom.store import LessonStore
from classroom.values import LessonError, new_student_id

SENTENCE, MODEL = "How are you?", "enko-general-additive"


@pytest.fixture
def store(tmp_path):
    return LessonStore(tmp_path / "lessons.sqlite3")


def opened(store: LessonStore) -> tuple[str, str]:
    code, teacher = store.open()
    store.show(code, teacher, SENTENCE, MODEL, step=1, beam=1, source_tokens=5, steps=6)
    return code, teacher


def test_a_lesson_is_a_short_code_in_wal_mode_and_the_class_follows_its_view(store, tmp_path):
    code, teacher = opened(store)
    assert len(code) == 4 and code.isalnum() and code.upper() == code
    assert sqlite3.connect(tmp_path / "lessons.sqlite3").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.show(code, teacher, "I am a student.", MODEL, step=3, beam=5, source_tokens=6, steps=7)
    lesson = store.get(code.lower())
    assert (lesson.sentence, lesson.checkpoint, lesson.step, lesson.beam) == ("I am a student.", MODEL, 3, 5)


def test_thirty_students_guessing_at_once_lose_nothing(store):
    code, _ = opened(store)
    students = [new_student_id() for _ in range(30)]
    errors = []
    barrier = threading.Barrier(30)

    def student(k: int) -> None:
        try:
            barrier.wait()
            for step in (1, 2):
                store.guess(code, students[k], SENTENCE, MODEL, step, k % 5)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=student, args=(k,)) for k in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for step in (1, 2):
        assert store.tally(code, SENTENCE, MODEL, step) == {j: 6 for j in range(5)}


def test_a_second_guess_replaces_the_first(store):
    code, _ = opened(store)
    me = new_student_id()
    store.guess(code, me, SENTENCE, MODEL, 1, 0)
    store.guess(code, me, SENTENCE, MODEL, 1, 3)
    assert store.tally(code, SENTENCE, MODEL, 1) == {3: 1}


def test_lessons_survive_a_restart_and_clearing_and_expiry_remove_them(tmp_path):
    path = tmp_path / "lessons.sqlite3"
    first = LessonStore(path)
    code, teacher = opened(first)
    first.guess(code, new_student_id(), SENTENCE, MODEL, 1, 2)
    again = LessonStore(path)  # a restarted server
    assert again.tally(code, SENTENCE, MODEL, 1) == {2: 1} and again.is_teacher(code, teacher)
    again.clear(code, teacher)
    assert again.tally(code, SENTENCE, MODEL, 1) == {}
    assert again.get(code).sentence == SENTENCE  # clearing keeps the lesson open
    later = again.get(code).created + 24 * 3600 + 1
    assert again.expire(now=later) == 1
    with pytest.raises(LessonError, match="no lesson"):
        again.get(code)


@pytest.mark.parametrize(
    "field, value, why",
    [
        ("code", "A" * 10_000, "bad_code"),
        ("code", "ZZZZ", "no_lesson"),
        ("code", "'; DELETE FROM guesses; --", "bad_code"),
        ("student", "' OR 1=1 --", "bad_student"),
        ("student", "a" * 31, "bad_student"),
        ("sentence", "Robert'); DROP TABLE lessons;--", "not_current"),
        ("model", "../other", "bad_model"),
        ("step", 0, "bad_step"),
        ("step", 7, "bad_step"),
        ("step", "1", "bad_step"),
        ("token", 5, "bad_token"),
        ("token", -1, "bad_token"),
        ("token", True, "bad_token"),
        ("token", 2.0, "bad_token"),
    ],
)
def test_a_forged_guess_is_refused_and_changes_nothing(store, field, value, why):
    code, _ = opened(store)
    me = new_student_id()
    store.guess(code, me, SENTENCE, MODEL, 1, 1)
    args = {"code": code, "student": me, "sentence": SENTENCE, "model": MODEL, "step": 1, "token": 4}
    args[field] = value
    with pytest.raises(LessonError) as refused:
        store.guess(
            args["code"], args["student"], args["sentence"], args["model"], args["step"], args["token"]
        )
    assert refused.value.code == why
    assert store.tally(code, SENTENCE, MODEL, 1) == {1: 1}
    assert store.get(code).sentence == SENTENCE  # the tables are still there


def test_the_teacher_s_forced_tokens_are_kept_and_forged_ones_refused(store, tmp_path):
    code, teacher = opened(store)
    store.show(
        code, teacher, SENTENCE, MODEL, step=4, beam=1, source_tokens=5, steps=4, forced=[(1, 37), (3, 5)]
    )
    assert store.get(code).forced == ((1, 37), (3, 5))
    for forced in (
        [(4, 1)],
        [(-1, 1)],
        [(0, -3)],
        [(0, 10**9)],
        [("1", 2)],
        [(1,)],
        "1:2",
        [(0, 1)] * 10_000,
    ):
        with pytest.raises(LessonError) as refused:
            store.show(
                code, teacher, SENTENCE, MODEL, step=4, beam=1, source_tokens=5, steps=4, forced=forced
            )
        assert refused.value.code.startswith("bad_"), forced
    assert store.get(code).forced == ((1, 37), (3, 5))  # unchanged
    db = sqlite3.connect(tmp_path / "lessons.sqlite3")
    with db:
        db.execute("UPDATE lessons SET forced = 'x:y;DROP' WHERE code = ?", (code,))
    assert store.get(code).forced == ()  # a hand-edited value reads as nothing forced


def test_only_the_teacher_changes_or_clears_a_lesson(store):
    code, _ = opened(store)
    with pytest.raises(LessonError) as refused:
        store.show(code, "not-the-secret", "Hi.", MODEL, 1, 1, 3, 3)
    assert refused.value.code == "not_teacher"
    with pytest.raises(LessonError):
        store.clear(code, "not-the-secret")
    assert store.get(code).sentence == SENTENCE


def test_a_browser_is_one_vote_its_own_guesses_come_back_and_clear_lets_it_guess_again(store):
    code, teacher = opened(store)
    me, other = new_student_id(), new_student_id()
    for token in (0, 3, 3):  # a reload, a new tab, a restart: the same browser id, one vote
        store.guess(code, me, SENTENCE, MODEL, 1, token)
    store.guess(code, other, SENTENCE, MODEL, 1, 1)
    assert store.tally(code, SENTENCE, MODEL, 1) == {3: 1, 1: 1}
    assert (
        store.mine(code, me, SENTENCE, MODEL) == {1: 3} and store.mine(code, "forged", SENTENCE, MODEL) == {}
    )
    store.reveal(code, teacher, SENTENCE, MODEL, 1)
    with pytest.raises(LessonError) as closed:  # revealed: the answer is out, the guesses are closed
        store.guess(code, me, SENTENCE, MODEL, 1, 0)
    assert closed.value.code == "revealed" and store.get(code).revealed == {1}
    store.clear(code, teacher)
    assert store.mine(code, me, SENTENCE, MODEL) == {} and store.get(code).revealed == frozenset()
    store.guess(code, me, SENTENCE, MODEL, 1, 2)  # everyone guesses again
    assert store.tally(code, SENTENCE, MODEL, 1) == {2: 1}


def test_the_version_moves_only_when_the_teacher_changes_something(store):
    code, teacher = opened(store)
    version = store.version(code)
    same = store.show(code, teacher, SENTENCE, MODEL, step=1, beam=1, source_tokens=5, steps=6)
    assert (
        same == version == store.version(code)
    )  # a page writing what is stored: nothing for the class to do
    store.guess(code, new_student_id(), SENTENCE, MODEL, 1, 0)
    assert store.version(code) == version  # a guess is the student's, not a change of the lesson
    moved = store.show(code, teacher, SENTENCE, MODEL, step=2, beam=1, source_tokens=5, steps=6, guess_first=True,
                       unit="piece", hidden=True)  # fmt: skip
    lesson = store.get(code)
    assert moved == version + 1 == lesson.version
    assert (lesson.step, lesson.guess_first, lesson.unit, lesson.hidden) == (2, True, "piece", True)
    assert store.reveal(code, teacher, SENTENCE, MODEL, 2) == moved + 1
    assert store.clear(code, teacher) == moved + 2
    with pytest.raises(LessonError) as refused:
        store.show(code, teacher, SENTENCE, MODEL, step=2, beam=1, source_tokens=5, steps=6, unit="<b>")
    assert refused.value.code == "bad_rules"


def test_the_end_is_stored_and_closes_the_lesson(store):
    code, teacher = opened(store)
    with pytest.raises(LessonError):
        store.end(code, "not-the-key")
    store.end(code, teacher)
    assert store.get(code).ended
    for action in (
        lambda: store.guess(code, new_student_id(), SENTENCE, MODEL, 1, 0),
        lambda: store.show(code, teacher, SENTENCE, MODEL, step=2, beam=1, source_tokens=5, steps=6),
    ):
        with pytest.raises(LessonError) as refused:
            action()
        assert refused.value.code == "ended"


def test_the_teacher_s_key_is_stored_as_a_hash_and_a_handoff_works_once_in_time(store, tmp_path):
    key = new_student_id()  # the app's teacher key is the browser's id
    code, returned = store.open(teacher=key)
    assert returned == key and store.is_teacher(code, key) and not store.is_teacher(code, new_student_id())
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("lessons.sqlite3*"))  # the file and its WAL
    assert key.encode() not in raw  # only its SHA-256 is kept
    phone, late = new_student_id(), new_student_id()
    token = store.handoff(code, key)
    store.take_handoff(code, token, phone)
    assert store.is_teacher(code, phone)
    with pytest.raises(LessonError) as twice:
        store.take_handoff(code, token, late)
    assert twice.value.code == "bad_handoff" and not store.is_teacher(code, late)
    old = store.handoff(code, key, now=0.0)  # made long ago: too old
    with pytest.raises(LessonError):
        store.take_handoff(code, old, late)
    with pytest.raises(LessonError):
        store.handoff(code, "not-the-key")
    for forged in ("", "x" * 65, None):
        with pytest.raises(LessonError):
            store.take_handoff(code, forged, late)
    assert not store.is_teacher(code, late)


OLD_LESSONS = (
    "CREATE TABLE lessons (code TEXT PRIMARY KEY, teacher TEXT NOT NULL, created REAL NOT NULL, "
    "sentence TEXT NOT NULL DEFAULT '', checkpoint TEXT NOT NULL DEFAULT '', step INTEGER NOT NULL DEFAULT 0, "
    "beam INTEGER NOT NULL DEFAULT 1, source_tokens INTEGER NOT NULL DEFAULT 0, steps INTEGER NOT NULL DEFAULT 0"
)


@pytest.mark.parametrize(
    "columns", ["", ", forced TEXT NOT NULL DEFAULT ''"], ids=["before forced tokens", "before the reveal"]
)
def test_an_older_store_gains_the_columns_it_lacks(tmp_path, columns):
    """A store written by an older app (no forced path; or no reveal, end and rules) opens and works."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_LESSONS + columns + ");")
    old.close()
    store = LessonStore(path)
    code, teacher = opened(store)
    assert store.get(code).forced == ()
    store.reveal(code, teacher, SENTENCE, MODEL, 1)
    lesson = store.get(code)
    assert lesson.revealed == {1} and not lesson.ended and lesson.version == 2


def test_a_store_that_sqlite_finds_locked_at_once_is_opened_when_the_lock_goes(tmp_path, monkeypatch):
    """Two servers opening one new store: where waiting could deadlock, SQLite answers "database is locked"
    at once, without its busy timeout (it stopped a server from starting in CI). The store tries again."""
    import sqlite3
    import threading

    import classroom.store as store

    path = tmp_path / "lessons.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN EXCLUSIVE")  # nobody else may read or write, let alone turn WAL on
    connect = sqlite3.connect
    monkeypatch.setattr(store.sqlite3, "connect", lambda *a, **k: connect(*a, **{**k, "timeout": 0}))
    threading.Timer(0.5, holder.rollback).start()
    lessons = store.LessonStore(path)  # no busy wait: it fails at once, then retries until the lock goes
    code, _ = lessons.open()
    assert lessons.version(code) is not None
    assert connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_retrying_a_locked_store_gives_up_on_other_errors_at_once():
    import sqlite3

    from classroom.schema import retry_locked

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "done"

    assert retry_locked(flaky) == "done" and len(calls) == 3
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_locked(lambda: (calls.append(1), sqlite3.connect(":memory:").execute("SELECT * FROM t")))
    assert len(calls) == 4  # tried once
