"""Checkpoint folders: model.pt + config.json + src.model + tgt.model + card.md.

Writes are atomic (temp file, fsync, rename), so a kill mid-save leaves the previous file intact,
and a checkpoint's files are all written before any is renamed, so a full disk leaves the old one whole.
Reads use `torch.load(weights_only=True)`: a checkpoint is untrusted input and may not run code.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import FORMAT_VERSION, ModelConfig, model_config_from_dict
from .model import Seq2Seq
from .tokenizer import Tokenizer

MODEL_FILE, CONFIG_FILE, SRC_SPM, TGT_SPM, CARD_FILE = (
    "model.pt",
    "config.json",
    "src.model",
    "tgt.model",
    "card.md",
)
BUCKETS_FILE = "eval_buckets.json"  # test scores by source length, written by `evaluate`
REQUIRED_FILES = (MODEL_FILE, CONFIG_FILE, SRC_SPM, TGT_SPM)


class CheckpointError(ValueError):
    """A checkpoint folder is missing a piece or holds a corrupt one; the message names the file."""


def _stage(path: Path, data: bytes) -> Path:
    """Write `data` to a synced temp file beside `path`; the caller renames it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp's 0600 would hide shipped files from other users
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_files(folder: str | Path, files: dict[str, bytes]) -> None:
    """Write several files so that a failed write (disk full, kill) leaves all of them as they were.

    Every file is staged and synced first; only then are they renamed into place, in order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    path = folder
    try:
        for name, data in files.items():
            path = folder / name
            staged.append((_stage(path, data), path))
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # "[Errno 28] No space left on device: '.../model.pt'"
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    atomic_write_files(path.parent, {path.name: data})


def torch_bytes(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    atomic_write_bytes(path, torch_bytes(obj))


def save_checkpoint(
    folder: str | Path,
    model: Seq2Seq,
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    extra: dict[str, Any] | None = None,
    half: bool = True,
) -> Path:
    """Write a self-describing checkpoint; fp16 weights keep shipped models small.

    All four files are written before any replaces its old version, so a full disk mid-save
    leaves the previous checkpoint whole rather than new weights under an old config.
    """
    state = {
        k: (v.detach().to("cpu", torch.float16) if half and v.is_floating_point() else v.cpu())
        for k, v in model.state_dict().items()
    }
    config = {"format_version": FORMAT_VERSION, "model": dataclasses.asdict(model.cfg)}
    config.update(extra or {})
    files = {
        MODEL_FILE: torch_bytes(state),
        SRC_SPM: src_tokenizer.model_proto,
        TGT_SPM: tgt_tokenizer.model_proto,
        CONFIG_FILE: json.dumps(config, indent=2).encode("utf-8"),  # last: it marks a complete checkpoint
    }
    atomic_write_files(folder, files)
    return Path(folder)


@dataclass
class LoadedCheckpoint:
    model: Seq2Seq
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    config: dict[str, Any]  # the whole config.json
    folder: Path

    @property
    def model_config(self) -> ModelConfig:
        return self.model.cfg


def read_config(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / CONFIG_FILE
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: not a checkpoint folder")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"{folder}: missing {', '.join(missing)}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(config, dict) or "model" not in config:
        raise CheckpointError(f"{path}: has no 'model' section")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version!r} is not supported (this code reads {FORMAT_VERSION})"
        )
    return config


def load_checkpoint(folder: str | Path, device: str | torch.device = "cpu") -> LoadedCheckpoint:
    folder = Path(folder)
    config = read_config(folder)
    try:
        model_cfg = model_config_from_dict(config["model"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: bad model config ({exc})") from exc
    try:
        src_tok = Tokenizer.load(folder / SRC_SPM)
        tgt_tok = Tokenizer.load(folder / TGT_SPM)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from exc
    try:
        state = torch.load(folder / MODEL_FILE, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickled object refused by weights_only, ...
        empty = (folder / MODEL_FILE).stat().st_size == 0  # torch says only EOFError()
        reason = "the file is empty, 0 bytes" if empty else str(exc) or type(exc).__name__
        raise CheckpointError(f"{folder / MODEL_FILE}: cannot be read ({reason})") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{folder / MODEL_FILE}: is not a state_dict")
    try:
        model = Seq2Seq(model_cfg)
    except (TypeError, ValueError, RuntimeError) as exc:  # e.g. hidden_size "big" or -3
        raise CheckpointError(f"{folder / CONFIG_FILE}: bad model config ({exc})") from exc
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{folder / MODEL_FILE}: does not fit config.json ({exc})") from exc
    if (len(src_tok), len(tgt_tok)) != (model_cfg.src_vocab_size, model_cfg.tgt_vocab_size):
        raise CheckpointError(f"{folder}: tokenizer vocabularies do not match the model's")
    model.to(device).eval()
    return LoadedCheckpoint(model, src_tok, tgt_tok, config, folder)


def list_checkpoints(root: str | Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Valid checkpoint folders under `root`, and the skipped ones with the reason why.

    Cheap: it reads config.json and checks the files, without loading any weights.
    """
    root = Path(root)
    valid: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    if not root.is_dir():
        return valid, skipped
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            config = read_config(folder)
            model_config_from_dict(config["model"])
        except (CheckpointError, TypeError, ValueError) as exc:
            skipped.append((folder, str(exc)))
        else:
            valid.append(folder)
    return valid, skipped
