"""Where the model runs: the GPU when there is one, else the CPU, and a one-line name of the machine."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

DEVICE_ENV = "SEQ2SEQ_DEVICE"  # e.g. "cpu" or "cuda:0": overrides the automatic choice everywhere


def pick_device(name: str = "") -> torch.device:
    """`name` if given, else $SEQ2SEQ_DEVICE, else cuda when available, else cpu."""
    return torch.device(
        name or os.environ.get(DEVICE_ENV) or ("cuda" if torch.cuda.is_available() else "cpu")
    )


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
