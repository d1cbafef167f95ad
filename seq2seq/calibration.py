"""Calibrate a checkpoint's familiarity check: translate its dev split (familiar) and text from a domain it
never saw (unfamiliar), fit the logistic score of `familiarity.features`, and write `familiarity.json`.

A room of its own above both `familiarity` (the check) and `translator` (which runs it on every sentence):
calibrating needs a translator, and the translator needs the check, so neither can hold this step.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from html.parser import HTMLParser
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
    unfamiliar: list[dict[str, float]] | dict[str, list[dict[str, float]]],
    target: float = TARGET_FALSE_ALARMS,
    seed: int = 0,
) -> tuple[FamiliarityCheck, dict]:
    """Fit the score on half of every sample (seeded) and set the threshold so that at most `target` of
    every familiar domain's calibration half is flagged; report the rates on the held-out halves too.

    A domain whose half has fewer than 1/`target` sentences cannot show a rate that low (one sentence of
    17 is 6%): its threshold would be its single strangest sentence. It counts within the whole dev sample
    instead, and its own rate is still reported. Unfamiliar text from several sources (a dict) is halved
    source by source, and each source's detection is reported."""
    rng = np.random.default_rng(seed)

    def halves(rows: list) -> tuple[list, list]:
        order = rng.permutation(len(rows))
        cut = (len(rows) + 1) // 2
        return [rows[i] for i in order[:cut]], [rows[i] for i in order[cut:]]

    split = {d: halves(rows) for d, rows in familiar.items()}
    strange = unfamiliar if isinstance(unfamiliar, dict) else {"unseen": unfamiliar}
    strange_split = {name: halves(rows) for name, rows in strange.items()}
    fit_bad = [row for a, _ in strange_split.values() for row in a]
    held_bad = [row for _, b in strange_split.values() for row in b]
    matrix = lambda rows: np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)  # noqa: E731
    good = np.concatenate([matrix(a) for a, _ in split.values()])
    bad = matrix(fit_bad)
    x = np.concatenate([good, bad])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    weights, bias = _fit((x - mean) / scale, np.r_[np.zeros(len(good)), np.ones(len(bad))])
    check = FamiliarityCheck(counts, pairs, mean.tolist(), scale.tolist(), weights.tolist(), bias, 0.0)
    score = lambda rows: np.array([check.score(r)[0] for r in rows])  # noqa: E731
    measurable = [a for a, _ in split.values() if len(a) >= 1 / target]
    pooled = [row for a, _ in split.values() for row in a]
    check.threshold = float(
        max(np.quantile(score(a), 1 - target, method="higher") for a in [*measurable, pooled])
    )

    def rates(use: int) -> dict:
        flagged = lambda rows: float(np.mean(score(rows) > check.threshold)) if rows else 0.0  # noqa: E731
        found = {
            "false_alarms": {d: round(flagged(parts[use]), 4) for d, parts in split.items()},
            "detected": round(flagged([fit_bad, held_bad][use]), 4),
        }
        if len(strange_split) > 1:
            found["detected_by_source"] = {n: round(flagged(p[use]), 4) for n, p in strange_split.items()}
        return found

    report = {
        "held_out": rates(1),
        "calibration": rates(0),
        "familiar_sentences": {d: len(rows) for d, rows in familiar.items()},
        "unfamiliar_sentences": sum(map(len, strange.values())),
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


_SENTENCE_END = {
    "en": re.compile(r"(?<=[.!?;:])\s+(?=[A-Z\"(])"),
    "ko": re.compile(r"(?<=[.!?])\s+"),  # Korean has no capitals to look for
}
_HANGUL = re.compile("[\uac00-\ud7a3]")
_LETTERS = {"en": re.compile("[a-z]"), "ko": _HANGUL}


def sentences_of(text: str, min_words: int = 4, max_words: int = 60, lang: str = "en") -> list[str]:
    """Plain prose split into sentences (for the unseen-domain sample): lines joined, short pieces dropped."""
    joined = " ".join(line.strip() for line in text.splitlines())
    out = []
    for sentence in _SENTENCE_END[lang].split(joined):
        sentence = " ".join(sentence.split())
        if min_words <= len(sentence.split()) <= max_words and _LETTERS[lang].search(sentence):
            out.append(sentence)
    return list(dict.fromkeys(out))


class _Prose(HTMLParser):
    """An HTML page's running text, its paragraphs apart; code and preformatted blocks left out."""

    SKIP = {"pre", "code", "tt", "kbd", "samp", "script", "style"}
    BLOCKS = {"p", "li", "dt", "dd", "div", "td", "tr", "br", "h1", "h2", "h3", "h4", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        self.skipping += tag in self.SKIP
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def prose_of_html(html: str, lang: str = "en") -> list[str]:
    """The sentences of a page's paragraphs (a sentence never runs across two of them)."""
    parser = _Prose()
    parser.feed(html)
    paragraphs = re.split(r"\n\s*\n", "".join(parser.parts))
    found = [s for paragraph in paragraphs for s in sentences_of(paragraph, lang=lang)]
    return list(dict.fromkeys(found))


def unseen_sentences(path: str | Path, lang: str = "en") -> list[str]:
    """The side in `lang` ('en' or 'ko') of a TSV of pairs (every line, whichever column holds it), the
    sentences of an HTML page (the Korean Debian FAQ, say), or those of a plain prose file."""
    path = Path(path)
    if path.suffix == ".tsv":
        pairs = read_pairs_tsv(path)
        korean_first = sum(bool(_HANGUL.search(p.source)) for p in pairs) > len(pairs) / 2
        return [p.source if korean_first == (lang == "ko") else p.target for p in pairs]
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix in (".html", ".htm"):
        return prose_of_html(text, lang)
    return sentences_of(text, lang=lang)


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
    texts: dict[str, list[str]] = {}
    for path in unseen_files:
        texts.setdefault(source_name(path), []).extend(unseen_sentences(path, translator.languages[0]))
    if not any(texts.values()):
        raise ValueError(f"no sentences in {', '.join(map(str, unseen_files))}")
    unfamiliar = {
        name: [features(result.source, result, counts, pairs) for _, result in _translated(translator, found)]
        for name, found in texts.items()
        if found
    }
    check, report = calibrate(counts, pairs, familiar, unfamiliar, target)
    save(folder, check, report, ", ".join(unfamiliar))
    return {**report, "threshold": check.threshold}


def source_name(path: str | Path) -> str:
    """How the card names an unseen source: a file with its folder, or a folder's pages together."""
    path = Path(path)
    return (
        f"{path.parent.name}/*{path.suffix}"
        if path.suffix in (".html", ".htm")
        else f"{path.parent.name}/{path.name}"
    )


def _translated(translator, items: list) -> list:
    """(item, greedy translation) for pairs or plain sentences, the way the app translates by default."""
    sources = [getattr(item, "source", item) for item in items]
    return list(zip(items, translator.translate_batch(sources, batch_size=64)))
