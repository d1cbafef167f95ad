"""The reverse model as a second opinion: noisy-channel reranking of the English→Korean n-best
(seq2seq.reranking), chosen on dev: each list size (beam) and weight λ, the mean dev chrF over the domains,
and what it costs a 30-word sentence. It becomes the app's default only if it gains at least
`MIN_GAIN` mean chrF over today's default search and keeps that sentence's p95 within `MAX_SLOWDOWN`x.
With --test, the setting chosen on dev is then scored on the test split beside today's default, and the
lecture's ten English sentences are printed both ways (whether each is right is for a reader of Korean).

    python -m bench rerank [--forward checkpoints/enko-general-additive]
                           [--reverse checkpoints/koen-general-additive] [--dev data/enko-general/dev.tsv]
                           [--test data/enko-general/test.tsv] [--sizes 5,10]
                           [--weights 0,0.1,0.2,0.3,0.5,0.7,1] [--limit N] [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

from seq2seq import load_translator
from seq2seq.data import read_pairs_tsv
from seq2seq.decoding import APP_SEARCH, Search
from seq2seq.lecture import LECTURE_SENTENCES
from seq2seq.reranking import channel_scores, preferred

from .search import score

MIN_GAIN = 1.0  # mean dev chrF over today's default search
TODAY = "today's default (beam 5)"
MAX_SLOWDOWN = 2.0  # p95 of a 30-word sentence against today's default
LONG = (
    "When the weather is nice in the spring, my family likes to go to the park near our house and have a "
    "picnic under the big trees with our friends."
)  # 30 words


def _pairs(dev: str, limit: int | None):
    pairs = read_pairs_tsv(dev)
    if not limit:
        return pairs
    kept: dict[str, list] = {}
    for pair in pairs:
        kept.setdefault(pair.domain, []).append(pair)
    return [p for members in kept.values() for p in members[:limit]]


def _timings(call, repeats: int) -> dict:
    call()  # warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1),
    }


def _reranked(forward, reverse, sources: list[str], beam: int, weight: float) -> list[str]:
    """The noisy channel's pick from each sentence's n-best at `beam`."""
    found = forward.translate_batch(sources, Search.of(APP_SEARCH, beam_size=beam), batch_size=32)
    picks = []
    for translation in found:
        picks.append(translation.nbest[preferred(channel_scores(translation, reverse, weight))].text)
    return picks


def _checked(forward, reverse, test: str, limit: int | None, beam: int, weight: float) -> dict:
    """The chosen setting and today's default on the test split, and the lecture's ten both ways."""
    pairs = _pairs(test, limit)
    sources = [p.source for p in pairs]
    today = [t.text for t in forward.translate_batch(sources, APP_SEARCH, batch_size=32)]
    lecture = list(LECTURE_SENTENCES)
    return {
        "test": test,
        "sentences": len(pairs),
        "today": score(pairs, today),
        "reranked": score(pairs, _reranked(forward, reverse, sources, beam, weight)),
        "lecture": [
            {"source": s, "today": t.text, "reranked": r}
            for s, t, r in zip(
                lecture,
                forward.translate_batch(lecture, APP_SEARCH),
                _reranked(forward, reverse, lecture, beam, weight),
            )
        ],
    }


def run(forward_dir: str, reverse_dir: str, dev: str, sizes, weights, limit, repeats, test=None) -> dict:
    forward, reverse = load_translator(forward_dir), load_translator(reverse_dir)
    pairs = _pairs(dev, limit)
    sources = [p.source for p in pairs]
    baseline = forward.translate_batch(sources, APP_SEARCH, batch_size=32)
    rows = {TODAY: score(pairs, [t.text for t in baseline])}
    print(f"{TODAY}: mean dev chrF {rows[TODAY]['mean']}", flush=True)
    for size in sizes:
        search = Search.of(APP_SEARCH, beam_size=size)
        found = (
            baseline
            if size == APP_SEARCH.beam_size
            else forward.translate_batch(sources, search, batch_size=32)
        )
        channels = [channel_scores(t, reverse, 1.0) for t in found]
        for weight in weights:
            hyps = []
            for translation, scores in zip(found, channels):
                best = max(range(len(scores)), key=lambda i: scores[i].forward + weight * scores[i].reverse)
                hyps.append(translation.nbest[best].text)
            name = f"beam {size}, λ {weight:g}"
            rows[name] = {**score(pairs, hyps), "beam": size, "weight": weight}
            print(f"{name}: mean dev chrF {rows[name]['mean']}", flush=True)
    today = _timings(lambda: forward.translate(LONG, APP_SEARCH), repeats)
    base = rows[TODAY]["mean"]
    best_name = max((n for n in rows if n != TODAY), key=lambda n: rows[n]["mean"])
    best = rows[best_name]
    search = Search.of(APP_SEARCH, beam_size=best["beam"])
    reranked = _timings(
        lambda: channel_scores(forward.translate(LONG, search), reverse, best["weight"]), repeats
    )
    gain = round(best["mean"] - base, 2)
    slowdown = round(reranked["p95_ms"] / today["p95_ms"], 2)
    return {
        "forward": forward_dir,
        "reverse": reverse_dir,
        "dev": dev,
        "sentences": len(pairs),
        "rows": rows,
        "best": best_name,
        "gain": gain,
        "latency_30_words": {"today": today, "reranked": reranked, "slowdown_p95": slowdown},
        "default": gain >= MIN_GAIN and slowdown <= MAX_SLOWDOWN,
        **(
            {"checked": _checked(forward, reverse, test, limit, best["beam"], best["weight"])} if test else {}
        ),
    }


def table(results: dict) -> str:
    rows = results["rows"]
    domains = list(next(iter(rows.values()))["domains"])
    lat = results["latency_30_words"]
    lines = [
        f"`{results['forward']}` reranked by `{results['reverse']}` on {results['sentences']:,} dev pairs "
        f"(`{results['dev']}`): log p(y|x)/|y| + λ · log p(x|y)/|x| over the n-best of the app's search at "
        "each beam. chrF by domain and their mean.",
        "",
        "| search | mean | " + " | ".join(domains) + " |",
        "|---" * (len(domains) + 2) + "|",
    ]
    for name, row in rows.items():
        cells = " | ".join(f"{row['domains'][d]:.1f}" for d in domains)
        lines.append(f"| {name} | **{row['mean']:.2f}** | {cells} |")
    lines += [
        "",
        f"Best: **{results['best']}**, {results['gain']:+.2f} mean dev chrF over today's default. A 30-word "
        f"sentence: p50/p95 {lat['today']['p50_ms']}/{lat['today']['p95_ms']} ms today, "
        f"{lat['reranked']['p50_ms']}/{lat['reranked']['p95_ms']} ms reranked ({lat['slowdown_p95']}x at p95). "
        + (
            "It becomes the app's default."
            if results["default"]
            else f"It stays off by default (needs +{MIN_GAIN} and at most {MAX_SLOWDOWN}x); Beam search "
            "shows it beside the other score parts."
        ),
    ]
    if "checked" in results:
        lines += _checked_table(results["checked"], results["best"])
    return "\n".join(lines)


def _checked_table(checked: dict, best: str) -> list[str]:
    today, reranked = checked["today"], checked["reranked"]
    domains = list(today["domains"])
    lines = [
        "",
        f"**On the test split** ({checked['sentences']:,} pairs, `{checked['test']}`), {best} as chosen on dev:",
        "",
        "| search | mean | " + " | ".join(domains) + " |",
        "|---" * (len(domains) + 2) + "|",
    ]
    for name, row in ((TODAY, today), (f"{best} (reranked)", reranked)):
        cells = " | ".join(f"{row['domains'][d]:.1f}" for d in domains)
        lines.append(f"| {name} | **{row['mean']:.2f}** | {cells} |")
    lines += [
        "",
        f"Test gain: {reranked['mean'] - today['mean']:+.2f} mean chrF. The lecture's ten, today → reranked:",
        "",
        "| English | today's default | reranked |",
        "|---|---|---|",
    ]
    lines += [
        f"| {row['source']} | {row['today']} | {row['reranked']}{'' if row['reranked'] != row['today'] else ' (same)'} |"
        for row in checked["lecture"]
    ]
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--forward", default="checkpoints/enko-general-additive")
    parser.add_argument("--reverse", default="checkpoints/koen-general-additive")
    parser.add_argument("--dev", default="data/enko-general/dev.tsv")
    parser.add_argument("--test", default=None, help="score the setting chosen on dev on this split too")
    parser.add_argument("--sizes", default="5,10")
    parser.add_argument("--weights", default="0,0.1,0.2,0.3,0.5,0.7,1")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    weights = [float(w) for w in args.weights.split(",")]
    results = run(args.forward, args.reverse, args.dev, sizes, weights, args.limit, args.repeats, args.test)
    print(table(results))
    return results
