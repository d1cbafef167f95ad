"""Training examples: pairs as ids, domains mixed by temperature, length-bucketed batches."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sentencepiece as spm
import torch

from .config import TrainConfig
from .data import Pair
from .decoding import pad_batch
from .tokenizer import BOS_ID, EOS_ID, Tokenizer


@dataclass
class Example:
    src: list[int]  # source ids + EOS
    tgt: list[int]  # target ids + EOS
    domain: str = ""


def encode_pairs(
    pairs: list[Pair],
    src_tok: Tokenizer,
    tgt_tok: Tokenizer,
    cfg: TrainConfig,
    sample_seed: int | None = None,
) -> list[Example]:
    """Tokenise pairs; sources are cut at max_src_len, pairs with longer targets are dropped.

    With `sample_seed`, each side's segmentation is sampled (`cfg.subword_alpha`), the same for the same
    seed, so that a resumed epoch sees the pieces it saw before.
    """
    if sample_seed is None:
        src_encode, tgt_encode = src_tok.encode, tgt_tok.encode
    else:
        spm.set_random_generator_seed(sample_seed)
        src_encode = functools.partial(src_tok.sample, alpha=cfg.subword_alpha)
        tgt_encode = functools.partial(tgt_tok.sample, alpha=cfg.subword_alpha)
    examples = []
    for pair in pairs:
        src = src_encode(pair.source)[: cfg.max_src_len - 1] + [EOS_ID]
        tgt = tgt_encode(pair.target) + [EOS_ID]
        if len(tgt) <= cfg.max_tgt_len:
            examples.append(Example(src, tgt, pair.domain))
    return examples


def mix_domains(domains: list[str], temperature: float, seed: int) -> np.ndarray:
    """One epoch's example indices, each domain d drawn in proportion to n_d^(1/T).

    T = 1 keeps the corpus as it is (every example once, in order); a larger T lifts the small domains
    (Tatoeba, news) against the large one (LibreOffice). A domain drawn more often than it has
    examples repeats them all, then takes a seeded sample for the rest; the epoch keeps its size.
    """
    if temperature == 1.0 or len(set(domains)) < 2:
        return np.arange(len(domains))
    if temperature <= 0:
        raise ValueError(f"mix_temperature must be positive, not {temperature}")
    rng = np.random.default_rng(seed)
    names = sorted(set(domains))
    members = {d: np.array([i for i, x in enumerate(domains) if x == d]) for d in names}
    weights = np.array([len(members[d]) ** (1 / temperature) for d in names])
    wanted = np.round(weights / weights.sum() * len(domains)).astype(int)
    chosen = []
    for name, want in zip(names, wanted):
        pool = members[name]
        whole, rest = divmod(int(want), len(pool))
        chosen += [np.tile(pool, whole), rng.choice(pool, rest, replace=False)]
    return np.sort(np.concatenate(chosen))


def make_batches(examples: list[Example], batch_tokens: int, seed: int) -> list[list[int]]:
    """Group similar lengths so batches carry little padding; batch order is shuffled per seed."""
    rng = np.random.default_rng(seed)
    src_len = np.array([len(e.src) for e in examples])
    tgt_len = np.array([len(e.tgt) for e in examples])
    order = np.lexsort((rng.random(len(examples)), src_len, tgt_len))
    batches, current, longest = [], [], 0
    for index in order:
        size = max(longest, int(tgt_len[index]), int(src_len[index]))
        if current and size * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, size = [], max(int(tgt_len[index]), int(src_len[index]))
        current.append(int(index))
        longest = size
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def epoch_batches(
    examples: list[Example], cfg: TrainConfig, epoch: int
) -> tuple[list[Example], list[list[int]]]:
    """Epoch `epoch`'s examples (domains mixed) and its batches of indices into them; the same every time
    for the same epoch, which is what makes `--resume` exact."""
    seed = cfg.seed + epoch
    chosen = mix_domains([e.domain for e in examples], cfg.mix_temperature, seed)
    mixed = [examples[i] for i in chosen]
    return mixed, make_batches(mixed, cfg.batch_tokens, seed)


def collate(examples: list[Example], device: torch.device):
    """(src, lengths, tgt_in = [BOS, y_1..], tgt_out = [y_1.., EOS]) padded on `device`."""
    src, lengths = pad_batch([e.src for e in examples], device)
    tgt_in, _ = pad_batch([[BOS_ID] + e.tgt[:-1] for e in examples], device)
    tgt_out, _ = pad_batch([e.tgt for e in examples], device)
    return src, lengths, tgt_in, tgt_out
