"""Say when a sentence is far from what the model learned, instead of translating it with a straight face.

Cheap signals of one translation, none needing more than the translation itself and the training
vocabulary: the share of the sentence's English words never (or hardly ever) seen in training, the share
of its word pairs never seen there ("how are" in a software manual), how finely the tokenizer had to cut
its words, the model's own confidence (mean log-probability per
output token) and how spread its attention is. A logistic score combines them. It is calibrated per
checkpoint on the dev split of every training domain (familiar) and on text from a domain the model
never saw (unfamiliar), with a threshold that keeps false alarms on every dev domain at 5% or less;
half of each sample is held out, and the report gives the rates measured on that half (`calibration`
does this; it needs a translator, which needs this module). `familiarity.json` in the checkpoint folder
holds the weights, the threshold, the training vocabulary and the report.

Which *family* knows a sentence better is a second, separate question: `SourceLM` is a word bigram model
of the English a checkpoint trained on, and `knows_better` compares two families' models on the same
sentence (the cross-entropy difference of Moore and Lewis, 2010). It needs no translation, and it
separates LibreOffice help from everyday English far better than the score above (`python -m bench
families`).
"""

from __future__ import annotations

import base64
import hashlib
import lzma
import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .jsonfiles import read_json
from .neighbours import TRAIN_FILE, words

FAMILIARITY_FILE = "familiarity.json"
TARGET_FALSE_ALARMS = 0.05
RARE_BELOW = 3  # a word seen fewer times than this in training counts as rare
FEATURES = (
    "confidence", "unseen_share", "rare_share", "unseen_pairs", "pieces_per_word", "attention_spread", "log_words",
)  # fmt: skip
PAIR_BITS = 1 << 21  # the bitmap of training word pairs: about 5% false "seen" at 100,000 pairs
FAMILY_MARGIN = 0.5  # bits per word; on the shipped test splits (bench families): 98% of LibreOffice
# sentences go to the software family, 2% or less of every general domain's


@dataclass
class Familiarity:
    unseen_share: float  # share of the source's words never seen in training (numbers left out)
    confidence: float  # mean log p per output token: near 0 sure, very negative unsure
    unseen_words: list[str] = field(default_factory=list)
    unfamiliar: bool = False
    reasons: list[str] = field(default_factory=list)  # "unseen", "unusual", "unsure", "spread"
    score: float = 0.0  # the calibrated logit; above the checkpoint's threshold means unfamiliar


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if not w.isdigit()]


def unseen(text: str, vocabulary: Counter | set) -> tuple[float, list[str]]:
    mine = content_words(text)
    missing = [w for w in dict.fromkeys(mine) if w not in vocabulary]
    share = sum(w not in vocabulary for w in mine) / len(mine) if mine else 0.0
    return share, missing


def tokens(text: str) -> list[str]:
    """The words of a sentence between sentence marks, numbers as one token: what pairs are made of."""
    return ["<s>", *("<num>" if w.isdigit() else w for w in words(text)), "</s>"]


class PairSet:
    """Which word pairs (bigrams, sentence ends included) occur in the training sources, as a hashed
    bitmap: small enough to ship, and "how are" or "weather is" in a software corpus stands out."""

    def __init__(self, bits: bytearray | None = None):
        self.bits = bits if bits is not None else bytearray(PAIR_BITS // 8)

    @staticmethod
    def pairs(text: str) -> list[str]:
        marked = tokens(text)
        return [f"{a} {b}" for a, b in zip(marked, marked[1:])]

    @staticmethod
    def _slot(pair: str) -> int:
        return (
            int.from_bytes(hashlib.blake2b(pair.encode("utf-8"), digest_size=8).digest(), "little")
            % PAIR_BITS
        )

    def add(self, text: str) -> None:
        for pair in self.pairs(text):
            slot = self._slot(pair)
            self.bits[slot >> 3] |= 1 << (slot & 7)

    def unseen_share(self, text: str) -> float:
        pairs = self.pairs(text)
        missing = sum(not self.bits[(slot := self._slot(p)) >> 3] >> (slot & 7) & 1 for p in pairs)
        return missing / len(pairs)

    def to_text(self) -> str:
        return base64.b64encode(zlib.compress(bytes(self.bits), 9)).decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> PairSet:
        return cls(bytearray(zlib.decompress(base64.b64decode(text))))

    @classmethod
    def of(cls, sources: Sequence[str]) -> PairSet:
        made = cls()
        for source in sources:
            made.add(source)
        return made


class SourceLM:
    """How surprising a sentence is to the English a model trained on: a word bigram model with
    interpolated Kneser-Ney smoothing (one discount), in bits per word. A word never seen gets the
    share that the discount leaves over, spread over one more type than the training data has."""

    DISCOUNT = 0.75

    def __init__(self, sources: Sequence[str]):
        self.bigrams: Counter = Counter()
        for source in sources:
            marked = tokens(source)
            self.bigrams.update(zip(marked, marked[1:]))
        self.context: Counter = Counter()  # c(a ·)
        self.followers: Counter = Counter()  # how many different words follow a
        self.preceded: Counter = Counter()  # how many different words precede b
        for (a, b), count in self.bigrams.items():
            self.context[a] += count
            self.followers[a] += 1
            self.preceded[b] += 1
        self.types = len(self.bigrams)

    def probability(self, a: str, b: str) -> float:
        lower = (self.preceded.get(b, 0) + 0.5) / (self.types + 0.5 * (len(self.preceded) + 1))
        seen = self.context.get(a, 0)
        if not seen:
            return lower
        discount = self.DISCOUNT
        return (
            max(self.bigrams.get((a, b), 0) - discount, 0) / seen
            + discount * self.followers[a] / seen * lower
        )

    def surprise(self, text: str) -> float:
        """Mean -log2 p per word (the end of the sentence counts as one)."""
        marked = tokens(text)
        return sum(-math.log2(self.probability(a, b)) for a, b in zip(marked, marked[1:])) / (len(marked) - 1)

    @classmethod
    def of_checkpoint(cls, folder: str | Path) -> SourceLM | None:
        """The model of a checkpoint's shipped training English (train.tsv.xz), or None when it ships
        none or the file is unreadable. Built once per file content (the twins of a family share it)."""
        try:
            data = (Path(folder) / TRAIN_FILE).read_bytes()
            key = hashlib.sha1(data).hexdigest()
            if key not in _SOURCE_MODELS:
                text = lzma.decompress(data).decode("utf-8", errors="replace")
                # the export wrote these pairs normalised: the source is all this needs of each line
                _SOURCE_MODELS[key] = cls([line.split("\t", 1)[0] for line in text.splitlines()])
        except (OSError, lzma.LZMAError):
            return None
        return _SOURCE_MODELS[key]


_SOURCE_MODELS: dict[str, SourceLM] = {}


def knows_better(text: str, here: SourceLM, there: SourceLM, margin: float = FAMILY_MARGIN) -> float | None:
    """How many bits per word `there`'s training English predicts `text` better than `here`'s, when it
    is at least `margin`; else None."""
    gain = here.surprise(text) - there.surprise(text)
    return gain if gain >= margin else None


def features(
    source: str, result, counts: Counter, pairs: PairSet, share: float | None = None
) -> dict[str, float]:
    """The signals of one translation (a `Translation` or `Candidate` with its `src_tokens`); `share` is
    the unseen-word share when the caller has it already."""
    mine = content_words(source)
    share = unseen(source, counts)[0] if share is None else share
    attention = getattr(result, "attention", None)
    spread = 0.0
    if attention is not None and attention.shape[1] > 1:
        rows = np.clip(attention, 1e-12, 1.0)
        spread = float(
            -(rows * np.log(rows)).sum(axis=1).mean() / math.log(attention.shape[1])
        )  # 0 sharp, 1 uniform
    return {
        "confidence": float(result.score),
        "unseen_share": share,
        "rare_share": sum(counts.get(w, 0) < RARE_BELOW for w in mine) / len(mine) if mine else 0.0,
        "unseen_pairs": pairs.unseen_share(source),
        "pieces_per_word": (len(result.src_tokens) - 1) / max(len(source.split()), 1),
        "attention_spread": spread,
        "log_words": math.log(len(source.split()) + 1),
    }


@dataclass
class FamiliarityCheck:
    counts: Counter  # training source words and how often each occurs
    pairs: PairSet  # training word pairs
    mean: list[float]  # feature standardisation
    scale: list[float]
    weights: list[float]
    bias: float
    threshold: float

    def score(self, values: dict[str, float]) -> tuple[float, dict[str, float]]:
        """The logit, and each feature's part in it."""
        parts = {
            name: w * (values[name] - m) / s
            for name, w, m, s in zip(FEATURES, self.weights, self.mean, self.scale)
        }
        return self.bias + sum(parts.values()), parts

    def assess(self, source: str, result) -> Familiarity:
        share, missing = unseen(source, self.counts)
        values = features(source, result, self.counts, self.pairs, share)
        score, parts = self.score(values)
        reasons = []
        if score > self.threshold:
            if missing:
                reasons.append("unseen")
            if parts["unseen_pairs"] > 0.3:
                reasons.append("unusual")
            if parts["confidence"] > 0.3:
                reasons.append("unsure")
            if parts["attention_spread"] > 0.3:
                reasons.append("spread")
            reasons = reasons or ["unsure"]
        return Familiarity(
            values["unseen_share"], values["confidence"], missing, bool(reasons), reasons, score
        )

    @classmethod
    def load(cls, folder: str | Path) -> FamiliarityCheck | None:
        """The checkpoint's calibrated check, or None when it has none (or an older, different one)."""
        data = read_json(Path(folder) / FAMILIARITY_FILE)
        if not isinstance(data, dict) or data.get("features") != list(FEATURES):
            return None
        return cls(
            Counter(data["vocabulary"]),
            PairSet.from_text(data["pairs"]),
            data["mean"],
            data["scale"],
            data["weights"],
            data["bias"],
            data["threshold"],
        )
