"""Interactive latency on CPU: translate() + word_attention() + the heatmap figure as the app sends it
(built with the app's template, serialised as `st.plotly_chart` does), and one step().

p50/p95 over repeated runs for inputs of 5, 15, 30 and 60 words at beam 1 (greedy) and the app's default
search at beam 5 (`APP_SEARCH`: its coverage penalty and no-repeat rule included), on sentences from
the checkpoint's own held-out split, as a person would type them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import plotly.io as pio
import torch

from seq2seq import load_translator, word_attention
from seq2seq.data import read_pairs_tsv
from seq2seq.decoding import app_search
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.viz.style import use_template

WORDS = (5, 15, 30, 60)


def sentence_of(words: int, sources: list[str]) -> str:
    """A real test sentence of exactly `words` words, or real sentences joined and cut to length."""
    exact = [s for s in sources if len(s.split()) == words]
    if exact:
        return exact[0]
    joined = " ".join(sources).split()
    return " ".join(joined[:words])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(checkpoint: str, repeats: int, threads: int) -> list[dict]:
    torch.set_num_threads(threads)
    use_template()  # as the app does
    translator = load_translator(checkpoint, device="cpu")
    sources = [p.source for p in read_pairs_tsv(Path(checkpoint) / "test.tsv")]
    translator.translate("Warm up.")
    rows = []
    for words in WORDS:
        text = sentence_of(words, sources)
        for beam in (1, 5):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                result = translator.translate(text, app_search(beam))
                if result.attention is not None:
                    word_attention(result)
                    figure = attention_heatmap(result.attention, result.src_tokens, result.tgt_tokens)
                    pio.to_json(figure, validate=False)
                times.append((time.perf_counter() - start) * 1000)
            rows.append(
                {
                    "words": words,
                    "beam": beam,
                    "p50_ms": statistics.median(times),
                    "p95_ms": percentile(times, 0.95),
                    "tgt_tokens": len(result.tgt_tokens),
                }
            )
        session = translator.start(text)
        step_times = []
        for _ in range(min(repeats, 20)):
            start = time.perf_counter()
            session.step()
            step_times.append((time.perf_counter() - start) * 1000)
            if session.finished:
                session.rewind(0)
        rows.append(
            {
                "words": words,
                "beam": "step()",
                "p50_ms": statistics.median(step_times),
                "p95_ms": percentile(step_times, 0.95),
                "tgt_tokens": 1,
            }
        )
    return rows


def table(results: dict) -> str:
    """Markdown: p50/p95 per input length and search."""
    rows = results["rows"]
    lines = ["| words | search | p50 ms | p95 ms | output tokens |", "|---|---|---|---|---|"]
    for r in rows:
        search = (
            r["beam"] if isinstance(r["beam"], str) else ("greedy" if r["beam"] == 1 else f"beam {r['beam']}")
        )
        lines.append(
            f"| {r['words']} | {search} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['tgt_tokens']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default="checkpoints/enko-general-additive")  # the app's default
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    rows = run(args.checkpoint, args.repeats, args.threads)
    results = {"checkpoint": Path(args.checkpoint).name, "threads": args.threads, "repeats": args.repeats,
               "rows": rows}  # fmt: skip
    print(
        f"interactive latency, {results['checkpoint']}, CPU, {args.threads} thread(s), {args.repeats} runs each"
    )
    print(table(results))
    return results
