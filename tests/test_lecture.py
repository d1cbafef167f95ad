"""Tests for seq2seq.lecture: LaTeX escaping, the step equations with consistent numbers, word order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seq2seq import lecture
from seq2seq.model import AdditiveAttention, DotAttention
from seq2seq.session import Step
from seq2seq.words import word_attention

TOY = "the user opens the file now ."
ADDITIVE = AdditiveAttention.formula


@pytest.mark.parametrize("text", ["a_b", "{x}", "$y$", "50%", "#1", "a&b", "~", "^", "\\cmd", "}\\text{x"])
def test_latex_text_leaves_no_special_character_unescaped(text):
    out = lecture.latex_text(text)
    stripped = out
    for escaped in (
        r"\textbackslash{}",
        r"\textasciitilde{}",
        r"\textasciicircum{}",
        r"\{",
        r"\}",
        r"\$",
        r"\&",
        r"\#",
        r"\_",
        r"\%",
    ):
        stripped = stripped.replace(escaped, "")
    assert not set(stripped) & set("\\{}$&#_%~^")


def test_step_equations_show_the_real_numbers():
    energies = np.array([2.31, 0.5, -1.0, 1.2], dtype=np.float32)
    weights = np.exp(energies) / np.exp(energies).sum()
    step = Step(
        index=2,
        prev_state=np.zeros(4),
        energies=energies,
        weights=weights,
        context=np.zeros(4),
        top_ids=[5],
        top_probs=[0.9],
        token=5,
        prob=0.9,
        forced=False,
    )
    lines = lecture.step_equations(step, ["▁file", "_x{", "b", "</s>"], ADDITIVE, k=3)
    assert len(lines) == 3
    assert ADDITIVE in lines[0] and lines[0].index(ADDITIVE) < lines[0].index(
        "e_{3,1}"
    )  # its own score, then energies
    assert r"e_{3,1} = 2.310" in lines[0] and r"\text{▁file}" in lines[0] and r"\text{\_x\{}" in lines[0]
    assert f"= {weights[0]:.3f}".rstrip("0") in lines[1]
    assert f"{math.exp(2.31):.3g}" in lines[1]
    assert lines[2].startswith(r"c_{3} = \sum_j") and r"\,h_{1}" in lines[2] and r"\dots" in lines[2]
    table = lecture.top_sources(step, ["▁file", "_x{", "b", "</s>"], k=2)
    assert list(table["j"]) == [1, 4]
    fixed = Step(0, np.zeros(4), None, None, np.zeros(4), [5], [0.9], 5, 0.9, False)
    with pytest.raises(ValueError, match="no attention"):
        lecture.step_equations(fixed, ["a"], ADDITIVE)


def test_step_equations_on_a_real_step(tiny_translator):
    session = tiny_translator.start(TOY)
    step = session.step()
    lines = lecture.step_equations(step, session.src_tokens, tiny_translator.attention_kind.formula)
    best = int(np.argmax(step.weights))
    assert f"e_{{1,{best + 1}}}" in lines[0]
    # the α shown is the softmax of the energies shown
    assert np.isclose(
        np.exp(step.energies[best]) / np.exp(step.energies).sum(), step.weights[best], atol=1e-4
    )


def test_printed_numbers_agree_with_a_calculator():
    """exp(e) and α are computed from the energies as printed (3 decimals), not from unrounded ones."""
    energies = np.array([10.6744, 10.2, 9.9], dtype=np.float64)
    weights = np.exp(energies) / np.exp(energies).sum()
    step = Step(4, np.zeros(2), energies, weights, np.zeros(2), [1], [0.5], 1, 0.5, False)
    lines = lecture.step_equations(step, ["▁a", "▁b", "</s>"], ADDITIVE)
    assert r"e_{5,1} = 10.674" in lines[0]
    shown = [10.674, 10.2, 9.9]
    assert (
        r"\exp(10.674)" in lines[1] and f"{math.exp(10.674):.0f}" in lines[1]
    )  # 43223, what a calculator gives
    assert f"{sum(math.exp(e) for e in shown):.0f}" in lines[1]
    table = lecture.top_sources(step, ["▁a", "▁b", "</s>"], k=3)
    assert list(table["e_ij"]) == shown


def test_a_dot_model_shows_its_own_equation(tiny_dot_checkpoint):
    from seq2seq import load_translator

    translator = load_translator(tiny_dot_checkpoint, device="cpu")
    assert translator.attention_kind.formula == DotAttention.formula != ADDITIVE
    session = translator.start(TOY)
    lines = lecture.step_equations(session.step(), session.src_tokens, translator.attention_kind.formula)
    assert r"e_{ij} = s_{i-1}^\top h_j" in lines[0] and r"\tanh" not in lines[0]


def test_alignment_and_length_counts(tiny_translator):
    result = tiny_translator.translate(TOY)
    words = word_attention(result)
    table = lecture.alignment(words)
    assert words.tgt_words[-1] == words.src_words[-1] == "</s>"
    assert list(table["target word"]) == words.tgt_words[:-1]  # words only: no </s> row
    assert "</s>" not in set(table["attends most to"])  # ... and no </s> column
    assert list(table["target position"]) == list(range(1, len(words.tgt_words)))
    for _, row in table.iterrows():
        i, j = row["target position"] - 1, row["source position"] - 1
        assert words.src_words[j] == row["attends most to"]
        assert j == int(words.matrix[i, :-1].argmax()) and row["α"] == pytest.approx(
            words.matrix[i, j], abs=0.006
        )
    counts = lecture.length_counts(result)
    assert list(counts["words"]) == [len(TOY.split()), len(result.text.split())]
    assert list(counts["subword tokens (with </s>)"]) == [len(result.src_tokens), len(result.tgt_tokens)]


def test_order_claim_counts_crossings_instead_of_assuming_the_verb_moved(tiny_translator):
    result = tiny_translator.translate("the user opens the file .")  # the toy grammar puts the verb last
    table = lecture.alignment(word_attention(result))
    claim = lecture.order_claim(table, len(result.source.split()))
    positions = list(table["source position"])
    assert claim.crossings == sum(a > b for k, a in enumerate(positions) for b in positions[k + 1 :])
    assert claim.last_word == table.iloc[-1]["target word"] and claim.source_words == 6
    straight = table.assign(**{"source position": range(1, len(table) + 1)})
    assert not lecture.order_claim(straight, len(table)).reordered  # nothing crosses: no claim of reordering
    assert lecture.order_claim(table.iloc[:0], 3) is None


def test_content_step_skips_punctuation_and_the_end(tiny_translator):
    session = tiny_translator.start("the user opens the file .")
    session.run()
    pieces = session.tgt_tokens
    chosen = lecture.content_step(session.steps, pieces)
    assert chosen is not None and any(ch.isalnum() for ch in pieces[chosen.index]) and not chosen.is_eos


def test_length_gap_says_what_the_buckets_say():
    attention = [{"bucket": "1-5", "n": 50, "chrf": 20.0}, {"bucket": "21-30", "n": 30, "chrf": 10.0},
                 {"bucket": "31+", "n": 5, "chrf": 9.0}]  # fmt: skip
    fixed = [{"bucket": "1-5", "n": 50, "chrf": 15.0}, {"bucket": "21-30", "n": 30, "chrf": 9.0},
             {"bucket": "31+", "n": 5, "chrf": 1.0}]  # fmt: skip
    gap = lecture.length_gap(attention, fixed)
    assert gap.gaps == {"1-5": 5.0, "21-30": 1.0}  # 31+ has too few sentences to say anything
    assert not gap.widens and gap.small_on_long
    wide = lecture.length_gap(
        attention, [{**b, "chrf": b["chrf"] - (1 if b["bucket"] == "1-5" else 6)} for b in attention]
    )
    assert wide.widens and not wide.small_on_long and wide.long == {"21-30": 6.0}
