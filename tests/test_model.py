"""Tests for seq2seq.model: the attention equations by hand, padding, packing, one step function."""

from __future__ import annotations

import pytest
import torch

from seq2seq.config import ATTENTION_NAMES, ModelConfig
from seq2seq.decoding import greedy_search, pad_batch
from seq2seq.model import (
    ATTENTIONS,
    AdditiveAttention,
    DotAttention,
    FixedContext,
    GeneralAttention,
    Memory,
    Seq2Seq,
    sequence_loss,
)
from seq2seq.tokenizer import BOS_ID, PAD_ID

VOCAB = 23
SOURCES = [[5, 6, 7, 8, 9, 3], [10, 11, 3], [12, 13, 14, 15, 16, 17, 18, 3], [19, 3]]  # lengths differ


def tiny_model(attention: str = "additive", **overrides) -> Seq2Seq:
    torch.manual_seed(0)
    cfg = ModelConfig(
        src_vocab_size=VOCAB,
        tgt_vocab_size=VOCAB,
        embed_dim=8,
        hidden_size=6,
        attention=attention,
        attention_dim=5,
        dropout=0.0,
        **overrides,
    )
    return Seq2Seq(cfg).eval()


def encode(model: Seq2Seq, sources: list[list[int]] = SOURCES) -> Memory:
    src, lengths = pad_batch(sources, "cpu")
    with torch.no_grad():
        return model.encode(src, lengths)


def random_query(memory: Memory, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    batch, size = memory.fixed_context.shape
    return torch.randn(batch, size, generator=generator)  # s_{i-1} (B, 2H)


def by_hand(memory: Memory, query: torch.Tensor, energy) -> tuple[list, list, list]:
    """e_ij, α_ij, c_i computed one sentence and one position at a time, from the equations."""
    energies, weights, contexts = [], [], []
    for b in range(query.size(0)):
        length = int(memory.mask[b].sum())
        h = memory.annotations[b, :length]  # (Tx_b, 2H)
        e = torch.stack([energy(query[b], h[j]) for j in range(length)])  # e_ij
        alpha = torch.exp(e - e.max()) / torch.exp(e - e.max()).sum()  # α_ij = softmax_j(e_ij)
        c = (alpha[:, None] * h).sum(0)  # c_i = Σ_j α_ij h_j
        energies.append(e)
        weights.append(alpha)
        contexts.append(c)
    return energies, weights, contexts


def assert_matches_hand(model: Seq2Seq, energy) -> None:
    memory = encode(model)
    query = random_query(memory)
    with torch.no_grad():
        energies, weights, context = model.decoder.attention(query, memory)
        hand_e, hand_w, hand_c = by_hand(memory, query, energy)
    for b, length in enumerate(memory.mask.sum(1).tolist()):
        assert torch.allclose(energies[b, :length], hand_e[b], atol=1e-5)
        assert torch.allclose(weights[b, :length], hand_w[b], atol=1e-6)
        assert torch.allclose(context[b], hand_c[b], atol=1e-6)
        # padding gets exactly zero weight, and its energy is -inf
        assert torch.all(weights[b, length:] == 0)
        assert torch.all(torch.isneginf(energies[b, length:]))
    assert torch.allclose(weights.sum(1), torch.ones(len(SOURCES)))


# --------------------------------------------------------------------------- the equations
def test_additive_attention_equals_the_bahdanau_equations():
    model = tiny_model("additive")
    attention = model.decoder.attention
    assert isinstance(attention, AdditiveAttention)
    W, U, b_U = attention.W.weight, attention.U.weight, attention.U.bias
    v = attention.v.weight[0]

    def energy(s, h):  # e_ij = vᵀ tanh(W s_{i-1} + U h_j)
        return v @ torch.tanh(W @ s + U @ h + b_U)

    assert_matches_hand(model, energy)


def test_dot_attention_equals_the_luong_dot_equation():
    model = tiny_model("dot")
    assert isinstance(model.decoder.attention, DotAttention)
    assert_matches_hand(model, lambda s, h: s @ h)  # e_ij = s_{i-1}ᵀ h_j


def test_general_attention_equals_the_luong_general_equation():
    model = tiny_model("general")
    attention = model.decoder.attention
    assert isinstance(attention, GeneralAttention)
    W_a = attention.W_a.weight
    assert_matches_hand(model, lambda s, h: s @ (W_a @ h))  # e_ij = s_{i-1}ᵀ W_a h_j


@pytest.mark.parametrize("kind", ["additive", "general"])
def test_keys_are_projected_once_per_sentence_and_score_reads_them(kind):
    model = tiny_model(kind)
    attention = model.decoder.attention
    projection = attention.U if kind == "additive" else attention.W_a
    calls = []
    hook = projection.register_forward_hook(lambda *_: calls.append(1))
    try:
        memory = encode(model)
        greedy_search(model, memory, max_len=6)
    finally:
        hook.remove()
    assert len(calls) == 1  # in encode, not once per decoder step
    with torch.no_grad():
        assert torch.allclose(memory.keys, projection(memory.annotations))
        # the score reads memory.keys, not the annotations: other keys give other energies
        query = random_query(memory)
        other_keys = torch.randn_like(memory.keys)
        swapped = Memory(memory.annotations, other_keys, memory.mask, memory.fixed_context)
        energies, _, _ = attention(query, swapped)
        expected = attention.score(query, other_keys)
    real = memory.mask
    assert torch.allclose(energies[real], expected[real])


def test_dot_attention_keys_are_the_annotations():
    memory = encode(tiny_model("dot"))
    assert torch.equal(memory.keys, memory.annotations)


def test_fixed_context_has_no_weights_and_the_same_vector_at_every_step():
    model = tiny_model("none")
    assert isinstance(model.decoder.attention, FixedContext)
    assert not model.has_attention
    memory = encode(model)
    state, feed = model.decoder.start(memory)
    prev = torch.full((len(SOURCES),), BOS_ID)
    with torch.no_grad():
        for token in (BOS_ID, 7, 11, 4):
            out = model.decoder.step(prev, state, feed, memory)
            assert out.weights is None and out.energies is None
            assert torch.equal(out.context, memory.fixed_context)
            state, feed, prev = out.state, out.feed, torch.full_like(prev, token)
    assert memory.keys.size(-1) == 0  # nothing precomputed


def test_fixed_context_is_final_forward_and_backward_states():
    model = tiny_model("none")
    memory = encode(model)
    H = model.cfg.hidden_size
    for b, length in enumerate(memory.mask.sum(1).tolist()):
        h = memory.annotations[b]
        assert torch.allclose(memory.fixed_context[b, :H], h[length - 1, :H], atol=1e-6)  # h→ at the end
        assert torch.allclose(memory.fixed_context[b, H:], h[0, H:], atol=1e-6)  # h← at the start


def test_unknown_attention_type_is_rejected():
    with pytest.raises(ValueError, match="attention must be one of"):
        ModelConfig(attention="multihead")


def test_the_config_names_exactly_the_attentions_the_model_has():
    assert tuple(ATTENTIONS) == ATTENTION_NAMES


# --------------------------------------------------------------------------- batching and padding
@pytest.mark.parametrize(
    "kind,rnn", [("additive", "gru"), ("dot", "lstm"), ("general", "gru"), ("none", "lstm")]
)
def test_batched_encode_and_steps_equal_one_by_one(kind, rnn):
    model = tiny_model(kind, encoder_rnn=rnn)
    batch = encode(model)
    state, feed = model.decoder.start(batch)
    prev = torch.full((len(SOURCES),), BOS_ID)
    batch_outs = []
    with torch.no_grad():
        for token in (9, 4, 13):
            out = model.decoder.step(prev, state, feed, batch)
            batch_outs.append(out)
            state, feed, prev = out.state, out.feed, torch.full_like(prev, token)
    for b, source in enumerate(SOURCES):
        single = encode(model, [source])
        n = len(source)
        assert torch.allclose(batch.annotations[b, :n], single.annotations[0], atol=1e-6)
        assert torch.all(batch.annotations[b, n:] == 0)
        assert torch.allclose(batch.fixed_context[b], single.fixed_context[0], atol=1e-6)
        state, feed = model.decoder.start(single)
        prev = torch.tensor([BOS_ID])
        with torch.no_grad():
            for token, batch_out in zip((9, 4, 13), batch_outs):
                out = model.decoder.step(prev, state, feed, single)
                assert torch.allclose(out.state[0], batch_out.state[b], atol=1e-6)
                assert torch.allclose(out.context[0], batch_out.context[b], atol=1e-6)
                if kind != "none":
                    assert torch.allclose(out.weights[0], batch_out.weights[b, :n], atol=1e-6)
                    assert torch.all(batch_out.weights[b, n:] == 0)
                state, feed, prev = out.state, out.feed, torch.tensor([token])


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_what_sits_in_the_padding_never_leaks(rnn):
    model = tiny_model("additive", encoder_rnn=rnn)
    src, lengths = pad_batch(SOURCES, "cpu")
    noisy = src.clone()
    noisy[src == PAD_ID] = 7  # a real word where the padding was
    tgt_in = torch.tensor([[BOS_ID, 4, 5, 6]] * len(SOURCES))
    with torch.no_grad():
        clean_logits = model(src, lengths, tgt_in)
        noisy_logits = model(noisy, lengths, tgt_in)
    assert torch.allclose(clean_logits, noisy_logits, atol=1e-6)


# --------------------------------------------------------------------------- one step function
@pytest.mark.parametrize("kind", ["additive", "dot", "general", "none"])
@pytest.mark.parametrize("input_feeding", [True, False])
def test_teacher_forced_forward_equals_a_loop_over_step(kind, input_feeding):
    model = tiny_model(kind, input_feeding=input_feeding)
    src, lengths = pad_batch(SOURCES, "cpu")
    generator = torch.Generator().manual_seed(3)
    tgt_in = torch.randint(4, VOCAB, (len(SOURCES), 5), generator=generator)
    tgt_in[:, 0] = BOS_ID
    with torch.no_grad():
        logits = model(src, lengths, tgt_in)
        memory = model.encode(src, lengths)
        state, feed = model.decoder.start(memory)
        manual = []
        for i in range(tgt_in.size(1)):
            out = model.decoder.step(tgt_in[:, i], state, feed, memory)
            manual.append(model.decoder.logits(out.feed))
            state, feed = out.state, out.feed
    assert logits.shape == (len(SOURCES), 5, VOCAB)
    assert torch.allclose(logits, torch.stack(manual, 1), atol=1e-6)


def test_input_feeding_changes_what_the_next_step_sees():
    model = tiny_model("additive")
    memory = encode(model)
    state, feed = model.decoder.start(memory)
    assert torch.all(feed == 0)  # t_0 = 0
    prev = torch.full((len(SOURCES),), BOS_ID)
    with torch.no_grad():
        out = model.decoder.step(prev, state, feed, memory)
        a = model.decoder.step(prev, out.state, out.feed, memory)
        b = model.decoder.step(prev, out.state, torch.zeros_like(out.feed), memory)
    assert not torch.allclose(a.state, b.state)


def test_sequence_loss_ignores_padding_and_counts_tokens():
    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 3, VOCAB, generator=generator)
    targets = torch.tensor([[5, 6, 3], [7, 3, PAD_ID]])
    loss, tokens = sequence_loss(logits, targets)
    log_probs = torch.log_softmax(logits, -1)
    expected = -sum(log_probs[b, i, targets[b, i]] for b, i in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)])
    assert tokens == 5
    assert torch.allclose(loss, expected)
