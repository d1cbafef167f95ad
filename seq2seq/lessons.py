"""Lessons: a class guessing together. The teacher opens a lesson (a 4-character code read aloud), its
view (sentence, model, step) is stored, the students' Step through follows it, and each student's guess
of where the decoder looks goes into the store, where the teacher's screen counts them.

One SQLite file in WAL mode under the cache folder, shared by every session of the server (and by a
restarted server). Every statement takes parameters; every value is checked before it is written, and
a refused one raises `LessonError` and changes nothing. A student is a random id per browser session:
no name, no account, nothing personal.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .links import LESSON_ALPHABET, LESSON_CODE, MAX_STEP, clean_text
from .neighbours import cache_dir
from .notices import MAX_INPUT_CHARS

LESSONS_FILE = "lessons.sqlite3"
MAX_AGE_S = 24 * 3600  # lessons older than a day are removed
MAX_NAME = 200  # a checkpoint's folder name
STUDENT_ID = 32  # hex characters of a student's random id
MAX_TOKEN_ID = 1_000_000  # above any vocabulary; the student's model refuses an id it does not have

SCHEMA = """
CREATE TABLE IF NOT EXISTS lessons (
    code TEXT PRIMARY KEY,
    teacher TEXT NOT NULL,
    created REAL NOT NULL,
    sentence TEXT NOT NULL DEFAULT '',
    checkpoint TEXT NOT NULL DEFAULT '',
    step INTEGER NOT NULL DEFAULT 0,
    beam INTEGER NOT NULL DEFAULT 1,
    source_tokens INTEGER NOT NULL DEFAULT 0,
    steps INTEGER NOT NULL DEFAULT 0,
    forced TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS guesses (
    code TEXT NOT NULL REFERENCES lessons(code) ON DELETE CASCADE,
    sentence TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    step INTEGER NOT NULL,
    student TEXT NOT NULL,
    token INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (code, sentence, checkpoint, step, student)
);
"""


class LessonError(ValueError):
    """A lesson value was refused (no such lesson, a forged guess); `code` names why for the interface."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Lesson:
    code: str
    created: float
    sentence: str
    checkpoint: str
    step: int  # decoder steps the teacher has taken: the class guesses step `step` (1-based)
    beam: int
    source_tokens: int  # the sentence's source pieces (with </s>): a guess is an index below this
    steps: int  # the last step a guess may be for (the teacher publishes the steps taken so far)
    # (step index, token id) of each token the teacher forced: the class replays them
    forced: tuple[tuple[int, int], ...] = ()


def default_path() -> Path:
    return cache_dir() / LESSONS_FILE


def new_student_id() -> str:
    return secrets.token_hex(STUDENT_ID // 2)


class LessonStore:
    """The store; safe to share between threads (one connection per thread, WAL for concurrent readers)."""

    def __init__(self, path: str | Path | None = None, max_age_s: float = MAX_AGE_S):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_age_s = max_age_s
        self._local = threading.local()
        self._conn().executescript(SCHEMA)
        columns = {row[1] for row in self._conn().execute("PRAGMA table_info(lessons)")}
        if "forced" not in columns:  # a store written before lessons replayed forced tokens
            self._conn().execute("ALTER TABLE lessons ADD COLUMN forced TEXT NOT NULL DEFAULT ''")

    def _db(self) -> _Transaction:
        """`with self._db() as db:` one transaction on this thread's connection."""
        return _Transaction(self._conn())

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit; BEGIN when needed
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    # ------------------------------------------------------------------ the teacher
    def open(self, now: float | None = None) -> tuple[str, str]:
        """A new lesson: (its code, the teacher's secret, which only the teacher's own link carries)."""
        now = time.time() if now is None else now
        self.expire(now)
        teacher = secrets.token_hex(16)
        for _ in range(100):
            code = "".join(secrets.choice(LESSON_ALPHABET) for _ in range(4))
            with self._db() as db:
                try:
                    db.execute(
                        "INSERT INTO lessons (code, teacher, created) VALUES (?, ?, ?)", (code, teacher, now)
                    )
                except sqlite3.IntegrityError:
                    continue  # the code is taken: draw another
            return code, teacher
        raise LessonError("full", "no free lesson code; clear old lessons and try again")

    def is_teacher(self, code: str, teacher: str) -> bool:
        code = check_code(code)
        row = self._conn().execute("SELECT teacher FROM lessons WHERE code = ?", (code,)).fetchone()
        return row is not None and secrets.compare_digest(row[0], str(teacher))

    def show(
        self, code: str, teacher: str, sentence: str, checkpoint: str, step: int, beam: int,
        source_tokens: int, steps: int, forced: Sequence[tuple[int, int]] = (),
    ) -> None:  # fmt: skip
        """The teacher's view, which the class follows; `forced` (step index, token id) are the tokens the
        teacher forced on the way, so that the class's steps are the same as the teacher's."""
        code = check_code(code)
        if not self.is_teacher(code, teacher):
            raise LessonError("not_teacher", f"only the teacher of lesson {code} can change what it shows")
        sentence = _text(sentence)
        checkpoint = _name(checkpoint)
        for name, value, high in (("step", step, MAX_STEP), ("beam", beam, 10), ("source_tokens", source_tokens, MAX_INPUT_CHARS),
                                  ("steps", steps, MAX_STEP)):  # fmt: skip
            _integer(name, value, 0, high)
        if not isinstance(forced, (list, tuple)) or len(forced) > MAX_STEP:
            raise LessonError("bad_forced", "forced tokens are a list of (step index, token id)")
        for pair in forced:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise LessonError("bad_forced", "forced tokens are a list of (step index, token id)")
            _integer("forced", pair[0], 0, max(step - 1, 0))
            _integer("forced", pair[1], 0, MAX_TOKEN_ID)
        written = ",".join(f"{i}:{token}" for i, token in forced)
        with self._db() as db:
            db.execute(
                "UPDATE lessons SET sentence = ?, checkpoint = ?, step = ?, beam = ?, source_tokens = ?, steps = ?, "
                "forced = ? WHERE code = ?",
                (sentence, checkpoint, int(step), int(beam), int(source_tokens), int(steps), written, code),
            )

    def clear(self, code: str, teacher: str) -> None:
        """The teacher wipes the class's guesses (the lesson stays open)."""
        code = check_code(code)
        if not self.is_teacher(code, teacher):
            raise LessonError("not_teacher", f"only the teacher of lesson {code} can clear it")
        with self._db() as db:
            db.execute("DELETE FROM guesses WHERE code = ?", (code,))

    def expire(self, now: float | None = None) -> int:
        """Remove lessons (and their guesses) older than `max_age_s`; returns how many."""
        now = time.time() if now is None else now
        with self._db() as db:
            old = [
                r[0]
                for r in db.execute("SELECT code FROM lessons WHERE created < ?", (now - self.max_age_s,))
            ]
            db.executemany("DELETE FROM guesses WHERE code = ?", [(c,) for c in old])
            db.executemany("DELETE FROM lessons WHERE code = ?", [(c,) for c in old])
        return len(old)

    # ------------------------------------------------------------------ everyone
    def get(self, code: str, now: float | None = None) -> Lesson:
        code = check_code(code)
        now = time.time() if now is None else now
        row = (
            self._conn()
            .execute(
                "SELECT code, created, sentence, checkpoint, step, beam, source_tokens, steps, forced FROM lessons "
                "WHERE code = ? AND created >= ?",
                (code, now - self.max_age_s),
            )
            .fetchone()
        )
        if row is None:
            raise LessonError(
                "no_lesson", f"there is no lesson {code} (it may have ended: lessons last a day)"
            )
        return Lesson(*row[:-1], forced=_forced(row[-1]))

    def guess(self, code: str, student: str, sentence: str, checkpoint: str, step: int, token: int) -> None:
        """One student's guess for one step of the lesson's sentence; a second guess replaces the first."""
        lesson = self.get(code)
        if not (
            isinstance(student, str)
            and len(student) == STUDENT_ID
            and all(c in "0123456789abcdef" for c in student)
        ):
            raise LessonError("bad_student", "a student id is 32 hexadecimal characters")  # fmt: skip
        if _text(sentence) != lesson.sentence or _name(checkpoint) != lesson.checkpoint:
            raise LessonError("not_current", "the lesson has moved on to another sentence or model")
        _integer("step", step, 1, max(lesson.steps, 1))
        _integer("token", token, 0, lesson.source_tokens - 1)
        with self._db() as db:
            db.execute(
                "INSERT INTO guesses (code, sentence, checkpoint, step, student, token, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code, sentence, checkpoint, step, student) "
                "DO UPDATE SET token = excluded.token, created = excluded.created",
                (
                    lesson.code,
                    lesson.sentence,
                    lesson.checkpoint,
                    int(step),
                    student,
                    int(token),
                    time.time(),
                ),
            )

    def tally(self, code: str, sentence: str, checkpoint: str, step: int) -> Counter:
        """How many students picked each source token at `step`: {token index: count}."""
        code = check_code(code)
        rows = (
            self._conn()
            .execute(
                "SELECT token, COUNT(*) FROM guesses WHERE code = ? AND sentence = ? AND checkpoint = ? AND step = ? "
                "GROUP BY token",
                (code, str(sentence), str(checkpoint), int(step)),
            )
            .fetchall()
        )
        return Counter(dict(rows))


class _Transaction:
    """`with store._db() as db:` runs its statements in one transaction (BEGIN IMMEDIATE ... COMMIT)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, traceback) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def check_code(code) -> str:
    """A lesson code as typed (any case, spaces around); refused unless it is 4 characters of the alphabet."""
    if not isinstance(code, str) or len(code) > 16 or not LESSON_CODE.fullmatch(code.strip().upper()):
        raise LessonError("bad_code", "a lesson code is 4 letters or digits, like K7QP")
    return code.strip().upper()


def _text(sentence) -> str:
    text = clean_text(sentence) if isinstance(sentence, str) and len(sentence) <= MAX_INPUT_CHARS else None
    if text is None:
        raise LessonError("bad_sentence", "the sentence is empty, too long or not text")
    return text


def _name(checkpoint) -> str:
    if not isinstance(checkpoint, str) or not 0 < len(checkpoint) <= MAX_NAME or "/" in checkpoint:
        raise LessonError("bad_model", "a model is named by its checkpoint folder")
    return checkpoint


def _forced(text: str) -> tuple[tuple[int, int], ...]:
    """The stored "i:id,i:id"; anything else (a hand-edited file) reads as nothing forced."""
    try:
        pairs = tuple((int(i), int(token)) for i, token in (p.split(":") for p in text.split(",") if p))
    except ValueError:
        return ()
    return pairs if all(0 <= i <= MAX_STEP and 0 <= token <= MAX_TOKEN_ID for i, token in pairs) else ()


def _integer(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LessonError(f"bad_{name}", f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value
