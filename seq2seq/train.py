"""The training loop: length-bucketed batches, Adam, clipping, plateau decay, early stopping,
atomic best/last checkpoints, exact resume, bf16 autocast, and DDP under torchrun.

A run goes config -> `Trainer` (data, tokenizers, model, and a `run_state.TrainState` that says where it stands)
-> `Trainer.run()` (steps, with `evaluate_and_save` every `eval_every`) -> best/ and last/ checkpoints.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from tqdm import tqdm

from .batching import Example, collate, encode_pairs, epoch_batches
from .checkpoint import (
    LoadedCheckpoint,
    atomic_torch_save,
    atomic_write_bytes,
    load_checkpoint,
    save_checkpoint,
)
from .config import TrainConfig
from .data import read_pairs_tsv
from .device import hardware, pick_device
from .jsonfiles import read_jsonl, write_jsonl
from .model import Seq2Seq, count_parameters, sequence_loss
from .run_state import TrainState, scheduled_lr, stop_signals
from .snapshots import METRICS_FILE, SNAPSHOTS_DIR, save_snapshot, trim_snapshots
from .timeline import TIMELINE_FILE, Timeline
from .tokenizer import Tokenizer
from .validation import chrf_sample, dev_chrf, dev_loss, mean_chrf, unknown_rates

STATE_FILE = "train_state.pt"


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN, the disk is full); nothing broken was saved."""


def _save_error(exc: OSError, step: int, last_dir: Path) -> TrainingError:
    """A failed save (disk full, read-only folder, quota) as one sentence that says what is left."""
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    kept = (
        f"the last good checkpoint is in {last_dir}; free some space and run again with --resume"
        if (last_dir / STATE_FILE).is_file()
        else "no checkpoint was saved yet"
    )
    return TrainingError(f"could not save the checkpoint at step {step}: {reason}{where}; {kept}")


@dataclass
class Decision:
    """What rank 0's evaluation tells every rank: stop or go on, and with which lr."""

    stop: bool
    lr: float


def _distributed() -> tuple[int, int]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _train_device(cfg: TrainConfig, world: int) -> torch.device:
    if world > 1 and torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        if not cfg.device:
            return torch.device("cuda", torch.cuda.current_device())
    return pick_device(cfg.device) if world == 1 or cfg.device else torch.device("cpu")


class Trainer:
    """One training run: built from the config (fresh, `--resume` or `--init-from`), then `run()`."""

    def __init__(self, cfg: TrainConfig, resume: bool, init_from: str | Path | None, show_progress: bool):
        self.rank, self.world = _distributed()
        self.device = _train_device(cfg, self.world)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.run_dir = Path(cfg.out_dir) / cfg.name
        self.last_dir, self.best_dir = self.run_dir / "last", self.run_dir / "best"
        self.main, self.show_progress, self.init_from = self.rank == 0, show_progress, init_from
        self.train_pairs = train_pairs = read_pairs_tsv(Path(cfg.data_dir) / "train.tsv")
        dev_pairs = read_pairs_tsv(Path(cfg.data_dir) / "dev.tsv")
        saved, warm = self._load_start(cfg, resume, init_from, train_pairs)
        model_cfg = dataclasses.replace(
            cfg.model, src_vocab_size=len(self.src_tok), tgt_vocab_size=len(self.tgt_tok)
        )
        if warm is not None and warm.model_config != model_cfg:
            raise TrainingError(f"{init_from}: its model config differs from the config's model section")
        self.cfg = cfg = dataclasses.replace(cfg, model=model_cfg)
        self.model = Seq2Seq(model_cfg).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.state = TrainState(lr=cfg.lr)
        self.resumed = saved is not None
        if saved is not None:
            self.model.load_state_dict(saved["model"])
            self.optimizer.load_state_dict(saved["optimizer"])
            self.state.load_state_dict(saved["progress"])
            torch.set_rng_state(saved["rng"])
            self._say(f"resuming from step {self.state.step} (epoch {self.state.epoch})")
        if warm is not None:
            self.model.load_state_dict(warm.model.state_dict())
            self.state.load_state_dict(warm.config.get("progress", {}))
            torch.manual_seed(cfg.seed + self.state.step)  # fresh dropout draws, not step 0's again
            self._say(f"continuing {init_from} from step {self.state.step} with a fresh optimiser")
        self._set_lr(self.state.lr)
        self.ddp_model = self.model
        if self.world > 1:
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(self.model)
        self.train_examples: list[Example] = encode_pairs(train_pairs, self.src_tok, self.tgt_tok, cfg)
        self.dev_examples = encode_pairs(dev_pairs, self.src_tok, self.tgt_tok, cfg)
        self.chrf_pairs = chrf_sample(dev_pairs, cfg.eval_sentences)
        self.timeline = Timeline(cfg.probes, self.src_tok, self.tgt_tok)
        self.meta = self._meta(dev_pairs, warm, saved)
        if self.main:
            self._prepare_run_dir(warm)
        # bf16 autocast: on a GPU by default; on a CPU with AVX-512 BF16 it is 1.6x (bench speedups --training)
        bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and self.device.type == "cuda")
        self.autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16)

    def _say(self, text: str) -> None:
        if self.main:
            print(text)

    def _load_start(self, cfg: TrainConfig, resume: bool, init_from, train_pairs):
        """Tokenizers, and what the run carries on from: (train_state.pt contents, None),
        (None, a saved checkpoint) or (None, None) for a fresh run."""
        if init_from is not None:
            if (self.last_dir / STATE_FILE).is_file():
                raise TrainingError(
                    f"{self.run_dir} already holds a run; continue it with --resume, or pick another name or out_dir"
                )
            warm = load_checkpoint(init_from)
            self.src_tok, self.tgt_tok = warm.src_tokenizer, warm.tgt_tokenizer
            return None, warm
        if resume and (self.last_dir / STATE_FILE).is_file():
            saved = torch.load(self.last_dir / STATE_FILE, map_location="cpu", weights_only=True)
            self.src_tok = Tokenizer.load(self.last_dir / "src.model")
            self.tgt_tok = Tokenizer.load(self.last_dir / "tgt.model")
            return saved, None
        if resume:
            self._say(f"nothing to resume in {self.last_dir}; starting fresh")
        self.src_tok = Tokenizer.train((p.source for p in train_pairs), cfg.src_vocab)
        self.tgt_tok = Tokenizer.train((p.target for p in train_pairs), cfg.tgt_vocab, cfg.tgt_coverage)
        return None, None

    def _meta(self, dev_pairs, warm: LoadedCheckpoint | None, saved: dict | None) -> dict[str, Any]:
        """What every checkpoint of this run says about it (config.json, then the model card)."""
        device = self.device
        meta = {
            "train": dataclasses.asdict(self.cfg),
            "parameters": count_parameters(self.model),
            "train_pairs": len(self.train_examples),
            "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
            "world_size": self.world,
            "hardware": hardware(),
            "unknown_rate": unknown_rates(dev_pairs, self.src_tok, self.tgt_tok),
        }
        domains = Counter(e.domain for e in self.train_examples)
        if len(domains) > 1:
            meta["train_domains"] = dict(sorted(domains.items()))
        if warm is not None:  # the card says where the run was continued from; a resume keeps saying it
            meta["init_from"] = {"checkpoint": str(self.init_from), "step": self.state.step}
        elif saved is not None and saved.get("init_from"):
            meta["init_from"] = saved["init_from"]
        return meta

    def _prepare_run_dir(self, warm: LoadedCheckpoint | None) -> None:
        """The run folder's logs carry on from the step the run starts at; later rows happen again."""
        run_dir, step = self.run_dir, self.state.step
        run_dir.mkdir(parents=True, exist_ok=True)
        if warm is not None:
            log = Path(self.init_from) / METRICS_FILE
            atomic_write_bytes(run_dir / METRICS_FILE, log.read_bytes() if log.is_file() else b"")
        if self.resumed or warm is not None:
            rows = read_jsonl(run_dir / METRICS_FILE)
            write_jsonl(
                run_dir / METRICS_FILE,
                [r for r in rows if isinstance(r.get("step"), int) and r["step"] <= step],
            )
            earlier = run_dir if self.resumed else Path(self.init_from)
            self.timeline.load_snapshots(earlier / TIMELINE_FILE, step)
        if self.resumed:
            trim_snapshots(run_dir / SNAPSHOTS_DIR, step, keep=None)
        print(
            f"{self.meta['parameters']:,} parameters, {len(self.train_examples):,} training pairs, "
            f"vocab {len(self.src_tok)}/{len(self.tgt_tok)}, device {self.meta['device']} x{self.world}"
        )
        rates = ", ".join(
            f"{d or 'dev'} {r['src']:.2%}/{r['tgt']:.2%}" for d, r in self.meta["unknown_rate"].items()
        )
        print(f"<unk> pieces on dev (en/ko): {rates}")

    # ------------------------------------------------------------------ saving and evaluating
    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def save_last(self) -> None:
        meta = {**self.meta, "progress": self.state.state_dict()}
        save_checkpoint(self.last_dir, self.model, self.src_tok, self.tgt_tok, meta)
        saved = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "progress": self.state.state_dict(),
            "rng": torch.get_rng_state(),
            "init_from": self.meta.get("init_from"),  # so a resume's card still says where it began
        }
        atomic_torch_save(saved, self.last_dir / STATE_FILE)

    def record_timeline(self, step: int, loss: float | None = None, chrf: float | None = None) -> None:
        """The probes' attention now; between evaluations (`timeline_every`) without dev metrics, since
        decoding six probes costs a second and a dev evaluation minutes."""
        if self.cfg.probes:
            metrics = {} if loss is None else {"dev_loss": round(loss, 4), "dev_chrf": round(chrf, 2)}
            self.timeline.record(self.model, step, metrics)
            self.timeline.save(self.run_dir / TIMELINE_FILE, self.model.has_attention)

    def evaluate_and_save(self, train_loss: float) -> Decision:
        """Dev loss and greedy chrF per domain; logs them, saves best/ (if better) and last/."""
        cfg, state = self.cfg, self.state
        loss = dev_loss(self.model, self.dev_examples, self.device, cfg.batch_tokens)
        by_domain = dev_chrf(self.model, self.chrf_pairs, self.src_tok, self.tgt_tok)
        chrf = mean_chrf(by_domain)
        row = {
            "step": state.step,
            "train_loss": round(train_loss, 4),
            "dev_loss": round(loss, 4),
            "dev_chrf": round(chrf, 2),
            "lr": state.lr,
            "elapsed_s": round(state.elapsed, 1),
            "train_tokens": state.train_tokens,
        }
        if len(by_domain) > 1:
            row["dev_chrf_by_domain"] = {d: round(c, 2) for d, c in by_domain.items()}
        self.record_timeline(state.step, loss, chrf)
        tqdm.write(json.dumps(row))
        with open(self.run_dir / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        if state.after_evaluation(chrf, cfg):
            dev = {"chrf": chrf, "loss": loss, "by_domain": by_domain}
            meta = {**self.meta, "progress": state.state_dict(), "dev": dev}
            save_checkpoint(self.best_dir, self.model, self.src_tok, self.tgt_tok, meta)
        if cfg.keep_snapshots:
            save_snapshot(
                self.run_dir / SNAPSHOTS_DIR, self.model, state.step, cfg.keep_snapshots, state.state_dict()
            )
        self.save_last()
        # the whole log travels with each checkpoint, for its model card and the app's curves
        for folder in (self.best_dir, self.last_dir):
            for name in (METRICS_FILE, TIMELINE_FILE):
                if (self.run_dir / name).is_file():
                    atomic_write_bytes(folder / name, (self.run_dir / name).read_bytes())
        return Decision(state.stopped(cfg), state.lr)

    def _decide(self, train_loss: float) -> Decision:
        """Rank 0 evaluates and saves; every rank learns the outcome."""
        decision = Decision(False, self.state.lr)
        if self.main:
            try:
                decision = self.evaluate_and_save(train_loss)
            except OSError as exc:
                raise _save_error(exc, self.state.step, self.last_dir) from exc
        if self.world > 1:
            box = [decision]
            dist.broadcast_object_list(box, src=0)
            decision = box[0]
        return decision

    # ------------------------------------------------------------------ the loop
    def train_step(self, examples: list[Example]) -> tuple[float, int]:
        """One optimiser step on this rank's share of a batch: (summed loss, target tokens)."""
        src, lengths, tgt_in, tgt_out = collate(examples, self.device)
        with self.autocast:
            logits = self.ddp_model(src, lengths, tgt_in)
        loss_sum, tokens = sequence_loss(logits, tgt_out, self.cfg.label_smoothing)
        global_tokens = tokens
        if self.world > 1:
            count = torch.tensor([tokens], dtype=torch.float64, device=self.device)
            dist.all_reduce(count)
            global_tokens = int(count.item())
        # DDP averages gradients over ranks, so scale to the mean over all tokens of the batch
        loss = loss_sum * self.world / max(global_tokens, 1)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"loss became {float(loss.detach())} at step {self.state.step + 1}; "
                f"stopped without saving (last good checkpoint: {self.last_dir})"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.lr_schedule != "plateau":
            self.state.lr = scheduled_lr(self.cfg, self.state.step, self.state.elapsed)
            self._set_lr(self.state.lr)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.optimizer.step()
        self.state.step += 1
        self.state.train_tokens += global_tokens
        return float(loss_sum.detach()), tokens

    def run(self) -> Path:
        cfg, state = self.cfg, self.state
        budget_s = cfg.max_minutes * 60 if cfg.max_minutes else math.inf
        bar = tqdm(
            total=cfg.max_steps,
            initial=state.step,
            disable=not (self.main and self.show_progress),
            dynamic_ncols=True,
            mininterval=2.0,
        )
        with stop_signals(self.world == 1) as received:
            self._loop(bar, budget_s, received)
        if received:
            print(f"stopped by signal {received[0]} at step {state.step}; --resume continues from here")
        bar.close()
        self._finish()
        return self.run_dir

    def _loop(self, bar, budget_s: float, received: list[int]) -> None:
        """Steps until max_steps, the time budget, early stopping or a stop signal (`received`)."""
        cfg, state = self.cfg, self.state
        start, elapsed0 = time.time(), state.elapsed
        window = {"tokens": 0, "loss": 0.0, "start": time.time()}  # the progress bar's last few steps
        interval = {"tokens": 0, "loss": 0.0}  # since the last evaluation: its train loss, not one batch's
        if self.main and cfg.probes and state.step == 0:  # the timeline starts from untrained weights
            loss = dev_loss(self.model, self.dev_examples, self.device, cfg.batch_tokens)
            self.record_timeline(
                0, loss, mean_chrf(dev_chrf(self.model, self.chrf_pairs, self.src_tok, self.tgt_tok))
            )
        self.model.train()
        stop = False
        while not stop:
            if cfg.subword_alpha:  # this epoch's own segmentations, drawn again alike on --resume
                self.train_examples = encode_pairs(
                    self.train_pairs,
                    self.src_tok,
                    self.tgt_tok,
                    cfg,
                    sample_seed=cfg.seed * 10_000 + state.epoch,
                )
            epoch, batches = epoch_batches(self.train_examples, cfg, state.epoch)
            while state.batch < len(batches):
                whole = batches[state.batch]
                state.batch += 1
                if len(whole) < self.world:
                    continue  # too small to give every rank a share; all ranks skip it alike
                loss_sum, tokens = self.train_step([epoch[i] for i in whole[self.rank :: self.world]])
                for tally in (window, interval):
                    tally["tokens"] += tokens
                    tally["loss"] += loss_sum
                state.elapsed = elapsed0 + time.time() - start
                if self.main and state.step % cfg.log_every == 0:
                    self._show(bar, window, budget_s)
                bar.update(1)
                out_of_time = state.elapsed >= budget_s or state.step >= cfg.max_steps
                if state.step % cfg.eval_every == 0 or out_of_time:
                    decision = self._decide(interval["loss"] / max(interval["tokens"], 1))
                    interval.update(tokens=0, loss=0.0)
                    stop, state.lr = decision.stop or out_of_time, decision.lr
                    self._set_lr(state.lr)
                    if stop:
                        break
                elif self.main and cfg.timeline_every and state.step % cfg.timeline_every == 0:
                    self.record_timeline(state.step)
                if received:
                    return
            else:
                state.epoch += 1
                state.batch = 0

    def _show(self, bar, window: dict, budget_s: float) -> None:
        rate = window["tokens"] * self.world / max(time.time() - window["start"], 1e-9)
        left = budget_s - self.state.elapsed
        bar.set_postfix(
            loss=f"{window['loss'] / max(window['tokens'], 1):.3f}",
            tok_s=f"{rate:,.0f}",
            lr=f"{self.state.lr:.1e}",
            **({"left": f"{left / 60:.0f}m"} if math.isfinite(left) else {}),
        )
        window.update(tokens=0, loss=0.0, start=time.time())

    def _finish(self) -> None:
        if self.main:
            try:
                self.save_last()
            except OSError as exc:
                raise _save_error(exc, self.state.step, self.last_dir) from exc
            print(
                f"done at step {self.state.step}: best dev chrF {self.state.best:.2f}, "
                f"{self.state.elapsed / 60:.1f} min"
            )
        if self.world > 1:
            dist.barrier()


def train(
    cfg: TrainConfig, resume: bool = False, show_progress: bool = True, init_from: str | Path | None = None
) -> Path:
    """Train one model; returns the run folder holding best/ and last/ checkpoints.

    `resume` continues <out_dir>/<name>/last exactly (optimiser, data order, RNG). `init_from` continues
    a saved checkpoint (e.g. a shipped one) whose run folder is gone: the weights, tokenizers, step, lr,
    best dev chrF, metrics log and timeline carry on; Adam's moments start afresh.
    """
    return Trainer(cfg, resume, init_from, show_progress).run()
