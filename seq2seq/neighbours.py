"""Where did it learn this? The training pairs nearest to a sentence, by the encoder's own view of it.

Nearness is the cosine of mean-pooled annotations h_j. The index (one vector per training pair) is built
once per checkpoint and cached on disk outside the repository, keyed by the weights and the pairs, so
a later query only encodes the one sentence and takes a matrix-vector product.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import MODEL_FILE, atomic_write_bytes
from .data import Pair, parse_pairs_tsv
from .decoding import pad_batch
from .model import Seq2Seq
from .tokenizer import EOS_ID, Tokenizer

TRAIN_FILE = "train.tsv.xz"
CACHE_ENV = "SEQ2SEQ_CACHE"  # where indexes live; default ~/.cache/seq2seq-explorer
_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[\uac00-\ud7a3]+")  # an English word, or a Hangul run


def words(text: str) -> list[str]:
    """Lower-case words of a sentence, for 'which words does it share' and 'never seen': English words,
    and for a Korean source its Hangul runs (an eojeol with its particles)."""
    return [w.lower() for w in _WORD.findall(text)]


def read_training_pairs(folder: str | Path) -> list[Pair]:
    """The training pairs a checkpoint ships (train.tsv.xz), or ValueError saying it ships none."""
    path = Path(folder) / TRAIN_FILE
    if not path.is_file():
        raise ValueError(
            f"{Path(folder).name} ships no training pairs ({TRAIN_FILE}); export it with --train"
        )
    try:
        data = lzma.decompress(path.read_bytes())
    except lzma.LZMAError as exc:
        raise ValueError(f"{path}: not a readable xz file ({exc})") from exc
    pairs, problems = parse_pairs_tsv(data)
    if problems and not pairs:
        raise ValueError(f"{path}: {problems[0]}")
    return pairs


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "seq2seq-explorer")


@torch.inference_mode()
def sentence_vectors(
    model: Seq2Seq,
    tokenizer: Tokenizer,
    texts: list[str],
    batch_size: int = 128,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Mean over j of the annotations h_j of each text, unit length: (N, 2H) float32."""
    device = next(model.parameters()).device
    ids = [tokenizer.encode(t)[:149] + [EOS_ID] for t in texts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), 2 * model.cfg.hidden_size), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        src, lengths = pad_batch([ids[i] for i in chunk], device)
        memory = model.encode(src, lengths)
        mask = memory.mask.unsqueeze(-1).float()
        mean = (memory.annotations * mask).sum(1) / mask.sum(1)  # (B, 2H)
        out[chunk] = torch.nn.functional.normalize(mean.float(), dim=-1).cpu().numpy()
        if progress is not None:
            progress(min(start + batch_size, len(order)), len(order))
    return out


@dataclass
class Neighbour:
    source: str
    target: str
    score: float  # cosine of the mean annotations, 1 = the same as far as the encoder can tell
    shared_words: list[str]  # source words it has in common with the input
    domain: str = ""


class NeighbourIndex:
    """The training pairs and one unit vector per pair; `nearest(text)` and `containing(word)`."""

    def __init__(self, folder: str | Path, model: Seq2Seq, tokenizer: Tokenizer):
        self.folder, self.model, self.tokenizer = Path(folder), model, tokenizer
        self.pairs = read_training_pairs(folder)
        self.vectors: np.ndarray | None = None

    def cache_path(self) -> Path:
        digest = hashlib.sha1()
        for name in (MODEL_FILE, TRAIN_FILE):
            digest.update((self.folder / name).read_bytes())
        return cache_dir() / f"neighbours-{digest.hexdigest()[:16]}.npy"

    def build(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Load the cached vectors, or encode every training source once and cache them (fp16)."""
        path = self.cache_path()
        if path.is_file():
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape == (len(self.pairs), 2 * self.model.cfg.hidden_size):
                    self.vectors = vectors.astype(np.float32)
                    return
            except (OSError, ValueError):
                pass  # a broken cache file is rebuilt
        vectors = sentence_vectors(
            self.model, self.tokenizer, [p.source for p in self.pairs], progress=progress
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = _npy_bytes(vectors.astype(np.float16))
        atomic_write_bytes(path, buffer)
        self.vectors = vectors

    def nearest(self, text: str, k: int = 5) -> list[Neighbour]:
        if self.vectors is None:
            self.build()
        query = sentence_vectors(self.model, self.tokenizer, [text])[0]
        scores = self.vectors @ query  # (N,)
        top = np.argsort(-scores)[:k]
        mine = set(words(text))
        return [
            Neighbour(
                self.pairs[i].source,
                self.pairs[i].target,
                float(scores[i]),
                sorted(mine & set(words(self.pairs[i].source))),
                self.pairs[i].domain,
            )  # fmt: skip
            for i in top
        ]

    def containing(self, word: str, k: int = 10) -> list[Pair]:
        """Training pairs whose English has `word` (whole word, any case): how the references translated it."""
        wanted = word.lower()
        if not _WORD.fullmatch(word.strip() or "-"):
            return []
        return [p for p in self.pairs if wanted in words(p.source)][:k]


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
