"""The reverse model as a second opinion: noisy-channel reranking of an n-best list (Yee et al. 2019).

A translation y of a source x is scored by both directions, each per token:

    score(y) = log p(y | x) / |y|  +  λ · log p(x | y) / |x|

The forward model (English→Korean) gives log p(y | x); the reverse model (Korean→English), reading y as
its source, gives log p(x | y) teacher-forced on x. An output that says something else than the source
("I lost my wife" for a lost phone) explains the source badly, so its reverse score is low. |y| and |x|
count target pieces with </s>: each model's own pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .decoding import pad_batch
from .tokenizer import BOS_ID, EOS_ID

MAX_PIECES = 150  # the reverse model reads at most this many pieces of an output (as the translator does)


@dataclass(frozen=True)
class ChannelScore:
    """One hypothesis's two per-token scores and how they combine."""

    forward: float  # log p(y | x) / |y|
    reverse: float  # log p(x | y) / |x|
    weight: float  # λ

    @property
    def total(self) -> float:
        return self.forward + self.weight * self.reverse


@torch.inference_mode()
def reverse_logprobs(reverse, source: str, outputs: list[str]) -> list[float]:
    """log p(x | y) / |x| for each output y: the reverse model (a `Translator`) reads y and is forced
    along x = `source`, in one batch."""
    if not outputs:
        return []
    x = reverse.tgt_tokenizer.encode(source)[: MAX_PIECES - 1] + [EOS_ID]  # |x| pieces with </s>
    ys = [reverse.src_tokenizer.encode(y)[: MAX_PIECES - 1] + [EOS_ID] for y in outputs]
    src, lengths = pad_batch(ys, reverse.device)
    target = torch.tensor([x] * len(ys), device=reverse.device)  # (B, |x|)
    tgt_in = torch.cat([torch.full_like(target[:, :1], BOS_ID), target[:, :-1]], dim=1)
    was_training = reverse.model.training
    reverse.model.eval()
    logits = reverse.model(src, lengths, tgt_in)  # (B, |x|, V)
    reverse.model.train(was_training)
    logp = F.log_softmax(logits.float(), dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return [float(row.sum()) / len(x) for row in logp]


def forward_logprob(candidate) -> float:
    """log p(y | x) / |y| of an n-best `Candidate` (its pieces end in </s> when it finished)."""
    return candidate.logprob / max(len(candidate.tgt_tokens), 1)


def channel_scores(translation, reverse, weight: float) -> list[ChannelScore]:
    """Each n-best hypothesis of `translation` scored both ways, in n-best order."""
    backward = reverse_logprobs(reverse, translation.source, [c.text for c in translation.nbest])
    return [ChannelScore(forward_logprob(c), r, weight) for c, r in zip(translation.nbest, backward)]


def preferred(scores: list[ChannelScore]) -> int:
    """The n-best index the noisy-channel score ranks first (the search's order breaks ties)."""
    return max(range(len(scores)), key=lambda i: (scores[i].total, -i))


def rerank(translation, reverse, weight: float) -> list[int]:
    """The n-best's indices from best to worst by the noisy-channel score (ties keep the search's order)."""
    scores = channel_scores(translation, reverse, weight)
    return sorted(range(len(scores)), key=lambda i: -scores[i].total)
