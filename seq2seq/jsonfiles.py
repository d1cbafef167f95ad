"""JSON in one place: α rounded the same way everywhere, and one tolerant reader and atomic writer."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import atomic_write_bytes

WEIGHT_DECIMALS = 5  # α to 1e-5: rows still sum to 1 within 1e-4, and a heatmap cannot show more


EVAL_DECIMALS = 2  # α in a shipped eval.jsonl.gz and timeline.json: 3,160 test sentences in 2.0 MB (3 decimals: 3.1 MB, 5: 5 MB)


def weights_to_json(weights: np.ndarray | None, decimals: int = WEIGHT_DECIMALS) -> list | None:
    """α (or any weight matrix) as nested lists of floats rounded to `decimals`; None stays None."""
    if weights is None:
        return None
    return np.round(np.asarray(weights, dtype=np.float64), decimals).tolist()


def read_json(path: str | Path) -> Any:
    """The parsed file, or None when it is missing; a corrupt file raises ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc


def write_json(path: str | Path, value: Any, indent: int | None = None) -> None:
    """Atomic, UTF-8, Korean kept readable (no \\uXXXX escapes)."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    atomic_write_bytes(path, text.encode("utf-8"))


def read_jsonl(path: str | Path) -> list[dict]:
    """One JSON object a line (metrics.jsonl, eval.jsonl.gz: gzip by the name); unreadable lines are
    skipped, because a kill or a live run may cut the last one short. A missing file gives []."""
    path = Path(path)
    if not path.is_file():
        return []
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: not a readable gzip file ({exc})") from exc
    rows = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def write_jsonl(path: str | Path, rows: list[dict]) -> None:
    """Atomic; gzip-compressed when the name ends in .gz (eval files ship inside the 25 MB limit)."""
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    atomic_write_bytes(path, gzip.compress(data, mtime=0) if Path(path).suffix == ".gz" else data)
