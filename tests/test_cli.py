"""Tests for seq2seq.cli: `python -m seq2seq translate` output, JSON, and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seq2seq.cli import attention_table, build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "the user opens the file ."


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


def test_translate_prints_the_translation_and_an_aligned_attention_table(
    tiny_checkpoint, tiny_translator, capsys
):
    code, out, err = run_cli(capsys, "translate", str(tiny_checkpoint), SENTENCE, "--device", "cpu")
    assert code == 0 and err == ""
    result = tiny_translator.translate(SENTENCE)
    lines = out.rstrip("\n").splitlines()
    assert lines[0] == "사용자가 파일을 엽니다." == result.text
    assert lines[1] == ""
    header, rows = lines[2], lines[3:]
    assert header.split() == result.src_tokens
    assert len(rows) == len(result.tgt_tokens)
    for token, row, expected in zip(result.tgt_tokens, rows, result.attention):
        cells = row.split()
        assert cells[0] == token
        percents = np.array([float(c) for c in cells[1:]])
        assert len(percents) == len(result.src_tokens)
        np.testing.assert_allclose(percents, np.round(100 * expected), atol=1)
        assert abs(percents.sum() - 100) <= len(percents)  # rounding only
    # aligned: every percent column ends where its source token ends in the header
    ends = [header.index(t, start) + len(t) for t, start in _starts(header, result.src_tokens)]
    for row in rows:
        assert all(row[end - 1].isdigit() for end in ends)


def _starts(header: str, tokens: list[str]):
    position = 0
    for token in tokens:
        index = header.index(token, position)
        yield token, index
        position = index + len(token)


def test_translate_json_has_the_fields(tiny_checkpoint, tiny_translator, capsys):
    code, out, err = run_cli(capsys, "translate", str(tiny_checkpoint), SENTENCE, "--json", "--beam", "3")
    assert code == 0 and err == ""
    data = json.loads(out)
    from seq2seq.decoding import app_search

    result = tiny_translator.translate(SENTENCE, app_search(3))  # the CLI searches as the app does
    assert {"text", "src_tokens", "tgt_tokens", "attention", "source", "score", "nbest", "warnings"} <= set(
        data
    )
    assert data["text"] == result.text and data["src_tokens"] == result.src_tokens
    assert data["tgt_tokens"] == result.tgt_tokens
    attention = np.array(data["attention"])
    assert attention.shape == (len(result.tgt_tokens), len(result.src_tokens))
    np.testing.assert_allclose(attention, result.attention, atol=1e-5)
    assert len(data["nbest"]) == 3 and data["nbest"][0]["text"] == result.text


def test_translate_fixed_context_model(tiny_fixed_checkpoint, capsys):
    code, out, _ = run_cli(capsys, "translate", str(tiny_fixed_checkpoint), SENTENCE)
    assert code == 0
    assert "(fixed-context model: no attention weights)" in out
    code, out, _ = run_cli(capsys, "translate", str(tiny_fixed_checkpoint), SENTENCE, "--json")
    assert code == 0 and json.loads(out)["attention"] is None


def test_warnings_go_to_stderr(tiny_checkpoint, capsys):
    code, out, err = run_cli(capsys, "translate", str(tiny_checkpoint), " ".join(["file"] * 400))
    assert code == 0 and out
    assert err.startswith("warning: ") and "subword tokens" in err


@pytest.mark.parametrize("where", ["missing", "file"])
def test_bad_checkpoint_path_is_a_one_line_error(tmp_path, capsys, where):
    path = tmp_path / "nowhere"
    if where == "file":
        path.write_text("not a checkpoint", encoding="utf-8")
    assert_one_line_error(*run_cli(capsys, "translate", str(path), SENTENCE), str(path))


def test_corrupt_checkpoint_is_a_one_line_error(tiny_checkpoint, tmp_path, capsys):
    folder = Path(shutil.copytree(tiny_checkpoint, tmp_path / "ckpt"))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["model"]["hidden_size"] = 16  # the weights no longer fit: torch's message spans many lines
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert_one_line_error(*run_cli(capsys, "translate", str(folder), SENTENCE), "model.pt", "size mismatch")


def test_empty_input_is_a_one_line_error(tiny_checkpoint, capsys):
    assert_one_line_error(*run_cli(capsys, "translate", str(tiny_checkpoint), "  \t "), "input is empty")


def test_usage_errors_exit_with_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["translate"])
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err
    assert build_parser().parse_args(["translate", "ckpt", "hi"]).beam == 1


def test_attention_table_alignment():
    table = attention_table(
        ["▁a", "bcdefgh", "</s>"], ["x", "long"], np.array([[0.5, 0.25, 0.25], [0, 0, 1]])
    )
    lines = table.splitlines()
    assert lines[0] == "     " + "     ▁a bcdefgh    </s>"
    assert lines[1] == "x    " + "     50      25      25"
    assert lines[2] == "long " + "      0       0     100"


def test_real_subprocess(tiny_checkpoint, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "seq2seq", "translate", str(tiny_checkpoint), SENTENCE, "--json"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "사용자가 파일을 엽니다."
    command[4] = str(tmp_path / "nowhere")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "not a checkpoint folder")
