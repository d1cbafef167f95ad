"""The lesson store's tables in SQLite, and one transaction on a connection: the layout, apart from what
the store does with it (`store`)."""

from __future__ import annotations

import sqlite3

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


class Transaction:
    """`with store._db() as db:` runs its statements in one transaction (BEGIN IMMEDIATE ... COMMIT)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, traceback) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
