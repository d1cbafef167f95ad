"""The training loop: length-bucketed batches, Adam, clipping, plateau decay, early stopping,
atomic best/last checkpoints, exact resume, bf16 on GPU, and DDP under torchrun.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from sacrebleu.metrics import CHRF
from tqdm import tqdm

from .checkpoint import (
    LoadedCheckpoint,
    atomic_torch_save,
    atomic_write_bytes,
    load_checkpoint,
    save_checkpoint,
)
from .config import TrainConfig
from .data import Pair, read_pairs_tsv
from .decoding import decode_batches, pad_batch
from .model import Seq2Seq, count_parameters, sequence_loss
from .timeline import TIMELINE_FILE, Timeline
from .tokenizer import BOS_ID, EOS_ID, Tokenizer

STATE_FILE = "train_state.pt"
METRICS_FILE = "metrics.jsonl"
SNAPSHOTS_DIR = "snapshots"


def hardware() -> str:
    """The machine, for cards and benchmarks: the GPU, or the CPU with the threads this process uses."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"CPU: {cpu}, {threads} thread{'s' if threads > 1 else ''} used of {os.cpu_count()} cores"


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


def pick_device(name: str = "") -> torch.device:
    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


@dataclass
class Example:
    src: list[int]  # source ids + EOS
    tgt: list[int]  # target ids + EOS
    domain: str = ""


def encode_pairs(pairs, src_tok: Tokenizer, tgt_tok: Tokenizer, cfg: TrainConfig) -> list[Example]:
    """Tokenise pairs and drop those longer than the configured caps."""
    examples = []
    for pair in pairs:
        src = src_tok.encode(pair.source)[: cfg.max_src_len - 1] + [EOS_ID]
        tgt = tgt_tok.encode(pair.target) + [EOS_ID]
        if len(tgt) <= cfg.max_tgt_len:
            examples.append(Example(src, tgt, pair.domain))
    return examples


def mix_domains(domains: list[str], temperature: float, seed: int) -> np.ndarray:
    """One epoch's example indices, each domain d drawn in proportion to n_d^(1/T).

    T = 1 keeps the corpus as it is (every example once, in order); a larger T lifts the small domains
    (Tatoeba, news) against the large one (LibreOffice). A domain drawn more often than it has
    examples repeats them all, then takes a seeded sample for the rest; the epoch keeps its size.
    """
    if temperature == 1.0 or len(set(domains)) < 2:
        return np.arange(len(domains))
    if temperature <= 0:
        raise ValueError(f"mix_temperature must be positive, not {temperature}")
    rng = np.random.default_rng(seed)
    names = sorted(set(domains))
    members = {d: np.array([i for i, x in enumerate(domains) if x == d]) for d in names}
    weights = np.array([len(members[d]) ** (1 / temperature) for d in names])
    wanted = np.round(weights / weights.sum() * len(domains)).astype(int)
    chosen = []
    for name, want in zip(names, wanted):
        pool = members[name]
        whole, rest = divmod(int(want), len(pool))
        chosen += [np.tile(pool, whole), rng.choice(pool, rest, replace=False)]
    return np.sort(np.concatenate(chosen))


def make_batches(examples: list[Example], batch_tokens: int, seed: int) -> list[list[int]]:
    """Group similar lengths so batches carry little padding; batch order is shuffled per seed."""
    rng = np.random.default_rng(seed)
    src_len = np.array([len(e.src) for e in examples])
    tgt_len = np.array([len(e.tgt) for e in examples])
    order = np.lexsort((rng.random(len(examples)), src_len, tgt_len))
    batches, current, longest = [], [], 0
    for index in order:
        size = max(longest, int(tgt_len[index]), int(src_len[index]))
        if current and size * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, size = [], max(int(tgt_len[index]), int(src_len[index]))
        current.append(int(index))
        longest = size
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(examples: list[Example], device: torch.device):
    src, lengths = pad_batch([e.src for e in examples], device)
    tgt_in, _ = pad_batch([[BOS_ID] + e.tgt[:-1] for e in examples], device)
    tgt_out, _ = pad_batch([e.tgt for e in examples], device)
    return src, lengths, tgt_in, tgt_out


def chrf_score(hypotheses: list[str], references: list[str]) -> float:
    return CHRF().corpus_score(hypotheses, [references]).score


@torch.no_grad()
def dev_loss(model: Seq2Seq, examples: list[Example], device, batch_tokens: int) -> float:
    model.eval()
    total, tokens = 0.0, 0
    for batch in make_batches(examples, batch_tokens, seed=0):
        src, lengths, tgt_in, tgt_out = collate([examples[i] for i in batch], device)
        loss, n = sequence_loss(model(src, lengths, tgt_in), tgt_out)
        total, tokens = total + float(loss), tokens + n
    model.train()
    return total / max(tokens, 1)


def chrf_sample(pairs: list[Pair], per_domain: int) -> list[Pair]:
    """The dev pairs decoded at each evaluation: the first `per_domain` of each domain, in file order."""
    taken: Counter[str] = Counter()
    sample = []
    for pair in pairs:
        if taken[pair.domain] < per_domain:
            taken[pair.domain] += 1
            sample.append(pair)
    return sample


def dev_chrf(model: Seq2Seq, pairs, src_tok: Tokenizer, tgt_tok: Tokenizer) -> dict[str, float]:
    """Greedy corpus chrF of each domain ("" for a corpus without domains)."""
    model.eval()
    sources = [src_tok.encode(p.source)[:200] + [EOS_ID] for p in pairs]
    results = decode_batches(model, sources, beam_size=1)
    model.train()
    hyps: dict[str, list[str]] = {}
    refs: dict[str, list[str]] = {}
    for pair, result in zip(pairs, results):
        hyps.setdefault(pair.domain, []).append(tgt_tok.decode(result.nbest[0].tokens))
        refs.setdefault(pair.domain, []).append(pair.target)
    return {domain: chrf_score(hyps[domain], refs[domain]) for domain in sorted(hyps)}


def mean_chrf(by_domain: dict[str, float]) -> float:
    """The score that picks the best checkpoint: chrF averaged over the domains, so that a small
    domain (Tatoeba) counts as much as the large one (LibreOffice)."""
    return sum(by_domain.values()) / max(len(by_domain), 1)


def unknown_rates(pairs: list[Pair], src_tok: Tokenizer, tgt_tok: Tokenizer) -> dict[str, dict[str, float]]:
    """Per domain, the share of source and target pieces that are <unk>: what the vocabularies miss."""
    by_domain: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_domain.setdefault(pair.domain, []).append(pair)
    return {
        domain: {
            "src": round(src_tok.unknown_rate(p.source for p in members), 5),
            "tgt": round(tgt_tok.unknown_rate(p.target for p in members), 5),
        }
        for domain, members in sorted(by_domain.items())
    }


def _distributed() -> tuple[int, int]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def train(
    cfg: TrainConfig, resume: bool = False, show_progress: bool = True, init_from: str | Path | None = None
) -> Path:
    """Train one model; returns the run folder holding best/ and last/ checkpoints.

    `init_from` continues a saved checkpoint (e.g. a shipped one) when its run folder is gone: the
    weights, tokenizers, step, lr, best dev chrF and metrics log carry on; Adam's moments start afresh.
    """
    rank, world = _distributed()
    if world > 1 and torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    device = (
        pick_device(cfg.device)
        if world == 1 or cfg.device
        else (
            torch.device("cuda", torch.cuda.current_device())
            if torch.cuda.is_available()
            else torch.device("cpu")
        )
    )
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    run_dir = Path(cfg.out_dir) / cfg.name
    last_dir, best_dir = run_dir / "last", run_dir / "best"
    main = rank == 0

    data_dir = Path(cfg.data_dir)
    train_pairs = read_pairs_tsv(data_dir / "train.tsv")
    dev_pairs = read_pairs_tsv(data_dir / "dev.tsv")
    state: dict[str, Any] | None = None
    warm: LoadedCheckpoint | None = None
    if init_from is not None:
        if (last_dir / STATE_FILE).is_file():
            raise TrainingError(
                f"{run_dir} already holds a run; continue it with --resume, or pick another name or out_dir"
            )
        warm = load_checkpoint(init_from)
        src_tok, tgt_tok = warm.src_tokenizer, warm.tgt_tokenizer
    elif resume and (last_dir / STATE_FILE).is_file():
        state = torch.load(last_dir / STATE_FILE, map_location="cpu", weights_only=True)
        src_tok, tgt_tok = Tokenizer.load(last_dir / "src.model"), Tokenizer.load(last_dir / "tgt.model")
    else:
        if resume and main:
            print(f"nothing to resume in {last_dir}; starting fresh")
        src_tok = Tokenizer.train((p.source for p in train_pairs), cfg.src_vocab)
        tgt_tok = Tokenizer.train((p.target for p in train_pairs), cfg.tgt_vocab, cfg.tgt_coverage)
    model_cfg = dataclasses.replace(cfg.model, src_vocab_size=len(src_tok), tgt_vocab_size=len(tgt_tok))
    if warm is not None and warm.model_config != model_cfg:
        raise TrainingError(f"{init_from}: its model config differs from the config's model section")
    cfg = dataclasses.replace(cfg, model=model_cfg)
    model = Seq2Seq(model_cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    progress_state = {
        "step": 0,
        "epoch": 0,
        "batch": 0,
        "best": -1.0,
        "bad_evals": 0,
        "plateau": 0,
        "lr": cfg.lr,
        "elapsed": 0.0,
        "train_tokens": 0,
    }
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        progress_state.update(state["progress"])
        torch.set_rng_state(state["rng"])
        if main:
            print(f"resuming from step {progress_state['step']} (epoch {progress_state['epoch']})")
    if warm is not None:
        model.load_state_dict(warm.model.state_dict())
        progress_state.update(
            {k: v for k, v in warm.config.get("progress", {}).items() if k in progress_state}
        )
        torch.manual_seed(cfg.seed + progress_state["step"])  # fresh dropout draws, not step 0's again
        if main:
            print(f"continuing {init_from} from step {progress_state['step']} with a fresh optimiser")
    for group in optimizer.param_groups:
        group["lr"] = progress_state["lr"]
    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(model)

    train_examples = encode_pairs(train_pairs, src_tok, tgt_tok, cfg)
    dev_examples = encode_pairs(dev_pairs, src_tok, tgt_tok, cfg)
    chrf_pairs = chrf_sample(dev_pairs, cfg.eval_sentences)
    timeline = Timeline(cfg.probes, src_tok, tgt_tok)
    meta = {
        "train": dataclasses.asdict(cfg),
        "parameters": count_parameters(model),
        "train_pairs": len(train_examples),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "world_size": world,
        "hardware": hardware(),
        "unknown_rate": unknown_rates(dev_pairs, src_tok, tgt_tok),
    }
    if warm is not None:  # the card says where the run was continued from; a resume keeps saying it
        meta["init_from"] = {"checkpoint": str(init_from), "step": progress_state["step"]}
    elif state is not None and state.get("init_from"):
        meta["init_from"] = state["init_from"]
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if warm is not None:  # its log carries on, up to the step it was saved at
            log = Path(init_from) / METRICS_FILE
            atomic_write_bytes(run_dir / METRICS_FILE, log.read_bytes() if log.is_file() else b"")
        if state is not None or warm is not None:  # rows logged after the saved step happen again
            _trim_metrics(run_dir / METRICS_FILE, progress_state["step"])
        if state is not None:
            _trim_snapshots(run_dir / SNAPSHOTS_DIR, progress_state["step"], keep=None)
        earlier = run_dir if state is not None else Path(init_from) if warm is not None else None
        if earlier is not None:  # the alignment's story carries on where the run does
            timeline.load_snapshots(earlier / TIMELINE_FILE, progress_state["step"])
        print(
            f"{meta['parameters']:,} parameters, {len(train_examples):,} training pairs, "
            f"vocab {len(src_tok)}/{len(tgt_tok)}, device {meta['device']} x{world}"
        )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def save_last() -> None:
        save_checkpoint(last_dir, model, src_tok, tgt_tok, {**meta, "progress": progress_state})
        atomic_torch_save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "progress": dict(progress_state),
                "rng": torch.get_rng_state(),
                "init_from": meta.get("init_from"),  # so a resume's card still says where it began
            },
            last_dir / STATE_FILE,
        )

    def record_timeline(step: int, loss: float, chrf: float) -> None:
        if cfg.probes:
            timeline.record(model, step, {"dev_loss": round(loss, 4), "dev_chrf": round(chrf, 2)})
            timeline.save(run_dir / TIMELINE_FILE, model.has_attention)

    def evaluate_and_save(train_loss: float) -> list:
        """Dev loss + greedy chrF; saves best/ and last/; returns [stop?, new lr]."""
        loss = dev_loss(model, dev_examples, device, cfg.batch_tokens)
        by_domain = dev_chrf(model, chrf_pairs, src_tok, tgt_tok)
        chrf = mean_chrf(by_domain)
        row = {
            "step": progress_state["step"],
            "train_loss": round(train_loss, 4),
            "dev_loss": round(loss, 4),
            "dev_chrf": round(chrf, 2),
            "lr": progress_state["lr"],
            "elapsed_s": round(progress_state["elapsed"], 1),
            "train_tokens": progress_state["train_tokens"],
        }
        if len(by_domain) > 1:
            row["dev_chrf_by_domain"] = {d: round(c, 2) for d, c in by_domain.items()}
        record_timeline(row["step"], loss, chrf)
        tqdm.write(json.dumps(row))
        with open(run_dir / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        if chrf > progress_state["best"]:
            progress_state.update(best=chrf, bad_evals=0, plateau=0)
            save_checkpoint(
                best_dir,
                model,
                src_tok,
                tgt_tok,
                {**meta, "progress": progress_state, "dev": {"chrf": chrf, "loss": loss, "by_domain": by_domain}},
            )
        else:
            progress_state["bad_evals"] += 1
            progress_state["plateau"] += 1
            if progress_state["plateau"] >= cfg.lr_patience:
                progress_state["lr"] = max(progress_state["lr"] * cfg.lr_decay, cfg.min_lr)
                progress_state["plateau"] = 0
        if cfg.keep_snapshots:
            save_snapshot(run_dir / SNAPSHOTS_DIR, model, progress_state["step"], cfg.keep_snapshots)
        save_last()
        # the whole log travels with each checkpoint, for its model card and the app's curves
        for folder in (best_dir, last_dir):
            atomic_write_bytes(folder / METRICS_FILE, (run_dir / METRICS_FILE).read_bytes())
            if timeline.snapshots:
                atomic_write_bytes(folder / TIMELINE_FILE, (run_dir / TIMELINE_FILE).read_bytes())
        stop = progress_state["bad_evals"] >= cfg.patience
        return [stop, progress_state["lr"]]

    budget_s = cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    bar = tqdm(
        total=cfg.max_steps,
        initial=progress_state["step"],
        disable=not (main and show_progress),
        dynamic_ncols=True,
        mininterval=2.0,
    )
    start, window_tokens, window_loss, window_start = time.time(), 0, 0.0, time.time()
    elapsed0 = progress_state["elapsed"]
    stop = False
    if main and cfg.probes and progress_state["step"] == 0:  # the timeline starts from untrained weights
        record_timeline(0, dev_loss(model, dev_examples, device, cfg.batch_tokens),
                        mean_chrf(dev_chrf(model, chrf_pairs, src_tok, tgt_tok)))  # fmt: skip
    model.train()
    domains = [e.domain for e in train_examples]
    while not stop:
        epoch_seed = cfg.seed + progress_state["epoch"]
        epoch = [train_examples[i] for i in mix_domains(domains, cfg.mix_temperature, epoch_seed)]
        batches = make_batches(epoch, cfg.batch_tokens, epoch_seed)
        while progress_state["batch"] < len(batches):
            batch = batches[progress_state["batch"]][rank::world]
            progress_state["batch"] += 1
            if len(batches[progress_state["batch"] - 1]) < world:
                continue  # too small to give every rank a share; all ranks skip it alike
            src, lengths, tgt_in, tgt_out = collate([epoch[i] for i in batch], device)
            with autocast:
                logits = ddp_model(src, lengths, tgt_in)
            loss_sum, tokens = sequence_loss(logits, tgt_out, cfg.label_smoothing)
            global_tokens = tokens
            if world > 1:
                count = torch.tensor([tokens], dtype=torch.float64, device=device)
                dist.all_reduce(count)
                global_tokens = int(count.item())
            # DDP averages gradients over ranks, so scale to the mean over all tokens of the batch
            loss = loss_sum * world / max(global_tokens, 1)
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"loss became {float(loss.detach())} at step {progress_state['step'] + 1}; "
                    f"stopped without saving (last good checkpoint: {last_dir})"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
            optimizer.step()
            progress_state["step"] += 1
            progress_state["train_tokens"] += global_tokens
            window_tokens += tokens
            window_loss += float(loss_sum.detach())
            step = progress_state["step"]
            progress_state["elapsed"] = elapsed0 + time.time() - start
            if main and step % cfg.log_every == 0:
                rate = window_tokens * world / max(time.time() - window_start, 1e-9)
                left = budget_s - progress_state["elapsed"]
                bar.set_postfix(
                    loss=f"{window_loss / max(window_tokens, 1):.3f}",
                    tok_s=f"{rate:,.0f}",
                    lr=f"{progress_state['lr']:.1e}",
                    **({"left": f"{left / 60:.0f}m"} if math.isfinite(left) else {}),
                )
                window_tokens, window_loss, window_start = 0, 0.0, time.time()
            bar.update(1)
            out_of_time = progress_state["elapsed"] >= budget_s or step >= cfg.max_steps
            if step % cfg.eval_every == 0 or out_of_time:
                decision = [False, progress_state["lr"]]
                if main:
                    try:
                        decision = evaluate_and_save(float(loss_sum.detach()) / max(tokens, 1))
                    except OSError as exc:
                        raise _save_error(exc, step, last_dir) from exc
                if world > 1:
                    box = [decision]
                    dist.broadcast_object_list(box, src=0)
                    decision = box[0]
                stop, progress_state["lr"] = decision[0] or out_of_time, decision[1]
                for group in optimizer.param_groups:
                    group["lr"] = progress_state["lr"]
                if stop:
                    break
        else:
            progress_state["epoch"] += 1
            progress_state["batch"] = 0
    bar.close()
    if main:
        try:
            save_last()
        except OSError as exc:
            raise _save_error(exc, progress_state["step"], last_dir) from exc
        print(
            f"done at step {progress_state['step']}: best dev chrF {progress_state['best']:.2f}, "
            f"{progress_state['elapsed'] / 60:.1f} min"
        )
    if world > 1:
        dist.barrier()
    return run_dir


def read_metrics(path: str | Path) -> list[dict]:
    """metrics.jsonl rows; unreadable lines are skipped (a kill or a live run may cut the last one)."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _trim_metrics(path: Path, step: int) -> None:
    """Drop metrics.jsonl rows after `step`, so a resumed run does not log the same steps twice."""
    if not path.is_file():
        return
    kept = [r for r in read_metrics(path) if isinstance(r.get("step"), int) and r["step"] <= step]
    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in kept).encode("utf-8"))


def _snapshot_steps(folder: Path) -> list[int]:
    steps = []
    for path in folder.glob("step-*.pt") if folder.is_dir() else ():
        try:
            steps.append(int(path.stem.removeprefix("step-")))
        except ValueError:
            continue
    return sorted(steps)


def _snapshot_path(folder: Path, step: int) -> Path:
    return folder / f"step-{step:07d}.pt"


def _trim_snapshots(folder: Path, step: int, keep: int | None) -> None:
    """Drop snapshots after `step` (a resumed run makes them again) and all but the newest `keep`."""
    steps = _snapshot_steps(folder)
    kept = [s for s in steps if s <= step][-keep if keep else None :]
    for s in set(steps) - set(kept):
        _snapshot_path(folder, s).unlink(missing_ok=True)


def save_snapshot(folder: Path, model: Seq2Seq, step: int, keep: int) -> None:
    """fp32 weights at an evaluation; averaging the last few often beats any single one of them."""
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    atomic_torch_save(state, _snapshot_path(folder, step))
    _trim_snapshots(folder, step, keep)


def average_snapshots(run_dir: str | Path, last: int, dest: str | Path) -> dict[str, Any]:
    """Average the run's last `last` snapshots into a checkpoint folder beside best/.

    Tokenizers, config and metrics come from best/; the average's dev chrF is measured on the same
    dev sentences as best/'s was in training, so the choice between them is made on dev.
    """
    from .checkpoint import load_checkpoint

    run_dir = Path(run_dir)
    steps = _snapshot_steps(run_dir / SNAPSHOTS_DIR)[-last:]
    if len(steps) < 2:
        raise ValueError(f"{run_dir / SNAPSHOTS_DIR}: needs at least 2 snapshots, found {len(steps)}")
    best = load_checkpoint(run_dir / "best")
    total: dict[str, torch.Tensor] = {}
    for step in steps:
        state = torch.load(
            _snapshot_path(run_dir / SNAPSHOTS_DIR, step), map_location="cpu", weights_only=True
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
    progress = {**best.config.get("progress", {}), "step": steps[-1]}
    for row in read_metrics(run_dir / METRICS_FILE):
        if row.get("step") == steps[-1] and "elapsed_s" in row:
            progress["elapsed"] = row["elapsed_s"]
    report = {"steps": steps, "dev_chrf": round(chrf, 2), "best_dev_chrf": round(best_chrf, 2)}
    extra = {k: v for k, v in best.config.items() if k not in ("format_version", "model")}
    meta = {**extra, "progress": progress, "averaged": report}
    save_checkpoint(dest, best.model, best.src_tokenizer, best.tgt_tokenizer, meta)
    if (run_dir / METRICS_FILE).is_file():
        atomic_write_bytes(Path(dest) / METRICS_FILE, (run_dir / METRICS_FILE).read_bytes())
    return report
