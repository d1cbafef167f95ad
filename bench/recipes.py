"""Training recipes side by side (issue 27's proxies): each run's last checkpoint on the whole dev split,
greedy, with dev chrF by domain, dev loss, how sharp its attention is, and its training speed.

    python -m bench recipes runs-proxy/A0-today runs-proxy/A1-planned [--dev data/enko-general/dev.tsv]

A run is compared with the one run beside it at the same time (same CPU share), at equal minutes or
equal steps as its notes say; dev loss is per target piece, so it compares only runs of one vocabulary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from seq2seq import load_translator
from seq2seq.data import read_pairs_tsv
from seq2seq.decoding import GREEDY
from seq2seq.diagnostics import mean_sharpness
from seq2seq.jsonfiles import read_jsonl
from seq2seq.snapshots import METRICS_FILE

from .search import score


def run_row(run: Path, pairs) -> dict:
    """One run: the last evaluation's log line, and its last/ checkpoint decoded on every dev pair."""
    log = [r for r in read_jsonl(run / METRICS_FILE) if "dev_loss" in r]
    last = log[-1]
    translator = load_translator(run / "last")
    found = translator.translate_batch([p.source for p in pairs], GREEDY, batch_size=64)
    scores = score(pairs, [t.text for t in found])
    sharp = mean_sharpness(t.attention for t in found)
    train = translator.config.get("train", {})
    return {
        "run": run.name,
        "step": last["step"],
        "minutes": round(last["elapsed_s"] / 60, 1),
        "train_tokens": last["train_tokens"],
        "tokens_per_s": round(last["train_tokens"] / max(last["elapsed_s"], 1e-9)),
        "dev_loss": last["dev_loss"],
        "vocab": f"{train.get('src_vocab', '?')}/{train.get('tgt_vocab', '?')}",
        "parameters": translator.config.get("parameters"),
        "peak": None if sharp is None else round(sharp[0], 3),
        "entropy": None if sharp is None else round(sharp[1], 2),
        "curve": [(r["step"], r["dev_chrf"]) for r in log],
        **scores,
    }


def run(runs: list[str], dev: str) -> dict:
    pairs = read_pairs_tsv(dev)
    rows = []
    for folder in runs:
        rows.append(run_row(Path(folder), pairs))
        print(f"{rows[-1]['run']}: mean dev chrF {rows[-1]['mean']} at step {rows[-1]['step']}", flush=True)
    return {"dev": dev, "sentences": len(pairs), "rows": rows}


def table(results: dict) -> str:
    rows = results["rows"]
    domains = list(rows[0]["domains"])
    lines = [
        f"Greedy on all {results['sentences']:,} dev pairs (`{results['dev']}`), each run's last checkpoint. "
        "Sharpness: mean largest α per output token, and mean entropy of α_i· (nats).",
        "",
        "| run | step | min | tokens/s | params | vocab | mean chrF | " + " | ".join(domains)
        + " | dev loss | largest α | entropy | loops |",
        "|---" * (len(domains) + 11) + "|",
    ]  # fmt: skip
    for r in rows:
        cells = " | ".join(f"{r['domains'][d]:.1f}" for d in domains)
        lines.append(
            f"| {r['run']} | {r['step']:,} | {r['minutes']} | {r['tokens_per_s']:,} | {r['parameters'] / 1e6:.1f}M "
            f"| {r['vocab']} | **{r['mean']:.2f}** | {cells} | {r['dev_loss']:.3f} | {r['peak']} | {r['entropy']} "
            f"| {r['loops']:.1%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--dev", default="data/enko-general/dev.tsv")
    args = parser.parse_args(argv)
    results = run(args.runs, args.dev)
    print(table(results))
    return results
