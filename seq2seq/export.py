"""Downloads: α with its tokens as CSV (Excel on Korean Windows reads it) or JSON, and telling file names."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .jsonfiles import weights_to_json

BOM = "\ufeff"  # tells Excel the CSV is UTF-8; without it Hangul comes out as mojibake


def _cell(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote those (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _check_attention(attention, src_tokens, tgt_tokens) -> np.ndarray:
    attention = np.asarray(attention, dtype=float)
    if attention.shape != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(
            f"attention has shape {attention.shape}, expected ({len(tgt_tokens)}, {len(src_tokens)})"
        )
    return attention


def attention_csv(src_tokens: Sequence[str], tgt_tokens: Sequence[str], attention: np.ndarray) -> str:
    """α as a matrix: one row per target token, one column per source token, first cell 'target \\ source'."""
    attention = _check_attention(attention, src_tokens, tgt_tokens)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["target \\ source", *(_cell(t) for t in src_tokens)])
    for token, row in zip(tgt_tokens, weights_to_json(attention)):
        writer.writerow([_cell(token), *row])
    return out.getvalue()


def csv_bytes(text: str) -> bytes:
    """CSV text as UTF-8 with a byte-order mark, the encoding Excel recognises."""
    return (BOM + text).encode("utf-8")


def attention_json(
    src_tokens: Sequence[str], tgt_tokens: Sequence[str], attention: np.ndarray, **meta: Any
) -> str:
    """α with its tokens and any metadata (model, source, translation, level) as one JSON object."""
    attention = _check_attention(attention, src_tokens, tgt_tokens)
    payload = {
        **meta,
        "src_tokens": list(src_tokens),
        "tgt_tokens": list(tgt_tokens),
        "attention": weights_to_json(attention),
    }
    return json.dumps(payload, ensure_ascii=False, indent=1)


def file_name(model: str, source: str, what: str, extension: str, words: int = 6) -> str:
    """e.g. 'enko-general-additive_click-the-save-button_attention-word.csv': the model and the sentence's first
    words, in characters every file system accepts."""
    stem = "-".join(re.findall(r"[A-Za-z0-9]+", source)[:words]).lower() or "sentence"
    model = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-") or "model"
    return f"{model}_{stem[:60]}_{what}.{extension}"
