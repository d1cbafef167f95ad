"""The lesson store's tables in SQLite, and one transaction on a connection: the layout, apart from what
the store does with it (`store`)."""

from __future__ import annotations

import sqlite3
import time

WAIT_S = 30  # how long a connection waits for another's lock (SQLite's busy timeout) or retries at startup

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
CREATE TABLE IF NOT EXISTS teachers (
    code TEXT NOT NULL REFERENCES lessons(code) ON DELETE CASCADE,
    key_hash TEXT NOT NULL,
    PRIMARY KEY (code, key_hash)
);
CREATE TABLE IF NOT EXISTS reveals (
    code TEXT NOT NULL REFERENCES lessons(code) ON DELETE CASCADE,
    sentence TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (code, sentence, checkpoint, step)
);
CREATE TABLE IF NOT EXISTS requests (
    student TEXT NOT NULL,
    nonce TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (student, nonce)
);
CREATE TABLE IF NOT EXISTS presence (
    process TEXT NOT NULL,
    code TEXT NOT NULL,
    students INTEGER NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (process, code)
);
CREATE TABLE IF NOT EXISTS handoffs (
    token_hash TEXT PRIMARY KEY,
    code TEXT NOT NULL REFERENCES lessons(code) ON DELETE CASCADE,
    expires REAL NOT NULL
);
"""
# Columns added since the first stores were written: (name, declaration) for ALTER TABLE
ADDED_COLUMNS = (
    ("forced", "TEXT NOT NULL DEFAULT ''"),
    ("guess_first", "INTEGER NOT NULL DEFAULT 0"),
    ("unit", "TEXT NOT NULL DEFAULT 'word'"),
    ("hidden", "INTEGER NOT NULL DEFAULT 0"),
    ("version", "INTEGER NOT NULL DEFAULT 0"),
    ("ended", "INTEGER NOT NULL DEFAULT 0"),
    ("cleared", "INTEGER NOT NULL DEFAULT 0"),
)


def retry_locked(call, *args):
    """`call(*args)`, tried again while the store is locked, for up to WAIT_S. Where waiting could deadlock,
    SQLite answers "database is locked" at once instead of waiting: two servers opening one new store both
    need it alone to turn WAL on, and one of them would fail to start (CI saw it with `test_two_processes`)."""
    give_up, pause = time.monotonic() + WAIT_S, 0.01
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 0.25)


def create_tables(db: sqlite3.Connection) -> None:
    """The tables that are missing, and the columns that a store of an older version lacks (names from
    ADDED_COLUMNS, never from input). Another server may be doing the same at the same moment."""
    retry_locked(db.executescript, SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(lessons)")}
    for name, declaration in ADDED_COLUMNS:
        if name not in columns:
            try:
                retry_locked(db.execute, f"ALTER TABLE lessons ADD COLUMN {name} {declaration}")
            except sqlite3.OperationalError as exc:  # the other one added it first
                if "duplicate column" not in str(exc):
                    raise


class Transaction:
    """`with store._db() as db:` runs its statements in one transaction (BEGIN IMMEDIATE ... COMMIT)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, traceback) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
