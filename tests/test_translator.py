"""Tests for seq2seq.translator: the public face on the tiny trained checkpoint."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import toy_pairs

from seq2seq import load_translator, word_attention
from seq2seq.tokenizer import EOS
from seq2seq.translator import MAX_INPUT_TOKENS, group_words

LEARNED = [  # training pairs the tiny model translates exactly
    "the user opens the file .",
    "the macro opens the cell .",
    "the user closes the chart now .",
    "the program closes the chart again .",
]
SENTENCES = [*LEARNED, "the dialog prints the page now .", "the program deletes the cell ."]


@pytest.fixture(scope="module")
def fixed_translator(tiny_fixed_checkpoint):
    return load_translator(tiny_fixed_checkpoint, device="cpu")


def test_translate_returns_text_tokens_and_attention(tiny_translator):
    result = tiny_translator.translate("the user opens the file .")
    assert isinstance(result.text, str) and result.text
    assert result.source == "the user opens the file ."
    assert result.src_tokens[-1] == EOS and result.tgt_tokens[-1] == EOS
    assert result.attention.shape == (len(result.tgt_tokens), len(result.src_tokens))
    np.testing.assert_allclose(result.attention.sum(1), 1.0, atol=1e-5)
    assert result.warnings == []
    assert result.nbest[0].text == result.text and result.score == result.nbest[0].score


def test_tiny_model_learned_the_toy_grammar(tiny_translator):
    reference = dict(toy_pairs())
    for sentence in LEARNED:
        assert tiny_translator.translate(sentence).text == reference[sentence]
    assert tiny_translator.translate("the user opens the file .").text == "사용자가 파일을 엽니다."


def test_verb_moves_to_the_end_and_attention_follows_it(tiny_translator):
    """SVO -> SOV: the last Korean word (the verb) looks mostly at the English verb."""
    aligned = word_attention(tiny_translator.translate("the user opens the file ."))
    assert aligned.tgt_words[-2] == "엽니다."
    assert aligned.src_words[int(aligned.matrix[-2].argmax())] == "opens"


@pytest.mark.parametrize("beam", [1, 3])
def test_translate_batch_equals_one_by_one(tiny_translator, beam):
    together = tiny_translator.translate_batch(SENTENCES, beam_size=beam, batch_size=4)
    for sentence, batched in zip(SENTENCES, together):
        alone = tiny_translator.translate(sentence, beam_size=beam)
        assert batched.text == alone.text and batched.tgt_tokens == alone.tgt_tokens
        assert batched.src_tokens == alone.src_tokens
        assert batched.score == pytest.approx(alone.score, abs=1e-5)
        np.testing.assert_allclose(batched.attention, alone.attention, atol=1e-5)
        assert [c.text for c in batched.nbest] == [c.text for c in alone.nbest]
        assert len(alone.nbest) == beam


def test_beam_translation_keeps_its_tree_and_nbest_attention(tiny_translator):
    result = tiny_translator.translate("the user opens the file .", beam_size=3)
    assert result.tree and len(result.nbest) == 3
    for candidate in result.nbest:
        assert candidate.attention.shape == (len(candidate.tgt_tokens), len(result.src_tokens))
        assert candidate.tgt_tokens[-1] == EOS and candidate.finished


@pytest.mark.parametrize(
    "text", ["", "   ", " \n\t\r ", "\x00\x01\x7f", "\u200b\u200d\u2066", "\x00 \u200b \n"]
)
def test_empty_input_raises_a_clear_error(tiny_translator, text):
    with pytest.raises(ValueError, match="input is empty"):
        tiny_translator.translate(text)
    with pytest.raises(ValueError, match="input is empty"):
        tiny_translator.start(text)


def test_one_bad_text_in_a_batch_raises(tiny_translator):
    with pytest.raises(ValueError, match="input is empty"):
        tiny_translator.translate_batch(["the user opens the file .", " "])


@pytest.mark.parametrize("bad", [None, 42, b"bytes"])
def test_non_text_input_raises(tiny_translator, bad):
    with pytest.raises(ValueError, match="must be text"):
        tiny_translator.translate(bad)


def test_beam_size_below_one_raises(tiny_translator):
    with pytest.raises(ValueError, match="beam_size"):
        tiny_translator.translate("the user opens the file .", beam_size=0)


def test_control_and_zero_width_characters_are_removed(tiny_translator):
    noisy = "the\u200b user\x00 opens\t\tthe   file\u202e ."
    result = tiny_translator.translate(noisy)
    assert result.source == "the user opens the file ."
    assert result.text == tiny_translator.translate("the user opens the file .").text


def test_very_long_character_input_is_truncated_with_a_warning(tiny_translator):
    text = ("the user opens the file . " * 4000)[:100_000]
    started = time.perf_counter()
    result = tiny_translator.translate(text)
    assert time.perf_counter() - started < 10
    assert len(result.source) <= 2_000
    assert len(result.src_tokens) <= MAX_INPUT_TOKENS
    assert any("100,000 characters" in w for w in result.warnings), result.warnings
    assert result.attention.shape == (len(result.tgt_tokens), len(result.src_tokens))


def test_many_words_are_truncated_to_the_token_cap_with_a_warning(tiny_translator):
    text = " ".join(["file"] * 5_000)
    started = time.perf_counter()
    result = tiny_translator.translate(text, beam_size=2)
    assert time.perf_counter() - started < 10
    assert len(result.src_tokens) == MAX_INPUT_TOKENS and result.src_tokens[-1] == EOS
    assert any("subword tokens" in w for w in result.warnings), result.warnings


def test_unknown_characters_show_as_unk(tiny_translator):
    result = tiny_translator.translate("the user opens the 😀 Привет file .")
    assert "<unk>" in result.src_tokens
    assert result.attention.shape == (len(result.tgt_tokens), len(result.src_tokens))
    assert tiny_translator.translate("😀").src_tokens[-2:] == ["<unk>", EOS]


def test_unknown_characters_are_named_in_a_warning(tiny_translator):
    result = tiny_translator.translate("the user opens <the> file == 😀 .")
    unknown = [w for w in result.warnings if "unknown to the model" in w]
    assert len(unknown) == 1, result.warnings
    pieces = result.src_tokens.count("<unk>")
    assert pieces >= 3 and unknown[0].startswith(
        f"{pieces} pieces are unknown to the model and show as <unk>: "
    )
    listed = unknown[0].split(": ", 1)[1]
    assert listed.split(", ") == ["'<'", "'>'", "'='", "'😀'"]  # distinct, in order of appearance
    assert tiny_translator.start("😀").warnings == [
        "1 piece is unknown to the model and shows as <unk>: '😀'"
    ]
    assert not tiny_translator.translate("the user opens the file .").warnings


# --------------------------------------------------------------------------- stepping
def test_session_steps_to_the_greedy_translation(tiny_translator):
    session = tiny_translator.start("the user opens the file .")
    greedy = tiny_translator.translate("the user opens the file .")
    session.run()
    assert session.finished and session.text == greedy.text
    assert session.tgt_tokens == greedy.tgt_tokens and session.src_tokens == greedy.src_tokens
    np.testing.assert_allclose(session.attention, greedy.attention, atol=1e-6)


def test_forcing_by_piece_string(tiny_translator):
    session = tiny_translator.start("the user opens the file .")
    for _ in range(6):  # "▁ 사 용 자 가 ▁", then the object: "파"
        session.step()
    assert session.tgt_tokens[-1] == "▁"
    step = session.step(force="표")
    assert session.pieces([step.token]) == ["표"] and step.forced
    session.run()
    assert session.text.startswith("사용자가 표")
    assert session.text != "사용자가 파일을 엽니다."
    session.rewind(6)
    assert session.pieces([session.step(force="▁파").token]) == ["파"]  # "▁파" is not a piece here
    session.rewind(0)
    assert session.step(force="</s>").is_eos


def test_forcing_accepts_word_without_the_word_marker(tiny_translator):
    session = tiny_translator.start("the user opens the file .")
    tok = tiny_translator.tgt_tokenizer
    assert session.token_id("파") == tok.piece_to_id("파")
    assert session.token_id(7) == 7
    assert session.token_id("▁") == tok.piece_to_id("▁")
    assert session.token_id("파일") == tok.encode("파일")[0]  # not a piece: its first piece


@pytest.mark.parametrize("word", ["", "  ", "zzz", "😀"])
def test_forcing_a_word_outside_the_vocabulary_raises(tiny_translator, word):
    session = tiny_translator.start("the user opens the file .")
    with pytest.raises(ValueError):
        session.step(force=word)
    assert session.steps == []


# --------------------------------------------------------------------------- word-level attention
def manual_word_attention(attention: np.ndarray, src: list[str], tgt: list[str]) -> np.ndarray:
    """Piece -> word index (a '▁' piece or </s> starts a word), then sum over source, mean over target."""

    def word_of(pieces):
        index, out = -1, []
        for i, piece in enumerate(pieces):
            if i == 0 or piece.startswith("▁") or piece == EOS or pieces[i - 1] == EOS:
                index += 1
            out.append(index)
        return np.array(out)

    src_word, tgt_word = word_of(src), word_of(tgt)
    matrix = np.zeros((tgt_word.max() + 1, src_word.max() + 1))
    for t in range(tgt_word.max() + 1):
        rows = attention[tgt_word == t]
        for s in range(src_word.max() + 1):
            matrix[t, s] = rows[:, src_word == s].sum(axis=1).mean()
    return matrix


def test_word_attention_sums_source_pieces_and_averages_target_pieces(tiny_translator):
    result = tiny_translator.translate("the user opens the file .")
    words = word_attention(result)
    assert words.src_words == ["the", "user", "opens", "the", "file", ".", EOS]
    assert words.tgt_words == ["사용자가", "파일을", "엽니다.", EOS]
    assert words.matrix.shape == (4, 7)
    np.testing.assert_allclose(words.matrix.sum(1), 1.0, atol=1e-5)
    expected = manual_word_attention(result.attention, result.src_tokens, result.tgt_tokens)
    np.testing.assert_allclose(words.matrix, expected, atol=1e-6)


def test_word_attention_of_an_nbest_candidate(tiny_translator):
    result = tiny_translator.translate("the macro saves the chart again .", beam_size=3)
    for candidate in result.nbest:
        words = word_attention(candidate, result.src_tokens)
        assert words.matrix.shape == (len(words.tgt_words), len(words.src_words))
        np.testing.assert_allclose(words.matrix.sum(1), 1.0, atol=1e-5)
        expected = manual_word_attention(candidate.attention, result.src_tokens, candidate.tgt_tokens)
        np.testing.assert_allclose(words.matrix, expected, atol=1e-6)


def test_group_words_splits_on_the_word_marker_and_eos():
    pieces = ["▁t", "h", "e", "▁", "u", "se", "r", "▁.", "</s>"]
    assert group_words(pieces) == [[0, 1, 2], [3, 4, 5, 6], [7], [8]]
    assert group_words(["a", "▁b", "</s>", "c"]) == [[0], [1], [2], [3]]


# --------------------------------------------------------------------------- fixed context
def test_fixed_context_checkpoint_translates_without_attention(fixed_translator):
    assert not fixed_translator.has_attention
    for beam in (1, 2):
        result = fixed_translator.translate("the user opens the file .", beam_size=beam)
        assert result.text and result.tgt_tokens[-1] == EOS
        assert result.attention is None
        assert all(c.attention is None for c in result.nbest)
    with pytest.raises(ValueError, match="no attention"):
        word_attention(result)
    session = fixed_translator.start("the user opens the file .")
    session.run()
    assert (
        session.attention is None
        and session.text == fixed_translator.translate("the user opens the file .").text
    )


def test_summary_describes_the_model(tiny_translator):
    summary = tiny_translator.summary()
    assert summary["attention"] == "additive" and summary["device"] == "cpu"
    assert summary["parameters"] == sum(p.numel() for p in tiny_translator.model.parameters())
