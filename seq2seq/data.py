"""Sentence pairs: normalising, filtering, splitting by source, and TSV files that name each pair's domain.

The corpora themselves are built in `libreoffice.py` (software help and UI strings) and `general.py`
(everyday text, news, prose).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

MAX_CHARS = 600
MAX_RATIO = 2.0  # target/source characters, for sources of 40+ characters
LENGTH_BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 30), (31, None))  # source words, for scores by length


def bucket_name(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def length_bucket(words: int) -> str:
    for low, high in LENGTH_BUCKETS:
        if high is None or words <= high:
            return bucket_name(low, high)
    raise AssertionError("unreachable")


class CorpusError(ValueError):
    """A corpus file or package could not be used; the message says why for the user."""


@dataclass(frozen=True)
class Pair:
    source: str
    target: str
    origin: str = ""  # where inside its source it came from (LibreOffice: help or ui)
    domain: str = ""  # libreoffice | tatoeba | news | jhe; "" when a file does not say
    attribution: str = ""  # per-pair credit where the licence asks for it (Tatoeba)


_WS = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u00ad\u200b\ufeff]")


def normalize_text(s: str) -> str:
    """NFC + collapse all whitespace (newlines, tabs, NBSP) so one pair is always one TSV line."""
    s = _INVISIBLE.sub("", unicodedata.normalize("NFC", s))
    return _WS.sub(" ", s).strip()


# --------------------------------------------------------------------------- filtering
_SCRIPTS = {  # languages whose untranslated (English) strings are spotted by script
    "ko": "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f", "ja": "\u3040-\u30ff\u4e00-\u9fff",
    "zh": "\u4e00-\u9fff", "el": "\u0370-\u03ff", "he": "\u0590-\u05ff", "ar": "\u0600-\u06ff",
    "fa": "\u0600-\u06ff", "hi": "\u0900-\u097f", "th": "\u0e00-\u0e7f",
    **dict.fromkeys(["ru", "uk", "bg", "be", "sr", "mk", "kk"], "\u0400-\u04ff"),
}  # fmt: skip


def is_translated(source: str, target: str, lang: str) -> bool:
    """Untranslated strings leak through as English: require the target script, or a change."""
    script = _SCRIPTS.get(lang.split("-")[0].lower())
    if script:
        return re.search(f"[{script}]", target) is not None
    return target != source


_BROKEN = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")  # control chars, mojibake
_ENTITY = re.compile(r"&#?\w+;")


def _looks_misaligned(src: str, tgt: str) -> bool:
    """Some translations are of an older, much longer paragraph text; some double-escape `&quot;`."""
    if len(src) >= 40 and not 0.2 <= len(tgt) / len(src) <= MAX_RATIO:
        return True
    return len(_ENTITY.findall(src)) != len(_ENTITY.findall(tgt))


def filter_pairs(pairs: list[Pair], lang: str, max_words: int = 80) -> list[Pair]:
    """Drop empty, untranslated, non-text, broken, over-long and duplicate pairs (first wins)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for p in pairs:
        src, tgt = normalize_text(p.source), normalize_text(p.target)
        if not src or not tgt or (src, tgt) in seen or not re.search("[A-Za-z]", src):
            continue
        too_long = max(len(src.split()), len(tgt.split())) > max_words
        if too_long or max(len(src), len(tgt)) > MAX_CHARS or _BROKEN.search(src + tgt):
            continue
        if not is_translated(src, tgt, lang) or _looks_misaligned(src, tgt):
            continue
        seen.add((src, tgt))
        kept.append(dataclasses.replace(p, source=src, target=tgt))
    return kept


def split_pairs(
    pairs: list[Pair], seed: int = 0, frac: float = 0.04, min_size: int = 1000
) -> dict[str, list[Pair]]:
    """dev and test each `frac` of the pairs (at least min(min_size, n/10)), grouped by source."""
    n = len(pairs)
    want = max(round(frac * n), min(min_size, n // 10), 1 if n >= 3 else 0)
    return split_by_source(pairs, test=want, dev=want, seed=seed)


def split_by_source(pairs: list[Pair], test: int, dev: int, seed: int = 0) -> dict[str, list[Pair]]:
    """Order sources by a seeded sha1 and cut test, then dev, from the front.

    All pairs of one source go to one split (a Tatoeba sentence with three translations stays whole),
    so a split may run over its size by the rest of its last group.
    """
    by_src: dict[str, list[Pair]] = {}
    for p in pairs:
        by_src.setdefault(p.source, []).append(p)
    order = sorted(by_src, key=lambda s: hashlib.sha1(f"{seed}\t{s}".encode()).hexdigest())
    sizes = {"test": test, "dev": dev}
    splits: dict[str, list[Pair]] = {"test": [], "dev": [], "train": []}
    name_iter = iter(["test", "dev"])
    name = next(name_iter)
    for src in order:
        while name != "train" and len(splits[name]) >= sizes[name]:
            name = next(name_iter, "train")
        splits[name].extend(by_src[src])
    return {k: splits[k] for k in ("train", "dev", "test")}


# --------------------------------------------------------------------------- TSV
# Optional columns after source and target: the pair's domain, when it is a lower-case name
# (libreoffice, tatoeba, ...), then its attribution; a third column that is no domain name is the
# attribution (Tatoeba's own files). Columns after those are ignored.
_DOMAIN = re.compile(r"[a-z][a-z0-9_]*")


def parse_pairs_tsv(data: str | bytes, *, max_lines: int | None = None) -> tuple[list[Pair], list[str]]:
    """Lenient reader for uploads: returns (pairs, problems); bad lines are skipped and reported."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")  # a lone surrogate is reported as a bad line
    if not isinstance(data, (bytes, bytearray)):
        raise CorpusError(f"a TSV must be text or bytes, not {type(data).__name__}")
    data = bytes(data).removeprefix(b"\xef\xbb\xbf")
    pairs: list[Pair] = []
    problems: list[str] = []
    offset = 0
    for no, raw in enumerate(data.split(b"\n"), start=1):
        if max_lines is not None and no > max_lines:
            break
        start, offset = offset, offset + len(raw) + 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append(
                f"line {no}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte offset {start + e.start}); "
                "save the file as UTF-8"
            )
            continue
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            problems.append(f"line {no}: no tab between source and target")
            continue
        src, tgt = normalize_text(fields[0]), normalize_text(fields[1])
        if not src or not tgt:
            problems.append(f"line {no}: empty {'source' if not src else 'target'}")
            continue
        extra = [normalize_text(f) for f in fields[2:4]]
        domain = extra.pop(0) if extra and _DOMAIN.fullmatch(extra[0]) else ""
        pairs.append(Pair(src, tgt, domain=domain, attribution=extra[0] if extra else ""))
    if not pairs and not problems:
        problems.append("the file is empty")
    return pairs, problems


def read_pairs_tsv(path: str | Path) -> list[Pair]:
    """Strict reader: any bad line is an error naming the line numbers."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"file not found: {path}")
    pairs, problems = parse_pairs_tsv(path.read_bytes())
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise CorpusError(f"{path}: " + "; ".join(problems[:10]) + more)
    return pairs


def write_pairs_tsv(pairs: list[Pair], path: str | Path) -> None:
    """Write `source<TAB>target[<TAB>domain[<TAB>attribution]]` lines, one pair a line.

    The extra columns appear only when some pair has them, so a plain corpus stays two columns.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    credits = any(p.attribution for p in pairs)
    domains = credits or any(p.domain for p in pairs)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for p in pairs:
            fields = [normalize_text(p.source), normalize_text(p.target)]
            if not fields[0] or not fields[1]:
                raise CorpusError(f"cannot write a pair with an empty side: {p!r}")
            if domains:
                if not _DOMAIN.fullmatch(p.domain):
                    raise CorpusError(f"domain {p.domain!r} must be a lower-case name: {p!r}")
                fields.append(p.domain)
            if credits:
                fields.append(normalize_text(p.attribution))
            f.write("\t".join(fields) + "\n")
