"""What training measures on the dev split: loss, greedy chrF per domain, and the vocabularies' <unk> rate."""

from __future__ import annotations

from collections import Counter

import torch
from sacrebleu.metrics import CHRF

from .batching import Example, collate, make_batches
from .data import Pair
from .decoding import GREEDY, decode_batches
from .model import Seq2Seq, sequence_loss
from .tokenizer import EOS_ID, Tokenizer


def chrf_score(hypotheses: list[str], references: list[str]) -> float:
    return CHRF().corpus_score(hypotheses, [references]).score


@torch.no_grad()
def dev_loss(model: Seq2Seq, examples: list[Example], device, batch_tokens: int) -> float:
    """Cross-entropy per target token, without label smoothing or dropout."""
    model.eval()
    total, tokens = 0.0, 0
    for batch in make_batches(examples, batch_tokens, seed=0):
        src, lengths, tgt_in, tgt_out = collate([examples[i] for i in batch], device)
        loss, n = sequence_loss(model(src, lengths, tgt_in), tgt_out)
        total, tokens = total + float(loss), tokens + n
    model.train()
    return total / max(tokens, 1)


def chrf_sample(pairs: list[Pair], per_domain: int) -> list[Pair]:
    """The dev pairs decoded at each evaluation: the first `per_domain` of each domain, in file order."""
    taken: Counter[str] = Counter()
    sample = []
    for pair in pairs:
        if taken[pair.domain] < per_domain:
            taken[pair.domain] += 1
            sample.append(pair)
    return sample


def dev_chrf(model: Seq2Seq, pairs: list[Pair], src_tok: Tokenizer, tgt_tok: Tokenizer) -> dict[str, float]:
    """Greedy corpus chrF of each domain ("" for a corpus without domains)."""
    model.eval()
    sources = [src_tok.encode(p.source)[:200] + [EOS_ID] for p in pairs]
    results = decode_batches(model, sources, GREEDY)
    model.train()
    hyps: dict[str, list[str]] = {}
    refs: dict[str, list[str]] = {}
    for pair, result in zip(pairs, results):
        hyps.setdefault(pair.domain, []).append(tgt_tok.decode(result.nbest[0].tokens))
        refs.setdefault(pair.domain, []).append(pair.target)
    return {domain: chrf_score(hyps[domain], refs[domain]) for domain in sorted(hyps)}


def mean_chrf(by_domain: dict[str, float]) -> float:
    """The score that picks the best checkpoint: chrF averaged over the domains, so that a small
    domain (Tatoeba) counts as much as the large one (LibreOffice)."""
    return sum(by_domain.values()) / max(len(by_domain), 1)


def unknown_rates(pairs: list[Pair], src_tok: Tokenizer, tgt_tok: Tokenizer) -> dict[str, dict[str, float]]:
    """Per domain, the share of source and target pieces that are <unk>: what the vocabularies miss."""
    by_domain: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_domain.setdefault(pair.domain, []).append(pair)
    return {
        domain: {
            "src": round(src_tok.unknown_rate(p.source for p in members), 5),
            "tgt": round(tgt_tok.unknown_rate(p.target for p in members), 5),
        }
        for domain, members in sorted(by_domain.items())
    }
