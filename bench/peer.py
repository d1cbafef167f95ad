"""Side by side with Joey NMT 2.3.0 on this machine: training speed, decoding speed, quality per budget.

Both sides get the LibreOffice English→Korean train/test split, the same SentencePiece models (ours, from
our run's checkpoint), the same shape (bidirectional GRU encoder 256 per direction, GRU decoder of 512 =
2 x 256, Bahdanau attention, embeddings 256), the same padded-token batch size, lr, clipping, dropout
and label smoothing, and the same CPU threads. Joey runs in its own venv (`bench/.venv-joeynmt`, made
here with the pins it needs) as a separate process; we run as `python -m seq2seq train`, also a process.

    python -m bench peer                 # throughput A/B, then a 30-minute budget each, then decoding
    python -m bench peer --minutes 5     # a shorter budget

Measurements alternate the two (A B A B) and report medians and ours/peer ratios.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .peer_setup import CONFIG, Shape, joey_config, joey_python, our_shape, prepare_data

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "work"  # ignored by git: data copies, both sides' runs and logs


# --------------------------------------------------------------------------- running either side
def _env(threads: int) -> dict:
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(REPO),
    }


def _run(command: list, log: Path, threads: int, timeout_s: float | None = None) -> float:
    """Run a command with its output in `log`; return wall seconds. A budget timeout is not an error."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        proc = subprocess.Popen(
            [str(c) for c in command], cwd=REPO, env=_env(threads), stdout=handle, stderr=subprocess.STDOUT
        )
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            code = 0
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{command[0]} {command[1:4]} failed ({code}); see {log}:\n{tail}")
    return time.perf_counter() - start


def train_ours(name: str, threads: int, overrides: list[str]) -> dict:
    """`python -m seq2seq train` with our config; returns its last metrics row (tokens, elapsed, chrF)."""
    from seq2seq.jsonfiles import read_jsonl as read_metrics

    out = WORK / "runs"
    shutil.rmtree(out / name, ignore_errors=True)
    command = [sys.executable, "-m", "seq2seq", "train", "--config", CONFIG,
               f"name={name}", f"out_dir={out}", f"threads={threads}", *overrides]  # fmt: skip
    wall = _run(command, WORK / "logs" / f"{name}.log", threads)
    rows = read_metrics(out / name / "last" / "metrics.jsonl")
    return {**rows[-1], "wall_s": wall, "run": out / name}


JOEY_LOG = re.compile(r"Step:\s+(\d+),.*Tokens per Sec:\s+([\d.]+)")


def train_joey(
    name: str, data: Path, shape: Shape, threads: int, *, updates: int, validation_freq: int,
    budget_s: float | None = None,
) -> dict:  # fmt: skip
    """`python -m joeynmt train` on the same data; returns logged tokens/s and the steps reached."""
    python = joey_python()
    model_dir = WORK / "runs" / name
    shutil.rmtree(model_dir, ignore_errors=True)
    config = WORK / "configs" / f"{name}.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        yaml.safe_dump(joey_config(data, model_dir, shape, updates=updates, validation_freq=validation_freq))
    )
    log = WORK / "logs" / f"{name}.log"
    wall = _run([python, "-m", "joeynmt", "train", config, "--skip-test"], log, threads, budget_s)
    found = [(int(s), float(r)) for s, r in JOEY_LOG.findall(log.read_text(encoding="utf-8"))]
    rates = [rate for _, rate in found]
    return {
        "steps": found[-1][0] if found else 0,
        "tok_s": statistics.mean(rates) if rates else 0.0,  # every interval has the same step count
        "wall_s": wall,
        "config": config,
        "model_dir": model_dir,
    }


def decode_ours(checkpoint: Path, data: Path, beam: int, threads: int) -> dict:
    """Our batched decoder over the test split, in this process; sentences/s and chrF."""
    import torch

    from seq2seq import load_translator
    from seq2seq.validation import chrf_score

    torch.set_num_threads(threads)
    translator = load_translator(checkpoint, device="cpu")
    sources = (data / "test.en").read_text(encoding="utf-8").splitlines()
    references = (data / "test.ko").read_text(encoding="utf-8").splitlines()
    start = time.perf_counter()
    results = translator.translate_batch(sources, beam_size=beam, batch_size=64)
    seconds = time.perf_counter() - start
    hypotheses = [r.text for r in results]
    return {
        "sent_s": len(sources) / seconds,
        "tok_s": output_pieces(hypotheses, data) / seconds,
        "chrf": chrf_score(hypotheses, references),
    }


def output_pieces(hypotheses: list[str], data: Path) -> int:
    """Target SentencePiece pieces in the outputs (+ EOS each): decoding speed regardless of output length."""
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=str(data / "trg.model"))
    return sum(len(processor.encode(h)) + 1 for h in hypotheses)


GENERATION = re.compile(r"Generation took ([\d.]+)\[sec\]")


def decode_joey(train: dict, data: Path, beam: int, threads: int) -> dict:
    """`joeynmt test` with the run's best checkpoint; its own "Generation took" time, and our chrF."""
    from seq2seq.validation import chrf_score

    config = yaml.safe_load(train["config"].read_text())
    config["testing"]["beam_size"] = beam
    config["testing"]["load_model"] = str(train["model_dir"] / "best.ckpt")
    config["data"]["dev"] = str(data / "probe")  # joey decodes dev, then test; only test is timed
    path = train["config"].with_name(f"{train['config'].stem}-beam{beam}.yaml")
    path.write_text(yaml.safe_dump(config))
    output = WORK / "runs" / f"{train['model_dir'].name}-beam{beam}"
    log = WORK / "logs" / f"{path.stem}-test.log"
    _run([joey_python(), "-m", "joeynmt", "test", path, "--output-path", output], log, threads)
    seconds = float(GENERATION.findall(log.read_text(encoding="utf-8"))[-1])
    sentences = (data / "test.en").read_text(encoding="utf-8").splitlines()
    hypotheses = Path(f"{output}.test").read_text(encoding="utf-8").splitlines()
    references = (data / "test.ko").read_text(encoding="utf-8").splitlines()
    return {
        "sent_s": len(sentences) / seconds,
        "tok_s": output_pieces(hypotheses, data) / seconds,
        "chrf": chrf_score(hypotheses, references),
    }


# --------------------------------------------------------------------------- the benchmark
def run(
    minutes: float,
    steps: int,
    repeats: int,
    threads: int,
    joey_validation: int = 150,
    decode_only: bool = False,
) -> dict:
    if decode_only:  # the models of the last run, decoded again (after a change to the decoder)
        results = json.loads((WORK / "peer.json").read_text())
        data = WORK / "data"
        ours = {"run": WORK / "runs" / "ours-budget"}
        joey = {"config": WORK / "configs" / "joey-budget.yaml", "model_dir": WORK / "runs" / "joey-budget"}
        return decode_both(results, ours, joey, data, repeats, threads)
    shape = our_shape()
    results: dict = {"threads": threads, "steps": steps, "minutes": minutes, "shape": shape.__dict__}

    # 1. training throughput, A B A B; our first run also makes the shared SentencePiece models
    ours_rates, joey_rates, data = [], [], None
    for r in range(repeats):
        ours = train_ours(f"ours-throughput-{r}", threads, [f"max_steps={steps}", f"eval_every={steps}"])
        ours_rates.append(ours["train_tokens"] / ours["elapsed_s"])
        if data is None:
            data = prepare_data(REPO / "data" / "enko", ours["run"] / "last", WORK / "data")
        joey = train_joey(f"joey-throughput-{r}", data, shape, threads, updates=steps,
                          validation_freq=10 * steps)  # fmt: skip
        joey_rates.append(joey["tok_s"])
        print(
            f"training throughput round {r + 1}: ours {ours_rates[-1]:,.0f}, joey {joey_rates[-1]:,.0f} tok/s"
        )
    results["train_tok_s"] = {"ours": statistics.median(ours_rates), "joey": statistics.median(joey_rates),
                              "ours_runs": ours_rates, "joey_runs": joey_rates}  # fmt: skip

    # 2. an equal wall-clock budget each, one after the other on the whole machine
    budget = minutes * 60
    ours = train_ours("ours-budget", threads, [f"max_minutes={minutes}"])
    joey = train_joey("joey-budget", data, shape, threads, updates=10**7, validation_freq=joey_validation,
                      budget_s=budget)  # fmt: skip
    results["budget"] = {
        "ours_steps": ours["step"],
        "ours_tokens": ours["train_tokens"],
        "ours_wall_s": ours["wall_s"],
        "joey_steps": joey["steps"],
        "joey_wall_s": joey["wall_s"],
    }

    return decode_both(results, ours, joey, data, repeats, threads)


def decode_both(results: dict, ours: dict, joey: dict, data: Path, repeats: int, threads: int) -> dict:
    """3. decoding the test split with each side's budget model, A B A B, greedy and beam 5."""
    for beam in (1, 5):
        ours_runs, joey_runs = [], []
        for _ in range(repeats):
            ours_runs.append(decode_ours(ours["run"] / "best", data, beam, threads))
            joey_runs.append(decode_joey(joey, data, beam, threads))
        key = "greedy" if beam == 1 else f"beam{beam}"
        results[key] = {
            "ours_sent_s": statistics.median(r["sent_s"] for r in ours_runs),
            "joey_sent_s": statistics.median(r["sent_s"] for r in joey_runs),
            "ours_tok_s": statistics.median(r["tok_s"] for r in ours_runs),
            "joey_tok_s": statistics.median(r["tok_s"] for r in joey_runs),
            "ours_chrf": ours_runs[-1]["chrf"],
            "joey_chrf": joey_runs[-1]["chrf"],
        }
        print(f"decoding {key}: {results[key]}")
    (WORK / "peer.json").write_text(json.dumps(results, indent=2, default=str))
    return results


def table(results: dict) -> str:
    """The markdown table of the comparison: medians and ours/peer."""

    def row(name: str, ours: float, joey: float, unit: str, target: str) -> str:
        return f"| {name} | {ours:,.1f} {unit} | {joey:,.1f} {unit} | {ours / joey:.1f}x | {target} |"

    lines = ["| measure | ours | Joey NMT 2.3.0 | ours/peer | target |", "|---|---|---|---|---|"]
    t = results["train_tok_s"]
    lines.append(row("training (target tokens/s)", t["ours"], t["joey"], "tok/s", "≥ 5x"))
    for key, label, target in (("greedy", "decoding, greedy", ""), ("beam5", "decoding, beam 5", "≥ 5x")):
        d = results[key]
        lines.append(row(f"{label} (test sentences/s)", d["ours_sent_s"], d["joey_sent_s"], "sent/s", target))
        lines.append(row(f"{label} (output pieces/s)", d["ours_tok_s"], d["joey_tok_s"], "tok/s", ""))
    b, d = results["budget"], results["beam5"]
    lines.append(
        f"| chrF on test (beam 5) after {results['minutes']:g} min of training | {d['ours_chrf']:.2f} | "
        f"{d['joey_chrf']:.2f} | +{d['ours_chrf'] - d['joey_chrf']:.1f} | ours ≥ 35 |"
    )
    lines.append(f"| steps in that budget | {b['ours_steps']:,} | {b['joey_steps']:,} | | |")
    g = results["greedy"]
    lines.append(
        f"| chrF on test (greedy) after that budget | {g['ours_chrf']:.2f} | {g['joey_chrf']:.2f} | | |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget for each side")
    parser.add_argument("--steps", type=int, default=60, help="steps per throughput run")
    parser.add_argument("--repeats", type=int, default=2, help="A B rounds per measurement")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--decode-only", action="store_true", help="decode again with the models of the last run (bench/work)"
    )
    args = parser.parse_args(argv)
    results = run(args.minutes, args.steps, args.repeats, args.threads, decode_only=args.decode_only)
    print(table(results))
    return results


if __name__ == "__main__":
    main()
