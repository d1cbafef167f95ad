"""Looking for a model's mistakes: one sentence scored and diagnosed from its attention, the flags that
say why it deserves a look, tables of many sentences, and the reference-vs-hypothesis diff.

Each threshold is defined here once; evaluation, the pages and the figures read it from here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sacrebleu.metrics import CHRF

from .data import CorpusError, Pair, length_bucket, parse_pairs_tsv
from .decoding import Search
from .jsonfiles import EVAL_DECIMALS, weights_to_json
from .notices import repetition
from .translator import Translator

DROPPED_BELOW = 0.3  # coverage Σ_i α_ij under which a source token was probably not translated
REPEATED_ABOVE = 2.0  # coverage over which it was probably translated twice
LOW_CHRF = 30.0  # a sentence scoring below this is flagged "low chrF"
NON_MONOTONE_BELOW = 0.5  # share of forward attention peaks below which word order looks scrambled
LATIN_REFERENCE = 0.5  # a Korean reference whose letters are mostly Latin was probably left untranslated
MAX_UPLOAD_BYTES = 2_000_000
MAX_UPLOAD_LINES = 2_000


def attention_diagnostics(attention: np.ndarray) -> dict:
    """Coverage Σ_i α_ij per source token, and flags for tokens that look dropped or repeated.

    The last source token is </s>, which soaks up attention by design; flags ignore it.
    Monotonicity is the share of steps whose most-attended source position does not move back.
    """
    coverage = attention.sum(axis=0)
    words = coverage[:-1] if len(coverage) > 1 else coverage
    entropy = float(sharpness(attention)[1].mean())
    peaks = attention.argmax(axis=1)
    forward = float((np.diff(peaks) >= 0).mean()) if len(peaks) > 1 else 1.0
    return {
        "coverage": np.round(coverage.astype(np.float64), EVAL_DECIMALS).tolist(),
        "dropped": [int(j) for j in np.nonzero(words < DROPPED_BELOW)[0]],
        "repeated": [int(j) for j in np.nonzero(words > REPEATED_ABOVE)[0]],
        "dropped_share": float((words < DROPPED_BELOW).mean()),
        "repeated_share": float((words > REPEATED_ABOVE).mean()),
        "entropy": round(entropy, 4),
        "monotonicity": round(forward, 4),
    }


def sharpness(attention: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per target token i: the largest weight max_j α_ij and the entropy −Σ_j α_ij log α_ij (nats). A sharp
    alignment reads near 1 and 0; attention spread evenly over Tx tokens reads 1/Tx and log Tx."""
    attention = np.asarray(attention)  # its own precision: eval.jsonl's entropy is computed in float32
    if not np.issubdtype(attention.dtype, np.floating):
        attention = attention.astype(np.float64)
    rows = np.clip(attention, 1e-12, 1.0)
    return attention.max(axis=1), -(rows * np.log(rows)).sum(axis=1)


def mean_sharpness(attentions) -> tuple[float, float] | None:
    """`sharpness` averaged over every output token of many α matrices (None skipped; None if none)."""
    parts = [sharpness(a) for a in attentions if a is not None and len(a)]
    if not parts:
        return None
    return float(np.concatenate([p for p, _ in parts]).mean()), float(
        np.concatenate([e for _, e in parts]).mean()
    )


def sentence_row(source: str, reference: str, result, domain: str = "") -> dict:
    """One sentence scored and diagnosed: a line of eval.jsonl, and of an uploaded file's analysis."""
    words = len(source.split())
    row = {
        "src": source,
        "ref": reference,
        "hyp": result.text,
        "domain": domain,
        "chrf": round(CHRF().sentence_score(result.text, [reference]).score, 2),
        "src_words": words,
        "tgt_words": len(reference.split()),
        "bucket": length_bucket(words),
        "src_tokens": result.src_tokens,
        "tgt_tokens": result.tgt_tokens,
        "attention": weights_to_json(result.attention, EVAL_DECIMALS),
    }
    if result.attention is not None:
        row.update(attention_diagnostics(result.attention))
    return row


_LATIN, _HANGUL = re.compile(r"[A-Za-z]"), re.compile("[\uac00-\ud7a3]")


def _latin_share(text: str) -> float | None:
    latin, hangul = len(_LATIN.findall(text)), len(_HANGUL.findall(text))
    return latin / (latin + hangul) if latin + hangul else None


def broken_reference(reference: str, source: str = "") -> bool:
    """A reference in the source's own script: an untranslated string, not a translation. A Korean
    reference mostly in Latin letters (English→Korean); for a Korean source, an English reference mostly
    in Hangul (Korean→English)."""
    share = _latin_share(reference)
    if share is None:
        return False
    source_share = _latin_share(source) if source else None
    if source_share is not None and source_share < 0.5:  # a Korean source: the reference should be English
        return 1 - share > LATIN_REFERENCE
    return share > LATIN_REFERENCE


def row_flags(row: dict) -> list[str]:
    """Why a sentence deserves a look: tokens dropped or repeated, scrambled order, low chrF, no </s>, an
    output that loops, or a reference that looks broken (so a low score may not be the model's fault)."""
    flags = []
    if row.get("dropped"):
        flags.append("dropped")
    if row.get("repeated"):
        flags.append("repeated")
    if row.get("monotonicity") is not None and row["monotonicity"] < NON_MONOTONE_BELOW:
        flags.append("non-monotone")
    if row.get("chrf") is not None and row["chrf"] < LOW_CHRF:
        flags.append("low chrF")
    tgt = row.get("tgt_tokens") or []
    if tgt and tgt[-1] != "</s>":
        flags.append("truncated")
    if row.get("hyp") and repetition(row["hyp"]):
        flags.append("loops")
    if row.get("ref") and broken_reference(row["ref"], row.get("src", "")):
        flags.append("reference?")
    return flags


def flagged_src(row: dict) -> list[int]:
    """Source positions the diagnostics flag, dropped or repeated, for `attention_heatmap(flagged_src=...)`."""
    return sorted(set(row.get("dropped") or []) | set(row.get("repeated") or []))


ERROR_COLUMNS = [
    "id", "domain", "src", "ref", "hyp", "chrf", "src_words", "tgt_words", "src_tokens_n", "tgt_tokens_n",
    "dropped_share", "repeated_share", "entropy", "monotonicity", "flags",
]  # fmt: skip
_NUMERIC = ("chrf", "dropped_share", "repeated_share", "entropy", "monotonicity")


def error_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """eval.jsonl rows as a table, one line per sentence; `id` is the row's index in `rows`."""
    records = [
        {
            "id": index,
            "domain": row.get("domain", ""),
            "src": row.get("src", ""),
            "ref": row.get("ref", ""),
            "hyp": row.get("hyp", ""),
            "chrf": row.get("chrf"),
            "src_words": row.get("src_words"),
            "tgt_words": row.get("tgt_words"),
            "src_tokens_n": len(row.get("src_tokens") or []),
            "tgt_tokens_n": len(row.get("tgt_tokens") or []),
            "dropped_share": row.get("dropped_share"),
            "repeated_share": row.get("repeated_share"),
            "entropy": row.get("entropy"),
            "monotonicity": row.get("monotonicity"),
            "flags": ", ".join(row_flags(row)),
        }
        for index, row in enumerate(rows)
    ]
    frame = pd.DataFrame.from_records(records, columns=ERROR_COLUMNS)
    for column in _NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


SORTS = ("telling", "worst", "longest", "id")


def filter_errors(
    frame: pd.DataFrame,
    *,
    length: tuple[int, int] | None = None,
    score: tuple[float, float] | None = None,
    flagged_only: bool = False,
    domain: str | None = None,
    sort: str = "worst",
) -> pd.DataFrame:
    """Rows with source length (words) and chrF inside the given ranges, in the order `sort` asks for.

    "worst" is lowest chrF first; "telling" is the same but among sentences of 4+ words first, because a
    one-word UI label scores 0 for any valid synonym and says little about the model.
    """
    keep = pd.Series(True, index=frame.index)
    if length is not None:
        keep &= frame["src_words"].between(*length)
    if score is not None:
        keep &= frame["chrf"].between(*score)
    if flagged_only:
        keep &= frame["flags"] != ""
    if domain:
        keep &= frame["domain"] == domain
    shown = frame[keep]
    if sort == "telling":
        shown = shown.assign(_short=shown["src_words"] < 4).sort_values(
            ["_short", "chrf", "id"], kind="stable"
        )
        shown = shown.drop(columns="_short")
    elif sort == "longest":
        shown = shown.sort_values(["src_words", "id"], ascending=[False, True], kind="stable")
    elif sort == "id":
        shown = shown.sort_values("id", kind="stable")
    else:
        shown = shown.sort_values(["chrf", "id"], kind="stable")
    return shown.reset_index(drop=True)


def corpus_scores(rows: Sequence[dict]) -> dict:
    """Corpus chrF of analysed rows (uploads), and how many carry each flag."""
    if not rows:
        return {"sentences": 0, "chrf": None}
    score = CHRF().corpus_score([r["hyp"] for r in rows], [[r["ref"] for r in rows]]).score
    flags: dict[str, int] = {}
    for row in rows:
        for flag in row_flags(row):
            flags[flag] = flags.get(flag, 0) + 1
    return {"sentences": len(rows), "chrf": round(score, 2), "flags": flags}


# --------------------------------------------------------------------------- reference vs hypothesis
@dataclass(frozen=True)
class DiffPiece:
    op: str  # "equal" | "delete" (only in the reference) | "insert" (only in the hypothesis)
    text: str


def diff(ref: str, hyp: str, level: str = "word") -> list[DiffPiece]:
    """Reference against hypothesis, by words (whitespace-split) or by characters (Korean often wants these)."""
    if level not in ("word", "char"):
        raise ValueError(f"level must be 'word' or 'char', not {level!r}")
    a, b = (ref.split(), hyp.split()) if level == "word" else (list(ref), list(hyp))
    sep = " " if level == "word" else ""
    pieces: list[DiffPiece] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(DiffPiece("equal", sep.join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(DiffPiece("delete", sep.join(a[i1:i2])))
        if j2 > j1:
            pieces.append(DiffPiece("insert", sep.join(b[j1:j2])))
    return pieces


def diff_text(pieces: Sequence[DiffPiece], level: str = "word") -> str:
    """Plain-text diff: [-only in the reference-] {+only in the hypothesis+}."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    sep = " " if level == "word" else ""
    return sep.join(marks[p.op].format(p.text) for p in pieces)


# --------------------------------------------------------------------------- uploaded files
def read_upload(
    data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_lines: int = MAX_UPLOAD_LINES
) -> tuple[list[Pair], list[str]]:
    """An uploaded `English<TAB>Korean` file -> (pairs, problems with line numbers).

    Raises CorpusError when nothing usable is there: too big, binary, or no valid line at all.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise CorpusError("the upload must be bytes")
    if len(data) > max_bytes:
        raise CorpusError(f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    if b"\x00" in data[:8192] or data[:4] in (b"PK\x03\x04", b"%PDF", b"\x89PNG", b"\x7fELF"):
        raise CorpusError(
            "this looks like a binary file, not a text TSV (English<TAB>Korean per line, UTF-8)"
        )
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    pairs, problems = parse_pairs_tsv(bytes(data), max_lines=max_lines)
    if lines > max_lines:
        problems.append(f"only the first {max_lines:,} of {lines:,} lines were read")
    if not pairs:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        raise CorpusError(f"no usable line (English<TAB>Korean per line, UTF-8): {shown}")
    return pairs, problems


def analyse_pairs(
    translator: Translator,
    pairs: Sequence[Pair],
    search: Search | None = None,
    *,
    chunk: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Translate pairs in chunks (progress(done, total) after each) and diagnose each like eval.jsonl."""
    rows: list[dict] = []
    done, total = 0, len(pairs)
    for start in range(0, total, chunk):
        part = pairs[start : start + chunk]

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total)

        results = translator.translate_batch(
            [p.source for p in part], search, batch_size=chunk, progress=tick
        )
        rows += [sentence_row(p.source, p.target, r, p.domain) for p, r in zip(part, results)]
    return rows
