"""The lesson's record for the teacher: per step, what the class picked and what the model did. Browsers
are counted, never listed: no row names a student.

Columns: step, the token the decoder wrote, the number of guesses, the unit the class picked most (and
its share of the class), the model's top unit (largest α) and the share of the class that picked it,
then α of each unit. Steps with no guess have empty picks and shares.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from seq2seq.export import csv_bytes
from seq2seq.session import TranslationSession
from seq2seq.words import group_sums

from .question import units

COLUMNS = ("step", "wrote", "guesses", "picked", "picked_share", "top", "top_share")


def _counts(groups: list[list[int]], tally: Counter) -> np.ndarray:
    """A step's guesses per unit (a guess is stored as a source piece: its unit's first)."""
    owner = {j: u for u, group in enumerate(groups) for j in group}
    counts = np.zeros(len(groups), dtype=int)
    for piece, n in tally.items():
        if piece in owner:
            counts[owner[piece]] += n
    return counts


def lesson_record(session: TranslationSession, unit: str, tallies: Mapping[int, Counter]) -> pd.DataFrame:
    """One row per step taken; `tallies` is the store's {step: {source piece index: count}}."""
    labels, groups = units(session.src_tokens, unit)
    alphas = [f"α {u + 1}·{label}" for u, label in enumerate(labels)]
    rows = []
    for step in session.steps:
        i = step.index + 1
        counts = _counts(groups, tallies.get(i, Counter()))
        total = int(counts.sum())
        weights = group_sums(step.weights, groups) if step.weights is not None else None
        top = int(np.argmax(weights)) if weights is not None else None
        picked = int(np.argmax(counts)) if total else None  # a tie goes to the earlier word
        row = {
            "step": i,
            "wrote": session.pieces([step.token])[0],
            "guesses": total,
            "picked": labels[picked] if picked is not None else "",
            "picked_share": round(counts[picked] / total, 3) if picked is not None else None,
            "top": labels[top] if top is not None else "",
            "top_share": round(counts[top] / total, 3) if total and top is not None else None,
        }
        for name, weight in zip(alphas, weights if weights is not None else [None] * len(alphas)):
            row[name] = None if weight is None else round(float(weight), 4)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*COLUMNS, *alphas])


def record_csv(table: pd.DataFrame) -> bytes:
    """UTF-8 with a BOM, as the other downloads: Excel shows the Korean tokens as they are."""
    return csv_bytes(table.to_csv(index=False, lineterminator="\n"))


def most_picked(session: TranslationSession, unit: str, tallies: Mapping[int, Counter]) -> dict[int, int]:
    """{step index (0-based): source piece} of the class's most-picked unit at each step with guesses:
    the marks the record's picture draws on the model's attention (one row per step)."""
    _, groups = units(session.src_tokens, unit)
    marks = {}
    for step in session.steps:
        counts = _counts(groups, tallies.get(step.index + 1, Counter()))
        if counts.sum():
            marks[step.index] = groups[int(np.argmax(counts))][0]
    return marks
