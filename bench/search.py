"""Which search finds the better translation: greedy, the beam, GNMT's length and coverage penalties and a
no-repeat rule, each on every dev domain and by length, with how often the output loops.

The dev split chooses the app's default: an option stays on only if it raises the mean dev chrF over the
domains without losing any domain more than `MAX_DOMAIN_LOSS` against the plain beam.

    python -m bench search [--checkpoint checkpoints/enko-general-additive] [--dev data/enko-general/dev.tsv]
                           [--limit N]   # the first N dev pairs of each domain
"""

from __future__ import annotations

import argparse
import time

from sacrebleu.metrics import CHRF

from seq2seq import load_translator
from seq2seq.data import LENGTH_BUCKETS, bucket_name, length_bucket, read_pairs_tsv
from seq2seq.decoding import Search
from seq2seq.notices import repetition

MAX_DOMAIN_LOSS = 0.5
BASELINE = "beam 5"
SEARCHES = {
    "greedy": Search(),
    BASELINE: Search(beam_size=5),
    "beam 5, GNMT length": Search(beam_size=5, gnmt_length=True),
    "beam 5, coverage 0.2": Search(beam_size=5, coverage=0.2),
    "beam 5, coverage 0.4": Search(beam_size=5, coverage=0.4),
    "beam 5, no repeat 3": Search(beam_size=5, no_repeat=3),
    "beam 5, no repeat 4": Search(beam_size=5, no_repeat=4),
    "beam 5, coverage 0.2, no repeat 3": Search(beam_size=5, coverage=0.2, no_repeat=3),
}


def _chrf(hyps: list[str], refs: list[str]) -> float | None:
    return round(CHRF().corpus_score(hyps, [refs]).score, 2) if hyps else None


def score(pairs, hyps: list[str]) -> dict:
    """chrF by domain, their mean, chrF by length, and the share of outputs that loop (all and 21+)."""
    domains = sorted({p.domain for p in pairs})
    by_domain = {
        d: _chrf(
            [h for p, h in zip(pairs, hyps) if p.domain == d], [p.target for p in pairs if p.domain == d]
        )
        for d in domains
    }
    buckets = [length_bucket(len(p.source.split())) for p in pairs]
    by_length = {}
    for low, high in LENGTH_BUCKETS:
        name = bucket_name(low, high)
        members = [i for i, b in enumerate(buckets) if b == name]
        by_length[name] = _chrf([hyps[i] for i in members], [pairs[i].target for i in members])
    loops = [repetition(h) is not None for h in hyps]
    long = [i for i, p in enumerate(pairs) if len(p.source.split()) > 20]
    return {
        "mean": round(sum(by_domain.values()) / len(by_domain), 2),
        "domains": by_domain,
        "lengths": by_length,
        "loops": round(sum(loops) / len(loops), 4),
        "loops_21": round(sum(loops[i] for i in long) / max(len(long), 1), 4),
    }


def verdict(row: dict, base: dict) -> str:
    """'keep' when it beats the plain beam on the mean and loses no domain by more than MAX_DOMAIN_LOSS."""
    worst = min(row["domains"][d] - base["domains"][d] for d in base["domains"])
    return "keep" if row["mean"] > base["mean"] and worst >= -MAX_DOMAIN_LOSS else "drop"


def run(checkpoint: str, dev: str, limit: int | None) -> dict:
    translator = load_translator(checkpoint)
    pairs = read_pairs_tsv(dev)
    if limit:
        kept: dict[str, list] = {}
        for pair in pairs:
            kept.setdefault(pair.domain, []).append(pair)
        pairs = [p for members in kept.values() for p in members[:limit]]
    rows = {}
    for name, search in SEARCHES.items():
        started = time.perf_counter()
        found = translator.translate_batch([p.source for p in pairs], search, batch_size=32)
        seconds = time.perf_counter() - started
        rows[name] = {
            **score(pairs, [t.text for t in found]),
            "sentences_per_s": round(len(pairs) / seconds, 1),
        }
        print(f"{name}: mean dev chrF {rows[name]['mean']}, loops {rows[name]['loops']:.1%}", flush=True)
    base = rows[BASELINE]
    for name, row in rows.items():
        row["verdict"] = "baseline" if name == BASELINE else verdict(row, base)
    return {"checkpoint": checkpoint, "dev": dev, "sentences": len(pairs), "rows": rows}


def table(results: dict) -> str:
    rows = results["rows"]
    domains = list(next(iter(rows.values()))["domains"])
    lengths = list(next(iter(rows.values()))["lengths"])
    lines = [
        f"`{results['checkpoint']}` on {results['sentences']:,} dev pairs (`{results['dev']}`). chrF by domain "
        f"and by source words; loops: outputs that say the same 1-4 words three or more times in a row. "
        f"Kept: beats the plain beam's mean and loses no domain by more than {MAX_DOMAIN_LOSS}.",
        "",
        "| search | mean | "
        + " | ".join(domains)
        + " | "
        + " | ".join(lengths)
        + " | loops | loops 21+ | sent/s | verdict |",
        "|---" * (len(domains) + len(lengths) + 6) + "|",
    ]
    for name, row in rows.items():
        cells = [f"{row['domains'][d]:.1f}" for d in domains] + [
            "–" if row["lengths"][b] is None else f"{row['lengths'][b]:.1f}" for b in lengths
        ]
        lines.append(
            f"| {name} | **{row['mean']:.2f}** | "
            + " | ".join(cells)
            + f" | {row['loops']:.1%} | {row['loops_21']:.1%} | {row['sentences_per_s']} | {row['verdict']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", default="checkpoints/enko-general-additive")
    parser.add_argument("--dev", default="data/enko-general/dev.tsv")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    results = run(args.checkpoint, args.dev, args.limit)
    print(table(results))
    return results
