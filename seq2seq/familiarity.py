"""Say when a sentence is far from what the model learned, instead of translating it with a straight face.

Two signals, both cheap: the share of the sentence's English words that never occur in the training
data, and the model's own confidence (mean log-probability per output token). Thresholds are
calibrated per checkpoint: on the dev split of every training domain a warning should be rare (false
alarms ≤ 5%), on text from a domain the model never saw it should be the rule. `familiarity.json`
in the checkpoint folder holds the thresholds, the training vocabulary and the calibration report.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .jsonfiles import read_json, write_json
from .neighbours import words

FAMILIARITY_FILE = "familiarity.json"
TARGET_FALSE_ALARMS = 0.05


@dataclass
class Familiarity:
    unseen_share: float  # share of the source's words never seen in training (numbers left out)
    confidence: float  # mean log p per output token: near 0 sure, very negative unsure
    unseen_words: list[str] = field(default_factory=list)
    unfamiliar: bool = False
    reasons: list[str] = field(default_factory=list)  # "unseen", "unsure"


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if not w.isdigit()]


def unseen(text: str, vocabulary: set[str]) -> tuple[float, list[str]]:
    mine = content_words(text)
    missing = [w for w in dict.fromkeys(mine) if w not in vocabulary]
    share = sum(w not in vocabulary for w in mine) / len(mine) if mine else 0.0
    return share, missing


@dataclass
class FamiliarityCheck:
    vocabulary: set[str]
    max_unseen: float  # warn above this share of unseen words
    min_confidence: float  # warn below this mean log p per token

    def assess(self, source: str, confidence: float) -> Familiarity:
        share, missing = unseen(source, self.vocabulary)
        reasons = []
        if share > self.max_unseen:
            reasons.append("unseen")
        if confidence < self.min_confidence:
            reasons.append("unsure")
        return Familiarity(share, confidence, missing, bool(reasons), reasons)

    @classmethod
    def load(cls, folder: str | Path) -> FamiliarityCheck | None:
        """The checkpoint's calibrated check, or None when it has not been calibrated."""
        data = read_json(Path(folder) / FAMILIARITY_FILE)
        if not isinstance(data, dict) or "vocabulary" not in data:
            return None
        return cls(set(data["vocabulary"]), float(data["max_unseen"]), float(data["min_confidence"]))


def _rates(check: FamiliarityCheck, samples: dict[str, list[tuple[str, float]]]) -> dict[str, float]:
    return {
        name: sum(check.assess(s, c).unfamiliar for s, c in rows) / max(len(rows), 1)
        for name, rows in samples.items()
    }


def calibrate(
    vocabulary: set[str],
    familiar: dict[str, list[tuple[str, float]]],
    unfamiliar: list[tuple[str, float]],
    target: float = TARGET_FALSE_ALARMS,
) -> tuple[FamiliarityCheck, dict]:
    """Pick the thresholds that catch most of `unfamiliar` while warning on at most `target` of every
    familiar domain's sentences. Each sample is (source, confidence of the model's translation)."""
    unseen_grid = sorted(
        {0.0, *(round(x, 3) for x in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0))}
    )
    confidences = sorted(c for rows in familiar.values() for _, c in rows)
    conf_grid = sorted(
        {-99.0, *(confidences[int(q * (len(confidences) - 1))] for q in (0.0, 0.005, 0.01, 0.02, 0.03, 0.05))}
    )
    best: tuple[float, FamiliarityCheck] | None = None
    for max_unseen, min_conf in itertools.product(unseen_grid, conf_grid):
        check = FamiliarityCheck(vocabulary, max_unseen, min_conf)
        if max(_rates(check, familiar).values(), default=0.0) > target:
            continue
        caught = _rates(check, {"unseen": unfamiliar})["unseen"]
        if best is None or caught > best[0]:
            best = (caught, check)
    if best is None:  # nothing meets the target: warn only on sentences made of unknown words
        best = (0.0, FamiliarityCheck(vocabulary, 0.99, -99.0))
    check = best[1]
    report = {
        "false_alarms": {d: round(r, 4) for d, r in _rates(check, familiar).items()},
        "detected": round(best[0], 4),
        "familiar_sentences": {d: len(rows) for d, rows in familiar.items()},
        "unfamiliar_sentences": len(unfamiliar),
    }
    return check, report


def save(folder: str | Path, check: FamiliarityCheck, report: dict, unseen_source: str) -> None:
    write_json(
        Path(folder) / FAMILIARITY_FILE,
        {
            "max_unseen": check.max_unseen,
            "min_confidence": check.min_confidence,
            "report": {**report, "unseen_domain": unseen_source},
            "vocabulary": sorted(check.vocabulary),
        },
    )


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z\"(])")


def sentences_of(text: str, min_words: int = 4, max_words: int = 60) -> list[str]:
    """Plain prose split into sentences (for the unseen-domain sample): lines joined, numbered headings dropped."""
    joined = " ".join(line.strip() for line in text.splitlines())
    out = []
    for sentence in _SENTENCE_END.split(joined):
        sentence = " ".join(sentence.split())
        if min_words <= len(sentence.split()) <= max_words and re.search("[a-z]", sentence):
            out.append(sentence)
    return list(dict.fromkeys(out))


def training_vocabulary(sources: Sequence[str]) -> set[str]:
    return {w for s in sources for w in content_words(s)}


def calibrate_checkpoint(
    folder: str | Path,
    dev_tsv: str | Path,
    unseen_files: Sequence[str | Path],
    per_domain: int = 400,
    target: float = TARGET_FALSE_ALARMS,
) -> dict:
    """Translate the dev split (each domain) and text from a domain the model never saw, pick the
    thresholds, and write familiarity.json into the checkpoint folder. Returns the report."""
    from .data import read_pairs_tsv
    from .neighbours import read_training_pairs
    from .translator import load_translator
    from .validation import chrf_sample

    translator = load_translator(folder)
    vocabulary = training_vocabulary([p.source for p in read_training_pairs(folder)])
    familiar: dict[str, list[tuple[str, float]]] = {}
    for pair, result in _translated(translator, chrf_sample(read_pairs_tsv(dev_tsv), per_domain)):
        familiar.setdefault(pair.domain or "dev", []).append((pair.source, result.score))
    texts = [s for path in unseen_files for s in sentences_of(Path(path).read_text(encoding="utf-8"))]
    if not texts:
        raise ValueError(f"no sentences in {', '.join(map(str, unseen_files))}")
    unfamiliar = [(text, result.score) for text, result in _translated(translator, texts)]
    check, report = calibrate(vocabulary, familiar, unfamiliar, target)
    save(folder, check, report, ", ".join(Path(p).name for p in unseen_files))
    return {**report, "max_unseen": check.max_unseen, "min_confidence": check.min_confidence}


def _translated(translator, items: list) -> list:
    """(item, greedy translation) for pairs or plain sentences, the way the app translates by default."""
    sources = [getattr(item, "source", item) for item in items]
    return list(zip(items, translator.translate_batch(sources, batch_size=64)))
