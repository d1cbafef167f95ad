"""Lessons: a class guessing together. The teacher opens a lesson (a 4-character code read aloud), its
view (sentence, model, step, forced path, Guess first's rules) is stored, the students' Step through
follows it, and each student's guess of where the decoder looks goes into the store, where the teacher's
screen counts them. The teacher reveals each step's answer in the store too, so every page (and a
restarted server) agrees on what the class may see.

One SQLite file in WAL mode under the cache folder, shared by every session of the server (and by a
restarted server). Every statement takes parameters; every value is checked before it is written, and
a refused one raises `LessonError` and changes nothing.

Who is who: a browser keeps one random id (the app stores it in a cookie), no name, no account. A
student's guesses are stored under that id, so a reload, a new tab or a restart is still one vote. A
teacher's key is a browser's id too: the store keeps only its SHA-256, of the browser that opened the
lesson and of each device the teacher added with a one-time hand-off token (`handoff`). No key is ever
part of a link.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seq2seq.links import LESSON_ALPHABET, MAX_STEP
from seq2seq.neighbours import cache_dir
from seq2seq.notices import MAX_INPUT_CHARS

from .schema import WAIT_S, Transaction, create_tables, retry_locked
from .values import (
    MAX_TOKEN_ID,
    LessonError,
    check_code,
    check_integer,
    check_name,
    check_text,
    is_browser_id,
    read_forced,
)

LESSONS_FILE = "lessons.sqlite3"
LESSONS_ENV = "SEQ2SEQ_LESSONS"
MAX_AGE_S = 24 * 3600  # lessons older than a day are removed
HANDOFF_S = 600  # a "teach from another device" token works once, within ten minutes
REQUEST_S = 3600  # a guess's nonce is kept this long: the same request sent again within it is refused
PRESENCE_S = 20  # a process's count of connected students is current while it wrote it this recently
UNITS = ("word", "piece")  # what the class guesses among (ui.guessing.Units)

VIEW = "sentence, checkpoint, step, beam, source_tokens, steps, forced, guess_first, unit, hidden"


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
    guess_first: bool = False  # the class guesses before it sees α; the teacher reveals each step
    unit: str = "word"  # word | piece: what the class guesses among
    hidden: bool = False  # the question hides the Korean token the step writes
    version: int = 0  # one more for every change the teacher makes: a page that saw it has nothing to do
    ended: bool = False
    revealed: frozenset[int] = frozenset()  # the steps of this sentence and model the teacher revealed
    cleared: int = 0  # how many times the teacher cleared the guesses: a page's guesses before that are gone  # the steps of this sentence and model the teacher revealed

    def view(self) -> tuple:
        """What a page shows of the lesson: sentence, model, step, forced path, Guess first's rules."""
        return (
            self.sentence,
            self.checkpoint,
            self.step,
            self.forced,
            self.guess_first,
            self.unit,
            self.hidden,
        )


def default_path() -> Path:
    """$SEQ2SEQ_LESSONS when set (a test's own store, a store kept elsewhere), else the cache folder's."""
    return Path(os.environ.get(LESSONS_ENV) or cache_dir() / LESSONS_FILE)


def _hash(key: str) -> str:
    return hashlib.sha256(str(key).encode("utf-8", "replace")).hexdigest()


class LessonStore:
    """The store; safe to share between threads (one connection per thread, WAL for concurrent readers)."""

    def __init__(self, path: str | Path | None = None, max_age_s: float = MAX_AGE_S):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_age_s = max_age_s
        self._local = threading.local()
        create_tables(self._conn())

    def _db(self) -> Transaction:
        """`with self._db() as db:` one transaction on this thread's connection."""
        return Transaction(self._conn())

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # autocommit; BEGIN when needed
            db = sqlite3.connect(self.path, timeout=WAIT_S, isolation_level=None)
            retry_locked(db.execute, "PRAGMA journal_mode=WAL")
            # in WAL mode NORMAL never corrupts the file and loses nothing when the server stops or
            # crashes (only a power cut can take the last commits); FULL's fsync per guess made a class
            # guessing at once wait on the disk
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute(f"PRAGMA busy_timeout={WAIT_S * 1000}")
            self._local.db = db
        return db

    # ------------------------------------------------------------------ the teacher
    def open(self, teacher: str | None = None, now: float | None = None) -> tuple[str, str]:
        """A new lesson: (its code, the teacher's key). The app passes the teacher's browser id as the key;
        without one a random key is made. Only the key's hash is stored."""
        now = time.time() if now is None else now
        self.expire(now)
        teacher = secrets.token_hex(16) if teacher is None else str(teacher)
        if not 16 <= len(teacher) <= 128:
            raise LessonError("not_teacher", "a teacher's key is 16 to 128 characters")
        for _ in range(100):
            code = "".join(secrets.choice(LESSON_ALPHABET) for _ in range(4))
            with self._db() as db:
                try:
                    db.execute(
                        "INSERT INTO lessons (code, teacher, created) VALUES (?, ?, ?)",
                        (code, _hash(teacher), now),
                    )
                except sqlite3.IntegrityError:
                    continue  # the code is taken: draw another
                db.execute("INSERT INTO teachers (code, key_hash) VALUES (?, ?)", (code, _hash(teacher)))
            return code, teacher
        raise LessonError("full", "no free lesson code; clear old lessons and try again")

    def is_teacher(self, code: str, teacher: str) -> bool:
        code = check_code(code)
        if not isinstance(teacher, str) or not teacher:
            return False
        row = (
            self._conn()
            .execute("SELECT 1 FROM teachers WHERE code = ? AND key_hash = ?", (code, _hash(teacher)))
            .fetchone()
        )
        return row is not None

    def _check_teacher(self, code: str, teacher: str, what: str) -> str:
        code = check_code(code)
        if not self.is_teacher(code, teacher):
            raise LessonError("not_teacher", f"only the teacher of lesson {code} can {what}")
        return code

    def show(
        self, code: str, teacher: str, sentence: str, checkpoint: str, step: int, beam: int,
        source_tokens: int, steps: int, forced: Sequence[tuple[int, int]] = (), *, guess_first: bool = False,
        unit: str = "word", hidden: bool = False,
    ) -> int:  # fmt: skip
        """The teacher's view, which the class follows; `forced` (step index, token id) are the tokens the
        teacher forced on the way, so that the class's steps are the same as the teacher's. Returns the
        lesson's version (the same as before when nothing changed)."""
        code = self._check_teacher(code, teacher, "change what it shows")
        sentence = check_text(sentence)
        checkpoint = check_name(checkpoint)
        for name, value, high in (("step", step, MAX_STEP), ("beam", beam, 10), ("source_tokens", source_tokens, MAX_INPUT_CHARS),
                                  ("steps", steps, MAX_STEP)):  # fmt: skip
            check_integer(name, value, 0, high)
        if not isinstance(forced, (list, tuple)) or len(forced) > MAX_STEP:
            raise LessonError("bad_forced", "forced tokens are a list of (step index, token id)")
        for pair in forced:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise LessonError("bad_forced", "forced tokens are a list of (step index, token id)")
            check_integer("forced", pair[0], 0, max(step - 1, 0))
            check_integer("forced", pair[1], 0, MAX_TOKEN_ID)
        if not isinstance(guess_first, bool) or not isinstance(hidden, bool) or unit not in UNITS:
            raise LessonError("bad_rules", "Guess first is on or off, a unit is a word or a piece")
        written = ",".join(f"{i}:{token}" for i, token in forced)
        values = (sentence, checkpoint, int(step), int(beam), int(source_tokens), int(steps), written,
                  int(guess_first), unit, int(hidden))  # fmt: skip
        with self._db() as db:
            row = db.execute(f"SELECT {VIEW}, version, ended FROM lessons WHERE code = ?", (code,)).fetchone()
            if row is None:
                raise LessonError("no_lesson", f"there is no lesson {code}")
            if row[-1]:
                raise LessonError("ended", f"lesson {code} has ended")
            if tuple(row[:-2]) == values:
                return row[-2]
            db.execute(
                "UPDATE lessons SET sentence = ?, checkpoint = ?, step = ?, beam = ?, source_tokens = ?, steps = ?, "
                "forced = ?, guess_first = ?, unit = ?, hidden = ?, version = version + 1 WHERE code = ?",
                (*values, code),
            )
            return row[-2] + 1

    def reveal(self, code: str, teacher: str, sentence: str, checkpoint: str, step: int) -> int:
        """The teacher shows the class the model's α at `step`: the class's guesses there are closed."""
        code = self._check_teacher(code, teacher, "reveal a step")
        check_integer("step", step, 1, MAX_STEP)
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO reveals (code, sentence, checkpoint, step) VALUES (?, ?, ?, ?)",
                (code, check_text(sentence), check_name(checkpoint), int(step)),
            )
            return self._bump(db, code)

    def clear(self, code: str, teacher: str) -> int:
        """The teacher wipes the class's guesses and hides every step again (the lesson stays open): the
        class guesses afresh."""
        code = self._check_teacher(code, teacher, "clear it")
        with self._db() as db:
            db.execute("DELETE FROM guesses WHERE code = ?", (code,))
            db.execute("DELETE FROM reveals WHERE code = ?", (code,))
            db.execute("UPDATE lessons SET cleared = cleared + 1 WHERE code = ?", (code,))
            return self._bump(db, code)

    def end(self, code: str, teacher: str) -> int:
        """The teacher ends the lesson: the students' pages say so and become their own."""
        code = self._check_teacher(code, teacher, "end it")
        with self._db() as db:
            db.execute("UPDATE lessons SET ended = 1 WHERE code = ?", (code,))
            db.execute("DELETE FROM handoffs WHERE code = ?", (code,))
            return self._bump(db, code)

    def handoff(self, code: str, teacher: str, now: float | None = None) -> str:
        """A one-time token that makes another device (the teacher's phone) a teacher of this lesson:
        it works once, within `HANDOFF_S`. Only its hash is stored."""
        code = self._check_teacher(code, teacher, "add a device")
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(18)
        with self._db() as db:
            db.execute("DELETE FROM handoffs WHERE expires < ?", (now,))
            db.execute("INSERT INTO handoffs (token_hash, code, expires) VALUES (?, ?, ?)",
                       (_hash(token), code, now + HANDOFF_S))  # fmt: skip
        return token

    def take_handoff(self, code: str, token: str, teacher: str, now: float | None = None) -> None:
        """The other device hands in the token with its own key (its browser id) and teaches from then on."""
        code = check_code(code)
        now = time.time() if now is None else now
        if not isinstance(token, str) or not 0 < len(token) <= 64 or not is_browser_id(teacher):
            raise LessonError("bad_handoff", "this teacher's link is not valid")
        with self._db() as db:
            row = db.execute(
                "SELECT expires FROM handoffs WHERE token_hash = ? AND code = ?", (_hash(token), code)
            ).fetchone()
            db.execute("DELETE FROM handoffs WHERE token_hash = ?", (_hash(token),))  # once, valid or not
            if row is None or row[0] < now:
                raise LessonError("bad_handoff", "this teacher's link was used already or is too old")
            db.execute(
                "INSERT OR IGNORE INTO teachers (code, key_hash) VALUES (?, ?)", (code, _hash(teacher))
            )

    def expire(self, now: float | None = None) -> int:
        """Remove lessons (and their guesses) older than `max_age_s`; returns how many."""
        now = time.time() if now is None else now
        with self._db() as db:
            old = [
                (r[0],)
                for r in db.execute("SELECT code FROM lessons WHERE created < ?", (now - self.max_age_s,))
            ]
            for table in ("guesses", "teachers", "reveals", "handoffs", "presence", "lessons"):  # never input
                db.executemany(f"DELETE FROM {table} WHERE code = ?", old)
            db.execute("DELETE FROM requests WHERE created < ?", (now - REQUEST_S,))
        return len(old)

    @staticmethod
    def _bump(db: sqlite3.Connection, code: str) -> int:
        db.execute("UPDATE lessons SET version = version + 1 WHERE code = ?", (code,))
        row = db.execute("SELECT version FROM lessons WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise LessonError("no_lesson", f"there is no lesson {code}")
        return row[0]

    # ------------------------------------------------------------------ everyone
    def get(self, code: str, now: float | None = None) -> Lesson:
        code = check_code(code)
        now = time.time() if now is None else now
        row = (
            self._conn()
            .execute(
                f"SELECT code, created, {VIEW}, version, ended, cleared FROM lessons WHERE code = ? AND created >= ?",
                (code, now - self.max_age_s),
            )
            .fetchone()
        )
        if row is None:
            raise LessonError(
                "no_lesson", f"there is no lesson {code} (it may have ended: lessons last a day)"
            )
        (code, created, sentence, checkpoint, step, beam, source_tokens, steps, forced, guess_first, unit,
         hidden, version, ended, cleared) = row  # fmt: skip
        revealed = self._conn().execute(
            "SELECT step FROM reveals WHERE code = ? AND sentence = ? AND checkpoint = ?",
            (code, sentence, checkpoint),
        )
        return Lesson(
            code, created, sentence, checkpoint, step, beam, source_tokens, steps, read_forced(forced),
            guess_first=bool(guess_first), unit=unit if unit in UNITS else "word", hidden=bool(hidden),
            version=version, ended=bool(ended), revealed=frozenset(r[0] for r in revealed), cleared=cleared,
        )  # fmt: skip

    def version(self, code: str) -> int | None:
        """The lesson's version, None when it is gone: what a waiting page reads every poll (one row)."""
        row = (
            self._conn().execute("SELECT version FROM lessons WHERE code = ?", (check_code(code),)).fetchone()
        )
        return None if row is None else row[0]

    def is_revealed(self, code: str, sentence: str, checkpoint: str, step: int) -> bool:
        row = (
            self._conn()
            .execute(
                "SELECT 1 FROM reveals WHERE code = ? AND sentence = ? AND checkpoint = ? AND step = ?",
                (check_code(code), str(sentence), str(checkpoint), int(step)),
            )
            .fetchone()
        )
        return row is not None

    def guess(
        self,
        code: str,
        student: str,
        sentence: str,
        checkpoint: str,
        step: int,
        token: int,
        nonce: str | None = None,
    ) -> None:
        """One student's guess for one step of the lesson's sentence; a second guess replaces the first.
        With a `nonce` (the students' page sends one per request), the same request sent again is refused."""
        lesson = self.get(code)
        if not is_browser_id(student):
            raise LessonError("bad_student", "a student id is 32 hexadecimal characters")  # fmt: skip
        if lesson.ended:
            raise LessonError("ended", f"lesson {lesson.code} has ended")
        if check_text(sentence) != lesson.sentence or check_name(checkpoint) != lesson.checkpoint:
            raise LessonError("not_current", "the lesson has moved on to another sentence or model")
        check_integer("step", step, 1, max(lesson.steps, 1))
        check_integer("token", token, 0, lesson.source_tokens - 1)
        if step in lesson.revealed:
            raise LessonError("revealed", f"step {step} is revealed: its guesses are closed")
        with self._db() as db:
            if nonce is not None:
                try:
                    db.execute("INSERT INTO requests (student, nonce, created) VALUES (?, ?, ?)",
                               (student, str(nonce), time.time()))  # fmt: skip
                except sqlite3.IntegrityError:
                    raise LessonError("replayed", "this request was sent before") from None
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

    def mine(self, code: str, student: str, sentence: str, checkpoint: str) -> dict[int, int]:
        """One student's guesses for this sentence and model: {step: source token index}."""
        if not is_browser_id(student):
            return {}
        rows = self._conn().execute(
            "SELECT step, token FROM guesses WHERE code = ? AND student = ? AND sentence = ? AND checkpoint = ?",
            (check_code(code), student, str(sentence), str(checkpoint)),
        )
        return dict(rows.fetchall())

    def tally(self, code: str, sentence: str, checkpoint: str, step: int) -> Counter:
        """How many students (browsers) picked each source token at `step`: {token index: count}."""
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

    def tallies(self, code: str, sentence: str, checkpoint: str) -> dict[int, Counter]:
        """Every step's tally for this sentence and model: {step: {token index: count}} (the lesson's record)."""
        rows = self._conn().execute(
            "SELECT step, token, COUNT(*) FROM guesses WHERE code = ? AND sentence = ? AND checkpoint = ? "
            "GROUP BY step, token",
            (check_code(code), str(sentence), str(checkpoint)),
        )
        steps: dict[int, Counter] = {}
        for step, token, count in rows:
            steps.setdefault(step, Counter())[token] = count
        return steps

    # ------------------------------------------------------------------ who is here
    def present(self, process: str, code: str, students: int, now: float | None = None) -> None:
        """How many students' streams one server process holds open for a lesson (written by its
        broadcaster when the number changes, and every few seconds while it holds any)."""
        now = time.time() if now is None else now
        with self._db() as db:
            db.execute(
                "INSERT INTO presence (process, code, students, seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (process, code) DO UPDATE SET students = excluded.students, seen = excluded.seen",
                (str(process), check_code(code), int(students), now),
            )

    def connected(self, code: str, now: float | None = None) -> int:
        """Students connected to a lesson now, over every process that serves it (a process that stopped
        writing is not counted)."""
        now = time.time() if now is None else now
        row = (
            self._conn()
            .execute(
                "SELECT COALESCE(SUM(students), 0) FROM presence WHERE code = ? AND seen >= ?",
                (check_code(code), now - PRESENCE_S),
            )  # fmt: skip
            .fetchone()
        )
        return int(row[0])
