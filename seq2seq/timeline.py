"""timeline.json: how the alignment emerges during training.

At every dev evaluation the trainer decodes a few fixed probe sentences greedily and keeps, per
probe, the output tokens and the α matrix, beside the step, dev loss and dev chrF. The file records
the probe sources and their tokens once:

    {"probes": [{"source": str, "src_tokens": [str]}],
     "attention": bool,
     "snapshots": [{"step": int, "dev_loss": float, "dev_chrf": float,
                    "outputs": [{"tgt_tokens": [str], "weights": [[float]] | None}]}]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .decoding import decode_batches
from .jsonfiles import EVAL_DECIMALS, read_json, weights_to_json, write_json
from .model import Seq2Seq
from .tokenizer import EOS_ID, Tokenizer

TIMELINE_FILE = "timeline.json"
MAX_PROBE_PIECES = 99  # the encoder's cap in training (max_src_len - 1)


class Timeline:
    """The probes' attention at each evaluation; `record` adds one snapshot, `save` writes the file."""

    def __init__(self, probes: list[str], src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer):
        self.tgt_tokenizer = tgt_tokenizer
        self.src_ids = [src_tokenizer.encode(p)[:MAX_PROBE_PIECES] + [EOS_ID] for p in probes]
        self.probes = [
            {"source": p, "src_tokens": src_tokenizer.pieces(ids)} for p, ids in zip(probes, self.src_ids)
        ]
        self.snapshots: list[dict[str, Any]] = []

    def record(self, model: Seq2Seq, step: int, metrics: dict[str, Any]) -> None:
        """Decode every probe greedily with the model as it is now (dropout off)."""
        if not self.src_ids:
            return
        was_training = model.training
        model.eval()
        results = decode_batches(model, self.src_ids)
        model.train(was_training)
        outputs = []
        for result in results:
            best = result.nbest[0]
            outputs.append(
                {
                    "tgt_tokens": self.tgt_tokenizer.pieces(best.tokens),
                    "weights": weights_to_json(best.attention),
                }
            )
        self.snapshots = [s for s in self.snapshots if s["step"] < step]
        self.snapshots.append({"step": step, **metrics, "outputs": outputs})

    def to_json(self, has_attention: bool) -> dict[str, Any]:
        return {"probes": self.probes, "attention": has_attention, "snapshots": self.snapshots}

    def save(self, path: str | Path, has_attention: bool) -> None:
        write_json(path, self.to_json(has_attention))

    def load_snapshots(self, path: str | Path, up_to_step: int) -> None:
        """Carry on an earlier run's file (resume, init-from): its snapshots up to `up_to_step`, when its
        probes are the same sentences; otherwise the timeline starts afresh."""
        try:
            data = read_json(path)
        except ValueError:
            return
        if not isinstance(data, dict) or [p.get("source") for p in data.get("probes", [])] != [
            p["source"] for p in self.probes
        ]:
            return
        self.snapshots = [s for s in data.get("snapshots", []) if s.get("step", 0) <= up_to_step]


SHIPPED_SNAPSHOTS = 24  # the most a shipped timeline keeps: 20+ for the Training page, within the 25 MB


def thinned(snapshots: list[dict], most: int = SHIPPED_SNAPSHOTS) -> list[dict]:
    """At most `most` snapshots: the first, the last and every evaluation's (they carry dev scores), then
    the probes between evaluations, evenly spaced, to fill what room is left."""
    if len(snapshots) <= most:
        return snapshots
    keep = {0, len(snapshots) - 1} | {i for i, s in enumerate(snapshots) if s.get("dev_chrf") is not None}
    between = [i for i in range(len(snapshots)) if i not in keep]
    room = min(most - len(keep), len(between))
    if room > 0:
        keep |= {between[round(k * (len(between) - 1) / max(room - 1, 1))] for k in range(room)}
    return [snapshots[i] for i in sorted(keep)]


def write_shipped(source: str | Path, dest: str | Path, decimals: int = EVAL_DECIMALS) -> None:
    """A run's timeline.json for a shipped checkpoint: α to `decimals` (`EVAL_DECIMALS`: the same heatmap
    at a fraction of the size) and `thinned` snapshots, so that 20+ of them fit the checkpoint's 25 MB."""
    data = read_json(source)
    data["snapshots"] = thinned(data.get("snapshots", []))
    for snapshot in data["snapshots"]:
        for output in snapshot.get("outputs", []):
            output["weights"] = weights_to_json(output.get("weights"), decimals)
    write_json(dest, data)


def read_timeline(folder: str | Path) -> dict[str, Any] | None:
    """A checkpoint's timeline.json, or None when it has none; ValueError when it is unreadable."""
    data = read_json(Path(folder) / TIMELINE_FILE)
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("probes"), list):
        raise ValueError(f"{Path(folder) / TIMELINE_FILE}: not a timeline (no probes)")
    for snapshot in data.get("snapshots", []):
        outputs = snapshot.get("outputs")
        if not isinstance(outputs, list) or len(outputs) != len(data["probes"]):
            raise ValueError(f"{Path(folder) / TIMELINE_FILE}: a snapshot does not match its probes")
    return data


def peak_weights(timeline: dict[str, Any], probe: int | None = None) -> list[tuple[int, float]]:
    """(step, mean largest α per output token) at each snapshot, over one probe or all of them: how sharp
    the alignment is as training goes on (1 = each output token looks at one source token)."""
    out = []
    for snapshot in timeline.get("snapshots", []):
        outputs = snapshot.get("outputs", [])
        chosen = outputs if probe is None else outputs[probe : probe + 1]
        peaks = [max(row) for o in chosen for row in (o.get("weights") or []) if row]
        if peaks:
            out.append((int(snapshot["step"]), sum(peaks) / len(peaks)))
    return out


BLURRED_BY = 0.05  # the last snapshot this far below the sharpest one: the alignment blurred again


def sharpening(timeline: dict[str, Any]) -> dict[str, Any] | None:
    """What the Training page says about its frames, from its frames: the first, sharpest and last mean
    largest α over all probes, whether the last is clearly below the sharpest, and so which sentence fits
    (`verdict`): sharpened early then blurred, swung and ended below a late peak, or ended near its peak."""
    peaks = peak_weights(timeline)
    if len(peaks) < 2:
        return None
    best = max(peaks, key=lambda p: p[1])
    (first_step, first), (last_step, last) = peaks[0], peaks[-1]
    blurred = best[1] - last > BLURRED_BY
    early = best[0] - first_step <= (last_step - first_step) / 2
    return {
        "first": (first_step, round(first, 2)),
        "sharpest": (best[0], round(best[1], 2)),
        "last": (last_step, round(last, 2)),
        "blurred": blurred,
        "verdict": ("blurred_early" if early else "blurred_late") if blurred else "sharpest_late",
    }
