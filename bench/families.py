"""Which family knows a sentence better: how often `knows_better` sends a sentence to the other family.

On the shipped test splits (never trained on): every general domain's sentences, and LibreOffice's, each
asked "does the other family's training English predict this better by the margin?"; the licences in
/usr/share/common-licenses stand for text that neither family learned. Also the cost: building each
family's bigram model once (seconds, memory) and one sentence's check.

    python -m bench families [--general checkpoints/enko-general-additive]
                             [--software checkpoints/enko-software-additive]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from pathlib import Path

from seq2seq import familiarity
from seq2seq.calibration import unseen_sentences
from seq2seq.data import read_pairs_tsv
from seq2seq.familiarity import FAMILY_MARGIN, SourceLM

MARGINS = (0.0, FAMILY_MARGIN, 1.0, 2.0)
LICENCES = ("/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0")


def _build(folder: str) -> tuple[SourceLM, dict]:
    """Built twice from scratch: once timed, once under tracemalloc (which slows what it watches)."""
    familiarity._SOURCE_MODELS.clear()
    started = time.perf_counter()
    model = SourceLM.of_checkpoint(folder)
    seconds = time.perf_counter() - started
    if model is None:
        raise SystemExit(f"{folder} ships no readable train.tsv.xz")
    familiarity._SOURCE_MODELS.clear()
    tracemalloc.start()
    model = SourceLM.of_checkpoint(folder)
    memory = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    return model, {"build_s": round(seconds, 2), "memory_mb": round(memory, 1), "bigrams": model.types}


def run(general: str, software: str) -> dict:
    here, general_cost = _build(general)
    there, software_cost = _build(software)
    gains: dict[str, list[float]] = {}  # > 0: the software family predicts the sentence better
    for pair in read_pairs_tsv(Path(general) / "test.tsv"):
        gains.setdefault(f"general/{pair.domain}", []).append(
            here.surprise(pair.source) - there.surprise(pair.source)
        )
    software_test = [p.source for p in read_pairs_tsv(Path(software) / "test.tsv")]
    gains["software/libreoffice"] = [here.surprise(s) - there.surprise(s) for s in software_test]
    licences = [s for path in LICENCES if Path(path).is_file() for s in unseen_sentences(path)]
    if licences:
        gains["neither/licences"] = [here.surprise(s) - there.surprise(s) for s in licences]
    rows = []
    for name, values in gains.items():
        row = {"split": name, "sentences": len(values)}
        for margin in MARGINS:
            row[f"to_software@{margin:g}"] = round(sum(g >= margin for g in values) / len(values), 4)
            row[f"to_general@{margin:g}"] = round(sum(-g >= margin for g in values) / len(values), 4)
        rows.append(row)
    times = []
    for sentence in software_test[:200]:
        started = time.perf_counter()
        here.surprise(sentence) - there.surprise(sentence)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "margin": FAMILY_MARGIN,
        "rows": rows,
        "cost": {
            "general": general_cost,
            "software": software_cost,
            "check_p50_ms": round(statistics.median(times), 3),
        },
    }


def table(results: dict) -> str:
    margin = f"{results['margin']:g}"
    lines = [
        f"Share of each split's sentences that the check sends to the other family, at the app's margin "
        f"({margin} bits per word) and others. A general split should rarely go to software, LibreOffice "
        "should rarely go to general.",
        "",
        "| split | sentences | → software @0 | → software @"
        + margin
        + " | @1 | @2 | → general @"
        + margin
        + " |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        lines.append(
            f"| {row['split']} | {row['sentences']} | {row['to_software@0']:.1%} | {row[f'to_software@{margin}']:.1%} "
            f"| {row['to_software@1']:.1%} | {row['to_software@2']:.1%} | {row[f'to_general@{margin}']:.1%} |"
        )
    cost = results["cost"]
    lines += [
        "",
        f"Building the models once: general {cost['general']['build_s']} s and {cost['general']['memory_mb']} MB "
        f"({cost['general']['bigrams']:,} word pairs), software {cost['software']['build_s']} s and "
        f"{cost['software']['memory_mb']} MB; one sentence's check {cost['check_p50_ms']} ms (p50).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--general", default="checkpoints/enko-general-additive")
    parser.add_argument("--software", default="checkpoints/enko-software-additive")
    args = parser.parse_args(argv)
    results = run(args.general, args.software)
    print(table(results))
    return results
