"""Training: a tiny run writes a checkpoint that loads, resume after kill -9 or a stop signal is exact, NaN stops
the run with the step named, 2-process DDP matches a single process, and snapshots average."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import TINY_OVERRIDES

from seq2seq import load_translator
from seq2seq.batching import Example, make_batches
from seq2seq.card import write_card
from seq2seq.config import load_train_config
from seq2seq.jsonfiles import read_jsonl as read_metrics
from seq2seq.snapshots import SNAPSHOTS_DIR, average_snapshots
from seq2seq.snapshots import trim_snapshots as _trim_snapshots
from seq2seq.train import STATE_FILE, TrainingError, train

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "seq2seq", "train", *args]


def _overrides(corpus: Path, out: Path, name: str, *extra: str) -> list[str]:
    return [*TINY_OVERRIDES, f"data_dir={corpus}", f"out_dir={out}", f"name={name}", *extra]


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)["model"]


def test_tiny_run_writes_checkpoint_that_loads_and_translates(tiny_checkpoint):
    translator = load_translator(tiny_checkpoint, device="cpu")
    result = translator.translate("the user opens the file .")
    assert result.text == "사용자가 파일을 엽니다."
    rows = [json.loads(line) for line in (tiny_checkpoint / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [100, 200, 300]
    assert {"step", "train_loss", "dev_loss", "dev_chrf", "lr", "elapsed_s"} <= set(rows[0])
    assert rows[-1]["dev_loss"] < rows[0]["dev_loss"]


def test_training_overfits_the_toy_corpus(tiny_checkpoint):
    """The loss falls a lot and the model reproduces its training targets."""
    rows = [json.loads(line) for line in (tiny_checkpoint / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["train_loss"] < 0.2
    assert rows[-1]["dev_chrf"] > 90


def test_batches_are_length_bucketed_and_cover_every_example():

    examples = [Example([5] * n, [6] * (n % 7 + 1)) for n in range(1, 200)]
    batches = make_batches(examples, batch_tokens=300, seed=3)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(examples)))
    for batch in batches:
        longest = max(max(len(examples[i].src), len(examples[i].tgt)) for i in batch)
        assert longest * len(batch) <= 300 or len(batch) == 1
    assert make_batches(examples, 300, seed=3) == batches  # deterministic per seed


def test_resume_after_kill_continues_from_the_saved_step(toy_corpus, tmp_path):
    """kill -9 mid-run, then --resume: the run ends where an uninterrupted one ends, same weights."""
    steps = ["max_steps=400", "eval_every=50"]
    reference = train(
        load_train_config(None, _overrides(toy_corpus, tmp_path, "straight", *steps)), show_progress=False
    )

    args = _cli(*_overrides(toy_corpus, tmp_path, "killed", *steps))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state_file = tmp_path / "killed" / "last" / STATE_FILE
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if state_file.is_file():
            saved = torch.load(state_file, map_location="cpu", weights_only=True)["progress"]["step"]
            if saved >= 100:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(state_file, map_location="cpu", weights_only=True)["progress"]["step"]
    assert 100 <= killed_at < 400
    load_translator(tmp_path / "killed" / "last")  # the last good checkpoint still loads

    out = subprocess.run([*args, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "resuming from step" in out.stdout
    final = torch.load(state_file, map_location="cpu", weights_only=True)
    assert final["progress"]["step"] == 400
    expected = _weights(reference / "last")
    for key, value in _weights(tmp_path / "killed" / "last").items():
        torch.testing.assert_close(value, expected[key], rtol=1e-4, atol=1e-5)


def _signal_at_step(monkeypatch, step: int, signum: int):
    """Make the trainer send itself `signum` right after step `step`; returns the real train_step."""
    import seq2seq.train as train_module

    real_step = train_module.Trainer.train_step

    def signalled(self, examples):
        out = real_step(self, examples)
        if self.state.step == step:
            os.kill(os.getpid(), signum)
        return out

    monkeypatch.setattr(train_module.Trainer, "train_step", signalled)
    return real_step


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_stop_signal_saves_last_at_that_step_and_resume_is_exact(toy_corpus, tmp_path, monkeypatch, signum):
    """A session ending its processes between evaluations loses nothing: last/ is saved at the step
    where the signal came, and --resume ends with the weights of an uninterrupted run."""
    import seq2seq.train as train_module

    steps = ["max_steps=100", "eval_every=50"]
    reference = train(
        load_train_config(None, _overrides(toy_corpus, tmp_path, "straight", *steps)), show_progress=False
    )
    real_step = _signal_at_step(monkeypatch, 37, signum)
    cfg = load_train_config(None, _overrides(toy_corpus, tmp_path, "stopped", *steps))
    before = signal.getsignal(signum)  # SIG_IGN for SIGINT when pytest runs as a background job
    train(cfg, show_progress=False)
    state_file = tmp_path / "stopped" / "last" / STATE_FILE
    assert torch.load(state_file, map_location="cpu", weights_only=True)["progress"]["step"] == 37
    assert signal.getsignal(signum) == before  # the handler in force before the run is put back
    monkeypatch.setattr(train_module.Trainer, "train_step", real_step)
    train(cfg, resume=True, show_progress=False)
    assert torch.load(state_file, map_location="cpu", weights_only=True)["progress"]["step"] == 100
    expected = _weights(reference / "last")
    for key, value in _weights(tmp_path / "stopped" / "last").items():
        torch.testing.assert_close(value, expected[key], rtol=1e-4, atol=1e-5)


RECIPES = {
    "tied": ["model.tie_embeddings=true"],
    "word-dropout": ["model.word_dropout=0.2"],
    "cosine": ["lr_schedule=cosine", "warmup_steps=20", "min_lr=1e-4"],
    "linear": ["lr_schedule=linear"],
    "subword-sampling": ["subword_alpha=0.2"],
}


@pytest.mark.parametrize("recipe", list(RECIPES), ids=list(RECIPES))
def test_each_recipe_option_trains_saves_resumes_exactly_and_loads(toy_corpus, tmp_path, monkeypatch, recipe):
    """The low-resource options (issue 27): a run stopped at step 37 and resumed ends with the weights
    of an uninterrupted one, and the checkpoint loads and translates."""
    import seq2seq.train as train_module

    steps = ["max_steps=80", "eval_every=40", *RECIPES[recipe]]
    reference = train(
        load_train_config(None, _overrides(toy_corpus, tmp_path, "straight", *steps)), show_progress=False
    )
    real_step = _signal_at_step(monkeypatch, 37, signal.SIGTERM)
    cfg = load_train_config(None, _overrides(toy_corpus, tmp_path, "stopped", *steps))
    train(cfg, show_progress=False)
    monkeypatch.setattr(train_module.Trainer, "train_step", real_step)
    train(cfg, resume=True, show_progress=False)
    expected = _weights(reference / "last")
    for key, value in _weights(tmp_path / "stopped" / "last").items():
        torch.testing.assert_close(value, expected[key], rtol=1e-4, atol=1e-5)
    translator = load_translator(tmp_path / "stopped" / "last")
    assert translator.translate("the cat eats").text.strip()
    if recipe == "tied":
        decoder = translator.model.decoder
        assert decoder.generator.weight.data_ptr() == decoder.embedding.weight.data_ptr()


def test_a_planned_schedule_warms_up_then_falls_to_its_floor():
    """Warm-up from lr/warmup to lr, then cosine to min_lr at max_steps, or at max_minutes if sooner."""
    from seq2seq.run_state import scheduled_lr

    cfg = load_train_config(
        None, ["lr_schedule=cosine", "lr=1e-3", "min_lr=1e-5", "warmup_steps=100", "max_steps=1000"]
    )
    assert scheduled_lr(cfg, 0, 0) == pytest.approx(1e-3 * (1 + math.cos(0)) / 2 / 100, rel=1e-3)
    assert scheduled_lr(cfg, 100, 0) == pytest.approx(
        1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi / 10))
    )
    assert scheduled_lr(cfg, 500, 0) == pytest.approx((1e-3 + 1e-5) / 2)
    assert scheduled_lr(cfg, 1000, 0) == pytest.approx(1e-5)
    timed = load_train_config(None, ["lr_schedule=linear", "lr=1e-3", "min_lr=0", "max_minutes=10"])
    assert scheduled_lr(timed, 5, 300) == pytest.approx(5e-4)  # half the minutes gone, few steps taken
    with pytest.raises(ValueError, match="lr_schedule"):
        load_train_config(None, ["lr_schedule=step"])


def test_tied_embeddings_need_matching_sizes_and_an_old_config_loads_untied():
    from seq2seq.config import ModelConfig, model_config_from_dict

    with pytest.raises(ValueError, match="tie_embeddings"):
        ModelConfig(embed_dim=128, hidden_size=256, tie_embeddings=True)
    old = model_config_from_dict({"embed_dim": 8, "hidden_size": 8, "attention": "additive"})
    assert not old.tie_embeddings and old.word_dropout == 0.0


def test_nan_loss_stops_with_the_step_named_and_saves_nothing_broken(toy_corpus, tmp_path, monkeypatch):
    import seq2seq.train as train_module

    real_loss = train_module.sequence_loss
    calls = {"n": 0}

    def poisoned(logits, targets, label_smoothing=0.0):
        loss, tokens = real_loss(logits, targets, label_smoothing)
        calls["n"] += 1
        return (loss * float("nan") if calls["n"] == 120 else loss), tokens

    monkeypatch.setattr(train_module, "sequence_loss", poisoned)
    cfg = load_train_config(None, _overrides(toy_corpus, tmp_path, "nan", "max_steps=300", "eval_every=50"))
    with pytest.raises(TrainingError, match=r"step \d+"):
        train(cfg, show_progress=False)
    last = tmp_path / "nan" / "last"
    state = torch.load(last / STATE_FILE, map_location="cpu", weights_only=True)
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    load_translator(last).translate("the user opens the file .")


def test_the_logged_train_loss_is_the_mean_since_the_last_evaluation(toy_corpus, tmp_path, monkeypatch):
    """Not the one batch that happened to come last: that made the curve jump about (3.5, 3.9, 5.0)."""
    import seq2seq.train as train_module

    real_step, seen = train_module.Trainer.train_step, []

    def recorded(self, examples):
        seen.append(real_step(self, examples))
        return seen[-1]

    monkeypatch.setattr(train_module.Trainer, "train_step", recorded)
    cfg = load_train_config(None, _overrides(toy_corpus, tmp_path, "mean", "max_steps=60", "eval_every=30"))
    train(cfg, show_progress=False)
    rows = read_metrics(tmp_path / "mean" / "metrics.jsonl")
    for row, part in zip(rows, (seen[:30], seen[30:60])):
        assert row["train_loss"] == pytest.approx(
            sum(loss for loss, _ in part) / sum(n for _, n in part), abs=1e-4
        )
    assert rows[0]["train_loss"] != pytest.approx(seen[29][0] / seen[29][1], abs=1e-3)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_process_ddp_matches_single_process(toy_corpus, tmp_path):
    """torchrun with 2 gloo processes: each rank takes half of every batch; the result matches."""
    steps = ["max_steps=40", "eval_every=40", "model.dropout=0.0"]
    single = train(
        load_train_config(None, _overrides(toy_corpus, tmp_path, "single", *steps)), show_progress=False
    )
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [
        str(torchrun),
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "-m",
        "seq2seq",
        "train",
        *_overrides(toy_corpus, tmp_path, "ddp", *steps),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "x2" in out.stdout  # the run reported two processes
    expected = _weights(single / "last")
    for key, value in _weights(tmp_path / "ddp" / "last").items():
        torch.testing.assert_close(value, expected[key], rtol=1e-3, atol=1e-4)


def test_read_metrics_skips_a_line_cut_short(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "dev_chrf": 3}\n{"step": 2, "dev_\n')
    assert read_metrics(tmp_path / "metrics.jsonl") == [{"step": 1, "dev_chrf": 3}]


def test_snapshots_keep_the_last_n_and_average_into_a_checkpoint(toy_corpus, tmp_path):
    """keep_snapshots=3 leaves the last 3 evaluations; `average` is their exact mean, loads and translates."""
    run = train(
        load_train_config(
            None, _overrides(toy_corpus, tmp_path, "snap", "max_steps=250", "keep_snapshots=3")
        ),
        show_progress=False,
    )
    names = sorted(p.name for p in (run / SNAPSHOTS_DIR).glob("*.pt"))
    assert names == ["step-0000100.pt", "step-0000200.pt", "step-0000250.pt"]
    snapshots = [torch.load(run / SNAPSHOTS_DIR / n, weights_only=True) for n in names[1:]]

    rows = {row["step"]: row for row in read_metrics(run / "metrics.jsonl")}
    best_config = json.loads((run / "best" / "config.json").read_text())  # as if best/ were step 200
    best_config["progress"].update(
        step=200, train_tokens=rows[200]["train_tokens"], elapsed=1.0, epoch=0, batch=1
    )
    (run / "best" / "config.json").write_text(json.dumps(best_config))
    last = json.loads((run / "last" / "config.json").read_text())["progress"]
    report = average_snapshots(run, 2, tmp_path / "averaged")
    assert report["steps"] == [200, 250]
    assert 0 <= report["dev_chrf"] <= 100 and 0 <= report["best_dev_chrf"] <= 100
    translator = load_translator(tmp_path / "averaged")
    for key, value in translator.model.state_dict().items():
        if value.is_floating_point():  # saved in fp16, as every shipped checkpoint
            mean = (snapshots[0][key] + snapshots[1][key]) / 2
            torch.testing.assert_close(value, mean.half().float())
    assert translator.translate("the user opens the file .").text
    assert (tmp_path / "averaged" / "metrics.jsonl").is_file()
    progress = json.loads((tmp_path / "averaged" / "config.json").read_text())["progress"]
    assert progress["step"] == 250  # the budget is the last snapshot's, not best/'s
    assert progress["train_tokens"] == rows[250]["train_tokens"] > rows[200]["train_tokens"]
    assert progress["elapsed"] == rows[250]["elapsed_s"]
    # and its data position: train --init-from goes on with the batches after step 250, not after 200
    assert (progress["epoch"], progress["batch"]) == (last["epoch"], last["batch"]) != (0, 1)

    (tmp_path / "averaged" / "eval_summary.json").unlink(missing_ok=True)
    card = write_card(tmp_path / "averaged")
    assert "the average of the 2 snapshots at steps 200–250" in card
    assert "(last snapshot)" in card

    with pytest.raises(ValueError, match="at least 2 snapshots"):
        average_snapshots(run, 1, tmp_path / "one")

    # twins ship at one step while one trains on: `upto` averages there, and its log ends there too
    (run / "last").rename(run / "gone")  # neither last/ nor best/ is at step 200: the snapshot says where
    at_200 = json.loads((run / SNAPSHOTS_DIR / "step-0000200.json").read_text())
    assert at_200["step"] == 200 and (at_200["epoch"], at_200["batch"]) != (0, 1)
    timeline = {"probes": ["a ."], "snapshots": [{"step": s, "outputs": [{}]} for s in (0, 200, 250)]}
    (run / "timeline.json").write_text(json.dumps(timeline))
    report = average_snapshots(run, 2, tmp_path / "at200", upto=200)
    assert report["steps"] == [100, 200]
    progress = json.loads((tmp_path / "at200" / "config.json").read_text())["progress"]
    assert (progress["step"], progress["epoch"], progress["batch"]) == (200, at_200["epoch"], at_200["batch"])
    assert progress["train_tokens"] == rows[200]["train_tokens"]
    assert max(r["step"] for r in read_metrics(tmp_path / "at200" / "metrics.jsonl")) == 200
    shipped = json.loads((tmp_path / "at200" / "timeline.json").read_text())
    assert [s["step"] for s in shipped["snapshots"]] == [0, 200]
    with pytest.raises(ValueError, match="no snapshot at step 150"):
        average_snapshots(run, 2, tmp_path / "at150", upto=150)


def test_a_resumed_run_drops_snapshots_newer_than_its_saved_step(tmp_path):
    for step in (100, 200, 300, 400):
        (tmp_path / f"step-{step:07d}.pt").write_bytes(b"x")
    _trim_snapshots(tmp_path, 300, keep=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "step-0000100.pt",
        "step-0000200.pt",
        "step-0000300.pt",
    ]
    (tmp_path / "step-0000100.json").write_text("{}")  # a snapshot's progress goes with it
    _trim_snapshots(tmp_path, 300, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0000200.pt", "step-0000300.pt"]


def test_init_from_continues_a_saved_checkpoint_with_its_step_and_log(tiny_checkpoint, toy_corpus, tmp_path):
    """A shipped checkpoint, whose run folder is gone, trains on from its step; its log carries on."""
    cfg = load_train_config(None, _overrides(toy_corpus, tmp_path, "more", "max_steps=400", "eval_every=50"))
    run = train(cfg, show_progress=False, init_from=tiny_checkpoint)
    saved = json.loads((tiny_checkpoint / "config.json").read_text())["progress"]  # best/: maybe before 300
    rows = read_metrics(run / "metrics.jsonl")
    before = [r for r in read_metrics(tiny_checkpoint / "metrics.jsonl") if r["step"] <= saved["step"]]
    assert rows[: len(before)] == before
    assert [r["step"] for r in rows[len(before) :]] == list(range(saved["step"] + 50, 401, 50))
    first = rows[len(before)]
    assert first["dev_loss"] < 2 * before[-1]["dev_loss"] + 0.05  # the learned weights, not a fresh model
    assert first["elapsed_s"] >= saved["elapsed"]
    config = json.loads((run / "last" / "config.json").read_text())
    assert config["init_from"] == {"checkpoint": str(tiny_checkpoint), "step": saved["step"]}
    assert config["progress"]["step"] == 400
    assert "Continued from" in write_card(run / "last")
    more = load_train_config(None, _overrides(toy_corpus, tmp_path, "more", "max_steps=450", "eval_every=50"))
    train(more, resume=True, show_progress=False)  # a resume keeps the record
    config = json.loads((run / "last" / "config.json").read_text())
    assert (config["progress"]["step"], config["init_from"]["step"]) == (450, saved["step"])
    with pytest.raises(TrainingError, match="already holds a run"):
        train(cfg, show_progress=False, init_from=tiny_checkpoint)


def test_domain_mixing_by_temperature():
    from seq2seq.batching import mix_domains

    domains = ["libreoffice"] * 900 + ["tatoeba"] * 100
    assert list(mix_domains(domains, 1.0, seed=0)) == list(range(1000))  # T = 1: the corpus as it is
    mixed = mix_domains(domains, 2.0, seed=0)
    share = sum(domains[i] == "tatoeba" for i in mixed) / len(mixed)
    assert len(mixed) == 1000 and share == pytest.approx(100**0.5 / (100**0.5 + 900**0.5), abs=0.01)  # 0.25
    assert list(mix_domains(domains, 2.0, seed=0)) == list(mixed)  # the same epoch, the same examples
    assert list(mix_domains(domains, 2.0, seed=1)) != list(mixed)
    with pytest.raises(ValueError, match="positive"):
        mix_domains(domains, 0.0, seed=0)
