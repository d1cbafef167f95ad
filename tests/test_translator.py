"""Tests for seq2seq.translator: the public face on the tiny trained checkpoint."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import toy_pairs

from seq2seq import load_translator, word_attention
from seq2seq.notices import length_scores, length_warning, repetition, repetition_warning
from seq2seq.tokenizer import EOS
from seq2seq.translator import MAX_INPUT_TOKENS
from seq2seq.words import group_words

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
    assert session.token_ids("파일") == tok.encode("파일")  # not a piece: all of its pieces
    with pytest.raises(ValueError, match=r"'파일' is \d pieces \(.*파.*\); one step writes one piece"):
        session.token_id("파일")  # one step cannot write a word of several pieces, and says so


def test_force_at_writes_every_piece_of_a_word_and_says_which(tiny_translator):
    session = tiny_translator.start("the user opens the file .")
    session.run()
    ids = session.token_ids("사용자가")
    assert len(ids) > 1
    whatif = session.force_at(1, "사용자가")
    assert whatif.forced_token == " ".join(session.pieces(ids))
    assert whatif.forced.tgt_tokens[1 : 1 + len(ids)] == session.pieces(ids)
    assert len(session.steps) == 1 + len(ids)  # the stepper stands just after the forced pieces


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


def test_describe_says_what_the_model_is(tiny_translator):
    summary = tiny_translator.describe()
    assert summary["attention"] == "additive" and summary["device"] == "cpu"
    assert summary["parameters"] == sum(p.numel() for p in tiny_translator.model.parameters())


def test_train_domains_come_from_the_config(tiny_translator, monkeypatch):
    assert tiny_translator.train_domains == ["libreoffice"]  # trained before the mixed corpus: one domain
    monkeypatch.setitem(tiny_translator.config, "train_domains", {"libreoffice": 9, "tatoeba": 3})
    assert tiny_translator.train_domains == ["libreoffice", "tatoeba"]


# --------------------------------------------------------------------------- edited attention
def test_stepping_with_the_models_own_weights_is_the_normal_step(tiny_translator):
    plain, edited = (tiny_translator.start("the user opens the file .") for _ in range(2))
    for _ in range(4):
        own = plain.step()
        step = edited.step(attention=own.weights)
        assert step.token == own.token and step.edited and not own.edited
        np.testing.assert_allclose(step.weights, own.weights, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(step.context, own.context, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(step.top_probs, own.top_probs, rtol=1e-5, atol=1e-6)


def test_one_hot_attention_makes_the_context_that_annotation(tiny_translator):
    session = tiny_translator.start("the user opens the file .")
    annotations = session._session.memory.annotations[0].numpy()  # h_j  (Tx, 2H)
    for j in (0, 3, len(session.src_tokens) - 1):
        one_hot = np.zeros(len(session.src_tokens))
        one_hot[j] = 5.0  # any positive scale: it is normalised to sum to 1
        step = session.step(attention=one_hot)
        np.testing.assert_allclose(step.weights, one_hot / 5.0)
        np.testing.assert_allclose(step.context, annotations[j], rtol=1e-5, atol=1e-6)  # c_i = h_j
        session.rewind(0)


def test_an_edit_changes_what_follows_and_the_session_still_rewinds_and_forces(tiny_translator):
    session = tiny_translator.start("the user opens the file .")
    session.run()
    original = list(session.tgt_tokens)
    session.rewind(2)
    weights = np.zeros(len(session.src_tokens))
    weights[1] = 1.0  # look only at the second source piece
    step = session.step(attention=weights, force=session.token_id(original[2]))
    assert step.edited and session.tgt_tokens[2] == original[2]
    session.run()
    session.rewind(1)
    assert session.tgt_tokens == original[:1]
    session.step(force=original[1])
    session.run()
    assert session.tgt_tokens == original  # after an edit, rewinding and forcing give the plain path back


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda n: [1.0, 2.0], r"needs \d+ weights, one per source token, not 2"),
        (lambda n: [1.0] * (n - 1) + [-1.0], "negative"),
        (lambda n: [float("nan")] + [1.0] * (n - 1), "finite"),
        (lambda n: [0.0] * n, "all zero"),
        (lambda n: ["a"] * n, "numbers"),
    ],
)
def test_bad_attention_weights_take_no_step(tiny_translator, make, message):
    session = tiny_translator.start("the user opens the file .")
    with pytest.raises(ValueError, match=message):
        session.step(attention=make(len(session.src_tokens)))
    assert session.steps == []


def test_a_fixed_context_model_has_no_attention_to_edit(fixed_translator):
    session = fixed_translator.start("the user opens the file .")
    with pytest.raises(ValueError, match="no attention weights to edit"):
        session.step(attention=[1.0] * len(session.src_tokens))


TOY = "the user opens the file now ."


def test_nbest_nodes_end_on_each_hypothesis(tiny_translator):
    from seq2seq.viz.beam import path_to

    result = tiny_translator.translate(TOY, beam_size=3)
    pieces = [n.piece for n in result.tree]
    assert pieces == tiny_translator.tgt_tokenizer.pieces([n.token for n in result.tree])
    ends = result.nbest_ends()
    assert len(ends) == len(result.nbest) and all(e is not None for e in ends)
    for end, candidate in zip(ends, result.nbest):
        assert [pieces[i] for i in path_to(result.tree, end)] == candidate.tgt_tokens


def test_force_at_changes_the_continuation(tiny_translator):
    greedy = tiny_translator.translate(TOY)
    session = tiny_translator.start(TOY)
    session.step()
    session.step()
    alternative = session.pieces([session.steps[1].top_ids[1]])[0]
    whatif = session.force_at(1, alternative)
    assert whatif.original.text == greedy.text
    assert whatif.forced.tgt_tokens[1] == alternative != whatif.original.tgt_tokens[1]
    # the session stands on the forced step; stepping on follows the forced continuation
    assert len(session.steps) == 2 and session.steps[1].forced
    assert session.tgt_tokens == whatif.forced.tgt_tokens[:2]
    session.run()
    assert whatif.forced.text == session.text and session.finished
    assert whatif.forced.attention.shape == (len(whatif.forced.tgt_tokens), len(session.src_tokens))
    before = list(session.tgt_tokens)
    with pytest.raises(ValueError):
        session.force_at(1, "   ")
    assert session.tgt_tokens == before  # a bad token leaves the session alone


def test_a_second_session_replays_the_forced_path_of_the_first(tiny_translator):
    """A lesson's class follows the teacher: same step, same forced tokens, the model's own elsewhere."""
    teacher = tiny_translator.start(TOY)
    teacher.go_to(2)
    teacher.force_at(1, int(teacher.steps[1].top_ids[1]))
    teacher.go_to(4)
    assert teacher.forced == ((1, int(teacher.steps[1].token)),)
    student = tiny_translator.start(TOY)
    student.go_to(3)  # ahead on the model's own path: undone back to step 1, then the teacher's
    student.go_to(4, dict(teacher.forced))
    assert student.tgt_tokens == teacher.tgt_tokens and student.forced == teacher.forced
    np.testing.assert_allclose(student.attention, teacher.attention, atol=1e-6)
    student.go_to(2)  # a link's step: the path so far stays
    assert student.forced == teacher.forced
    student.go_to(4, {})  # the teacher forces nothing any more: back on the model's own path
    assert not student.forced and student.tgt_tokens == tiny_translator.translate(TOY).tgt_tokens[:4]
    student.go_to(4, {1: 10**6})  # an id the model does not have is not forced
    assert not student.forced and len(student.steps) == 4
    with pytest.raises(ValueError, match="not in the target vocabulary"):
        student.step(force=-1)


def test_warnings_carry_a_code_and_survive_pickling(tiny_translator):
    import pickle

    result = tiny_translator.translate("the user opens the file ☃ .", max_len=2)
    codes = [getattr(w, "code", None) for w in result.warnings]
    assert "unknown_pieces" in codes and "length_limit" in codes
    back = pickle.loads(pickle.dumps(result))
    assert back.warnings == result.warnings and [w.code for w in back.warnings] == codes
    assert back.warnings[codes.index("unknown_pieces")].values["n"] >= 1


def test_a_translation_that_loops_is_named_and_natural_repeats_are_not():
    assert repetition("몇 명의 몇 명의 몇 명의 몇 명의 몇") == ("몇 명의", 4)
    assert repetition("인터넷에서 세계의 세계의 세계의 경제") == ("세계의", 3)
    assert repetition("전에 문을 닫기 전에 가기 전에 가기 전에 가기 전에") == (
        "전에 가기",
        3,
    )  # the first run found
    for natural in (
        "정말 정말 고마워.",
        "나는 학생 학생이야.",
        "오늘 날씨는 오늘 날씨가 좋습니다.",
        "",
        "네",
    ):
        assert repetition(natural) is None
    notice = repetition_warning("세계의 세계의 세계의 세계의")
    assert notice.code == "repeats" and notice.values == {"span": "세계의", "times": 4}
    assert repetition_warning("어떻게 지내니?") is None


# test chrF by source words, from a shipped card
GENERAL_BY_LENGTH = {"1-5": 19.53, "6-10": 17.38, "11-20": 14.68, "21-30": 9.12, "31+": 6.02}


def test_a_length_the_model_scores_little_over_half_its_best_at_gets_a_notice():
    notice = length_warning(25, GENERAL_BY_LENGTH)
    assert notice.code == "weak_length" and "9.1" in notice and "19.5" in notice
    assert notice.values == {
        "words": 25, "bucket": "21-30", "chrf": "9.1", "best_bucket": "1-5", "best": "19.5"
    }  # fmt: skip
    assert length_warning(40, GENERAL_BY_LENGTH).values["bucket"] == "31+"
    for words in (3, 8, 15):  # 14.68 is three quarters of 19.53
        assert length_warning(words, GENERAL_BY_LENGTH) is None
    software = {"1-5": 55.04, "6-10": 49.77, "11-20": 49.32, "21-30": 44.5, "31+": 34.13}
    assert length_warning(40, software) is None  # weaker on long sentences, but not by so much
    fixed = {"1-5": 15.32, "6-10": 13.35, "11-20": 11.96, "21-30": 7.77, "31+": 5.37}
    assert length_warning(25, fixed).values["chrf"] == "7.8"  # 51% of its best
    assert length_warning(25, {}) is None and length_warning(25, {"1-5": 20.0}) is None


def test_length_scores_skip_thin_buckets_and_never_fail(tmp_path):
    assert length_scores(tmp_path) == {}
    (tmp_path / "eval_buckets.json").write_text(
        '[{"bucket": "1-5", "n": 300, "chrf": 20.0}, {"bucket": "31+", "n": 3, "chrf": 1.0}]'
    )
    assert length_scores(tmp_path) == {"1-5": 20.0}  # 3 sentences say nothing about 31+ words
    for corrupt in ("{not json", '{"bucket": 1}', '[{"n": 50}]', "[1, 2]"):
        (tmp_path / "eval_buckets.json").write_text(corrupt)
        assert length_scores(tmp_path) == {}


def test_translate_and_step_through_warn_at_the_models_weak_length(tiny_checkpoint, tmp_path):
    import shutil

    folder = tmp_path / "tiny"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / "eval_buckets.json").write_text(
        '[{"bucket": "1-5", "n": 40, "chrf": 90.0}, {"bucket": "6-10", "n": 40, "chrf": 30.0}]'
    )
    translator = load_translator(folder, device="cpu")
    long, short = "the user closes the chart now .", "the user opens ."  # 7 and 4 words
    assert "weak_length" in [getattr(w, "code", "") for w in translator.translate(long).warnings]
    assert "weak_length" in [getattr(w, "code", "") for w in translator.start(long).warnings]
    assert "weak_length" not in [getattr(w, "code", "") for w in translator.translate(short).warnings]
