"""Tests for seq2seq.decoding (greedy, beam search and its tree) and seq2seq.session's stepping, on the
tiny trained model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seq2seq.decoding import (
    APP_SEARCH,
    Search,
    app_search,
    banned_repeats,
    beam_search,
    coverage_penalty,
    decode_batches,
    greedy_search,
    length_penalty,
    pad_batch,
    ranked,
)
from seq2seq.session import StepSession
from seq2seq.tokenizer import BOS_ID, EOS_ID

SENTENCES = [
    "the user opens the file .",
    "the macro saves the chart again .",
    "the dialog prints the page now .",
    "the program deletes the cell .",
    "the user closes the table .",
]
MAX_LEN = 40


@pytest.fixture(scope="module")
def model(tiny_translator):
    return tiny_translator.model


@pytest.fixture(scope="module")
def sources(tiny_translator) -> list[list[int]]:
    return [tiny_translator.encode_source(s)[1] for s in SENTENCES]


def encode(model, sources):
    src, lengths = pad_batch(sources, "cpu")
    with torch.inference_mode():
        return model.encode(src, lengths)


def assert_same_hypothesis(a, b):
    assert a.tokens == b.tokens
    assert a.finished == b.finished
    assert a.score == pytest.approx(b.score, abs=1e-5)
    assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
    if a.attention is None:
        assert b.attention is None
    else:
        assert a.attention.shape == b.attention.shape
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-5)


# --------------------------------------------------------------------------- greedy and beam
def test_greedy_outputs_end_in_eos_with_one_attention_row_per_token(model, sources):
    for source, hyp in zip(sources, greedy_search(model, encode(model, sources), MAX_LEN)):
        assert hyp.finished and hyp.tokens[-1] == EOS_ID and EOS_ID not in hyp.tokens[:-1]
        assert hyp.attention.shape == (len(hyp.tokens), len(source))
        np.testing.assert_allclose(hyp.attention.sum(1), 1.0, atol=1e-5)
        assert hyp.score == pytest.approx(hyp.logprob / len(hyp.tokens))


def test_greedy_tokens_are_the_argmax_of_the_teacher_forced_logits(model, sources):
    """Training (teacher forcing) and search run through the same step function."""
    memory = encode(model, sources[:1])
    hyp = greedy_search(model, memory, MAX_LEN)[0]
    src, lengths = pad_batch(sources[:1], "cpu")
    tgt_in = torch.tensor([[BOS_ID, *hyp.tokens[:-1]]])
    with torch.inference_mode():
        logits = model(src, lengths, tgt_in)[0]
    assert logits.argmax(-1).tolist() == hyp.tokens
    logprob = torch.log_softmax(logits, -1).gather(1, torch.tensor(hyp.tokens)[:, None]).sum()
    assert float(logprob) == pytest.approx(hyp.logprob, abs=1e-4)


def test_beam_size_one_equals_greedy(model, sources):
    memory = encode(model, sources)
    greedy = greedy_search(model, memory, MAX_LEN)
    beams = beam_search(model, memory, 1, MAX_LEN)
    for g, beam in zip(greedy, beams):
        assert len(beam.nbest) == 1
        assert_same_hypothesis(g, beam.nbest[0])
    for source, g in zip(sources, greedy):  # and one by one
        assert_same_hypothesis(g, beam_search(model, encode(model, [source]), 1, MAX_LEN)[0].nbest[0])


def test_beam_nbest_is_sorted_and_every_hypothesis_has_its_own_attention(model, sources):
    for source, result in zip(sources, beam_search(model, encode(model, sources), 4, MAX_LEN)):
        scores = [h.score for h in result.nbest]
        assert len(result.nbest) == 4
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in result.nbest}) == 4  # distinct hypotheses
        for hyp in result.nbest:
            assert hyp.finished and hyp.tokens[-1] == EOS_ID
            assert hyp.attention.shape == (len(hyp.tokens), len(source))
            np.testing.assert_allclose(hyp.attention.sum(1), 1.0, atol=1e-5)
            assert hyp.score == pytest.approx(hyp.logprob / len(hyp.tokens))


def test_beam_hypothesis_scores_and_attention_are_recomputed_by_teacher_forcing(model, sources):
    """Each n-best attention belongs to its own path, not to whatever slot it ended in."""
    src, lengths = pad_batch(sources[:1], "cpu")
    memory = encode(model, sources[:1])
    for hyp in beam_search(model, memory, 3, MAX_LEN)[0].nbest:
        prev, logprob, rows = torch.tensor([BOS_ID]), 0.0, []
        with torch.inference_mode():
            state, feed = model.decoder.start(memory)
            for token in hyp.tokens:
                out = model.decoder.step(prev, state, feed, memory)
                logprob += float(torch.log_softmax(model.decoder.logits(out.feed), -1)[0, token])
                rows.append(out.weights[0].numpy())
                state, feed, prev = out.state, out.feed, torch.tensor([token])
        assert logprob == pytest.approx(hyp.logprob, abs=1e-4)
        np.testing.assert_allclose(np.stack(rows), hyp.attention, atol=1e-5)


def test_beam_tree_is_a_tree_and_holds_the_nbest_paths(model, sources):
    result = beam_search(model, encode(model, sources[:1]), 3, MAX_LEN)[0]
    nodes = result.tree
    assert nodes
    for index, node in enumerate(nodes):
        assert node.id == index
        assert node.finished == (node.token == EOS_ID)
        assert node.attention.shape == (len(sources[0]),)
        if node.parent == -1:
            assert node.step == 0
        else:
            parent = nodes[node.parent]
            assert parent.step == node.step - 1
            assert not parent.finished  # a finished hypothesis has no children
            assert node.logprob <= parent.logprob + 1e-6  # log-probabilities only fall
    assert len({(n.step, n.parent, n.token) for n in nodes}) == len(nodes)  # no duplicate expansions
    for hyp in result.nbest:
        leaves = [
            n
            for n in nodes
            if n.step == len(hyp.tokens) - 1
            and n.token == hyp.tokens[-1]
            and n.logprob == pytest.approx(hyp.logprob, abs=1e-6)
        ]
        assert leaves, f"no tree node ends hypothesis {hyp.tokens}"
        path, node = [], leaves[0]
        while True:
            path.append(node)
            if node.parent == -1:
                break
            node = nodes[node.parent]
        path.reverse()
        assert [n.token for n in path] == hyp.tokens
        np.testing.assert_allclose(np.stack([n.attention for n in path]), hyp.attention)


def test_beam_without_tree_keeps_no_tree(model, sources):
    assert beam_search(model, encode(model, sources[:1]), 2, MAX_LEN, keep_tree=False)[0].tree == []


def test_batched_beam_equals_one_by_one(model, sources):
    batched = beam_search(model, encode(model, sources), 3, MAX_LEN)
    for source, together in zip(sources, batched):
        alone = beam_search(model, encode(model, [source]), 3, MAX_LEN)[0]
        assert len(alone.nbest) == len(together.nbest)
        for a, b in zip(alone.nbest, together.nbest):
            assert_same_hypothesis(a, b)
        assert [(n.parent, n.step, n.token) for n in alone.tree] == [
            (n.parent, n.step, n.token) for n in together.tree
        ]


def test_beam_that_runs_out_of_length_returns_unfinished_hypotheses(model, sources):
    for result in beam_search(model, encode(model, sources[:2]), 3, max_len=3):
        assert len(result.nbest) == 3
        for hyp in result.nbest:
            assert len(hyp.tokens) == 3 and not hyp.finished and EOS_ID not in hyp.tokens
            assert hyp.attention.shape[0] == 3


def test_greedy_that_runs_out_of_length_is_unfinished(model, sources):
    hyp = greedy_search(model, encode(model, sources[:1]), 4)[0]
    assert len(hyp.tokens) == 4 and not hyp.finished


def test_decode_batches_returns_input_order_across_length_sorted_chunks(model, sources):
    mixed = [sources[1], sources[0], sources[4], sources[2], sources[3]]
    for beam in (1, 2):
        search = Search(beam_size=beam, max_len=MAX_LEN)
        results = decode_batches(model, mixed, search, batch_size=2)
        for source, result in zip(mixed, results):
            alone = decode_batches(model, [source], search)[0]
            assert_same_hypothesis(alone.nbest[0], result.nbest[0])


def test_fixed_context_model_decodes_without_attention(tiny_fixed_checkpoint):
    from seq2seq import load_translator

    translator = load_translator(tiny_fixed_checkpoint, device="cpu")
    model = translator.model
    sources = [translator.encode_source(s)[1] for s in SENTENCES[:2]]
    memory = encode(model, sources)
    greedy = greedy_search(model, memory, MAX_LEN)
    beams = beam_search(model, memory, 2, MAX_LEN)
    assert all(h.attention is None for h in greedy)
    assert all(h.attention is None for r in beams for h in r.nbest)
    assert all(n.attention is None for r in beams for n in r.tree)
    assert_same_hypothesis(greedy[0], beam_search(model, memory, 1, MAX_LEN)[0].nbest[0])
    session = StepSession(model, encode(model, sources[:1]))
    session.run(MAX_LEN)
    assert session.tokens == greedy[0].tokens and session.attention is None
    assert session.steps[0].weights is None and session.steps[0].energies is None


# --------------------------------------------------------------------------- the stepping session
@pytest.fixture()
def session(model, sources) -> StepSession:
    return StepSession(model, encode(model, sources[:1]), top_k=5)


def test_stepping_to_the_end_equals_greedy(model, sources, session):
    greedy = greedy_search(model, encode(model, sources[:1]), MAX_LEN)[0]
    steps = session.run(MAX_LEN)
    assert session.finished and steps[-1].is_eos
    assert session.tokens == greedy.tokens
    np.testing.assert_allclose(session.attention, greedy.attention, atol=1e-6)
    for index, step in enumerate(steps):
        assert step.index == index and not step.forced
        assert step.token == step.top_ids[0]
        assert step.prob == pytest.approx(step.top_probs[0])
        assert step.top_probs == sorted(step.top_probs, reverse=True) and len(step.top_ids) == 5
        # α_i· = softmax(e_i·), and s_{i-1} is the state the previous step produced
        np.testing.assert_allclose(
            torch.softmax(torch.tensor(step.energies), 0).numpy(), step.weights, atol=1e-6
        )
    with torch.inference_mode():
        start_state, _ = model.decoder.start(encode(model, sources[:1]))
    np.testing.assert_allclose(steps[0].prev_state, start_state[0].numpy(), atol=1e-6)


def test_forcing_a_token_takes_it_and_changes_the_continuation(model, sources, session):
    original = StepSession(model, encode(model, sources[:1]))
    original.run(MAX_LEN)
    i = 6
    for _ in range(i):
        session.step()
    alternative = original.steps[i].top_ids[1]
    step = session.step(force=alternative)
    assert step.token == alternative and step.forced and step.index == i
    assert step.prob == pytest.approx(original.steps[i].top_probs[1], rel=1e-5)
    session.run(MAX_LEN)
    assert session.tokens[:i] == original.tokens[:i]
    assert session.tokens != original.tokens
    # later steps continue from the forced token: greedy given that prefix (teacher forcing)
    src, lengths = pad_batch(sources[:1], "cpu")
    tgt_in = torch.tensor([[BOS_ID, *session.tokens[:-1]]])
    with torch.inference_mode():
        argmax = model(src, lengths, tgt_in)[0].argmax(-1).tolist()
    assert argmax[i + 1 :] == session.tokens[i + 1 :]
    assert argmax[i] != session.tokens[i]


def test_forcing_the_argmax_is_not_marked_forced(model, sources, session):
    argmax = StepSession(model, encode(model, sources[:1])).step().token
    step = session.step(force=argmax)
    assert step.token == argmax and not step.forced


def test_rewind_then_stepping_reproduces_the_original(session):
    session.run(MAX_LEN)
    original = [(s.token, s.weights.copy(), s.prev_state.copy(), s.top_ids) for s in session.steps]
    session.rewind(3)
    assert len(session.steps) == 3 and not session.finished
    session.run(MAX_LEN)
    again = [(s.token, s.weights, s.prev_state, s.top_ids) for s in session.steps]
    assert len(again) == len(original)
    for (tok_a, w_a, s_a, top_a), (tok_b, w_b, s_b, top_b) in zip(original, again):
        assert tok_a == tok_b and top_a == top_b
        np.testing.assert_array_equal(w_a, w_b)
        np.testing.assert_array_equal(s_a, s_b)
    session.rewind(0)
    assert session.steps == [] and session.tokens == [] and session.attention is None


def test_rewind_after_a_forced_token_restores_the_greedy_path(model, sources, session):
    greedy = greedy_search(model, encode(model, sources[:1]), MAX_LEN)[0]
    session.step()
    session.step(force=EOS_ID)
    assert session.finished
    session.rewind(1)
    session.run(MAX_LEN)
    assert session.tokens == greedy.tokens


def test_step_after_eos_raises(session):
    session.run(MAX_LEN)
    with pytest.raises(ValueError, match="finished"):
        session.step()


@pytest.mark.parametrize("bad", [-1, 10_000])
def test_forced_id_outside_the_vocabulary_raises_and_takes_no_step(model, session, bad):
    session.step()
    with pytest.raises(ValueError, match="outside the vocabulary"):
        session.step(force=bad)
    assert len(session.steps) == 1
    with pytest.raises(ValueError):
        session.step(force=model.cfg.tgt_vocab_size)


@pytest.mark.parametrize("index", [-1, 2])
def test_rewind_out_of_range_raises(session, index):
    session.step()
    with pytest.raises(ValueError, match="rewind"):
        session.rewind(index)


def test_run_stops_at_max_len(session):
    session.run(3)
    assert len(session.steps) == 3 and not session.finished


# --------------------------------------------------------------------------- the score's parts (GNMT §7)
def test_length_penalty_by_hand():
    assert length_penalty(4, 1.0) == 4.0
    assert length_penalty(4, 0.0) == 1.0
    assert length_penalty(4, 0.6, gnmt=True) == pytest.approx(1.5**0.6)  # ((5 + 4) / 6)^0.6
    assert length_penalty(1, 1.0, gnmt=True) == 1.0  # ((5 + 1) / 6)^α: a one-token output is not divided
    assert length_penalty(0, 1.0) == 1.0


def test_coverage_penalty_by_hand():
    """cp = β Σ_j log(min(Σ_i α_ij, 1)): column sums 1.3, 0.5, 0.2 -> 0.2 (log 1 + log 0.5 + log 0.2)."""
    attention = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1]])
    assert coverage_penalty(attention, 0.2) == pytest.approx(0.2 * (np.log(0.5) + np.log(0.2)))
    assert coverage_penalty(attention, 0.2) == pytest.approx(-0.46052, abs=1e-5)
    assert coverage_penalty(np.array([[0.5, 0.5], [0.5, 0.5]]), 1.0) == 0.0  # every word read once
    assert coverage_penalty(attention, 0.0) == 0.0 and coverage_penalty(None, 0.4) == 0.0
    assert np.isfinite(coverage_penalty(np.array([[1.0, 0.0]]), 1.0))  # an unread word: floored, finite


def test_a_hypothesis_ranks_by_log_p_over_lp_plus_cp():
    attention = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1]])
    hyp = ranked([5, EOS_ID], attention, -3.0, True, Search(beam_size=5, alpha=1.0, coverage=0.2))
    assert hyp.length_norm == 2.0 and hyp.coverage == pytest.approx(-0.46052, abs=1e-5)
    assert hyp.score == pytest.approx(-3.0 / 2.0 - 0.46052, abs=1e-5)
    assert hyp.uncovered() == [2] and hyp.uncovered(threshold=0.6) == [1, 2]


def test_banned_repeats_forbid_saying_an_ngram_twice():
    assert banned_repeats([5, 6, 7, 5, 6], 3) == [7]  # "5 6" was followed by 7 before
    assert banned_repeats([5, 6, 7, 5], 2) == [6]
    assert banned_repeats([5, 6, 7], 1) == [5, 6, 7]
    assert banned_repeats([5, 6, 7, 5, 6], 0) == [] and banned_repeats([5], 3) == []


def test_coverage_and_length_penalties_rank_the_beam_by_their_score(model, sources):
    search = Search(beam_size=4, coverage=0.4, gnmt_length=True, alpha=0.6)
    for result in decode_batches(model, sources, search):
        scores = [h.score for h in result.nbest]
        assert scores == sorted(scores, reverse=True)
        for hyp in result.nbest:
            lp = length_penalty(len(hyp.tokens), 0.6, gnmt=True)
            assert hyp.score == pytest.approx(
                hyp.logprob / lp + coverage_penalty(hyp.attention, 0.4), abs=1e-5
            )


@pytest.mark.parametrize("beam", [1, 3])
def test_no_repeat_never_says_an_ngram_twice(model, sources, beam):
    for result in decode_batches(model, sources, Search(beam_size=beam, no_repeat=2)):
        for hyp in result.nbest:
            pairs = list(zip(hyp.tokens, hyp.tokens[1:]))
            assert len(pairs) == len(set(pairs)), hyp.tokens


def test_bad_search_options_are_refused():
    for bad in ({"coverage": -1}, {"coverage": "0.2"}, {"no_repeat": 1.5}, {"no_repeat": 11}):
        with pytest.raises(ValueError):
            Search(**bad)


def test_the_app_search_is_the_beam_and_beam_1_is_plain_greedy():
    assert APP_SEARCH.beam_size == 5
    assert app_search(1) == Search() and app_search(1, 40) == Search(max_len=40)
    assert app_search(3) == Search.of(APP_SEARCH, beam_size=3)
