"""Attention over whole words: subword pieces grouped into the words they spell, so a class reads
"학생이야" and not "▁학생 이야"; rows that summed to 1 still do."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tokenizer import EOS
from .translator import Candidate, Translation


@dataclass
class WordAttention:
    src_words: list[str]
    tgt_words: list[str]
    matrix: np.ndarray  # (len(tgt_words), len(src_words)); rows still sum to 1


def group_words(pieces: list[str]) -> list[list[int]]:
    """Indices of the pieces that make up each word: a '▁' piece starts one; </s> stands alone."""
    groups: list[list[int]] = []
    for index, piece in enumerate(pieces):
        if not groups or piece.startswith("▁") or piece == EOS or pieces[index - 1] == EOS:
            groups.append([index])
        else:
            groups[-1].append(index)
    return groups


def group_sums(weights: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Weights over source pieces (last axis) -> weights over their groups (words), summed: a row that
    summed to 1 still does."""
    weights = np.asarray(weights, dtype=float)
    return np.stack([weights[..., g].sum(axis=-1) for g in groups], axis=-1)


def word_text(pieces: list[str], group: list[int]) -> str:
    """The word that the pieces `group` (from `group_words`) spell."""
    return "".join(pieces[i] for i in group).replace("▁", " ").strip() or pieces[group[0]]


def word_level(matrix: np.ndarray, src_tokens: list[str], tgt_tokens: list[str]) -> WordAttention:
    """Subword weights -> word weights: source pieces summed within a word, target pieces averaged, so
    rows that summed to 1 still do (α, or attribution)."""
    src_groups, tgt_groups = group_words(src_tokens), group_words(tgt_tokens)
    summed = group_sums(matrix, src_groups)
    words = np.stack([summed[g].mean(axis=0) for g in tgt_groups], axis=0)
    return WordAttention(
        [word_text(src_tokens, g) for g in src_groups], [word_text(tgt_tokens, g) for g in tgt_groups], words
    )


def word_attention(result: Translation | Candidate, src_tokens: list[str] | None = None) -> WordAttention:
    """Subword α -> word α: source pieces summed within a word, target pieces averaged."""
    if result.attention is None:
        raise ValueError("this model has no attention (fixed context vector)")
    src_tokens = src_tokens if src_tokens is not None else result.src_tokens  # type: ignore[union-attr]
    return word_level(result.attention, src_tokens, result.tgt_tokens)
