"""Ship a trained run: copy its best checkpoint, its test split with attribution, evaluate it, and
write the model card (data, config, metrics, training time, hardware) from the files themselves."""

from __future__ import annotations

import lzma
import math
import shutil
from pathlib import Path

from .checkpoint import (
    CARD_FILE,
    CONFIG_FILE,
    MODEL_FILE,
    REQUIRED_FILES,
    CheckpointError,
    atomic_write_bytes,
    read_config,
)
from .data import read_pairs_tsv
from .decoding import APP_SEARCH, app_search
from .device import hardware
from .diagnostics import mean_sharpness, sharpness
from .evaluate import AGREEMENT_FILE, ALL_GROUP, evaluate_checkpoint, group_parts, read_eval
from .familiarity import FAMILIARITY_FILE
from .families import direction_of
from .general import LICENCES, NONCOMMERCIAL
from .jsonfiles import EVAL_DECIMALS, read_json, read_jsonl
from .lecture import lecture_sentences
from .model import ATTENTIONS
from .notices import repetition
from .snapshots import METRICS_FILE, copy_log_until
from .timeline import TIMELINE_FILE
from .timeline import write_shipped as write_shipped_timeline
from .translator import load_translator

TEST_FILE, TRAIN_FILE, ATTRIBUTION_FILE = "test.tsv", "train.tsv.xz", "ATTRIBUTION.md"
MPL = (
    "English and Korean text from LibreOffice's help pages and UI strings, as shipped by Debian "
    "(libreoffice-help-en-us, libreoffice-help-ko, libreoffice-l10n-ko). Copyright The Document Foundation "
    "and LibreOffice contributors, licensed under the Mozilla Public License 2.0 (https://www.mozilla.org/MPL/2.0/)."
)


NONCOMMERCIAL_NOTE = (
    "**For teaching, study and research only:** {domains} carry non-commercial terms (KSS: CC BY-NC-SA 4.0; "
    "XNLI's English: CC BY-NC 4.0), and so does this model. `python -m seq2seq data general --commercial-only` "
    "builds the corpus without them, for a model without that limit."
)


def attribution(domains: set[str]) -> str:
    """Who wrote the shipped pairs, and under which licence, for the domains they come from."""
    lines = ["# Attribution of the shipped sentence pairs", ""]
    if "libreoffice" in domains:
        lines.append(f"- `libreoffice`: {MPL}")
    lines += [f"- `{d}`: {LICENCES[d]}" for d in sorted(domains) if d in LICENCES and d != "libreoffice"]
    if "tatoeba" in domains:
        lines += ["", "Tatoeba pairs carry their sentence ids and authors in the fourth TSV column."]
    if domains & set(NONCOMMERCIAL):
        lines += ["", NONCOMMERCIAL_NOTE.format(domains=", ".join(sorted(domains & set(NONCOMMERCIAL))))]
    return "\n".join(lines) + "\n"


def export_checkpoint(
    run_checkpoint: str | Path,
    dest: str | Path,
    test_tsv: str | Path,
    beam_size: int = 5,
    data_md: str | Path | None = None,
    notes_md: str | Path | None = None,
    train_tsv: str | Path | None = None,
) -> Path:
    """run_dir/best -> checkpoints/<name> with test.tsv, eval files and card.md; `train_tsv` ships the
    training pairs too (xz-compressed), for the nearest-example search and the familiarity warning."""
    src, dest = Path(run_checkpoint), Path(dest)
    step = (read_config(src).get("progress") or {}).get("step")  # refuse to ship something incomplete
    for extra in (notes_md, train_tsv):
        if extra and not Path(extra).is_file():  # found out before dest is overwritten, not after
            raise FileNotFoundError(f"{extra}: no such file")
    dest.mkdir(parents=True, exist_ok=True)
    for name in REQUIRED_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dest / name)
    # best/ carries the whole run's log, written at every evaluation: ship it only up to these weights
    copy_log_until(src, dest, step if isinstance(step, int) else math.inf)
    if (dest / TIMELINE_FILE).is_file():
        write_shipped_timeline(dest / TIMELINE_FILE, dest / TIMELINE_FILE)
    shutil.copy2(test_tsv, dest / TEST_FILE)
    domains = {p.domain or "libreoffice" for p in read_pairs_tsv(test_tsv)}
    if train_tsv:
        atomic_write_bytes(dest / TRAIN_FILE, lzma.compress(Path(train_tsv).read_bytes(), preset=9))
        domains |= {p.domain or "libreoffice" for p in read_pairs_tsv(train_tsv)}
    (dest / ATTRIBUTION_FILE).write_text(attribution(domains), encoding="utf-8")
    evaluate_checkpoint(dest, dest / TEST_FILE, app_search(beam_size))
    write_card(dest, data_md, notes_md)
    return dest


def _model_lines(folder: Path, config: dict) -> list[str]:
    model = config["model"]
    kind = ATTENTIONS[model["attention"]]
    return [
        "## Model",
        f"- Encoder: bidirectional {model['encoder_rnn'].upper()}, {model['hidden_size']} units per "
        f"direction; embeddings {model['embed_dim']}.",
        f"- Decoder: GRU with {2 * model['hidden_size']} units, input feeding "
        f"{'on' if model['input_feeding'] else 'off'}; {kind.label}"
        + (f" (attention size {model['attention_dim']})" if model["attention"] == "additive" else "")
        + f": ${kind.formula}$.",
        f"- Vocabularies (SentencePiece unigram): {model['src_vocab_size']} {_names(config)[0]}, "
        f"{model['tgt_vocab_size']} {_names(config)[1]} pieces"
        + (
            "; the decoder's output layer is its embedding matrix (tied)."
            if model.get("tie_embeddings")
            else "."
        ),
        f"- Parameters: {config.get('parameters', 0):,}; weights stored in fp16 "
        f"({(folder / MODEL_FILE).stat().st_size / 1e6:.1f} MB).",
        "",
    ]


def _names(config: dict) -> tuple[str, str]:
    """(source, target) language names of a checkpoint's direction."""
    return ("Korean", "English") if direction_of(config) == "koen" else ("English", "Korean")


def _data_lines(config: dict) -> list[str]:
    domains = config.get("train_domains")
    lines = ["## Data"]
    if domains:
        listed = ", ".join(f"{d} {n:,}" for d, n in domains.items())
        command = (
            "`python -m seq2seq data mixed` (LibreOffice help and UI strings beside the general text)"
            if "libreoffice" in domains
            else "`python -m seq2seq data general` (everyday and general English, no software help)"
        )
        if direction_of(config) == "koen":
            command = "`python -m seq2seq data general --direction koen` (the general pairs, Korean first)"
        lines.append(
            f"- {config.get('train_pairs', 0):,} training pairs after length filtering, by domain: {listed}; "
            f"built by {command}."
        )
        lines += [f"- `{d}`: {LICENCES[d]}" for d in domains if d in LICENCES]
        restricted = sorted(set(domains) & set(NONCOMMERCIAL))
        if restricted:
            lines.append("- " + NONCOMMERCIAL_NOTE.format(domains=", ".join(restricted)))
    else:
        lines += [
            f"- LibreOffice help paragraphs and UI strings (Debian packages), {config.get('train_pairs', 0):,} "
            "training pairs after length filtering; built by `python -m seq2seq data libreoffice --lang ko`.",
            "- Licence of the text: MPL-2.0 (The Document Foundation, LibreOffice contributors).",
        ]
    rates = config.get("unknown_rate") or {}
    if any(d for d in rates):
        listed = ", ".join(f"{d} {r['src']:.2%} / {r['tgt']:.2%}" for d, r in rates.items())
        source, target = _names(config)
        lines.append(f"- Unknown pieces (`<unk>`) on the dev split, {source} / {target}: {listed}.")
    return [*lines, ""]


def _training_lines(folder: Path, config: dict) -> list[str]:
    train, model = config.get("train", {}), config["model"]
    progress, averaged = config.get("progress", {}), config.get("averaged")
    metrics = read_jsonl(folder / METRICS_FILE)
    best = max(metrics, key=lambda r: r["dev_chrf"]) if metrics else None
    # twins shipped at an equal step: one of them may be past its best evaluation on dev
    which = (
        "best checkpoint"
        if best is None or progress.get("step") == best["step"]
        else "the checkpoint of that step's evaluation, not the best on dev"
    )
    lines = [
        "## Training",
        f"- Config: `configs/{folder.name}.yaml`; Adam lr {train.get('lr')}, batch {train.get('batch_tokens')} "
        f"tokens, dropout {model['dropout']}, label smoothing {train.get('label_smoothing')}, "
        f"plateau decay ×{train.get('lr_decay')}, seed {train.get('seed')}"
        + (
            f", domains mixed at temperature {train['mix_temperature']:g}"
            if config.get("train_domains")
            else ""
        )
        + ".",
        f"- Steps: {progress.get('step', '?')} ({'last snapshot' if averaged else which}), "
        + (f"{progress['train_tokens']:,} target tokens, " if progress.get("train_tokens") else "")
        + f"training time {progress.get('elapsed', 0) / 60:.0f} min on {config.get('device', '?')} "
        f"x{config.get('world_size', 1)}"
        + (", bf16 autocast" if train.get("precision") == "bf16" else "")
        + ".",
        f"- Hardware: {config.get('hardware', hardware())}.",
    ]
    if config.get("init_from"):
        start = config["init_from"]
        lines.append(
            f"- Continued from `{start['checkpoint']}` at step {start['step']} (`train --init-from`): "
            "weights, step, lr and log carried on, Adam's moments started afresh."
        )
    if best is not None:
        per = " per domain, averaged over the domains" if best.get("dev_chrf_by_domain") else ""
        mine = next((r for r in metrics if r["step"] == progress.get("step")), None)
        these = (
            f"; these weights {mine['dev_chrf']:.2f} at step {mine['step']}"
            if mine is not None and mine["step"] != best["step"] and not averaged
            else ""
        )
        lines.append(
            f"- Best dev chrF (greedy, {train.get('eval_sentences')} sentences{per}): "
            f"{best['dev_chrf']:.2f} at step {best['step']}{these}; the full log is `metrics.jsonl`."
        )
    if averaged:
        steps = averaged["steps"]
        lines.append(
            f"- Weights: the average of the {len(steps)} snapshots at steps {steps[0]}–{steps[-1]} "
            f"(`python -m seq2seq average`): dev chrF {averaged['dev_chrf']:.2f}, against "
            f"{averaged['best_dev_chrf']:.2f} for the best single checkpoint."
        )
    if (folder / TIMELINE_FILE).is_file():
        snapshots = (read_json(folder / TIMELINE_FILE) or {}).get("snapshots", [])
        every = train.get("timeline_every")
        steps = [s["step"] for s in snapshots]
        regular = every and all(b - a <= every for a, b in zip(steps, steps[1:]))
        between = (
            f" and every {every} steps between them"
            if regular
            else (" and some between them" if every else "")
        )
        lines.append(
            f"- `timeline.json`: the attention of the probe sentences in {len(snapshots)} snapshots from step "
            f"{steps[0] if steps else 0}, at every evaluation{between} (the Training page plays them)."
        )
    return [*lines, ""]


def _score(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def _search_words(summary: dict) -> str:
    """How the test split was searched, as the summary says (older summaries name the beam alone)."""
    words = [f"beam {summary['beam_size']}" if summary["beam_size"] > 1 else "greedy"]
    if summary.get("coverage"):
        words.append(f"coverage penalty β = {summary['coverage']:g}")
    if summary.get("no_repeat"):
        words.append(f"no repeated piece {summary['no_repeat']}-gram")
    return ", ".join(words)


def _test_lines(summary: dict, buckets: list[dict] | None, rows: list[dict]) -> list[str]:
    lines = [
        f"## Test scores ({summary['sentences']} held-out pairs, {_search_words(summary)})",
        f"- chrF **{summary['chrf']:.2f}**, BLEU {summary['bleu']:.2f} (sacrebleu, "
        f'`tokenize="{summary["bleu_tokenize"]}"`).',
        f"- Decoding speed: {summary['sentences_per_s']:.1f} sentences/s on {summary['device']}.",
    ]
    several = summary.get("chrf_all_refs") is not None and summary.get("sources", 0) < summary["sentences"]
    if several:  # older summaries, and splits of one reference a sentence, have no such column
        lines.append(
            f"- Where a source sentence has several references, each pair scores against its own; "
            f"scored once against all of them ({summary['sources']} source sentences), chrF is "
            f"{summary['chrf_all_refs']:.2f}."
        )
    lines.append("")
    if summary.get("domains"):
        head = "| domain | n | chrF | BLEU |" + (" sources | chrF, all references |" if several else "")
        lines += [head, "|---|---|---|---|" + ("---|---|" if several else "")]
        for domain, scores in summary["domains"].items():
            row = f"| {domain} | {scores['n']} | {_score(scores['chrf'])} | {_score(scores['bleu'])} |"
            if several:
                row += f" {scores.get('sources', '–')} | {_score(scores.get('chrf_all_refs'))} |"
            lines.append(row)
        lines.append("")
    sharp = any(r.get("attention") for r in rows)  # a fixed-context model has no α to be sharp
    extra = " mean largest α | mean entropy |" if sharp else ""
    lines += [
        f"| source words | n | chrF | BLEU | output loops |{extra}",
        "|---|---|---|---|---|" + "---|" * (2 * sharp),
    ]
    for b in buckets or []:
        members = [r for r in rows if r.get("bucket") == b["bucket"]]
        loops = (
            f"{sum(bool(repetition(r.get('hyp', ''))) for r in members) / len(members):.1%}"
            if members
            else "–"
        )
        cells = " {} | {} |".format(*_sharpness(members)) if sharp else ""
        lines.append(
            f"| {b['bucket']} | {b['n']} | {_score(b['chrf'])} | {_score(b['bleu'])} | {loops} |{cells}"
        )
    lines += [
        "",
        "*Output loops*: the share of translations that say the same 1 to 4 words three or more times in a row.",
    ]
    if sharp:
        peak, entropy = _sharpness(rows)
        lines.append(
            f"*Sharpness*: per output token, the largest weight max_j α_ij (1 = all on one source token) and the "
            f"entropy of α_i· in nats (0 = one token), averaged over every output token of the split: {peak} and "
            f"{entropy} overall (from `eval.jsonl.gz`, whose α are rounded to {EVAL_DECIMALS} decimals)."
        )
    return lines


def _sharpness(rows: list[dict]) -> tuple[str, str]:
    """Mean largest α and mean entropy over every output token of `rows` ('–' without attention)."""
    found = mean_sharpness(row.get("attention") or None for row in rows)
    return ("–", "–") if found is None else (f"{found[0]:.3f}", f"{found[1]:.2f}")


def _lecture_lines(folder: Path) -> list[str]:
    """What the model makes of the sentences a class types first, at the app's default search."""
    try:
        translator = load_translator(folder)
    except (CheckpointError, OSError, ValueError):
        return []
    sharp = translator.model.has_attention
    lines = [
        "",
        f"## The lecture's sentences (the app's default search: beam {APP_SEARCH.beam_size})",
        "",
        "| sentence | output | loops |" + (" mean largest α | mean entropy |" if sharp else ""),
        "|---|---|---|" + "---|---|" * sharp,
    ]
    sentences = lecture_sentences(translator.direction)
    found = translator.translate_batch(list(sentences), APP_SEARCH)
    for sentence, result in zip(sentences, found):
        cells = ""
        if result.attention is not None:
            peaks, entropies = sharpness(result.attention)
            cells = f" {peaks.mean():.3f} | {entropies.mean():.2f} |"
        loops = "yes" if repetition(result.text) else "no"
        lines.append(f"| {sentence} | {result.text} | {loops} |{cells}")
    return lines


def _agreement_lines(report: dict | None) -> list[str]:
    """Attention vs gradient attribution on the test split (`python -m seq2seq agreement`)."""
    if not report or not report.get("rows"):
        return []
    lines = [
        "",
        "## Attention vs attribution (test split)",
        "Share of output tokens whose most-attended source token is also the most-attributed one, and the mean "
        "Spearman correlation of α and attribution per output token (`agreement.json`).",
        "",
        "| method | group | sentences | same top token | rank correlation |",
        "|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        if group_parts(row["group"])[0] in (ALL_GROUP, "domain") or row["method"] == "grad_x_input":
            lines.append(
                f"| {row['method']} | {row['group']} | {row['sentences']} | {row['top_match']:.2f} | {row['rank_correlation']:.2f} |"
            )
    return lines


def _familiarity_lines(data: dict | None) -> list[str]:
    """When the app warns that a sentence is far from the training data (`python -m seq2seq calibrate`)."""
    if not data or "report" not in data or "held_out" not in data["report"]:
        return []
    report, held = data["report"], data["report"]["held_out"]
    alarms = ", ".join(f"{d} {r:.1%}" for d, r in held["false_alarms"].items())
    signals = ", ".join(f"{name} {w:+.2f}" for name, w in report["weights"].items())
    by_source = held.get("detected_by_source", {})
    detected = (
        f"the unseen domains {', '.join(f'{name} {rate:.1%}' for name, rate in by_source.items())} "
        f"({held['detected']:.1%} together)"
        if by_source
        else f"the unseen domain ({report.get('unseen_domain', '?')}): {held['detected']:.1%}"
    )
    return [
        "",
        "## Far from the training data",
        "- The app warns when a logistic score of the translation's signals passes a threshold calibrated on half "
        f"of the dev split and of text from a domain the model never saw (`familiarity.json`; weights: {signals}).",
        f"- On the held-out halves: false alarms on the dev split {alarms}; detected on {detected}.",
    ]


def write_card(
    folder: str | Path, data_md: str | Path | None = None, notes_md: str | Path | None = None
) -> str:
    """card.md from the checkpoint's own files; `notes_md` adds what they cannot know (e.g. a shared CPU)."""
    folder = Path(folder)
    config = read_json(folder / CONFIG_FILE)
    summary, buckets, rows = read_eval(folder)
    kind = ATTENTIONS[config["model"]["attention"]]
    lines = [
        f"# {folder.name}: {' → '.join(_names(config))}, {kind.label}",
        "",
        "An RNN encoder-decoder trained for Seq2Seq Attention Explorer.",
        "",
        *_model_lines(folder, config),
        *_data_lines(config),
        *_training_lines(folder, config),
    ]
    if summary:
        lines += _test_lines(summary, buckets, rows or [])
    lines += _lecture_lines(folder)
    lines += _agreement_lines(read_json(folder / AGREEMENT_FILE))
    lines += _familiarity_lines(read_json(folder / FAMILIARITY_FILE))
    lines += [
        "",
        "Per-sentence results with attention and diagnostics: `eval.jsonl.gz`. "
        f"Test split: `{TEST_FILE}`"
        + (f", training pairs: `{TRAIN_FILE}`" if (folder / TRAIN_FILE).is_file() else "")
        + f" (see `{ATTRIBUTION_FILE}`).",
        "",
    ]
    if notes_md:
        lines += ["## Training conditions", "", Path(notes_md).read_text(encoding="utf-8").strip(), ""]
    if data_md and Path(data_md).is_file():
        corpus = "\n" + Path(data_md).read_text(encoding="utf-8")
        lines += ["## Corpus card", "", corpus.replace("\n## ", "\n#### ").replace("\n# ", "\n### ")]
    text = "\n".join(lines)
    atomic_write_bytes(folder / CARD_FILE, text.encode("utf-8"))
    return text
