"""Tests for seq2seq.checkpoint: round trips, safe loading, clear errors, atomic writes."""

from __future__ import annotations

import builtins
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from seq2seq import load_translator
from seq2seq.checkpoint import (
    CONFIG_FILE,
    MODEL_FILE,
    SRC_SPM,
    TGT_SPM,
    CheckpointError,
    atomic_torch_save,
    atomic_write_bytes,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from seq2seq.config import FORMAT_VERSION

SENTENCES = [
    "the user opens the file .",
    "the macro saves the chart again .",
    "the dialog prints the page now .",
]


@pytest.fixture()
def folder(tiny_checkpoint, tmp_path) -> Path:
    """A private copy of the tiny checkpoint that a test may break."""
    return Path(shutil.copytree(tiny_checkpoint, tmp_path / "ckpt"))


def edit_config(folder: Path, change) -> None:
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    change(config)
    (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def assert_refused(folder: Path, file_name: str, match: str | None = None) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder)
    assert file_name in str(info.value), f"{file_name} not named in: {info.value}"
    if match:
        assert match in str(info.value)
    return info.value


# --------------------------------------------------------------------------- round trips
def test_save_then_load_round_trips(tiny_translator, tmp_path):
    """The tiny checkpoint is already fp16, so saving it again in fp16 changes no bit."""
    saved = save_checkpoint(
        tmp_path / "again",
        tiny_translator.model,
        tiny_translator.src_tokenizer,
        tiny_translator.tgt_tokenizer,
        extra={"note": "copy"},
    )
    reloaded = load_translator(saved, device="cpu")
    before, after = tiny_translator.model.state_dict(), reloaded.model.state_dict()
    assert list(before) == list(after)
    for key in before:
        assert torch.equal(before[key], after[key]), key
    for beam in (1, 3):
        for a, b in zip(
            tiny_translator.translate_batch(SENTENCES, beam_size=beam),
            reloaded.translate_batch(SENTENCES, beam_size=beam),
        ):
            assert (a.text, a.tgt_tokens, a.score) == (b.text, b.tgt_tokens, b.score)
            assert (a.attention == b.attention).all()
    config = json.loads((saved / CONFIG_FILE).read_text(encoding="utf-8"))
    assert config["format_version"] == FORMAT_VERSION and config["note"] == "copy"
    assert config["model"]["attention"] == "additive"
    assert (saved / SRC_SPM).read_bytes() == tiny_translator.src_tokenizer.model_proto
    assert (saved / TGT_SPM).read_bytes() == tiny_translator.tgt_tokenizer.model_proto


def test_loading_the_same_folder_twice_translates_identically(tiny_checkpoint):
    a, b = load_translator(tiny_checkpoint, device="cpu"), load_translator(tiny_checkpoint, device="cpu")
    for x, y in zip(a.translate_batch(SENTENCES), b.translate_batch(SENTENCES)):
        assert (x.text, x.score) == (y.text, y.score) and (x.attention == y.attention).all()


def test_weights_are_fp16_and_load_with_weights_only(tiny_checkpoint):
    state = torch.load(tiny_checkpoint / MODEL_FILE, map_location="cpu", weights_only=True)
    assert isinstance(state, dict) and state
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}
    loaded = load_checkpoint(tiny_checkpoint)
    assert set(state) == set(loaded.model.state_dict())
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())  # computed in fp32
    assert not loaded.model.training


def test_full_precision_save_round_trips_exactly(tiny_translator, tmp_path):
    from seq2seq.config import ModelConfig
    from seq2seq.model import Seq2Seq

    cfg = ModelConfig(
        src_vocab_size=42,
        tgt_vocab_size=46,
        embed_dim=8,
        hidden_size=4,
        attention="general",
        attention_dim=4,
        dropout=0.0,
        encoder_rnn="lstm",
        input_feeding=False,
    )
    torch.manual_seed(0)
    model = Seq2Seq(cfg)
    saved = save_checkpoint(
        tmp_path / "fp32", model, tiny_translator.src_tokenizer, tiny_translator.tgt_tokenizer, half=False
    )
    loaded = load_checkpoint(saved)
    assert loaded.model.cfg == cfg
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[key]), key


# --------------------------------------------------------------------------- clear errors
@pytest.mark.parametrize("name", [MODEL_FILE, SRC_SPM, TGT_SPM, CONFIG_FILE])
def test_missing_file_is_named(folder, name):
    (folder / name).unlink()
    assert_refused(folder, name, "missing")


def test_not_a_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        load_checkpoint(tmp_path / "nowhere")
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        load_checkpoint(tmp_path / "model.pt")


def test_truncated_weights(folder):
    data = (folder / MODEL_FILE).read_bytes()
    (folder / MODEL_FILE).write_bytes(data[: len(data) // 2])
    assert_refused(folder, MODEL_FILE, "cannot be read")


@pytest.mark.parametrize(
    "garbage", [b"{not json", b"\xff\xfe\x00binary", b"[1, 2]", b'{"format_version": 1}']
)
def test_garbage_config(folder, garbage):
    (folder / CONFIG_FILE).write_bytes(garbage)
    assert_refused(folder, CONFIG_FILE)


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_unknown_format_version(folder, version):
    edit_config(folder, lambda c: c.__setitem__("format_version", version))
    assert_refused(folder, CONFIG_FILE, "format_version")


def test_wrong_tensor_shapes(folder):
    edit_config(folder, lambda c: c["model"].__setitem__("hidden_size", 16))
    error = assert_refused(folder, MODEL_FILE, "does not fit config.json")
    assert "size mismatch" in str(error)


@pytest.mark.parametrize(
    "key,value",
    [("attention", "magic"), ("hidden_size", "big"), ("embed_dim", -3), ("unknown_key", 1), ("dropout", [])],
)
def test_bad_model_config_values(folder, key, value):
    edit_config(folder, lambda c: c["model"].__setitem__(key, value))
    assert_refused(folder, CONFIG_FILE)


def test_model_section_of_the_wrong_type(folder):
    edit_config(folder, lambda c: c.__setitem__("model", None))
    assert_refused(folder, CONFIG_FILE)


@pytest.mark.parametrize("name", [SRC_SPM, TGT_SPM])
@pytest.mark.parametrize("data", [b"garbage" * 20, b""])
def test_corrupt_tokenizer(folder, name, data):
    (folder / name).write_bytes(data)
    assert_refused(folder, name, "SentencePiece")


def test_tokenizer_of_another_vocabulary(folder):
    shutil.copy(folder / SRC_SPM, folder / TGT_SPM)  # 42 pieces where the model has 46
    assert_refused(folder, str(folder), "vocabularies")


@pytest.mark.parametrize("payload", [[1, 2], {"encoder.embedding.weight": 1}, {"a": "text"}])
def test_weights_that_are_not_a_state_dict(folder, payload):
    torch.save(payload, folder / MODEL_FILE)
    assert_refused(folder, MODEL_FILE)


class Exploit:
    """Unpickling this calls open(marker, "w"): a file appears if the pickle is ever executed."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


def test_the_exploit_is_live_when_unpickled_naively(tmp_path):
    """Control: the payload really runs code under plain pickle, so the next test means something."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(Exploit(marker))).close()
    assert marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_pickled_code_in_the_weights_is_refused_and_never_runs(folder, tmp_path, writer):
    marker = tmp_path / "pwned"
    payload = {"encoder.embedding.weight": torch.zeros(2), "evil": Exploit(marker)}
    if writer == "torch.save":
        torch.save(payload, folder / MODEL_FILE)
    else:
        with open(folder / MODEL_FILE, "wb") as handle:
            pickle.dump(payload, handle)
    assert_refused(folder, MODEL_FILE, "cannot be read")
    assert not marker.exists()


# --------------------------------------------------------------------------- listing
def test_list_checkpoints_reports_valid_and_skipped_folders(tiny_checkpoint, tiny_fixed_checkpoint, tmp_path):
    root = tmp_path / "checkpoints"
    shutil.copytree(tiny_checkpoint, root / "good")
    shutil.copytree(tiny_fixed_checkpoint, root / "fixed")
    shutil.copytree(tiny_checkpoint, root / "no-weights")
    (root / "no-weights" / MODEL_FILE).unlink()
    shutil.copytree(tiny_checkpoint, root / "bad-json")
    (root / "bad-json" / CONFIG_FILE).write_text("{", encoding="utf-8")
    shutil.copytree(tiny_checkpoint, root / "future")
    edit_config(root / "future", lambda c: c.__setitem__("format_version", 99))
    shutil.copytree(tiny_checkpoint, root / "bad-attention")
    edit_config(root / "bad-attention", lambda c: c["model"].__setitem__("attention", "magic"))
    (root / "empty").mkdir()
    shutil.copytree(tiny_checkpoint, root / ".hidden")
    (root / "notes.txt").write_text("not a folder", encoding="utf-8")

    valid, skipped = list_checkpoints(root)
    assert valid == [root / "fixed", root / "good"]
    reasons = {path.name: reason for path, reason in skipped}
    assert set(reasons) == {"no-weights", "bad-json", "future", "bad-attention", "empty"}
    assert "model.pt" in reasons["no-weights"]
    assert "config.json" in reasons["bad-json"] and "JSON" in reasons["bad-json"]
    assert "format_version" in reasons["future"]
    assert "attention" in reasons["bad-attention"]
    assert "missing" in reasons["empty"]


def test_list_checkpoints_of_a_missing_root(tmp_path):
    assert list_checkpoints(tmp_path / "nowhere") == ([], [])


# --------------------------------------------------------------------------- atomic writes
def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    atomic_torch_save({"x": torch.ones(2)}, tmp_path / "sub" / "t.pt")
    assert target.read_bytes() == b"second"
    assert torch.equal(torch.load(tmp_path / "sub" / "t.pt", weights_only=True)["x"], torch.ones(2))
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["file.bin", "t.pt"]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, error):
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"previous")

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(type(error)):
        atomic_write_bytes(target, b"new")
    with pytest.raises(type(error)):
        atomic_torch_save({"x": torch.zeros(1)}, target)
    monkeypatch.undo()
    assert target.read_bytes() == b"previous"
    assert leftovers(tmp_path) == []


def test_a_failed_save_keeps_the_previous_checkpoint_loadable(tiny_translator, folder, monkeypatch):
    real_replace = os.replace
    calls = []

    def fail_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # model.pt is written, then the tokenizer write dies
            raise OSError("disk full")
        real_replace(src, dst)

    before = (folder / CONFIG_FILE).read_bytes()
    monkeypatch.setattr(os, "replace", fail_on_second)
    with pytest.raises(OSError):
        save_checkpoint(
            folder, tiny_translator.model, tiny_translator.src_tokenizer, tiny_translator.tgt_tokenizer
        )
    monkeypatch.undo()
    assert (folder / CONFIG_FILE).read_bytes() == before  # config.json is written last
    assert leftovers(folder) == []
    assert load_translator(folder, device="cpu").translate(SENTENCES[0]).text == "사용자가 파일을 엽니다."
