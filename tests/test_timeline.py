"""timeline.json: a tiny training run records the probes' attention from step 0, at every evaluation and
every `timeline_every` steps between them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import PROBES

from seq2seq.timeline import TIMELINE_FILE, read_timeline
from seq2seq.viz.timeline import timeline_figure


def test_a_tiny_run_writes_the_timeline_with_rows_of_alpha_summing_to_one(tiny_checkpoint):
    timeline = read_timeline(tiny_checkpoint)
    assert [p["source"] for p in timeline["probes"]] == PROBES and timeline["attention"] is True
    assert all(p["src_tokens"][-1] == "</s>" for p in timeline["probes"])
    steps = [s["step"] for s in timeline["snapshots"]]
    metrics = [
        json.loads(line)["step"] for line in (tiny_checkpoint / "metrics.jsonl").read_text().splitlines()
    ]
    # untrained weights first, then every dev evaluation (each 100) and every 50 steps between them
    assert metrics == [100, 200, 300] and steps == [0, 50, 100, 150, 200, 250, 300]
    for snapshot in timeline["snapshots"]:
        evaluated = snapshot["step"] in (0, *metrics)
        assert ({"dev_loss", "dev_chrf"} <= set(snapshot)) == evaluated and "outputs" in snapshot
        for probe, output in zip(timeline["probes"], snapshot["outputs"]):
            weights = np.asarray(output["weights"])
            assert weights.shape == (len(output["tgt_tokens"]), len(probe["src_tokens"]))
            np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-4)
    first, last = timeline["snapshots"][0], timeline["snapshots"][-1]
    entropy = lambda w: float(-(np.clip(w, 1e-9, 1) * np.log(np.clip(w, 1e-9, 1))).sum(axis=1).mean())  # noqa: E731
    assert entropy(np.asarray(last["outputs"][0]["weights"])) < entropy(
        np.asarray(first["outputs"][0]["weights"])
    )
    assert last["dev_chrf"] > first["dev_chrf"]


def test_timeline_figure_animates_every_snapshot(tiny_checkpoint):
    timeline = read_timeline(tiny_checkpoint)
    fig = timeline_figure(timeline, 1)
    assert [f.name for f in fig.frames] == [str(s["step"]) for s in timeline["snapshots"]]
    assert fig.layout.sliders[0].steps[-1].label == str(timeline["snapshots"][-1]["step"])
    tokens = timeline["snapshots"][-1]["outputs"][1]["tgt_tokens"]
    assert len(fig.frames[-1].data[0].z) == len(tokens)  # each frame carries its own output's rows
    json.loads(fig.to_json())


def test_a_broken_timeline_is_a_clear_error(tmp_path):
    assert read_timeline(tmp_path) is None
    (tmp_path / TIMELINE_FILE).write_text(
        '{"probes": [{"source": "a"}], "snapshots": [{"step": 0, "outputs": []}]}'
    )
    with pytest.raises(ValueError, match="does not match its probes"):
        read_timeline(tmp_path)
    (tmp_path / TIMELINE_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_timeline(tmp_path)


def test_a_shipped_timeline_keeps_every_evaluation_and_thins_the_steps_between():
    from seq2seq.timeline import thinned

    snapshots = [{"step": s, "dev_chrf": 1.0 if s % 800 == 0 else None} for s in range(0, 8801, 100)]
    kept = thinned(snapshots, most=28)
    steps = [s["step"] for s in kept]
    assert len(kept) == 28 and steps == sorted(set(steps))
    assert {0, 8800} | set(range(0, 8801, 800)) <= set(steps)  # the first, the last, every evaluation
    between = [s for s in steps if s % 800]
    assert len(between) == 28 - 12 and between[0] < 1000 and between[-1] > 7900  # spread over the run
    assert thinned(snapshots[:20], most=28) == snapshots[:20]  # nothing to thin


def test_sharpening_reads_the_frames_it_describes():
    from seq2seq.timeline import peak_weights, sharpening

    def snap(step, peak):
        rest = (1 - peak) / 3
        return {"step": step, "outputs": [{"tgt_tokens": ["a"], "weights": [[peak, rest, rest, rest]]}]}

    timeline = {"snapshots": [snap(0, 0.25), snap(100, 0.6), snap(200, 0.4)]}
    assert [s for s, _ in peak_weights(timeline)] == [0, 100, 200]
    said = sharpening(timeline)
    assert said == {
        "first": (0, 0.25),
        "sharpest": (100, 0.6),
        "last": (200, 0.4),
        "blurred": True,
        "verdict": "blurred_early",  # the peak in the first half of the run
    }
    late = {"snapshots": [snap(0, 0.25), snap(100, 0.4), snap(200, 0.3), snap(300, 0.6), snap(400, 0.5)]}
    assert sharpening(late)["verdict"] == "blurred_late"  # swung, peaked late, ended below: not "early"
    timeline["snapshots"].append(snap(300, 0.62))
    assert sharpening(timeline)["blurred"] is False and sharpening(timeline)["verdict"] == "sharpest_late"
    assert sharpening({"snapshots": [snap(0, 0.3)]}) is None  # one frame says nothing about a trend
