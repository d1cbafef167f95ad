"""Calibrate a checkpoint's familiarity check: translate its dev split (familiar) and text from a domain it
never saw (unfamiliar), fit the logistic score of `familiarity.features`, and write `familiarity.json`.

A room of its own above both `familiarity` (the check) and `translator` (which runs it on every sentence):
calibrating needs a translator, and the translator needs the check, so neither can hold this step.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .data import read_pairs_tsv
from .familiarity import (
    FAMILIARITY_FILE,
    FEATURES,
    TARGET_FALSE_ALARMS,
    FamiliarityCheck,
    PairSet,
    content_words,
    features,
)
from .jsonfiles import write_json
from .neighbours import read_training_pairs
from .translator import load_translator
from .validation import chrf_sample


def _fit(x: np.ndarray, y: np.ndarray, steps: int = 4000, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    """Logistic regression by gradient descent on standardised features (balanced classes)."""
    weights, bias = np.zeros(x.shape[1]), 0.0
    balance = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ weights + bias)))
        g = (p - y) * balance
        weights -= 0.1 * (x.T @ g / len(y) + l2 * weights)
        bias -= 0.1 * g.mean()
    return weights, float(bias)


def calibrate(
    counts: Counter,
    pairs: PairSet,
    familiar: dict[str, list[dict[str, float]]],
    unfamiliar: list[dict[str, float]],
    target: float = TARGET_FALSE_ALARMS,
    seed: int = 0,
) -> tuple[FamiliarityCheck, dict]:
    """Fit the score on half of every sample (seeded) and set the threshold so that at most `target` of
    every familiar domain's calibration half is flagged; report the rates on the held-out halves too."""
    rng = np.random.default_rng(seed)

    def halves(rows: list) -> tuple[list, list]:
        order = rng.permutation(len(rows))
        cut = (len(rows) + 1) // 2
        return [rows[i] for i in order[:cut]], [rows[i] for i in order[cut:]]

    split = {d: halves(rows) for d, rows in familiar.items()}
    fit_bad, held_bad = halves(unfamiliar)
    matrix = lambda rows: np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)  # noqa: E731
    good = np.concatenate([matrix(a) for a, _ in split.values()])
    bad = matrix(fit_bad)
    x = np.concatenate([good, bad])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    weights, bias = _fit((x - mean) / scale, np.r_[np.zeros(len(good)), np.ones(len(bad))])
    check = FamiliarityCheck(counts, pairs, mean.tolist(), scale.tolist(), weights.tolist(), bias, 0.0)
    score = lambda rows: np.array([check.score(r)[0] for r in rows])  # noqa: E731
    check.threshold = float(
        max(np.quantile(score(a), 1 - target, method="higher") for a, _ in split.values())
    )

    def rates(use: int) -> dict:
        flagged = lambda rows: float(np.mean(score(rows) > check.threshold)) if rows else 0.0  # noqa: E731
        return {
            "false_alarms": {d: round(flagged(parts[use]), 4) for d, parts in split.items()},
            "detected": round(flagged([fit_bad, held_bad][use]), 4),
        }

    report = {
        "held_out": rates(1),
        "calibration": rates(0),
        "familiar_sentences": {d: len(rows) for d, rows in familiar.items()},
        "unfamiliar_sentences": len(unfamiliar),
        "weights": dict(zip(FEATURES, np.round(weights, 3).tolist())),
    }
    return check, report


def save(folder: str | Path, check: FamiliarityCheck, report: dict, unseen_source: str) -> None:
    write_json(
        Path(folder) / FAMILIARITY_FILE,
        {
            "features": list(FEATURES),
            "mean": check.mean,
            "scale": check.scale,
            "weights": check.weights,
            "bias": check.bias,
            "threshold": check.threshold,
            "report": {**report, "unseen_domain": unseen_source},
            "vocabulary": dict(sorted(check.counts.items())),
            "pairs": check.pairs.to_text(),
        },
    )


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z\"(])")


def sentences_of(text: str, min_words: int = 4, max_words: int = 60) -> list[str]:
    """Plain prose split into sentences (for the unseen-domain sample): lines joined, short pieces dropped."""
    joined = " ".join(line.strip() for line in text.splitlines())
    out = []
    for sentence in _SENTENCE_END.split(joined):
        sentence = " ".join(sentence.split())
        if min_words <= len(sentence.split()) <= max_words and re.search("[a-z]", sentence):
            out.append(sentence)
    return list(dict.fromkeys(out))


_HANGUL = re.compile("[\uac00-\ud7a3]")


def unseen_sentences(path: str | Path, lang: str = "en") -> list[str]:
    """The side in `lang` ('en' or 'ko') of a TSV of pairs (every line, whichever column holds it), or
    the sentences of a plain prose file."""
    path = Path(path)
    if path.suffix == ".tsv":
        pairs = read_pairs_tsv(path)
        korean_first = sum(bool(_HANGUL.search(p.source)) for p in pairs) > len(pairs) / 2
        return [p.source if korean_first == (lang == "ko") else p.target for p in pairs]
    return sentences_of(path.read_text(encoding="utf-8"))


def training_vocabulary(sources: Sequence[str]) -> Counter:
    return Counter(w for s in sources for w in content_words(s))


def calibrate_checkpoint(
    folder: str | Path,
    dev_tsv: str | Path,
    unseen_files: Sequence[str | Path],
    per_domain: int = 400,
    target: float = TARGET_FALSE_ALARMS,
) -> dict:
    """Translate the dev split (each domain) and text from a domain the model never saw, calibrate, and
    write familiarity.json into the checkpoint folder. Returns the report."""
    translator = load_translator(folder)
    sources = [p.source for p in read_training_pairs(folder)]
    counts, pairs = training_vocabulary(sources), PairSet.of(sources)
    familiar: dict[str, list[dict[str, float]]] = {}
    for pair, result in _translated(translator, chrf_sample(read_pairs_tsv(dev_tsv), per_domain)):
        familiar.setdefault(pair.domain or "dev", []).append(features(result.source, result, counts, pairs))
    texts = [s for path in unseen_files for s in unseen_sentences(path, translator.languages[0])]
    if not texts:
        raise ValueError(f"no sentences in {', '.join(map(str, unseen_files))}")
    unfamiliar = [
        features(result.source, result, counts, pairs) for _, result in _translated(translator, texts)
    ]
    check, report = calibrate(counts, pairs, familiar, unfamiliar, target)
    save(folder, check, report, ", ".join(Path(p).name for p in unseen_files))
    return {**report, "threshold": check.threshold}


def _translated(translator, items: list) -> list:
    """(item, greedy translation) for pairs or plain sentences, the way the app translates by default."""
    sources = [getattr(item, "source", item) for item in items]
    return list(zip(items, translator.translate_batch(sources, batch_size=64)))
