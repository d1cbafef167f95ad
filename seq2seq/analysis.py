"""What the app's pages compute, without Streamlit: diffs, error tables, uploads, exports, step equations.

Pages call one function from here and draw the result with `seq2seq.viz`; everything is plain Python,
numpy and pandas, so it is unit-tested directly (tests/test_analysis.py).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sacrebleu.metrics import CHRF

from .data import CorpusError, Pair, parse_pairs_tsv
from .decoding import BeamNode, Step, check_limits
from .evaluate import sentence_row
from .tokenizer import EOS
from .translator import (
    Candidate,
    Translation,
    TranslationSession,
    Translator,
    WordAttention,
)

MAX_UPLOAD_BYTES = 2_000_000
MAX_UPLOAD_LINES = 2_000
LOW_CHRF = 30.0  # a sentence scoring below this is flagged "low chrF"
NON_MONOTONE_BELOW = 0.5  # share of forward attention peaks below which word order looks scrambled


# --------------------------------------------------------------------------- escaping
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
}  # fmt: skip
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|$:~<>&=\"'])")


def latex_text(text: str) -> str:
    """Token text made safe for `\\text{...}` inside st.latex: no command, group or math escapes out."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text).replace("\n", " "))


def markdown_text(text: str) -> str:
    """User text made literal inside st.markdown: every markdown, math (`$`) and directive (`:`) sign escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text).replace("\n", " "))


def html_text(text: str) -> str:
    """User text for an HTML snippet shown by st.markdown: HTML-escaped, and ASCII punctuation written as
    numeric entities so the markdown pass (emphasis, `$` math, `:colour[...]`) cannot read it either."""
    return "".join(ch if ch.isalnum() or ch == " " or ord(ch) > 127 else f"&#{ord(ch)};" for ch in str(text))


# --------------------------------------------------------------------------- ref vs hyp diff
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


def diff_html(pieces: Sequence[DiffPiece], level: str = "word") -> str:
    """One `<div>` line: missing reference text struck through in red, extra hypothesis text in green.

    Every piece goes through `html_text`, so user text can never become markup.
    """
    style = {
        "delete": "background:#fde2e1;color:#a61b1b;text-decoration:line-through;",
        "insert": "background:#dcf5dc;color:#17651a;",
        "equal": "",
    }
    sep = " " if level == "word" else ""
    spans = [
        f'<span style="{style[p.op]}">{html_text(p.text)}</span>' if style[p.op] else html_text(p.text)
        for p in pieces
    ]
    return f'<div style="line-height:1.9;font-size:1.05rem;">{sep.join(spans)}</div>'


def diff_text(pieces: Sequence[DiffPiece], level: str = "word") -> str:
    """Plain-text diff: [-only in the reference-] {+only in the hypothesis+}."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    sep = " " if level == "word" else ""
    return sep.join(marks[p.op].format(p.text) for p in pieces)


# --------------------------------------------------------------------------- attention export
def _cell(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote those (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def attention_csv(src_tokens: Sequence[str], tgt_tokens: Sequence[str], attention: np.ndarray) -> str:
    """α as a matrix: one row per target token, one column per source token, first cell 'target \\ source'."""
    attention = _check_attention(attention, src_tokens, tgt_tokens)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["target \\ source", *(_cell(t) for t in src_tokens)])
    for token, row in zip(tgt_tokens, attention):
        writer.writerow([_cell(token), *(f"{v:.6f}" for v in row)])
    return out.getvalue()


def attention_json(
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    attention: np.ndarray,
    **meta: Any,
) -> str:
    """α with its tokens and any metadata (model, source, translation, level) as one JSON object."""
    attention = _check_attention(attention, src_tokens, tgt_tokens)
    payload = {
        **meta,
        "src_tokens": list(src_tokens),
        "tgt_tokens": list(tgt_tokens),
        "attention": np.round(attention.astype(np.float64), 6).tolist(),
    }
    return json.dumps(payload, ensure_ascii=False, indent=1)


def _check_attention(attention, src_tokens, tgt_tokens) -> np.ndarray:
    attention = np.asarray(attention, dtype=float)
    if attention.shape != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(
            f"attention has shape {attention.shape}, expected ({len(tgt_tokens)}, {len(src_tokens)})"
        )
    return attention


# --------------------------------------------------------------------------- the lecture's numbers
def _num(x: float) -> str:
    """A number for LaTeX: about 3 significant digits; powers of ten written out when large or tiny."""
    x = float(x)
    if x == 0:
        return "0"
    if 100 <= abs(x) < 1e5:
        return f"{x:.0f}"
    if 1e-3 <= abs(x) < 100:
        return f"{x:.3g}" if abs(x) >= 1 else f"{x:.3f}".rstrip("0")
    mantissa, exponent = f"{x:.2e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def step_equations(step: Step, src_tokens: Sequence[str], k: int = 3) -> list[str]:
    """LaTeX for e, α and c at this step, filled in with the numbers of the k most-attended source tokens.

    Indices count from 1, as on the slides: i is the decoder step and j the source position.
    """
    if step.energies is None or step.weights is None:
        raise ValueError("this model has no attention: c is the same fixed vector at every step")
    energies = np.asarray(step.energies, dtype=np.float64)  # (Tx,)
    weights = np.asarray(step.weights, dtype=np.float64)  # (Tx,)
    i = step.index + 1
    top = [int(j) for j in np.argsort(-weights)[: min(k, len(weights))]]
    shift = energies.max()  # exp(e - max) / Σ exp(e - max): the same ratio, without overflow
    denominator = float(np.exp(energies - shift).sum()) * math.exp(shift)
    token = {j: rf"\text{{{latex_text(src_tokens[j])}}}" for j in top}
    energy_terms = r",\quad ".join(rf"e_{{{i},{j + 1}}} = {_num(energies[j])}\ ({token[j]})" for j in top)
    best = top[0]
    lines = [
        rf"e_{{{i},j}} = v^\top \tanh(W s_{{{i - 1}}} + U h_j):\qquad " + energy_terms,
        (
            rf"\alpha_{{{i},{best + 1}}} = \frac{{\exp(e_{{{i},{best + 1}}})}}{{\sum_{{k=1}}^{{{len(weights)}}} "
            rf"\exp(e_{{{i},k}})}} = \frac{{\exp({_num(energies[best])})}}{{{_num(denominator)}}} "
            rf"= \frac{{{_num(math.exp(energies[best]))}}}{{{_num(denominator)}}} = {_num(weights[best])}"
        ),
    ]
    terms = " + ".join(rf"{_num(weights[j])}\,h_{{{j + 1}}}" for j in top)
    rest = 1.0 - float(weights[top].sum())
    tail = (
        rf" + \dots\ (\text{{the other {len(weights) - len(top)} share }} {_num(rest)})"
        if len(top) < len(weights)
        else ""
    )
    lines.append(rf"c_{{{i}}} = \sum_j \alpha_{{{i},j}} h_j = {terms}{tail}")
    return lines


def top_sources(step: Step, src_tokens: Sequence[str], k: int = 3) -> pd.DataFrame:
    """The k most-attended source tokens at this step with e_ij, exp(e_ij) and α_ij, as a small table."""
    if step.energies is None or step.weights is None:
        raise ValueError("this model has no attention: c is the same fixed vector at every step")
    weights = np.asarray(step.weights, dtype=np.float64)
    energies = np.asarray(step.energies, dtype=np.float64)
    top = np.argsort(-weights)[: min(k, len(weights))]
    return pd.DataFrame(
        {
            "j": top + 1,
            "source token": [src_tokens[j] for j in top],
            "e_ij": energies[top].round(3),
            "α_ij": weights[top].round(3),
        }
    )


# --------------------------------------------------------------------------- lecture points 1 and 2
def alignment(words: WordAttention) -> pd.DataFrame:
    """For each target word, the source word it attends to most (lecture point 1: the verb moves to the end).

    Words only: the </s> row and column are left out, so α is the weight of the best real word.
    """
    rows = [i for i, w in enumerate(words.tgt_words) if w != EOS]
    cols = [j for j, w in enumerate(words.src_words) if w != EOS]  # never empty: the input has a word
    matrix = words.matrix[np.ix_(rows, cols)]  # (target words, source words)
    best = matrix.argmax(axis=1)
    return pd.DataFrame(
        {
            "target position": np.array(rows, dtype=int) + 1,
            "target word": [words.tgt_words[i] for i in rows],
            "attends most to": [words.src_words[cols[j]] for j in best],
            "source position": np.array([cols[j] for j in best], dtype=int) + 1,
            "α": matrix[np.arange(len(rows)), best].round(2),
        }
    )


def length_counts(result: Translation) -> pd.DataFrame:
    """Words and subword tokens on each side (lecture point 2: the lengths differ)."""
    src_words, tgt_words = len(result.source.split()), len(result.text.split())
    return pd.DataFrame(
        {
            "side": ["English (source)", "Korean (target)"],
            "words": [src_words, tgt_words],
            "subword tokens (with </s>)": [
                len(result.src_tokens),
                len(result.tgt_tokens),
            ],
        }
    )


# --------------------------------------------------------------------------- beam search
def nbest_nodes(
    nodes: Sequence[BeamNode],
    node_pieces: Sequence[str],
    candidates: Sequence[Candidate],
) -> list[int | None]:
    """The tree node where each n-best hypothesis ends (None if it is not in the tree), matched by tokens."""
    paths: dict[int, tuple[str, ...]] = {}
    ends: dict[tuple[str, ...], int] = {}
    for node, piece in zip(nodes, node_pieces):  # nodes come step by step: a parent before its children
        paths[node.id] = (*paths.get(node.parent, ()), piece)
        ends.setdefault(paths[node.id], node.id)
    return [ends.get(tuple(c.tgt_tokens)) for c in candidates]


# --------------------------------------------------------------------------- step-through what-if
@dataclass
class Snapshot:
    text: str
    tgt_tokens: list[str]
    attention: np.ndarray | None


@dataclass
class WhatIf:
    step: int  # i, counting from 0, where the token was forced
    original_token: str
    forced_token: str
    original: Snapshot
    forced: Snapshot


def snapshot(session: TranslationSession) -> Snapshot:
    attention = session.attention
    return Snapshot(
        session.text,
        list(session.tgt_tokens),
        None if attention is None else attention.copy(),
    )


def force_at(
    session: TranslationSession,
    index: int,
    token: int | str,
    max_len: int | None = None,
) -> WhatIf:
    """Decode greedily from step `index` (the original), then again with `token` forced there.

    Both full continuations come back as snapshots; the session itself stands just after the forced
    step, so a stepper shows that step with the forced token, and stepping on follows the forced path.
    The token is checked first, so a bad one (ValueError) leaves the session as it was.
    """
    token_id = session.token_id(token)
    check_limits(max_len=max_len)
    if not 0 <= index <= len(session.steps):
        raise ValueError(f"can force at steps 1..{len(session.steps) + 1}, not {index + 1}")
    session.rewind(index)
    session.run(max_len)
    original = snapshot(session)
    original_token = original.tgt_tokens[index] if index < len(original.tgt_tokens) else ""
    session.rewind(index)
    session.step(force=token_id)
    session.run(max_len)
    forced = snapshot(session)
    session.rewind(index + 1)  # back to the forced step: its state is kept, so this is exact
    return WhatIf(index, original_token, session.pieces([token_id])[0], original, forced)


# --------------------------------------------------------------------------- error analysis
ERROR_COLUMNS = [
    "id",
    "src",
    "ref",
    "hyp",
    "chrf",
    "src_words",
    "tgt_words",
    "src_tokens_n",
    "tgt_tokens_n",
    "dropped_share",
    "repeated_share",
    "entropy",
    "monotonicity",
    "flags",
]


def row_flags(row: dict) -> list[str]:
    """Why a sentence deserves a look: tokens dropped or repeated, scrambled order, low chrF, no </s>."""
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
    return flags


def flagged_src(row: dict) -> list[int]:
    """Source positions the diagnostics flag, dropped or repeated, for `attention_heatmap(flagged_src=...)`."""
    return sorted(set(row.get("dropped") or []) | set(row.get("repeated") or []))


def error_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """eval.jsonl rows as a table, one line per sentence; `id` is the row's index in `rows`."""
    records = []
    for index, row in enumerate(rows):
        records.append(
            {
                "id": index,
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
        )
    frame = pd.DataFrame.from_records(records, columns=ERROR_COLUMNS)
    for column in (
        "chrf",
        "dropped_share",
        "repeated_share",
        "entropy",
        "monotonicity",
    ):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def filter_errors(
    frame: pd.DataFrame,
    *,
    length: tuple[int, int] | None = None,
    score: tuple[float, float] | None = None,
    flagged_only: bool = False,
) -> pd.DataFrame:
    """Rows with source length (words) and chrF inside the given ranges, worst chrF first."""
    keep = pd.Series(True, index=frame.index)
    if length is not None:
        keep &= frame["src_words"].between(*length)
    if score is not None:
        keep &= frame["chrf"].between(*score)
    if flagged_only:
        keep &= frame["flags"] != ""
    return frame[keep].sort_values(["chrf", "id"], kind="stable").reset_index(drop=True)


def analyse_translation(source: str, reference: str, result: Translation) -> dict:
    """One sentence scored and diagnosed: the same fields as a line of eval.jsonl."""
    return sentence_row(source, reference, result)


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
    if b"\x00" in data[:8192] or data[:4] in (
        b"PK\x03\x04",
        b"%PDF",
        b"\x89PNG",
        b"\x7fELF",
    ):
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
    *,
    beam_size: int = 1,
    max_len: int | None = None,
    chunk: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Translate pairs in chunks (progress(done, total) after each batch) and analyse each like eval.jsonl."""
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
            [p.source for p in part],
            beam_size=beam_size,
            max_len=max_len,
            batch_size=chunk,
            progress=tick,
        )
        rows += [analyse_translation(p.source, p.target, r) for p, r in zip(part, results)]
    return rows


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


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# --------------------------------------------------------------------------- compare and model card
def buckets_table(buckets_by_model: dict[str, list[dict]]) -> pd.DataFrame:
    """eval_buckets.json of several models side by side: bucket, n, then chrF and BLEU per model.

    A bucket with no test sentence has no score: NaN here, shown as "–" by the app.
    """
    table: dict[str, dict[str, Any]] = {}
    for model, buckets in buckets_by_model.items():
        for b in buckets:
            entry = table.setdefault(b["bucket"], {"source words": b["bucket"], "n": b.get("n")})
            entry[f"{model} chrF"] = b.get("chrf")
            entry[f"{model} BLEU"] = b.get("bleu")
    frame = pd.DataFrame(list(table.values()))
    scores = [c for c in frame.columns if c not in ("source words", "n")]
    frame[scores] = frame[scores].apply(pd.to_numeric, errors="coerce").astype("float64")  # empty: NaN
    return frame


def read_json(path: str | Path) -> Any:
    """A JSON file, or None when it is missing; a corrupt one raises ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name}: not valid JSON ({exc})") from exc
