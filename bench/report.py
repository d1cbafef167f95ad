"""bench/RESULTS.md from the saved results of each benchmark (bench/results/<name>.json).

Each benchmark saves its numbers with the date, hardware and versions of its own run, so running one
benchmark again updates its section and leaves the others as they were measured.
"""

from __future__ import annotations

import datetime
import importlib
import json
import platform
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"
ORDER = (
    "peer",
    "latency",
    "explain",
    "app",
    "classroom",
    "hall",
    "families",
    "search",
    "rerank",
    "recipes",
    "speedups",
    "training",
)
TITLES = {
    "peer": "Side by side with Joey NMT 2.3.0",
    "latency": "Interactive latency (ours alone)",
    "explain": "Explanations: attribution and nearest training examples (ours alone)",
    "app": "App cold start and server memory",
    "classroom": "Classroom: click to visible, and a class at once (in Chromium)",
    "hall": "A lecture hall: the light student page, pushed (light clients and Chromium)",
    "families": "Which family knows a sentence better (the bigram check behind the family hint)",
    "search": "Search: greedy, the beam, GNMT's length and coverage penalties, no-repeat (dev split)",
    "rerank": "The reverse model as a second opinion: noisy-channel reranking (chosen on dev)",
    "recipes": "Training recipes side by side (issue 27's proxies, dev split)",
    "speedups": "What each speed-up buys (with and without, same run)",
    "training": "Training throughput on the general corpus: batch size, bf16 autocast, torch.compile (one thread)",
}


def environment() -> dict:
    """Date, hardware and versions of this run."""
    import torch

    from seq2seq.device import hardware

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for package in ("streamlit", "sentencepiece", "sacrebleu", "playwright"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    joey = HERE / ".venv-joeynmt" / "bin" / "python"
    if joey.exists():
        probe = subprocess.run(
            [str(joey), "-c", "import joeynmt, torch; print(joeynmt.__version__, torch.__version__)"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0:
            joey_version, joey_torch = probe.stdout.split()
            versions["joeynmt (its venv)"] = f"{joey_version} (torch {joey_torch})"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "hardware": hardware(),
        "versions": versions,
    }


def save(name: str, results: dict, argv: list[str]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    record = {"benchmark": name, "command": " ".join(["python -m bench", name, *argv]),
              "environment": environment(), "results": results}  # fmt: skip
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def write_markdown(notes: dict[str, str] | None = None) -> Path:
    """Rebuild RESULTS.md: one section per saved benchmark, with its table and where it was measured."""
    notes = notes or {}
    parts = [
        "# Benchmarks",
        "",
        "Made by `python -m bench` (`make bench`); each section says when, where and with what it was measured.",
        "Benchmarks measure; nothing here is asserted in CI (a smoke run keeps the scripts working).",
    ]
    for name in ORDER:
        path = RESULTS_DIR / f"{name}.json"
        if not path.is_file():
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        env = record["environment"]
        module = importlib.import_module(f"bench.{name}")
        versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
        parts += [
            "",
            f"## {TITLES[name]}",
            "",
            f"`{record['command']}` · {env['date']} · {env['hardware']} · {versions}",
            "",
            module.table(record["results"]),
        ]
        if name in notes:
            parts += ["", notes[name]]
        extra = HERE / "notes" / f"{name}.md"
        if extra.is_file():
            parts += ["", extra.read_text(encoding="utf-8").strip()]
    RESULTS_MD.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return RESULTS_MD
