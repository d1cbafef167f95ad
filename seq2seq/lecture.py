"""The lecture's six steps in numbers: word order and lengths of a translation, and the attention
equations filled in with one decoder step's own values.

Everything printed is consistent with itself: energies are shown to 3 decimals, and exp(e), the
softmax denominator and α are computed from those shown values, so a student with a calculator
gets the numbers on the screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .session import Step
from .tokenizer import EOS
from .translator import Translation
from .words import WordAttention

ENERGY_DECIMALS = 3
# The sentences a class types first (issue 27): each model card lists what the model makes of them.
LECTURE_SENTENCES = (
    "How are you?",
    "I love you.",
    "Thank you very much.",
    "The weather is nice today.",
    "Where is the train station?",
    "I am a student.",
    "Be sure to lock the door before you go to bed.",
    "Nice to meet you.",
    "I am hungry.",
    "I don't know.",
)
# The same ten as a Korean class types them (issue 36), for the Korean→English models, in the same order.
LECTURE_SENTENCES_KO = (
    "잘 지내?",
    "사랑해.",
    "정말 고마워요.",
    "오늘 날씨가 좋네요.",
    "기차역이 어디예요?",
    "저는 학생이에요.",
    "자기 전에 꼭 문을 잠그세요.",
    "만나서 반가워요.",
    "배고파요.",
    "모르겠어요.",
)


def lecture_sentences(direction: str) -> tuple[str, ...]:
    """The lecture's ten in the source language of `direction` ('enko' or 'koen')."""
    return LECTURE_SENTENCES_KO if direction == "koen" else LECTURE_SENTENCES


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
}  # fmt: skip


def latex_text(text: str) -> str:
    """Token text made safe for `\\text{...}` in LaTeX: no command, group or math escapes out."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text).replace("\n", " "))


def _num(x: float) -> str:
    """A number for LaTeX: about 3 significant digits, powers of ten written out when large or tiny."""
    x = float(x)
    if x == 0:
        return "0"
    if 100 <= abs(x) < 1e5:
        return f"{x:.0f}"
    if 1e-3 <= abs(x) < 100:
        return f"{x:.3g}" if abs(x) >= 1 else f"{x:.3f}".rstrip("0")
    mantissa, exponent = f"{x:.2e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


@dataclass
class StepNumbers:
    """One step's e, exp(e) and α for the most-attended source tokens, all from the shown energies."""

    i: int  # the decoder step, counting from 1 as on the slides
    top: list[int]  # source positions j (from 0), most attended first
    energies: np.ndarray  # e_ij rounded to ENERGY_DECIMALS (Tx,)
    exp_energies: np.ndarray  # exp of the rounded energies (Tx,)
    denominator: float  # Σ_k exp(e_ik) over the rounded energies
    weights: np.ndarray  # exp(e_ij) / denominator (Tx,): the model's α to the shown precision


def step_numbers(step: Step, k: int = 3) -> StepNumbers:
    if step.energies is None or step.weights is None:
        raise ValueError("this model has no attention: c is the same fixed vector at every step")
    energies = np.round(np.asarray(step.energies, dtype=np.float64), ENERGY_DECIMALS)
    shift = energies.max()
    scaled = np.exp(energies - shift)  # the same ratios, without overflow
    weights = scaled / scaled.sum()
    top = [int(j) for j in np.argsort(-np.asarray(step.weights, dtype=np.float64))[: min(k, len(energies))]]
    denominator = float(scaled.sum()) * math.exp(shift)
    return StepNumbers(step.index + 1, top, energies, np.exp(energies), denominator, weights)


def step_equations(step: Step, src_tokens: Sequence[str], formula: str, k: int = 3) -> list[str]:
    """LaTeX for e, α and c at this step, with the numbers of the k most-attended source tokens.

    `formula` is the model's own score (`Translator.attention_kind.formula`), so a dot-product model
    shows its own equation. Indices count from 1: i is the decoder step and j the source position.
    """
    n = step_numbers(step, k)
    i, top = n.i, n.top
    token = {j: rf"\text{{{latex_text(src_tokens[j])}}}" for j in top}
    energy_terms = r",\quad ".join(
        rf"e_{{{i},{j + 1}}} = {n.energies[j]:.{ENERGY_DECIMALS}f}\ ({token[j]})" for j in top
    )
    best = top[0]
    e_best = f"{n.energies[best]:.{ENERGY_DECIMALS}f}"
    lines = [  # the score function above this step's energies: one line each would run off a narrow page
        r"\begin{gathered}" + formula + r"\\ " + energy_terms + r"\end{gathered}",
        (
            rf"\alpha_{{{i},{best + 1}}} = \frac{{\exp(e_{{{i},{best + 1}}})}}{{\sum_{{k=1}}^{{{len(n.energies)}}} "
            rf"\exp(e_{{{i},k}})}} = \frac{{\exp({e_best})}}{{{_num(n.denominator)}}} "
            rf"= \frac{{{_num(n.exp_energies[best])}}}{{{_num(n.denominator)}}} = {_num(n.weights[best])}"
        ),
    ]
    terms = " + ".join(rf"{_num(n.weights[j])}\,h_{{{j + 1}}}" for j in top)
    rest = 1.0 - float(n.weights[top].sum())
    tail = (
        rf" + \dots\ (\text{{the other {len(n.energies) - len(top)} share }} {_num(rest)})"
        if len(top) < len(n.energies)
        else ""
    )
    lines.append(rf"c_{{{i}}} = \sum_j \alpha_{{{i},j}} h_j = {terms}{tail}")
    return lines


def top_sources(step: Step, src_tokens: Sequence[str], k: int = 3) -> pd.DataFrame:
    """The k most-attended source tokens at this step with e_ij, exp(e_ij) and α_ij, as a small table."""
    n = step_numbers(step, k)
    return pd.DataFrame(
        {
            "j": np.array(n.top) + 1,
            "source token": [src_tokens[j] for j in n.top],
            "e_ij": n.energies[n.top],
            "α_ij": n.weights[n.top].round(3),
        }
    )


# --------------------------------------------------------------------------- points 1 and 2
def alignment(words: WordAttention) -> pd.DataFrame:
    """For each target word, the source word it attends to most (point 1: the word order differs).

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


@dataclass
class OrderClaim:
    """What the alignment says about word order, only what is true of this output."""

    crossings: int  # pairs of target words whose source words come in the other order
    pairs: int  # pairs of target words compared
    last_word: str  # the last target word
    last_source: str  # the source word it attends to most
    last_source_position: int  # from 1
    source_words: int
    ends_with_late_source: bool  # the last target word draws on a source word that is not the last one

    @property
    def reordered(self) -> bool:
        return self.crossings > 0


def order_claim(table: pd.DataFrame, source_words: int) -> OrderClaim | None:
    """Count crossing alignments (target order vs source order) instead of assuming the verb moved."""
    if table.empty:
        return None
    positions = table["source position"].to_numpy()
    pairs = len(positions) * (len(positions) - 1) // 2
    crossings = int(
        sum(
            (positions[a] > positions[b]) for a in range(len(positions)) for b in range(a + 1, len(positions))
        )
    )
    last = table.iloc[-1]
    return OrderClaim(
        crossings=crossings,
        pairs=pairs,
        last_word=str(last["target word"]),
        last_source=str(last["attends most to"]),
        last_source_position=int(last["source position"]),
        source_words=source_words,
        ends_with_late_source=int(last["source position"]) < source_words,
    )


def length_counts(result: Translation) -> pd.DataFrame:
    """Words and subword tokens on each side (point 2: the lengths differ)."""
    src_words, tgt_words = len(result.source.split()), len(result.text.split())
    return pd.DataFrame(
        {
            "side": ["English (source)", "Korean (target)"],
            "words": [src_words, tgt_words],
            "subword tokens (with </s>)": [len(result.src_tokens), len(result.tgt_tokens)],
        }
    )


def content_step(steps: Sequence[Step], pieces: Sequence[str]) -> Step | None:
    """The step to show the equations at: the most confident one that wrote a word, not punctuation,
    a bare word-boundary piece or </s> (point 5 wants a word the class recognises)."""

    def wordy(piece: str) -> bool:
        return any(ch.isalnum() for ch in piece)

    candidates = [s for s, p in zip(steps, pieces) if not s.is_eos and wordy(p) and s.weights is not None]
    return max(candidates, key=lambda s: float(np.max(s.weights)), default=None)


SMALL_LONG_GAP = 3.0  # chrF: a lead under this on 21+ words cannot show the fixed vector's bottleneck
LONG_FROM = 21  # source words: where the lecture's "long sentence" starts


@dataclass
class LengthGap:
    """Attention's lead over the fixed context, chrF by source-length bucket, from the two models'
    eval_buckets.json: what the sentences beside the length chart say, computed from that chart's data."""

    gaps: dict[str, float]  # bucket -> chrF(attention) - chrF(fixed), for buckets with enough sentences
    long: dict[str, float]  # the buckets of LONG_FROM+ words among them

    @property
    def widens(self) -> bool:
        """The lead on long sentences (their buckets' mean) is larger than on the shortest bucket."""
        if not self.gaps or not self.long:
            return False
        return float(np.mean(list(self.long.values()))) > next(iter(self.gaps.values()))

    @property
    def small_on_long(self) -> bool:
        return bool(self.long) and all(g < SMALL_LONG_GAP for g in self.long.values())


def _bucket_low(name: str) -> int:
    return int(name.split("-")[0].rstrip("+"))


def length_gap(attention: list[dict], fixed: list[dict], min_n: int = 20) -> LengthGap:
    """The gap bucket by bucket; a bucket with fewer than `min_n` test sentences or no score is left out."""
    fixed_by = {b["bucket"]: b for b in fixed}
    gaps = {}
    for bucket in attention:
        other = fixed_by.get(bucket["bucket"])
        if other is None or bucket.get("chrf") is None or other.get("chrf") is None:
            continue
        if min(bucket.get("n") or 0, other.get("n") or 0) < min_n:
            continue
        gaps[bucket["bucket"]] = round(bucket["chrf"] - other["chrf"], 1)
    long = {name: gap for name, gap in gaps.items() if _bucket_low(name) >= LONG_FROM}
    return LengthGap(gaps, long)
