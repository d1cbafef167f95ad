"""Tests for seq2seq.export: α as CSV (with a BOM for Excel) and JSON, and download file names."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from seq2seq import export


def test_attention_csv_and_json_round_trip():
    src, tgt = ["▁=SUM(A1)", "b,c", "</s>"], ["▁x", "</s>"]
    attention = np.array([[0.5, 0.25, 0.25], [0.0, 0.1, 0.9]])
    rows = list(csv.reader(io.StringIO(export.attention_csv(src, tgt, attention))))
    assert rows[0] == ["target \\ source", "▁=SUM(A1)", "b,c", "</s>"]
    assert [r[0] for r in rows[1:]] == tgt
    assert np.allclose(np.array([[float(v) for v in r[1:]] for r in rows[1:]]), attention)
    assert export.attention_csv(["=1+1", "</s>"], ["x"], np.array([[0.5, 0.5]])).startswith(
        "target \\ source,'=1+1"
    )  # a formula-looking token is quoted for spreadsheets
    payload = json.loads(export.attention_json(src, tgt, attention, model="m"))
    assert (
        payload["model"] == "m"
        and payload["src_tokens"] == src
        and np.allclose(payload["attention"], attention)
    )
    with pytest.raises(ValueError):
        export.attention_csv(src, tgt, attention.T)


def test_csv_bytes_carry_a_bom_for_excel_and_names_say_model_and_sentence():
    data = export.csv_bytes(export.attention_csv(["▁파일", "</s>"], ["x"], np.array([[0.5, 0.5]])))
    assert data.startswith(b"\xef\xbb\xbf") and "▁파일".encode() in data
    name = export.file_name("enko-additive", "Click the Save button, then OK!", "attention-word", "csv")
    assert name == "enko-additive_click-the-save-button-then-ok_attention-word.csv"
    assert export.file_name("m/../x", "사랑해요", "beam", "png") == "m-..-x_sentence_beam.png"
