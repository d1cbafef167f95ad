"""Corpus scores, scores by source length (the lecture's point 4), and attention diagnostics.

Writes next to the checkpoint (or into `out`):
- eval.jsonl: one line per sentence (src, ref, hyp, chrf, lengths, tokens, attention, diagnostics);
- eval_buckets.json: chrF/BLEU per source-length bucket;
- eval_summary.json: corpus BLEU (char-tokenised for Korean) and chrF.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sacrebleu.metrics import BLEU, CHRF
from tqdm import tqdm

from .checkpoint import atomic_write_bytes
from .data import read_pairs_tsv
from .translator import load_translator

LENGTH_BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 30), (31, None))
DROPPED_BELOW, REPEATED_ABOVE = 0.3, 2.0
EVAL_FILE, BUCKETS_FILE, SUMMARY_FILE = "eval.jsonl", "eval_buckets.json", "eval_summary.json"


def bucket_name(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def length_bucket(words: int) -> str:
    for low, high in LENGTH_BUCKETS:
        if high is None or words <= high:
            return bucket_name(low, high)
    raise AssertionError("unreachable")


def bleu_tokenize(target_lang: str) -> str:
    """sacrebleu's 13a splits Korean poorly and its CJK tokenisers need downloads: use characters."""
    return "char" if target_lang in ("ko", "ja", "zh") else "13a"


def attention_diagnostics(attention: np.ndarray) -> dict:
    """Coverage Σ_i α_ij per source token, and flags for tokens that look dropped or repeated.

    The last source token is </s>, which soaks up attention by design; flags ignore it.
    Monotonicity is the share of steps whose most-attended source position does not move back.
    """
    coverage = attention.sum(axis=0)
    words = coverage[:-1] if len(coverage) > 1 else coverage
    rows = np.clip(attention, 1e-12, 1.0)
    entropy = float(-(rows * np.log(rows)).sum(axis=1).mean())
    peaks = attention.argmax(axis=1)
    forward = float((np.diff(peaks) >= 0).mean()) if len(peaks) > 1 else 1.0
    return {
        "coverage": np.round(coverage.astype(np.float64), 4).tolist(),
        "dropped": [int(j) for j in np.nonzero(words < DROPPED_BELOW)[0]],
        "repeated": [int(j) for j in np.nonzero(words > REPEATED_ABOVE)[0]],
        "dropped_share": float((words < DROPPED_BELOW).mean()),
        "repeated_share": float((words > REPEATED_ABOVE).mean()),
        "entropy": round(entropy, 4),
        "monotonicity": round(forward, 4),
    }


def sentence_row(source: str, reference: str, result) -> dict:
    """One sentence scored and diagnosed: a line of eval.jsonl (also used for uploaded files)."""
    words = len(source.split())
    row = {
        "src": source,
        "ref": reference,
        "hyp": result.text,
        "chrf": round(CHRF().sentence_score(result.text, [reference]).score, 2),
        "src_words": words,
        "tgt_words": len(reference.split()),
        "bucket": length_bucket(words),
        "src_tokens": result.src_tokens,
        "tgt_tokens": result.tgt_tokens,
        "attention": None
        if result.attention is None
        else np.round(result.attention.astype(np.float64), 4).tolist(),
    }
    if result.attention is not None:
        row.update(attention_diagnostics(result.attention))
    return row


def score_by_length(rows: list[dict], tokenize: str) -> list[dict]:
    buckets = []
    for low, high in LENGTH_BUCKETS:
        name = bucket_name(low, high)
        members = [r for r in rows if r["bucket"] == name]
        entry = {"bucket": name, "n": len(members), "chrf": None, "bleu": None}
        if members:
            hyps, refs = [r["hyp"] for r in members], [[r["ref"] for r in members]]
            entry["chrf"] = round(CHRF().corpus_score(hyps, refs).score, 2)
            entry["bleu"] = round(BLEU(tokenize=tokenize).corpus_score(hyps, refs).score, 2)
        buckets.append(entry)
    return buckets


def evaluate_checkpoint(
    checkpoint: str | Path,
    test_tsv: str | Path,
    beam_size: int = 5,
    out: str | Path | None = None,
    device: str | None = None,
    limit: int | None = None,
    target_lang: str = "ko",
    batch_size: int = 32,
    show_progress: bool = True,
) -> dict:
    translator = load_translator(checkpoint, device)
    pairs = read_pairs_tsv(test_tsv)[:limit]
    started = time.perf_counter()
    with tqdm(total=len(pairs), desc="translating", disable=not show_progress) as bar:
        results = translator.translate_batch(
            [p.source for p in pairs], beam_size=beam_size, batch_size=batch_size, progress=bar.update
        )
    seconds = time.perf_counter() - started
    rows = [sentence_row(p.source, p.target, r) for p, r in zip(pairs, results)]
    tokenize = bleu_tokenize(target_lang)
    hyps, refs = [r["hyp"] for r in rows], [[r["ref"] for r in rows]]
    summary = {
        "checkpoint": translator.name,
        "test_file": str(test_tsv),
        "sentences": len(rows),
        "beam_size": beam_size,
        "bleu_tokenize": tokenize,
        "chrf": round(CHRF().corpus_score(hyps, refs).score, 2),
        "bleu": round(BLEU(tokenize=tokenize).corpus_score(hyps, refs).score, 2),
        "sentences_per_s": round(len(rows) / max(seconds, 1e-9), 2),
        "device": str(translator.device),
    }
    buckets = score_by_length(rows, tokenize)
    folder = Path(out or checkpoint)
    atomic_write_bytes(
        folder / EVAL_FILE, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    )
    atomic_write_bytes(folder / BUCKETS_FILE, json.dumps(buckets, indent=2).encode("utf-8"))
    atomic_write_bytes(folder / SUMMARY_FILE, json.dumps(summary, indent=2).encode("utf-8"))
    if show_progress:
        print(
            f"{translator.name}: chrF {summary['chrf']:.2f}  BLEU ({tokenize}) {summary['bleu']:.2f}  "
            f"on {len(rows)} sentences, beam {beam_size}, {summary['sentences_per_s']:.1f} sent/s"
        )
        print("by source length (words):")
        for b in buckets:
            score = "   -" if b["chrf"] is None else f"chrF {b['chrf']:6.2f}  BLEU {b['bleu']:6.2f}"
            print(f"  {b['bucket']:>6}  n={b['n']:5d}  {score}")
    return {"summary": summary, "buckets": buckets}


def read_eval(folder: str | Path) -> tuple[dict | None, list[dict] | None, list[dict] | None]:
    """(summary, buckets, rows) saved by `evaluate_checkpoint`; None for what is missing."""
    folder = Path(folder)

    def load(name: str):
        path = folder / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    rows = None
    if (folder / EVAL_FILE).is_file():
        with open(folder / EVAL_FILE, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    return load(SUMMARY_FILE), load(BUCKETS_FILE), rows
