"""Ship a trained run: copy its best checkpoint, its test split with attribution, evaluate it, and
write the model card (data, config, metrics, training time, hardware) from the files themselves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .checkpoint import CARD_FILE, CONFIG_FILE, REQUIRED_FILES, atomic_write_bytes, read_config
from .evaluate import evaluate_checkpoint, read_eval
from .train import METRICS_FILE, hardware, read_metrics

TEST_FILE = "test.tsv"
ATTRIBUTION = (
    "Test split: English and Korean text from LibreOffice's help pages and UI strings, as shipped by "
    "Debian (libreoffice-help-en-us, libreoffice-help-ko, libreoffice-l10n-ko). "
    "Copyright The Document Foundation and LibreOffice contributors, licensed under the Mozilla "
    "Public License 2.0 (https://www.mozilla.org/MPL/2.0/)."
)


def export_checkpoint(
    run_checkpoint: str | Path,
    dest: str | Path,
    test_tsv: str | Path,
    beam_size: int = 5,
    data_md: str | Path | None = None,
    notes_md: str | Path | None = None,
) -> Path:
    """run_dir/best -> checkpoints/<name> with test.tsv, eval files and card.md."""
    src, dest = Path(run_checkpoint), Path(dest)
    read_config(src)  # refuse to ship something incomplete
    if notes_md and not Path(notes_md).is_file():  # found out before dest is overwritten, not after
        raise FileNotFoundError(f"{notes_md}: no such notes file")
    dest.mkdir(parents=True, exist_ok=True)
    for name in (*REQUIRED_FILES, METRICS_FILE):
        if (src / name).is_file():
            shutil.copy2(src / name, dest / name)
    shutil.copy2(test_tsv, dest / TEST_FILE)
    (dest / "TEST_ATTRIBUTION.md").write_text(ATTRIBUTION + "\n", encoding="utf-8")
    evaluate_checkpoint(dest, dest / TEST_FILE, beam_size=beam_size)
    write_card(dest, data_md, notes_md)
    return dest


def write_card(
    folder: str | Path, data_md: str | Path | None = None, notes_md: str | Path | None = None
) -> str:
    """card.md from the checkpoint's own files; `notes_md` adds what they cannot know (e.g. a shared CPU)."""
    folder = Path(folder)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    summary, buckets, _ = read_eval(folder)
    train, model = config.get("train", {}), config["model"]
    progress = config.get("progress", {})
    metrics = read_metrics(folder / METRICS_FILE)
    averaged = config.get("averaged")
    kind = (
        "Bahdanau (additive) attention"
        if model["attention"] == "additive"
        else (
            "no attention: one fixed context vector"
            if model["attention"] == "none"
            else f"{model['attention']} attention"
        )
    )
    lines = [
        f"# {folder.name}: English → Korean, {kind}",
        "",
        "An RNN encoder-decoder trained for Seq2Seq Attention Explorer.",
        "",
        "## Model",
        f"- Encoder: bidirectional {model['encoder_rnn'].upper()}, {model['hidden_size']} units per "
        f"direction; embeddings {model['embed_dim']}.",
        f"- Decoder: GRU with {2 * model['hidden_size']} units, input feeding "
        f"{'on' if model['input_feeding'] else 'off'}; attention: `{model['attention']}`"
        + (f" (attention size {model['attention_dim']})" if model["attention"] == "additive" else "")
        + ".",
        f"- Vocabularies (SentencePiece unigram): {model['src_vocab_size']} English, "
        f"{model['tgt_vocab_size']} Korean pieces.",
        f"- Parameters: {config.get('parameters', 0):,}; weights stored in fp16 "
        f"({(folder / 'model.pt').stat().st_size / 1e6:.1f} MB).",
        "",
        "## Data",
        f"- LibreOffice help paragraphs and UI strings (Debian packages), {config.get('train_pairs', 0):,} "
        "training pairs after length filtering; built by `python -m seq2seq data libreoffice --lang ko`.",
        "- Licence of the text: MPL-2.0 (The Document Foundation, LibreOffice contributors).",
        "",
        "## Training",
        f"- Config: `configs/{folder.name}.yaml`; Adam lr {train.get('lr')}, batch {train.get('batch_tokens')} "
        f"tokens, dropout {model['dropout']}, label smoothing {train.get('label_smoothing')}, "
        f"plateau decay ×{train.get('lr_decay')}, seed {train.get('seed')}.",
        f"- Steps: {progress.get('step', '?')} ({'last snapshot' if averaged else 'best checkpoint'}), "
        f"training time {progress.get('elapsed', 0) / 60:.0f} min on {config.get('device', '?')} "
        f"x{config.get('world_size', 1)}.",
        f"- Hardware: {config.get('hardware', hardware())}.",
    ]
    if config.get("init_from"):
        start = config["init_from"]
        lines.append(
            f"- Continued from `{start['checkpoint']}` at step {start['step']} (`train --init-from`): "
            "weights, step, lr and log carried on, Adam's moments started afresh."
        )
    if metrics:
        best = max(metrics, key=lambda r: r["dev_chrf"])
        lines.append(
            f"- Best dev chrF (greedy, {train.get('eval_sentences')} sentences): "
            f"{best['dev_chrf']:.2f} at step {best['step']}; the full log is `metrics.jsonl`."
        )
    if averaged:
        steps = averaged["steps"]
        lines.append(
            f"- Weights: the average of the {len(steps)} snapshots at steps {steps[0]}–{steps[-1]} "
            f"(`python -m seq2seq average`): dev chrF {averaged['dev_chrf']:.2f}, against "
            f"{averaged['best_dev_chrf']:.2f} for the best single checkpoint."
        )
    if summary:
        lines += [
            "",
            f"## Test scores ({summary['sentences']} held-out pairs, beam {summary['beam_size']})",
            f"- chrF **{summary['chrf']:.2f}**, BLEU {summary['bleu']:.2f} (sacrebleu, "
            f'`tokenize="{summary["bleu_tokenize"]}"`).',
            f"- Decoding speed: {summary['sentences_per_s']:.1f} sentences/s on {summary['device']}.",
            "",
            "| source words | n | chrF | BLEU |",
            "|---|---|---|---|",
        ]
        for b in buckets or []:
            chrf = "–" if b["chrf"] is None else f"{b['chrf']:.2f}"
            bleu = "–" if b["bleu"] is None else f"{b['bleu']:.2f}"
            lines.append(f"| {b['bucket']} | {b['n']} | {chrf} | {bleu} |")
    lines += [
        "",
        "Per-sentence results with attention and diagnostics: `eval.jsonl`. "
        "Test split: `test.tsv` (see `TEST_ATTRIBUTION.md`).",
        "",
    ]
    if notes_md:
        lines += ["## Training conditions", "", Path(notes_md).read_text(encoding="utf-8").strip(), ""]
    if data_md and Path(data_md).is_file():
        lines += [
            "## Corpus card",
            "",
            ("\n" + Path(data_md).read_text(encoding="utf-8"))
            .replace("\n## ", "\n#### ")
            .replace("\n# ", "\n### "),
        ]
    text = "\n".join(lines)
    atomic_write_bytes(folder / CARD_FILE, text.encode("utf-8"))
    return text
