"""Is attention an explanation? Gradient attribution of each output token to the source embeddings,
to set beside α (Jain & Wallace 2019; Wiegreffe & Pinter 2019).

For output token i, f_i = log p(y_i | y_<i, x), teacher-forced on the translation. Attributions are
per source token j: the embedding's contributions summed over its dimensions, taken as magnitudes and
normalised per row, so they read like α (non-negative, each row sums to 1).

- grad × input: Σ_d x_jd ∂f_i/∂x_jd, one backward pass.
- integrated gradients: Σ_d (x_jd - x'_jd) ∫_0^1 ∂f_i/∂x_jd(x' + a (x - x')) da, with the all-zero
  embedding (the padding token's) as baseline x'. Raw attributions add up to f_i(x) - f_i(x')
  (completeness), which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model import Seq2Seq
from .tokenizer import BOS_ID

METHODS = ("integrated_gradients", "grad_x_input")
IG_STEPS = 16  # points along the path: enough for the picture, fast enough for a page (bench/)
PATH_POWER = 2  # how much closer to the baseline the points crowd (1: an even grid)
ROWS_PER_PASS = 128  # (output token, path point) copies decoded together


def _log_probs(
    model: Seq2Seq, embedded: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor, positions: torch.Tensor
) -> torch.Tensor:
    """log p(y_i | y_<i, x) for output position `positions[b]` of copy b of the source embeddings (B, Tx, E)
    -> (B,). Teacher-forced through `Decoder.step`, only as far as the latest position asked for, and the
    output layer only where it is needed."""
    batch = embedded.size(0)
    lengths = torch.full((batch,), src.size(1), dtype=torch.long)
    memory = model.encode(src.expand(batch, -1), lengths, embedded)
    state, feed = model.decoder.start(memory)
    prev = torch.full((batch,), BOS_ID, dtype=torch.long, device=embedded.device)
    picked = torch.zeros_like(feed)
    for i in range(int(positions.max()) + 1):
        out = model.decoder.step(prev, state, feed, memory)
        state, feed, prev = out.state, out.feed, tgt[0, i].expand(batch)
        picked = torch.where((positions == i)[:, None], feed, picked)  # t_i of the copies that ask for step i
    logits = model.decoder.logits(picked)
    if logits.dtype not in (torch.float32, torch.float64):  # bf16 on a GPU: the softmax wants more bits
        logits = logits.float()
    return torch.log_softmax(logits, dim=-1).gather(1, tgt[0, positions][:, None]).squeeze(1)


def raw_attributions(
    model: Seq2Seq,
    src_ids: list[int],
    tgt_ids: list[int],
    method: str = "integrated_gradients",
    steps: int = IG_STEPS,
) -> np.ndarray:
    """Per output token i, per source token j, per embedding dimension d: (Ty, Tx, E), before any summing."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if not src_ids or not tgt_ids:
        raise ValueError("attribution needs a source and at least one output token")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], dtype=torch.long, device=device)
    tgt = torch.tensor([tgt_ids], dtype=torch.long, device=device)
    with torch.no_grad():
        x = model.encoder.embedding(src)[0]  # (Tx, E)
    ty = len(tgt_ids)
    points, weights = _path(method, steps)
    # one copy of the source per (output token i, path point a): its gradient is that of f_i alone
    jobs = [(i, k) for i in range(ty) for k in range(len(points))]
    grads = torch.zeros(ty, *x.shape, dtype=torch.float64, device=device)
    try:
        with torch.enable_grad():
            for start in range(0, len(jobs), ROWS_PER_PASS):
                chunk = jobs[start : start + ROWS_PER_PASS]
                at = [points[k] for _, k in chunk]
                scale = torch.tensor(at, dtype=x.dtype, device=device)[:, None, None]
                embedded = (scale * x).detach().requires_grad_(True)  # x' + a (x - x'), x' = 0
                rows = torch.tensor([i for i, _ in chunk], device=device)
                (grad,) = torch.autograd.grad(_log_probs(model, embedded, src, tgt, rows).sum(), embedded)
                weight = torch.tensor([weights[k] for _, k in chunk], dtype=torch.float64, device=device)
                grads.index_add_(0, rows, grad.double() * weight[:, None, None])
    finally:
        model.train(was_training)
    return (grads * x.double()).cpu().numpy()  # (Ty, Tx, E): ∫ gradient da × (x - x')


def _path(method: str, steps: int) -> tuple[list[float], list[float]]:
    """Points a on the path from the baseline, with their quadrature weights (summing to 1).

    log p changes fastest close to the all-zero baseline, where the embeddings are still too faint to
    decide anything, and slowly after: the midpoints of an even grid in u, with a = u^POWER, put
    more of the points there (da = POWER u^(POWER-1) du)."""
    if method == "grad_x_input":
        return [1.0], [1.0]
    u = (np.arange(steps) + 0.5) / steps
    return (u**PATH_POWER).tolist(), (PATH_POWER * u ** (PATH_POWER - 1) / steps).tolist()


def normalise(raw: np.ndarray) -> np.ndarray:
    """(Ty, Tx, E) -> (Ty, Tx): |Σ_d| per source token, each row summing to 1 (uniform if all zero)."""
    scores = np.abs(raw.sum(axis=2))
    totals = scores.sum(axis=1, keepdims=True)
    uniform = np.full_like(scores, 1.0 / max(scores.shape[1], 1))
    return np.where(totals > 0, scores / np.where(totals > 0, totals, 1.0), uniform)


def output_log_probs(
    model: Seq2Seq, src_ids: list[int], tgt_ids: list[int], scale: float = 1.0
) -> np.ndarray:
    """f_i at the source embeddings scaled by `scale` (1 = the input, 0 = the baseline): for completeness."""
    model.eval()
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], dtype=torch.long, device=device)
    tgt = torch.tensor([tgt_ids], dtype=torch.long, device=device)
    positions = torch.arange(len(tgt_ids), device=device)
    with torch.no_grad():
        embedded = (scale * model.encoder.embedding(src)).expand(len(tgt_ids), -1, -1)
        return _log_probs(model, embedded, src, tgt, positions).double().cpu().numpy()


@dataclass
class Agreement:
    """How far attention and attribution point at the same source tokens, over a sentence's output tokens."""

    top_match: float  # share of output tokens whose most-attended source token is also the most-attributed
    rank_correlation: float  # mean Spearman correlation of each row's α and attribution
    rows: int


def _ranks(row: np.ndarray) -> np.ndarray:
    order = row.argsort(kind="stable")
    ranks = np.empty(len(row))
    ranks[order] = np.arange(len(row))
    for value in np.unique(row):  # ties share their mean rank
        tied = row == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def agreement(attention: np.ndarray, saliency: np.ndarray) -> Agreement:
    attention, saliency = np.asarray(attention, float), np.asarray(saliency, float)
    if attention.shape != saliency.shape:
        raise ValueError(f"attention {attention.shape} and attribution {saliency.shape} differ in shape")
    if attention.size == 0:
        return Agreement(float("nan"), float("nan"), 0)
    top = float((attention.argmax(axis=1) == saliency.argmax(axis=1)).mean())
    correlations = []
    for a, s in zip(attention, saliency):
        ra, rs = _ranks(a), _ranks(s)
        if ra.std() > 0 and rs.std() > 0:
            correlations.append(float(np.corrcoef(ra, rs)[0, 1]))
    return Agreement(top, float(np.mean(correlations)) if correlations else float("nan"), len(attention))
