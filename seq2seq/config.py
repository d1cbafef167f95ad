"""Configuration dataclasses: the one source of truth for YAML keys, CLI overrides and checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FORMAT_VERSION = 1  # bump when the checkpoint layout or state_dict keys change
RNN_TYPES = ("gru", "lstm")
# The attention variants a config may name; `model.ATTENTIONS` maps each to its code (a test keeps the two
# lists equal). Named here, not read from the model, so the config never imports what it configures.
ATTENTION_NAMES = ("additive", "dot", "general", "none")


@dataclass
class ModelConfig:
    """Shape of the encoder-decoder. Saved inside every checkpoint so it rebuilds with no other file."""

    src_vocab_size: int = 8000
    tgt_vocab_size: int = 8000
    embed_dim: int = 256
    hidden_size: int = 256  # per encoder direction; annotations h_j and decoder state s_i are 2x this
    attention: str = "additive"  # additive (Bahdanau) | dot | general (Luong) | none (fixed context)
    attention_dim: int = 256  # size of W s_{i-1} + U h_j in the additive score
    encoder_rnn: str = "gru"  # gru | lstm
    dropout: float = 0.2
    input_feeding: bool = True  # feed the previous attentional vector into the next step
    tie_embeddings: bool = False  # W_g is the decoder's embedding matrix (needs embed_dim = hidden_size)
    word_dropout: float = 0.0  # training: each source token's whole embedding is zeroed with this chance

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_NAMES:
            raise ValueError(f"attention must be one of {ATTENTION_NAMES}, got {self.attention!r}")
        if self.tie_embeddings and self.embed_dim != self.hidden_size:
            raise ValueError(
                f"tie_embeddings needs embed_dim = hidden_size (the attentional vector's size), "
                f"got {self.embed_dim} and {self.hidden_size}"
            )
        if not 0.0 <= self.word_dropout < 1.0:
            raise ValueError(f"word_dropout must be in [0, 1), got {self.word_dropout}")
        if self.encoder_rnn not in RNN_TYPES:
            raise ValueError(f"encoder_rnn must be one of {RNN_TYPES}, got {self.encoder_rnn!r}")


@dataclass
class TrainConfig:
    """Everything a training run needs; `model` is nested so YAML reads `model: {attention: none}`."""

    name: str = "run"
    direction: str = "enko"  # enko (English source, Korean target) | koen; a checkpoint without it is enko
    data_dir: str = "data/enko"
    out_dir: str = "runs"
    model: ModelConfig = field(default_factory=ModelConfig)
    src_vocab: int = 8000
    tgt_vocab: int = 8000
    tgt_coverage: float = (
        0.9995  # share of Korean characters the target vocabulary must spell; the rest is <unk>
    )
    max_src_len: int = 100  # subword pieces; longer pairs are dropped from training
    max_tgt_len: int = 120
    batch_tokens: int = 4000  # padded target tokens per batch
    lr: float = 2e-3
    min_lr: float = 1e-5
    lr_schedule: str = "plateau"  # plateau (decay on a dev plateau) | cosine | linear (lr to min_lr)
    warmup_steps: int = 0  # lr rises linearly from 0 over these steps (cosine and linear)
    lr_decay: float = 0.5  # plateau: multiply lr on a dev plateau
    lr_patience: int = 2  # plateau: evaluations without improvement before the lr decays
    clip_norm: float = 1.0
    label_smoothing: float = 0.1
    subword_alpha: float = 0.0  # > 0: each epoch samples its segmentations at this alpha (Kudo 2018)
    max_steps: int = 100_000
    max_minutes: float = 0.0  # wall-clock budget; 0 means none
    eval_every: int = 500
    eval_sentences: int = 400  # dev sentences per domain decoded greedily for chrF at each evaluation
    patience: int = 8  # evaluations without improvement before early stopping
    keep_snapshots: int = 0  # fp32 weights of the last N evaluations, for `python -m seq2seq average`
    mix_temperature: float = 1.0  # domain d is drawn in proportion to n_d^(1/T); 1 keeps the corpus as it is
    probes: list[str] = field(default_factory=list)  # sentences whose attention timeline.json records
    timeline_every: int = 0  # the probes every N steps between evaluations too (0: at evaluations only)
    seed: int = 1
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    device: str = ""  # "" picks cuda when available, else cpu
    precision: str = "auto"  # bf16 autocast: auto (on a GPU only) | bf16 (also on a CPU) | fp32
    log_every: int = 50


PRECISIONS = ("auto", "bf16", "fp32")
LR_SCHEDULES = ("plateau", "cosine", "linear")
DIRECTIONS = ("enko", "koen")


def _from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Build a (nested) dataclass from a plain dict, rejecting unknown keys with a clear message."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    kwargs = {}
    for key, value in values.items():
        if key == "model" and isinstance(value, dict):
            value = _from_dict(ModelConfig, value)
        elif known[key].type == "float" and isinstance(value, str):
            try:  # YAML 1.1 reads `1e-4` (no dot) as a string
                value = float(value)
            except ValueError:
                raise ValueError(f"{cls.__name__}.{key} must be a number, got {value!r}") from None
        kwargs[key] = value
    made = cls(**kwargs)
    if cls is TrainConfig and made.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {made.precision!r}")
    if cls is TrainConfig and made.direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {made.direction!r}")
    if cls is TrainConfig and made.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {made.lr_schedule!r}")
    return made


def model_config_from_dict(values: dict[str, Any]) -> ModelConfig:
    return _from_dict(ModelConfig, values)


def load_train_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    """Read a YAML config and apply `key=value` overrides (`model.attention=none`, `lr=1e-3`)."""
    values: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: a config must be a YAML mapping")
        values = loaded
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like key=value")
        key, raw = item.split("=", 1)
        target = values
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = yaml.safe_load(raw)
    return _from_dict(TrainConfig, values)
