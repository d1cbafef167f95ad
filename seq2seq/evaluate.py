"""Scoring a checkpoint on a test split: corpus chrF and BLEU, by domain and by source length (the
lecture's point 4), with every sentence diagnosed.

Writes next to the checkpoint (or into `out`):
- eval.jsonl.gz: one line per sentence (src, ref, hyp, domain, chrF, tokens, attention, diagnostics);
- eval_buckets.json: chrF/BLEU per source-length bucket;
- eval_summary.json: corpus chrF and BLEU (char-tokenised for Korean), and the same per domain.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sacrebleu.metrics import BLEU, CHRF
from tqdm import tqdm

from .checkpoint import BUCKETS_FILE
from .data import LENGTH_BUCKETS, bucket_name, read_pairs_tsv
from .decoding import APP_SEARCH, Search
from .diagnostics import sentence_row
from .jsonfiles import read_json, read_jsonl, write_json, write_jsonl
from .translator import load_translator

EVAL_FILE, SUMMARY_FILE = "eval.jsonl.gz", "eval_summary.json"  # and BUCKETS_FILE: checkpoint.py
LEGACY_EVAL_FILE = "eval.jsonl"  # uncompressed, as checkpoints before the mixed corpus ship it


def bleu_tokenize(target_lang: str) -> str:
    """sacrebleu's 13a splits Korean poorly and its CJK tokenisers need downloads: use characters."""
    return "char" if target_lang in ("ko", "ja", "zh") else "13a"


def corpus_score(rows: list[dict], tokenize: str) -> dict[str, Any]:
    """n, chrF and BLEU of a group of eval rows (None when the group is empty), each pair against its own
    reference; and chrF of each source sentence once, against all of its references (`chrf_all_refs`):
    Tatoeba's "How are you?" has both 안녕하세요? and 어떻게 지내니?, and either is right."""
    if not rows:
        return {"n": 0, "chrf": None, "bleu": None, "sources": 0, "chrf_all_refs": None}
    hyps, refs = [r["hyp"] for r in rows], [[r["ref"] for r in rows]]
    grouped: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for r in rows:  # the same source in one domain decodes to the same output: keep its first
        grouped.setdefault((r.get("domain", ""), r["src"]), (r["hyp"], []))[1].append(r["ref"])
    widest = max(len(references) for _, references in grouped.values())
    streams = [[group[k] if k < len(group) else None for _, group in grouped.values()] for k in range(widest)]
    return {
        "n": len(rows),
        "chrf": round(CHRF().corpus_score(hyps, refs).score, 2),
        "bleu": round(BLEU(tokenize=tokenize).corpus_score(hyps, refs).score, 2),
        "sources": len(grouped),
        "chrf_all_refs": round(CHRF().corpus_score([h for h, _ in grouped.values()], streams).score, 2),
    }


def score_by_length(rows: list[dict], tokenize: str) -> list[dict]:
    buckets = []
    for low, high in LENGTH_BUCKETS:
        name = bucket_name(low, high)
        buckets.append({"bucket": name, **corpus_score([r for r in rows if r["bucket"] == name], tokenize)})
    return buckets


def score_by_domain(rows: list[dict], tokenize: str) -> dict[str, dict]:
    """Per domain: its corpus scores and its scores by length. Empty when the split has no domains."""
    domains = sorted({r.get("domain", "") for r in rows} - {""})
    out = {}
    for domain in domains:
        members = [r for r in rows if r.get("domain") == domain]
        out[domain] = {**corpus_score(members, tokenize), "buckets": score_by_length(members, tokenize)}
    return out


def evaluate_checkpoint(
    checkpoint: str | Path,
    test_tsv: str | Path,
    search: Search | None = None,
    out: str | Path | None = None,
    device: str | None = None,
    limit: int | None = None,
    target_lang: str | None = None,
    batch_size: int = 32,
    show_progress: bool = True,
) -> dict:
    """Translate the test split (the app's search unless `search` says otherwise), score and diagnose it,
    save the files: the scores are those of the translations a user sees."""
    search = search or APP_SEARCH
    translator = load_translator(checkpoint, device)
    target_lang = target_lang or translator.languages[1]  # Korean for English→Korean, English the other way
    pairs = read_pairs_tsv(test_tsv)[:limit]
    started = time.perf_counter()
    with tqdm(total=len(pairs), desc="translating", disable=not show_progress) as bar:
        results = translator.translate_batch(
            [p.source for p in pairs], search, batch_size=batch_size, progress=bar.update
        )
    seconds = time.perf_counter() - started
    rows = [sentence_row(p.source, p.target, r, p.domain) for p, r in zip(pairs, results)]
    tokenize = bleu_tokenize(target_lang)
    whole = corpus_score(rows, tokenize)
    summary = {
        "checkpoint": translator.name,
        "test_file": str(test_tsv),
        "sentences": len(rows),
        "beam_size": search.beam_size,
        "coverage": search.coverage,  # the rest of the search, so that a score says how it was searched
        "no_repeat": search.no_repeat,
        "bleu_tokenize": tokenize,
        "chrf": whole["chrf"],
        "bleu": whole["bleu"],
        "sources": whole["sources"],
        "chrf_all_refs": whole["chrf_all_refs"],
        "sentences_per_s": round(len(rows) / max(seconds, 1e-9), 2),
        "device": str(translator.device),
    }
    by_domain = score_by_domain(rows, tokenize)
    if by_domain:
        summary["domains"] = by_domain
    buckets = score_by_length(rows, tokenize)
    folder = Path(out or checkpoint)
    write_jsonl(folder / EVAL_FILE, rows)
    (folder / LEGACY_EVAL_FILE).unlink(missing_ok=True)  # one eval file per folder, never a stale one
    write_json(folder / BUCKETS_FILE, buckets, indent=2)
    write_json(folder / SUMMARY_FILE, summary, indent=2)
    if show_progress:
        _print_scores(translator.name, summary, buckets, by_domain)
    return {"summary": summary, "buckets": buckets}


def _print_scores(name: str, summary: dict, buckets: list[dict], by_domain: dict) -> None:
    tokenize = summary["bleu_tokenize"]
    print(
        f"{name}: chrF {summary['chrf']:.2f}  BLEU ({tokenize}) {summary['bleu']:.2f}  on {summary['sentences']} "
        f"sentences, beam {summary['beam_size']}, {summary['sentences_per_s']:.1f} sent/s"
    )
    for domain, scores in by_domain.items():
        print(
            f"  {domain:>12}  n={scores['n']:5d}  chrF {scores['chrf']:6.2f}  BLEU {scores['bleu']:6.2f}"
            f"  (all references: {scores['sources']} sources, chrF {scores['chrf_all_refs']:6.2f})"
        )
    print("by source length (words):")
    for b in buckets:
        score = "   -" if b["chrf"] is None else f"chrF {b['chrf']:6.2f}  BLEU {b['bleu']:6.2f}"
        print(f"  {b['bucket']:>6}  n={b['n']:5d}  {score}")


def read_eval(folder: str | Path) -> tuple[dict | None, list[dict] | None, list[dict] | None]:
    """(summary, buckets, rows) saved by `evaluate_checkpoint`; None for what is missing."""
    folder = Path(folder)
    path = next((folder / n for n in (EVAL_FILE, LEGACY_EVAL_FILE) if (folder / n).is_file()), None)
    rows = read_jsonl(path) if path is not None else None
    return read_json(folder / SUMMARY_FILE), read_json(folder / BUCKETS_FILE), rows


def buckets_table(buckets_by_model: dict[str, list[dict]]) -> pd.DataFrame:
    """eval_buckets.json of several models side by side: bucket, n, then chrF and BLEU per model.

    A bucket with no test sentence has no score: NaN here, shown as "–" by the app.
    """
    table: dict[str, dict[str, Any]] = {}
    for model, buckets in buckets_by_model.items():
        for b in buckets:
            entry = table.setdefault(b["bucket"], {"source words": b["bucket"], "n": b.get("n")})
            entry[f"{model} chrF"] = b.get("chrf")
            entry[f"{model} BLEU"] = b.get("bleu")
    frame = pd.DataFrame(list(table.values()))
    scores = [c for c in frame.columns if c not in ("source words", "n")]
    frame[scores] = frame[scores].apply(pd.to_numeric, errors="coerce").astype("float64")  # empty: NaN
    return frame


def domains_table(summaries: dict[str, dict | None]) -> pd.DataFrame:
    """Per domain, n and chrF/BLEU of each model's eval_summary.json; empty when none has domains."""
    table: dict[str, dict[str, Any]] = {}
    for model, summary in summaries.items():
        for domain, scores in ((summary or {}).get("domains") or {}).items():
            entry = table.setdefault(domain, {"domain": domain, "n": scores.get("n")})
            entry[f"{model} chrF"] = scores.get("chrf")
            entry[f"{model} BLEU"] = scores.get("bleu")
    return pd.DataFrame(list(table.values()))


def sentence_chrf(hypothesis: str, references: str | list[str]) -> float:
    """chrF against the closest of the references (sacrebleu keeps the best-matching one)."""
    references = [references] if isinstance(references, str) else list(references)
    return round(CHRF().sentence_score(hypothesis, references).score, 2)


def test_references(folder: str | Path, source: str) -> tuple[list[str], list[str]] | None:
    """(references, their domains) when `source` is a sentence of the checkpoint's test split, else None.
    A sentence may be there more than once ("How are you?" has three translations, from KSS and JHE):
    every translation is a reference."""
    path = Path(folder) / "test.tsv"
    if not path.is_file():
        return None
    found = [pair for pair in read_pairs_tsv(path) if pair.source == source]
    if not found:
        return None
    return [p.target for p in found], sorted({p.domain for p in found if p.domain})


def long_examples(rows_a: list[dict], rows_b: list[dict], min_words: int = 30, n: int = 5) -> list[dict]:
    """Test sentences of `min_words`+ words where model A beats model B by the most chrF (by default the
    attention model against the fixed context vector): the lecture's point 4, one sentence at a time."""
    by_source = {r["src"]: r for r in rows_b}
    pairs = [
        (a, by_source[a["src"]])
        for a in rows_a
        if a.get("src_words", 0) >= min_words and a["src"] in by_source
    ]
    pairs.sort(key=lambda ab: ab[1]["chrf"] - ab[0]["chrf"])
    return [{"src": a["src"], "ref": a["ref"], "chrf_a": a["chrf"], "chrf_b": b["chrf"], "domain": a.get("domain", "")}
            for a, b in pairs[:n]]  # fmt: skip


AGREEMENT_FILE = "agreement.json"
ALL_GROUP = "all"  # agreement.json's group of every scored sentence; the others are "kind: value"


def group_name(kind: str, value: str) -> str:
    """An agreement.json group: ("domain", "tatoeba") -> "domain: tatoeba", ("words", "1-5") -> "words: 1-5"."""
    return f"{kind}: {value}"


def group_parts(group: str) -> tuple[str, str]:
    """The inverse of `group_name`; ("all", "") for the whole split."""
    kind, _, value = group.partition(": ")
    return kind, value


def attention_agreement(
    checkpoint: str | Path, samples: dict[str, int | None] | None = None, show_progress: bool = True
) -> dict:
    """Attention against gradient attribution on the evaluated test split (eval.jsonl): per method, the
    share of output tokens whose most-attended source token is the most-attributed one, and the mean
    rank correlation, over all sentences, by domain and by source length. `samples` caps the sentences
    per domain for a method (integrated gradients costs about 16 backward passes per sentence)."""
    from .attribution import agreement

    samples = samples if samples is not None else {"grad_x_input": None, "integrated_gradients": 60}
    translator = load_translator(checkpoint)
    if not translator.has_attention:
        raise ValueError(f"{translator.name} has no attention to compare with attribution")
    _, _, rows = read_eval(checkpoint)
    if not rows:
        raise ValueError(f"{checkpoint}: evaluate it first (no eval.jsonl.gz)")
    out: list[dict] = []
    for method, cap in samples.items():
        taken: dict[str, int] = {}
        chosen = []
        for row in rows:  # the first `cap` of each domain, in file order: the same sentences every time
            domain = row.get("domain", "")
            if cap is None or taken.get(domain, 0) < cap:
                taken[domain] = taken.get(domain, 0) + 1
                chosen.append(row)
        scored = []
        for row in tqdm(chosen, desc=method, disable=not show_progress):
            saliency = translator.attribute(row["src_tokens"], row["tgt_tokens"], method)
            scored.append((row, agreement(row["attention"], saliency)))
        # all, then each named domain (a test split without a domain column has none), then lengths in order
        domains = sorted({row["domain"] for row, _ in scored if row.get("domain")})
        lengths = [bucket_name(low, high) for low, high in LENGTH_BUCKETS]
        groups = {ALL_GROUP: scored}
        groups |= {
            group_name("domain", d): [(r, s) for r, s in scored if r.get("domain") == d] for d in domains
        }
        groups |= {group_name("words", b): [(r, s) for r, s in scored if r["bucket"] == b] for b in lengths}
        groups = {name: members for name, members in groups.items() if members}
        for name, members in groups.items():
            tokens = sum(s.rows for _, s in members)
            out.append({
                "method": method,
                "group": name,
                "sentences": len(members),
                "top_match": round(sum(s.top_match * s.rows for _, s in members) / max(tokens, 1), 4),
                "rank_correlation": round(float(np.nanmean([s.rank_correlation for _, s in members])), 4),
            })  # fmt: skip
    report = {"checkpoint": translator.name, "rows": out}
    write_json(Path(checkpoint) / AGREEMENT_FILE, report, indent=1)
    return report
