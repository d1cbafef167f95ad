"""Tests for seq2seq.diagnostics: the reference diff, uploaded files, flags and the error table."""

from __future__ import annotations

import pytest

from seq2seq import diagnostics
from seq2seq.data import CorpusError, Pair
from seq2seq.decoding import Search
from seq2seq.evaluate import read_eval


def test_word_diff_marks_missing_and_extra_words():
    pieces = diagnostics.diff("a b c d", "a x c d e", "word")
    assert diagnostics.diff_text(pieces) == "a [-b-] {+x+} c d {+e+}"
    assert [p.op for p in pieces] == ["equal", "delete", "insert", "equal", "insert"]


def test_char_diff_and_html_escapes_every_piece():
    pieces = diagnostics.diff("파일을 엽니다", "파일을 닫습니다", "char")
    assert "".join(p.text for p in pieces if p.op != "insert") == "파일을 엽니다"
    assert "".join(p.text for p in pieces if p.op != "delete") == "파일을 닫습니다"
    with pytest.raises(ValueError):
        diagnostics.diff("a", "b", "sentence")


def test_read_upload_reports_bad_lines_with_numbers():
    data = "the user opens the file .\t사용자가 파일을 엽니다.\nno tab here\n\t빈 원문\n".encode()
    pairs, problems = diagnostics.read_upload(data)
    assert pairs == [Pair("the user opens the file .", "사용자가 파일을 엽니다.")]
    assert any(p.startswith("line 2:") for p in problems) and any(p.startswith("line 3:") for p in problems)


@pytest.mark.parametrize(
    "data", [b"\x00\x01\x02binary", b"PK\x03\x04zipfile", b"", b"only\nbad\nlines", b"\xff\xfe\xfd\tx\n"]
)
def test_read_upload_rejects_unusable_files(data):
    with pytest.raises(CorpusError):
        diagnostics.read_upload(data)


def test_read_upload_limits_size_and_lines():
    with pytest.raises(CorpusError, match="limit"):
        diagnostics.read_upload(b"a\tb\n" * 10, max_bytes=20)
    pairs, problems = diagnostics.read_upload(b"a\tb\n" * 5, max_lines=3)
    assert len(pairs) == 3 and any("first 3" in p for p in problems)


def test_analyse_pairs_matches_eval_rows(checkpoints_dir, tiny_translator):
    _, _, rows = read_eval(checkpoints_dir / "tiny-additive")
    pairs = [Pair(r["src"], r["ref"]) for r in rows[:5]]
    calls = []
    analysed = diagnostics.analyse_pairs(
        tiny_translator,
        pairs,
        Search(beam_size=2),
        chunk=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (5, 5) and len(calls) == 3
    for mine, theirs in zip(analysed, rows[:5]):
        for key in ("src", "ref", "hyp", "chrf", "src_words", "bucket", "src_tokens", "dropped", "repeated"):
            assert mine[key] == theirs[key], key
    scores = diagnostics.corpus_scores(analysed)
    assert scores["sentences"] == 5 and 0 <= scores["chrf"] <= 100


def test_error_frame_filters_and_flags(checkpoints_dir):
    _, _, rows = read_eval(checkpoints_dir / "tiny-additive")
    frame = diagnostics.error_frame(rows)
    assert len(frame) == len(rows) and list(frame["id"]) == list(range(len(rows)))
    shown = diagnostics.filter_errors(frame, length=(7, 7), score=(0, 100))
    assert (shown["src_words"] == 7).all() and list(shown["chrf"]) == sorted(shown["chrf"])
    flagged = diagnostics.filter_errors(frame, flagged_only=True)
    assert (flagged["flags"] != "").all()
    row = rows[0]
    assert diagnostics.flagged_src(row) == sorted(set(row["dropped"]) | set(row["repeated"]))
    assert diagnostics.row_flags({"chrf": 10.0, "tgt_tokens": ["a"]}) == ["low chrF", "truncated"]
    assert diagnostics.row_flags({"chrf": 90.0, "ref": "Untranslated dialog title"}) == ["reference?"]
    assert diagnostics.row_flags({"chrf": 90.0, "ref": "PDF 파일로 내보내기"}) == []
    looping = {"chrf": 90.0, "hyp": "몇 명의 몇 명의 몇 명의 몇 명의", "tgt_tokens": ["▁몇", "</s>"]}
    assert diagnostics.row_flags(looping) == ["loops"]
    _, _, fixed_rows = read_eval(checkpoints_dir / "tiny-fixed")
    assert diagnostics.error_frame(fixed_rows)["entropy"].isna().all()  # no attention, no diagnostics


def test_telling_order_puts_one_word_labels_last():
    rows = [
        {"src": "Close", "ref": "닫기", "hyp": "종료", "chrf": 0.0, "src_words": 1},
        {
            "src": "Select the cells that you want to merge.",
            "ref": "a",
            "hyp": "b",
            "chrf": 20.0,
            "src_words": 8,
        },
        {"src": "Click the Save button now.", "ref": "a", "hyp": "b", "chrf": 40.0, "src_words": 5},
    ]
    frame = diagnostics.error_frame(rows)
    assert list(diagnostics.filter_errors(frame, sort="worst")["src"])[0] == "Close"
    telling = list(diagnostics.filter_errors(frame, sort="telling")["src"])
    assert telling == ["Select the cells that you want to merge.", "Click the Save button now.", "Close"]
    assert list(diagnostics.filter_errors(frame, sort="longest")["src_words"]) == [8, 5, 1]
