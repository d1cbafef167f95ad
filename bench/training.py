"""Training throughput, issue 20's "throughput first": what the batch size, bf16 autocast and
`torch.compile` of `Decoder.step` buy one training process on one thread, as the twins train side by
side. The candidates run the same real batches of the general corpus for a fixed time each
(`speedups.training_rows`); what is faster must also reach an equal dev score after the same number of
steps before a config takes it (configs/enko-general-training-notes.md).

    python -m bench training [--data data/enko-general] [--seconds 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .speedups import table, training_rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("data/enko-general"))
    parser.add_argument("--config", type=Path, default=Path("configs/enko-general-additive.yaml"))
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    results = {"rows": training_rows(args.data, args.seconds, args.config), "training_data": str(args.data)}
    print(table(results))
    return results


__all__ = ["main", "table"]
