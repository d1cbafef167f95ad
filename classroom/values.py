"""Every value the lesson store takes, checked before it is written: a lesson code as typed, a sentence,
a model's folder name, a whole number in its range, a browser's id, a stored forced path. A refused value
raises `LessonError`, whose `code` lets the interface say why in its language."""

from __future__ import annotations

import secrets

from seq2seq.links import LESSON_CODE, MAX_STEP, clean_text
from seq2seq.notices import MAX_INPUT_CHARS

MAX_NAME = 200  # a checkpoint's folder name
STUDENT_ID = 32  # hex characters of a browser's random id
BROWSER_COOKIE = "s2s_browser"  # where a browser keeps that id: the explorer and the light page share it
COOKIE_DAYS = 365
MAX_TOKEN_ID = 1_000_000  # above any vocabulary; the student's model refuses an id it does not have


class LessonError(ValueError):
    """A lesson value was refused (no such lesson, a forged guess); `code` names why for the interface."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def new_student_id() -> str:
    return secrets.token_hex(STUDENT_ID // 2)


def is_browser_id(value) -> bool:
    """A browser's id as the app makes it (`new_student_id`): 32 lower-case hexadecimal characters."""
    return isinstance(value, str) and len(value) == STUDENT_ID and all(c in "0123456789abcdef" for c in value)


def check_code(code) -> str:
    """A lesson code as typed (any case, spaces around); refused unless it is 4 characters of the alphabet."""
    if not isinstance(code, str) or len(code) > 16 or not LESSON_CODE.fullmatch(code.strip().upper()):
        raise LessonError("bad_code", "a lesson code is 4 letters or digits, like K7QP")
    return code.strip().upper()


def check_text(sentence) -> str:
    text = clean_text(sentence) if isinstance(sentence, str) and len(sentence) <= MAX_INPUT_CHARS else None
    if text is None:
        raise LessonError("bad_sentence", "the sentence is empty, too long or not text")
    return text


def check_name(checkpoint) -> str:
    if not isinstance(checkpoint, str) or not 0 < len(checkpoint) <= MAX_NAME or "/" in checkpoint:
        raise LessonError("bad_model", "a model is named by its checkpoint folder")
    return checkpoint


def read_forced(text: str) -> tuple[tuple[int, int], ...]:
    """The stored "i:id,i:id"; anything else (a hand-edited file) reads as nothing forced."""
    try:
        pairs = tuple((int(i), int(token)) for i, token in (p.split(":") for p in text.split(",") if p))
    except ValueError:
        return ()
    return pairs if all(0 <= i <= MAX_STEP and 0 <= token <= MAX_TOKEN_ID for i, token in pairs) else ()


def check_integer(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LessonError(f"bad_{name}", f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value
