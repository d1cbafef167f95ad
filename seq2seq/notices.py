"""What the translator says about a sentence besides its translation: input it cleaned or cut, pieces it
does not know, a length where the model is weak, an output that loops, a sentence far from training.

Each `Notice` is English text (a str) that carries a `code` and its `values`, so the app says it in the
interface language; `InputError` is the same for input that cannot be translated at all.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from .checkpoint import BUCKETS_FILE
from .data import length_bucket
from .familiarity import Familiarity
from .jsonfiles import read_json

MAX_INPUT_CHARS = 2_000  # longer text is cut before tokenising, with a warning
SCAN_CHARS = 200_000  # characters read at most while looking for text to translate
WEAK_LENGTH = 0.55  # a length whose test chrF is under this share of the model's best length gets a notice
MIN_BUCKET = 20  # test sentences a length bucket needs before its score is trusted


class Notice(str):
    """A warning in English (it is a str) that also carries a `code` and its `values`, so that an
    interface can say it in another language."""

    code: str
    values: dict

    def __new__(cls, code: str, text: str, **values) -> Notice:
        notice = super().__new__(cls, text)
        notice.code, notice.values = code, values
        return notice

    def __reduce__(self):  # pickled (the app caches translations) with its code and values
        return _notice, (self.code, str(self), self.values)


def _notice(code: str, text: str, values: dict) -> Notice:
    return Notice(code, text, **values)


class InputError(ValueError):
    """Input that cannot be translated; `code` and `values` let an interface say why in its language."""

    def __init__(self, code: str, text: str, **values):
        super().__init__(text)
        self.code, self.values = code, values


def clean_input(text: str) -> tuple[str, list[str]]:
    """Control characters out, whitespace collapsed, NFC, length capped; raises on empty input.

    The scan stops once it holds more than MAX_INPUT_CHARS visible characters, or after SCAN_CHARS
    characters, so a huge paste costs little, and text after a long run of blanks is still found.
    """
    if not isinstance(text, str):
        raise ValueError(f"input must be text, not {type(text).__name__}")
    kept, visible, read = [], 0, 0
    for ch in itertools.islice(text, SCAN_CHARS):
        if visible > MAX_INPUT_CHARS:
            break
        read += 1
        cat = unicodedata.category(ch)
        if ch.isspace() or cat in ("Zl", "Zp"):
            kept.append(" ")
        elif cat not in ("Cc", "Cf", "Cs", "Co", "Cn"):  # NUL, zero-width and direction marks, surrogates
            kept.append(ch)
            visible += 1
    cleaned = unicodedata.normalize("NFC", " ".join("".join(kept).split()))
    if not cleaned:
        if read < len(text):
            raise InputError(
                "empty_blank",
                f"input is empty: its first {read:,} characters are all blank or invisible",
                read=read,
            )
        raise InputError("empty", "input is empty: type a sentence to translate")
    cut = cleaned
    if len(cleaned) > MAX_INPUT_CHARS:
        cut = cleaned[:MAX_INPUT_CHARS].rsplit(" ", 1)[0] or cleaned[:MAX_INPUT_CHARS]
    warnings = []
    if len(cut) < len(cleaned) or read < len(text):
        message = f"input was {len(text):,} characters; only the first {len(cut):,} were translated"
        warnings.append(Notice("input_cut", message, total=len(text), kept=len(cut)))
    return cut, warnings


def unknown_warning(pieces: list[str], shown: int = 10) -> str:
    """Say which characters the source vocabulary lacks: the model reads each such piece as <unk>."""
    chars = list(dict.fromkeys(ch for piece in pieces for ch in piece if not ch.isspace()))
    listed = ", ".join(repr(ch) for ch in chars[:shown]) + (", …" if len(chars) > shown else "")
    verb = "piece is" if len(pieces) == 1 else "pieces are"
    shows = "shows" if len(pieces) == 1 else "show"
    text = f"{len(pieces)} {verb} unknown to the model and {shows} as <unk>: {listed}"
    return Notice("unknown_pieces", text, n=len(pieces), chars=listed)


def repetition(text: str, times: int = 3, longest: int = 4) -> tuple[str, int] | None:
    """The first run of 1 to `longest` words said `times` or more times in a row, and how many times: a
    decoder that has lost its place in the sentence loops ("명의 명의 명의 …")."""
    words = text.split()
    for start in range(len(words)):
        for size in range(1, longest + 1):
            span, count = words[start : start + size], 1
            while len(span) == size and words[start + count * size : start + (count + 1) * size] == span:
                count += 1
            if count >= times:
                return " ".join(span), count
    return None


def repetition_warning(text: str) -> Notice | None:
    found = repetition(text)
    if found is None:
        return None
    span, count = found
    message = f"the translation says “{span}” {count} times in a row: the decoder has lost its place in the sentence"
    return Notice("repeats", message, span=span, times=count)


def length_scores(folder: Path) -> dict[str, float]:
    """The checkpoint's test chrF by source length (`eval_buckets.json`); empty when missing or unreadable,
    since the notice it feeds is a courtesy and must never stop a translation."""
    try:
        buckets = read_json(folder / BUCKETS_FILE) or []
        return {str(b["bucket"]): float(b["chrf"]) for b in buckets if int(b.get("n", 0)) >= MIN_BUCKET}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}


def length_warning(words: int, scores: Mapping[str, float]) -> Notice | None:
    """Say so when sentences this long are where the model is weakest: its own test chrF at this length is
    little more than half its best, or less. One output cannot show this; it is the lecture's point 4."""
    bucket = length_bucket(words)
    if bucket not in scores:
        return None
    best = max(scores, key=scores.__getitem__)
    if scores[bucket] >= WEAK_LENGTH * scores[best]:
        return None
    chrf, top = f"{scores[bucket]:.1f}", f"{scores[best]:.1f}"
    text = (
        f"this sentence has {words} words: on its test split this model scores chrF {chrf} on sentences of "
        f"{bucket} words, against {top} on sentences of {best} words. Expect a rough translation."
    )
    return Notice("weak_length", text, words=words, bucket=bucket, chrf=chrf, best_bucket=best, best=top)


def unfamiliar_warning(familiarity: Familiarity) -> Notice:
    """Plain words for a sentence far from the training data: the translation is likely poor."""
    why = []
    if "unseen" in familiarity.reasons:
        shown = ", ".join(familiarity.unseen_words[:6]) + (", …" if len(familiarity.unseen_words) > 6 else "")
        why.append(f"{familiarity.unseen_share:.0%} of its words never occur in the training data ({shown})")
    if "unusual" in familiarity.reasons:
        why.append("its words come in combinations the training data hardly has")
    if "unsure" in familiarity.reasons:
        why.append(f"the model is unsure of its output (mean log p {familiarity.confidence:.2f} per token)")
    if "spread" in familiarity.reasons:
        why.append("its attention is spread thin: it finds little to hold on to")
    text = (
        "this sentence is far from what the model learned: " + "; ".join(why) + ". Expect a poor translation."
    )
    return Notice(
        "unfamiliar", text, share=f"{familiarity.unseen_share:.0%}", words=", ".join(familiarity.unseen_words[:6]),
        confidence=f"{familiarity.confidence:.2f}", reasons=familiarity.reasons,
    )  # fmt: skip
