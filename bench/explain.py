"""The explanation features' speed on CPU, one thread, as the app runs them.

- attribution of a 30-word test sentence's greedy translation, integrated gradients (the app's 16 steps)
  and gradient × input: p50/p95 over repeats, and how far the integrated gradients miss completeness
  (Σ attributions against log p(x) - log p(baseline)), per output token;
- the nearest training examples: building the index once (every shipped training pair encoded), and
  one query (encode the sentence, one matrix-vector product): p50/p95.

    python -m bench explain [--checkpoint checkpoints/enko-software-additive] [--repeats 5] [--queries 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seq2seq import attribution, load_translator
from seq2seq.data import read_pairs_tsv
from seq2seq.neighbours import CACHE_ENV, TRAIN_FILE

from .latency import percentile, sentence_of


def _times(fn, repeats: int) -> dict:
    values = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        values.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": statistics.median(values), "p95_ms": percentile(values, 0.95)}


def run(checkpoint: str, repeats: int, queries: int) -> dict:
    torch.set_num_threads(1)
    translator = load_translator(checkpoint, device="cpu")
    sources = [p.source for p in read_pairs_tsv(Path(checkpoint) / "test.tsv")]
    text = sentence_of(30, sources)
    result = translator.translate(text)
    out: dict = {
        "words": len(text.split()),
        "src_tokens": len(result.src_tokens),
        "tgt_tokens": len(result.tgt_tokens),
    }
    for method in attribution.METHODS:
        out[method] = _times(lambda m=method: translator.saliency(result, m), repeats)
    src = [translator.src_tokenizer.piece_to_id(p) for p in result.src_tokens]
    tgt = [translator.tgt_tokenizer.piece_to_id(p) for p in result.tgt_tokens]
    raw = attribution.raw_attributions(translator.model, src, tgt, "integrated_gradients")
    gap = raw.sum(axis=(1, 2)) - (
        attribution.output_log_probs(translator.model, src, tgt, 1.0)
        - attribution.output_log_probs(translator.model, src, tgt, 0.0)
    )
    out["completeness_gap"] = {"mean_abs": float(np.abs(gap).mean()), "max_abs": float(np.abs(gap).max())}
    if (Path(checkpoint) / TRAIN_FILE).is_file():
        with tempfile.TemporaryDirectory() as cache:
            os.environ[CACHE_ENV] = cache  # a cold index: built here, not found from an earlier run
            fresh = load_translator(checkpoint, device="cpu")
            started = time.perf_counter()
            index = fresh.neighbour_index()
            out["index_build_s"] = time.perf_counter() - started
            out["training_pairs"] = len(index.pairs)
            cached = load_translator(checkpoint, device="cpu")
            started = time.perf_counter()
            cached.neighbour_index()
            out["index_load_s"] = time.perf_counter() - started
            sample = [sources[k % len(sources)] for k in range(queries)]
            values = []
            for sentence in sample:
                begun = time.perf_counter()
                cached.neighbours(sentence, k=5)
                values.append((time.perf_counter() - begun) * 1000)
            out["query"] = {
                "p50_ms": statistics.median(values),
                "p95_ms": percentile(values, 0.95),
                "n": len(values),
            }
            shutil.rmtree(cache, ignore_errors=True)
    return out


def table(results: dict) -> str:
    lines = [
        f"A {results['words']}-word test sentence ({results['src_tokens']} → {results['tgt_tokens']} pieces), one thread:",
        "",
        "| measure | p50 | p95 | target |",
        "|---|---|---|---|",
    ]
    for method in attribution.METHODS:
        row = results[method]
        lines.append(
            f"| attribution, {method.replace('_', ' ')} | {row['p50_ms']:.0f} ms | {row['p95_ms']:.0f} ms | the page stays interactive |"
        )
    if "query" in results:
        row = results["query"]
        lines.append(
            f"| nearest training examples, one query (k = 5) | {row['p50_ms']:.0f} ms | {row['p95_ms']:.0f} ms | < 200 ms |"
        )
        lines.append(f"| index over {results['training_pairs']:,} training pairs: built once / loaded from the cache | "
                     f"{results['index_build_s']:.1f} s | {results['index_load_s']:.2f} s | |")  # fmt: skip
    gap = results["completeness_gap"]
    lines += ["", f"Integrated gradients (16 points at a = u²) miss completeness by {gap['mean_abs']:.3f} nats per output token on average "
              f"(at most {gap['max_abs']:.3f}): Σ attributions against log p(y_i) at the input minus at the all-zero baseline."]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", default="checkpoints/enko-software-additive")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args(argv)
    results = run(args.checkpoint, args.repeats, args.queries)
    print(table(results))
    return results
