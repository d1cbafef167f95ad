"""A view as a link: the state that makes a page's view (sentence, model, beam, step, level, language,
projector, lesson) to and from a URL query, with every value checked as if a user had typed it.

`to_query(view)` -> `{"s": "How are you?", "m": "enko-general-additive", "step": "3", ...}` and
`parse_query(query, checkpoints)` -> (the same view, and a message for each value it refused), so
`parse_query(to_query(v)) == v` for every valid view. A refused value falls back to the default; it
never raises. The library never imports Streamlit: the pages hand it `st.query_params`.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from .config import DIRECTIONS
from .notices import MAX_INPUT_CHARS

LANGUAGES = ("en", "ko")
LEVELS = ("subword", "word")
MAX_BEAM = 10
MAX_STEP = 400  # the longest output the sidebar allows
LESSON_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud, typed on a phone
LESSON_CODE = re.compile(f"[{LESSON_ALPHABET}]{{4}}")
KEYS = {  # View field -> query key (short: the link goes into a QR code)
    "text": "s",
    "checkpoint": "m",
    "beam": "beam",
    "step": "step",
    "level": "level",
    "lang": "lang",
    "projector": "proj",
    "lesson": "lesson",
    "direction": "dir",
}


@dataclass(frozen=True)
class View:
    """What a link says; None is "not said" (the page keeps its own value or default)."""

    text: str | None = None
    checkpoint: str | None = None
    beam: int | None = None
    step: int | None = None  # Step through: the number of decoder steps taken
    level: str | None = None  # subword | word (Translate's heatmap)
    lang: str | None = None
    projector: bool | None = None
    lesson: str | None = None  # a lesson's code (classroom.store)
    direction: str | None = None  # enko | koen: which way the models translate


@dataclass(frozen=True)
class Refused:
    """One query value that was not used: `key` and why (`reason` is a code the interface words)."""

    key: str
    reason: (
        str  # too_long | not_text | unknown_model | not_a_number | out_of_range | unknown_value | bad_code
    )


def to_query(view: View) -> dict[str, str]:
    query = {}
    for field in dataclasses.fields(View):
        value = getattr(view, field.name)
        if value is None:
            continue
        query[KEYS[field.name]] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return query


def link(base: str, page: str, view: View) -> str:
    """`base` (http://host:port) + the page's path + the view's query."""
    path = page.strip("/")
    query = urlencode(to_query(view))
    return f"{base.rstrip('/')}/{path}" + (f"?{query}" if query else "")


def _one(value) -> str:
    """`st.query_params` gives the last value of a repeated key; a plain mapping may give a list."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return str(value)


def clean_text(raw: str) -> str | None:
    """The sentence as the sentence box would take it; None when it is not text to translate."""
    text = " ".join(unicodedata.normalize("NFC", raw).split())
    if not text or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        return None
    return text


def _number(raw: str, low: int, high: int) -> int | str:
    if not re.fullmatch(r"\d{1,4}", raw.strip()):
        return "not_a_number"
    value = int(raw)
    return value if low <= value <= high else "out_of_range"


def parse_query(query: Mapping, checkpoints: Sequence[str]) -> tuple[View, list[Refused]]:
    """The view a query asks for, and the values it refused (too long, unknown, out of range)."""
    values: dict[str, object] = {}
    refused: list[Refused] = []

    def refuse(key: str, reason: str) -> None:
        refused.append(Refused(key, reason))

    raw = {key: _one(query[key]) for key in KEYS.values() if key in query}
    if "s" in raw:
        if len(raw["s"]) > MAX_INPUT_CHARS:
            refuse("s", "too_long")
        elif (text := clean_text(raw["s"])) is None:
            refuse("s", "not_text")
        else:
            values["text"] = text
    if "m" in raw:
        if raw["m"] in checkpoints:
            values["checkpoint"] = raw["m"]
        else:
            refuse("m", "unknown_model")
    for field, key, low, high in (("beam", "beam", 1, MAX_BEAM), ("step", "step", 0, MAX_STEP)):
        if key in raw:
            number = _number(raw[key], low, high)
            if isinstance(number, int):
                values[field] = number
            else:
                refuse(key, number)
    for field, key, allowed in (
        ("level", "level", LEVELS),
        ("lang", "lang", LANGUAGES),
        ("direction", "dir", DIRECTIONS),
    ):
        if key in raw:
            if raw[key] in allowed:
                values[field] = raw[key]
            else:
                refuse(key, "unknown_value")
    if "proj" in raw:
        if raw["proj"] in ("0", "1"):
            values["projector"] = raw["proj"] == "1"
        else:
            refuse("proj", "unknown_value")
    if "lesson" in raw:
        code = raw["lesson"].strip().upper()
        if LESSON_CODE.fullmatch(code):
            values["lesson"] = code
        else:
            refuse("lesson", "bad_code")
    return View(**values), refused
