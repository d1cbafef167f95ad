"""Weight snapshots at each evaluation, and their average: averaging the last few often beats any one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .checkpoint import (
    CheckpointError,
    atomic_torch_save,
    load_checkpoint,
    read_config,
    save_checkpoint,
)
from .data import read_pairs_tsv
from .jsonfiles import read_json, read_jsonl, write_json, write_jsonl
from .model import Seq2Seq
from .timeline import TIMELINE_FILE
from .validation import chrf_sample, dev_chrf, mean_chrf

SNAPSHOTS_DIR = "snapshots"
METRICS_FILE = "metrics.jsonl"
_PROGRESS_OF_ROW = {"elapsed_s": "elapsed", "train_tokens": "train_tokens", "lr": "lr"}  # metrics -> progress


def snapshot_steps(folder: Path) -> list[int]:
    steps = []
    for path in folder.glob("step-*.pt") if folder.is_dir() else ():
        try:
            steps.append(int(path.stem.removeprefix("step-")))
        except ValueError:
            continue
    return sorted(steps)


def snapshot_path(folder: Path, step: int) -> Path:
    return folder / f"step-{step:07d}.pt"


def progress_path(folder: Path, step: int) -> Path:
    return folder / f"step-{step:07d}.json"


def trim_snapshots(folder: Path, step: int, keep: int | None) -> None:
    """Drop snapshots after `step` (a resumed run makes them again) and all but the newest `keep`."""
    steps = snapshot_steps(folder)
    kept = [s for s in steps if s <= step][-keep if keep else None :]
    for s in set(steps) - set(kept):
        snapshot_path(folder, s).unlink(missing_ok=True)
        progress_path(folder, s).unlink(missing_ok=True)


def save_snapshot(
    folder: Path, model: Seq2Seq, step: int, keep: int, progress: dict[str, Any] | None = None
) -> None:
    """fp32 weights at an evaluation, for `python -m seq2seq average`, with the run's progress then
    (its data position among them) beside them, so that an average ending there knows where it stands."""
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    atomic_torch_save(state, snapshot_path(folder, step))
    if progress is not None:
        write_json(progress_path(folder, step), progress)
    trim_snapshots(folder, step, keep)


def _progress_at(run_dir: Path, step: int) -> dict[str, Any] | None:
    """The saved progress (data position included: epoch and batch) at `step`: the snapshot's own, else
    last/'s or best/'s when either is at that step. An average continued with `train --init-from` must go
    on with the batches after that step, not after best/'s earlier one."""
    try:
        saved = read_json(progress_path(run_dir / SNAPSHOTS_DIR, step))
    except ValueError:  # cut short: the checkpoints may still know
        saved = None
    if isinstance(saved, dict) and saved.get("step") == step:
        return dict(saved)
    for name in ("last", "best"):
        try:
            progress = read_config(run_dir / name).get("progress") or {}
        except (CheckpointError, OSError):
            continue
        if progress.get("step") == step:
            return dict(progress)
    return None


def average_snapshots(
    run_dir: str | Path, last: int, dest: str | Path, upto: int | None = None
) -> dict[str, Any]:
    """Average the run's last `last` snapshots (those at or before step `upto`, when given) into a
    checkpoint folder beside best/.

    `upto` lets twins ship at one step while one of them has trained on: its log and timeline are cut
    there too. Tokenizers and config come from best/; the average's dev chrF is measured on the same dev
    sentences as best/'s was in training, so the choice between them is made on dev.
    """
    run_dir = Path(run_dir)
    steps = [s for s in snapshot_steps(run_dir / SNAPSHOTS_DIR) if upto is None or s <= upto][-last:]
    if upto is not None and steps and steps[-1] != upto:
        raise ValueError(f"{run_dir / SNAPSHOTS_DIR}: no snapshot at step {upto}")
    if len(steps) < 2:
        raise ValueError(f"{run_dir / SNAPSHOTS_DIR}: needs at least 2 snapshots, found {len(steps)}")
    best = load_checkpoint(run_dir / "best")
    total: dict[str, torch.Tensor] = {}
    for step in steps:
        state = torch.load(
            snapshot_path(run_dir / SNAPSHOTS_DIR, step), map_location="cpu", weights_only=True
        )
        for key, value in state.items():
            total[key] = total.get(key, 0) + value.double() if value.is_floating_point() else value
    averaged = {k: (v / len(steps)).float() if v.is_floating_point() else v for k, v in total.items()}
    train_cfg = best.config.get("train", {})
    dev_pairs = read_pairs_tsv(Path(train_cfg.get("data_dir", "data/enko")) / "dev.tsv")
    dev_pairs = chrf_sample(dev_pairs, train_cfg.get("eval_sentences", 400))
    best_chrf = best.config.get("dev", {}).get("chrf")  # measured when best/ was saved
    if best_chrf is None:
        raise ValueError(f"{run_dir / 'best'}: its config.json has no dev chrF to compare with")
    best.model.load_state_dict(averaged)
    chrf = mean_chrf(dev_chrf(best.model, dev_pairs, best.src_tokenizer, best.tgt_tokenizer))
    progress = _progress_at(run_dir, steps[-1]) or {**best.config.get("progress", {}), "step": steps[-1]}
    for row in read_jsonl(run_dir / METRICS_FILE):
        if row.get("step") == steps[-1]:  # the budget is the last snapshot's: its minutes and tokens
            progress.update({k: row[m] for m, k in _PROGRESS_OF_ROW.items() if m in row})
    report = {"steps": steps, "dev_chrf": round(chrf, 2), "best_dev_chrf": round(best_chrf, 2)}
    extra = {k: v for k, v in best.config.items() if k not in ("format_version", "model")}
    meta = {**extra, "progress": progress, "averaged": report}
    save_checkpoint(dest, best.model, best.src_tokenizer, best.tgt_tokenizer, meta)
    copy_log_until(run_dir, Path(dest), steps[-1])
    return report


def copy_log_until(run_dir: Path, dest: Path, step: int) -> None:
    """metrics.jsonl and timeline.json up to `step`: the card and the app's curves end where the weights do."""
    if (run_dir / METRICS_FILE).is_file():
        write_jsonl(
            dest / METRICS_FILE, [r for r in read_jsonl(run_dir / METRICS_FILE) if r.get("step", 0) <= step]
        )
    timeline = read_json(run_dir / TIMELINE_FILE)  # None when the run records no probes
    if isinstance(timeline, dict):
        timeline["snapshots"] = [s for s in timeline.get("snapshots", []) if s.get("step", 0) <= step]
        write_json(dest / TIMELINE_FILE, timeline)
