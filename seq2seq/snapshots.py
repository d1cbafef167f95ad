"""Weight snapshots at each evaluation, and their average: averaging the last few often beats any one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .checkpoint import (
    CheckpointError,
    atomic_torch_save,
    atomic_write_bytes,
    load_checkpoint,
    read_config,
    save_checkpoint,
)
from .data import read_pairs_tsv
from .jsonfiles import read_jsonl
from .model import Seq2Seq
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


def trim_snapshots(folder: Path, step: int, keep: int | None) -> None:
    """Drop snapshots after `step` (a resumed run makes them again) and all but the newest `keep`."""
    steps = snapshot_steps(folder)
    kept = [s for s in steps if s <= step][-keep if keep else None :]
    for s in set(steps) - set(kept):
        snapshot_path(folder, s).unlink(missing_ok=True)


def save_snapshot(folder: Path, model: Seq2Seq, step: int, keep: int) -> None:
    """fp32 weights at an evaluation, for `python -m seq2seq average`."""
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    atomic_torch_save(state, snapshot_path(folder, step))
    trim_snapshots(folder, step, keep)


def _progress_at(run_dir: Path, step: int) -> dict[str, Any] | None:
    """The saved progress (data position included: epoch and batch) of last/ or best/ when either is at
    `step`: an average continued with `train --init-from` must go on with the batches after that step,
    not after best/'s earlier one."""
    for name in ("last", "best"):
        try:
            progress = read_config(run_dir / name).get("progress") or {}
        except (CheckpointError, OSError):
            continue
        if progress.get("step") == step:
            return dict(progress)
    return None


def average_snapshots(run_dir: str | Path, last: int, dest: str | Path) -> dict[str, Any]:
    """Average the run's last `last` snapshots into a checkpoint folder beside best/.

    Tokenizers, config and metrics come from best/; the average's dev chrF is measured on the same
    dev sentences as best/'s was in training, so the choice between them is made on dev.
    """
    run_dir = Path(run_dir)
    steps = snapshot_steps(run_dir / SNAPSHOTS_DIR)[-last:]
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
    for name in (METRICS_FILE, "timeline.json"):
        if (run_dir / name).is_file():
            atomic_write_bytes(Path(dest) / name, (run_dir / name).read_bytes())
    return report
