"""Where a training run stands and what it does next, apart from the loop that runs it: the `TrainState`
that `--resume` reads back, the learning rate a planned schedule gives at a step, and the stop signals
that end a run cleanly at a step boundary."""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .config import TrainConfig


@dataclass
class TrainState:
    """Where a run stands; with the weights, optimiser and RNG it is all `--resume` needs.

    Saved as the plain dict of `state_dict()` under "progress" in train_state.pt and config.json.
    """

    step: int = 0
    epoch: int = 0
    batch: int = 0  # next batch of this epoch
    best: float = -1.0  # best dev chrF so far
    bad_evals: int = 0  # evaluations since the best, for early stopping
    plateau: int = 0  # evaluations since the best or the last lr decay
    lr: float = 0.0
    elapsed: float = 0.0  # seconds of training, over all resumes
    train_tokens: int = 0

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, values: dict[str, Any]) -> None:
        """Take the known keys (an older file may lack some, a newer one carry more)."""
        for f in dataclasses.fields(self):
            if f.name in values:
                setattr(self, f.name, values[f.name])

    def after_evaluation(self, chrf: float, cfg: TrainConfig) -> bool:
        """Book one dev score: True when it is the best so far; otherwise count towards the lr decay
        (after `lr_patience` evaluations) and early stopping (see `stopped`)."""
        if chrf > self.best:
            self.best, self.bad_evals, self.plateau = chrf, 0, 0
            return True
        self.bad_evals += 1
        self.plateau += 1
        if cfg.lr_schedule == "plateau" and self.plateau >= cfg.lr_patience:
            self.lr, self.plateau = max(self.lr * cfg.lr_decay, cfg.min_lr), 0
        return False

    def stopped(self, cfg: TrainConfig) -> bool:
        return self.bad_evals >= cfg.patience


def scheduled_lr(cfg: TrainConfig, step: int, elapsed_s: float) -> float:
    """The lr of a schedule planned over the known budget: a linear warm-up over `warmup_steps`, then a
    cosine or linear fall from `lr` to `min_lr` as the run goes from its start to `max_steps` (or to
    `max_minutes`, whichever it is nearer to). The plateau schedule has no plan: it keeps its lr."""
    progress = step / max(cfg.max_steps, 1)
    if cfg.max_minutes:
        progress = max(progress, elapsed_s / (cfg.max_minutes * 60))
    progress = min(progress, 1.0)
    if cfg.lr_schedule == "cosine":
        lr = cfg.min_lr + (cfg.lr - cfg.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
    else:
        lr = cfg.min_lr + (cfg.lr - cfg.min_lr) * (1 - progress)
    if cfg.warmup_steps and step < cfg.warmup_steps:
        lr *= (step + 1) / cfg.warmup_steps
    return lr


@contextmanager
def stop_signals(enabled: bool = True) -> Iterator[list[int]]:
    """SIGTERM or SIGINT (a session ending its processes, `kill`, Ctrl+C) asks the loop to stop after the
    step in progress, so that last/ is saved there and --resume loses nothing; a second one acts at once.
    Off under DDP (ranks would stop at different steps and wait on each other) and off a main thread."""
    received: list[int] = []
    caught = (signal.SIGTERM, signal.SIGINT)
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {sig: signal.getsignal(sig) for sig in caught}

    def ask_to_stop(signum, frame):
        received.append(signum)
        for sig in caught:
            signal.signal(sig, previous[sig])

    for sig in caught:
        signal.signal(sig, ask_to_stop)
    try:
        yield received
    finally:
        for sig in caught:
            signal.signal(sig, previous[sig])
