"""Gradient attribution beside attention: completeness of integrated gradients, a finite-difference
check of the gradients, rows that read like α, and the agreement measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seq2seq import attribution

TOY = "the user opens the file now ."


def ids(translator, text: str):
    result = translator.translate(text)
    src = [translator.src_tokenizer.piece_to_id(p) for p in result.src_tokens]
    tgt = [translator.tgt_tokenizer.piece_to_id(p) for p in result.tgt_tokens]
    return result, src, tgt


def test_integrated_gradients_add_up_to_the_change_in_log_probability(tiny_translator):
    _, src, tgt = ids(tiny_translator, TOY)
    raw = attribution.raw_attributions(tiny_translator.model, src, tgt, "integrated_gradients", steps=64)
    at_input = attribution.output_log_probs(tiny_translator.model, src, tgt, 1.0)
    at_baseline = attribution.output_log_probs(tiny_translator.model, src, tgt, 0.0)
    totals = raw.sum(axis=(1, 2))  # per output token: Σ_j Σ_d
    np.testing.assert_allclose(totals, at_input - at_baseline, atol=0.05, rtol=0.02)
    assert np.abs(at_input - at_baseline).max() > 0.5  # a real change, not a vacuous zero


def test_gradient_times_input_matches_finite_differences(tiny_translator):
    _, src, tgt = ids(tiny_translator, TOY)
    model = tiny_translator.model.double()
    try:
        raw = attribution.raw_attributions(model, src, tgt, "grad_x_input")  # (Ty, Tx, E) = x ∂f/∂x
        x = model.encoder.embedding(torch.tensor([src])).detach()[0]
        rng = np.random.default_rng(0)
        direction = torch.tensor(rng.standard_normal(x.shape), dtype=x.dtype)
        eps = 1e-6

        def f(embedded: torch.Tensor) -> np.ndarray:
            positions = torch.arange(len(tgt))
            with torch.no_grad():
                copies = embedded[None].expand(len(tgt), -1, -1)
                return attribution._log_probs(
                    model, copies, torch.tensor([src]), torch.tensor([tgt]), positions
                ).numpy()

        numeric = (f(x + eps * direction) - f(x - eps * direction)) / (2 * eps)  # (Ty,)
        gradient = raw / np.where(x.numpy() == 0, 1, x.numpy())[None]  # undo the × input
        analytic = (gradient * direction.numpy()[None]).sum(axis=(1, 2))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-6)
    finally:
        model.float()


@pytest.mark.parametrize("method", attribution.METHODS)
def test_saliency_rows_are_non_negative_and_sum_to_one(tiny_translator, method):
    result = tiny_translator.translate(TOY, beam_size=2)
    scores = tiny_translator.saliency(result, method)
    assert scores.shape == (len(result.tgt_tokens), len(result.src_tokens))
    assert (scores >= 0).all()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-9)
    second = tiny_translator.saliency(result, method, candidate=result.nbest[1])
    assert second.shape == (len(result.nbest[1].tgt_tokens), len(result.src_tokens))
    with pytest.raises(ValueError, match="method"):
        tiny_translator.saliency(result, "lime")


def test_agreement_counts_shared_peaks_and_rank_order():
    attention = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]])
    same = attribution.agreement(attention, attention)
    assert same.top_match == 1.0 and same.rank_correlation == pytest.approx(1.0) and same.rows == 3
    reversed_ = attribution.agreement(attention, attention[:, ::-1])
    assert reversed_.top_match == pytest.approx(1 / 3) and reversed_.rank_correlation < 0
    with pytest.raises(ValueError, match="shape"):
        attribution.agreement(attention, attention[:2])
