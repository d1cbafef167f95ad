"""Tests for seq2seq.analysis: escaping, diffs, exports, step equations, what-if forcing, uploads, error tables."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from seq2seq import analysis
from seq2seq.data import CorpusError, Pair
from seq2seq.decoding import Step
from seq2seq.evaluate import read_eval
from seq2seq.translator import word_attention

TOY = "the user opens the file now ."


# --------------------------------------------------------------------------- escaping
@pytest.mark.parametrize("text", ["a_b", "{x}", "$y$", "50%", "#1", "a&b", "~", "^", "\\cmd", "}\\text{x"])
def test_latex_text_leaves_no_special_character_unescaped(text):
    out = analysis.latex_text(text)
    stripped = out
    for escaped in (
        r"\textbackslash{}",
        r"\textasciitilde{}",
        r"\textasciicircum{}",
        r"\{",
        r"\}",
        r"\$",
        r"\&",
        r"\#",
        r"\_",
        r"\%",
    ):
        stripped = stripped.replace(escaped, "")
    assert not set(stripped) & set("\\{}$&#_%~^")


def test_markdown_and_html_text_neutralise_markup():
    evil = "<script>alert(1)</script> **bold** $x$ :red[y] [link](http://x)"
    md = analysis.markdown_text(evil)
    assert "<script>" not in md and "**" not in md and "$x$" not in md and ":red[" not in md
    out = analysis.html_text(evil)
    assert "<" not in out and ">" not in out and "$" not in out and "*" not in out and ":" not in out
    assert analysis.html_text("파일을 엽니다") == "파일을 엽니다"  # Hangul untouched


# --------------------------------------------------------------------------- diff
def test_word_diff_marks_missing_and_extra_words():
    pieces = analysis.diff("a b c d", "a x c d e", "word")
    assert analysis.diff_text(pieces) == "a [-b-] {+x+} c d {+e+}"
    assert [p.op for p in pieces] == ["equal", "delete", "insert", "equal", "insert"]


def test_char_diff_and_html_escapes_every_piece():
    pieces = analysis.diff("파일을 엽니다", "파일을 닫습니다", "char")
    assert "".join(p.text for p in pieces if p.op != "insert") == "파일을 엽니다"
    assert "".join(p.text for p in pieces if p.op != "delete") == "파일을 닫습니다"
    out = analysis.diff_html(analysis.diff("<b>x</b>", "<img src=x onerror=alert(1)>"))
    assert "<b>" not in out and "<img" not in out
    with pytest.raises(ValueError):
        analysis.diff("a", "b", "sentence")


# --------------------------------------------------------------------------- exports
def test_attention_csv_and_json_round_trip():
    src, tgt = ["▁=SUM(A1)", "b,c", "</s>"], ["▁x", "</s>"]
    attention = np.array([[0.5, 0.25, 0.25], [0.0, 0.1, 0.9]])
    rows = list(csv.reader(io.StringIO(analysis.attention_csv(src, tgt, attention))))
    assert rows[0] == ["target \\ source", "▁=SUM(A1)", "b,c", "</s>"]
    assert [r[0] for r in rows[1:]] == tgt
    assert np.allclose(np.array([[float(v) for v in r[1:]] for r in rows[1:]]), attention)
    assert analysis.attention_csv(["=1+1", "</s>"], ["x"], np.array([[0.5, 0.5]])).startswith(
        "target \\ source,'=1+1"
    )  # a formula-looking token is quoted for spreadsheets
    payload = json.loads(analysis.attention_json(src, tgt, attention, model="m"))
    assert (
        payload["model"] == "m"
        and payload["src_tokens"] == src
        and np.allclose(payload["attention"], attention)
    )
    with pytest.raises(ValueError):
        analysis.attention_csv(src, tgt, attention.T)


# --------------------------------------------------------------------------- the lecture's numbers
def test_step_equations_show_the_real_numbers():
    energies = np.array([2.31, 0.5, -1.0, 1.2], dtype=np.float32)
    weights = np.exp(energies) / np.exp(energies).sum()
    step = Step(
        index=2,
        prev_state=np.zeros(4),
        energies=energies,
        weights=weights,
        context=np.zeros(4),
        top_ids=[5],
        top_probs=[0.9],
        token=5,
        prob=0.9,
        forced=False,
    )
    lines = analysis.step_equations(step, ["▁file", "_x{", "b", "</s>"], k=3)
    assert len(lines) == 3
    assert r"e_{3,1} = 2.31" in lines[0] and r"\text{▁file}" in lines[0] and r"\text{\_x\{}" in lines[0]
    assert f"= {weights[0]:.3f}".rstrip("0") in lines[1]
    assert f"{math.exp(2.31):.3g}" in lines[1]
    assert lines[2].startswith(r"c_{3} = \sum_j") and r"\,h_{1}" in lines[2] and r"\dots" in lines[2]
    table = analysis.top_sources(step, ["▁file", "_x{", "b", "</s>"], k=2)
    assert list(table["j"]) == [1, 4]
    fixed = Step(0, np.zeros(4), None, None, np.zeros(4), [5], [0.9], 5, 0.9, False)
    with pytest.raises(ValueError, match="no attention"):
        analysis.step_equations(fixed, ["a"])


def test_step_equations_on_a_real_step(tiny_translator):
    session = tiny_translator.start(TOY)
    step = session.step()
    lines = analysis.step_equations(step, session.src_tokens)
    best = int(np.argmax(step.weights))
    assert f"e_{{1,{best + 1}}}" in lines[0]
    # the α shown is the softmax of the energies shown
    assert np.isclose(
        np.exp(step.energies[best]) / np.exp(step.energies).sum(), step.weights[best], atol=1e-4
    )


def test_alignment_and_length_counts(tiny_translator):
    result = tiny_translator.translate(TOY)
    words = word_attention(result)
    table = analysis.alignment(words)
    assert words.tgt_words[-1] == words.src_words[-1] == "</s>"
    assert list(table["target word"]) == words.tgt_words[:-1]  # words only: no </s> row
    assert "</s>" not in set(table["attends most to"])  # ... and no </s> column
    assert list(table["target position"]) == list(range(1, len(words.tgt_words)))
    for _, row in table.iterrows():
        i, j = row["target position"] - 1, row["source position"] - 1
        assert words.src_words[j] == row["attends most to"]
        assert j == int(words.matrix[i, :-1].argmax()) and row["α"] == pytest.approx(
            words.matrix[i, j], abs=0.006
        )
    counts = analysis.length_counts(result)
    assert list(counts["words"]) == [len(TOY.split()), len(result.text.split())]
    assert list(counts["subword tokens (with </s>)"]) == [len(result.src_tokens), len(result.tgt_tokens)]


# --------------------------------------------------------------------------- beam search and what-if
def test_nbest_nodes_end_on_each_hypothesis(tiny_translator):
    from seq2seq.viz import path_to

    result = tiny_translator.translate(TOY, beam_size=3)
    pieces = tiny_translator.tgt_tokenizer.pieces([n.token for n in result.tree])
    ends = analysis.nbest_nodes(result.tree, pieces, result.nbest)
    assert len(ends) == len(result.nbest) and all(e is not None for e in ends)
    for end, candidate in zip(ends, result.nbest):
        assert [pieces[i] for i in path_to(result.tree, end)] == candidate.tgt_tokens


def test_force_at_changes_the_continuation(tiny_translator):
    greedy = tiny_translator.translate(TOY)
    session = tiny_translator.start(TOY)
    session.step()
    session.step()
    alternative = session.pieces([session.steps[1].top_ids[1]])[0]
    whatif = analysis.force_at(session, 1, alternative)
    assert whatif.original.text == greedy.text
    assert whatif.forced.tgt_tokens[1] == alternative != whatif.original.tgt_tokens[1]
    # the session stands on the forced step; stepping on follows the forced continuation
    assert len(session.steps) == 2 and session.steps[1].forced
    assert session.tgt_tokens == whatif.forced.tgt_tokens[:2]
    session.run()
    assert whatif.forced.text == session.text and session.finished
    assert whatif.forced.attention.shape == (len(whatif.forced.tgt_tokens), len(session.src_tokens))
    before = list(session.tgt_tokens)
    with pytest.raises(ValueError):
        analysis.force_at(session, 1, "   ")
    assert session.tgt_tokens == before  # a bad token leaves the session alone


# --------------------------------------------------------------------------- uploads and error tables
def test_read_upload_reports_bad_lines_with_numbers():
    data = "the user opens the file .\t사용자가 파일을 엽니다.\nno tab here\n\t빈 원문\n".encode()
    pairs, problems = analysis.read_upload(data)
    assert pairs == [Pair("the user opens the file .", "사용자가 파일을 엽니다.")]
    assert any(p.startswith("line 2:") for p in problems) and any(p.startswith("line 3:") for p in problems)


@pytest.mark.parametrize(
    "data", [b"\x00\x01\x02binary", b"PK\x03\x04zipfile", b"", b"only\nbad\nlines", b"\xff\xfe\xfd\tx\n"]
)
def test_read_upload_rejects_unusable_files(data):
    with pytest.raises(CorpusError):
        analysis.read_upload(data)


def test_read_upload_limits_size_and_lines():
    with pytest.raises(CorpusError, match="limit"):
        analysis.read_upload(b"a\tb\n" * 10, max_bytes=20)
    pairs, problems = analysis.read_upload(b"a\tb\n" * 5, max_lines=3)
    assert len(pairs) == 3 and any("first 3" in p for p in problems)


def test_analyse_pairs_matches_eval_rows(checkpoints_dir, tiny_translator):
    _, _, rows = read_eval(checkpoints_dir / "tiny-additive")
    pairs = [Pair(r["src"], r["ref"]) for r in rows[:5]]
    calls = []
    analysed = analysis.analyse_pairs(
        tiny_translator, pairs, beam_size=2, chunk=2, progress=lambda done, total: calls.append((done, total))
    )
    assert calls[-1] == (5, 5) and len(calls) == 3
    for mine, theirs in zip(analysed, rows[:5]):
        for key in ("src", "ref", "hyp", "chrf", "src_words", "bucket", "src_tokens", "dropped", "repeated"):
            assert mine[key] == theirs[key], key
    scores = analysis.corpus_scores(analysed)
    assert scores["sentences"] == 5 and 0 <= scores["chrf"] <= 100


def test_error_frame_filters_and_flags(checkpoints_dir):
    _, _, rows = read_eval(checkpoints_dir / "tiny-additive")
    frame = analysis.error_frame(rows)
    assert len(frame) == len(rows) and list(frame["id"]) == list(range(len(rows)))
    shown = analysis.filter_errors(frame, length=(7, 7), score=(0, 100))
    assert (shown["src_words"] == 7).all() and list(shown["chrf"]) == sorted(shown["chrf"])
    flagged = analysis.filter_errors(frame, flagged_only=True)
    assert (flagged["flags"] != "").all()
    row = rows[0]
    assert analysis.flagged_src(row) == sorted(set(row["dropped"]) | set(row["repeated"]))
    assert analysis.row_flags({"chrf": 10.0, "tgt_tokens": ["a"]}) == ["low chrF", "truncated"]
    _, _, fixed_rows = read_eval(checkpoints_dir / "tiny-fixed")
    assert analysis.error_frame(fixed_rows)["entropy"].isna().all()  # no attention, no diagnostics


def test_buckets_table_and_readers(tmp_path):
    table = analysis.buckets_table(
        {
            "a": [{"bucket": "1-5", "n": 3, "chrf": 50.0, "bleu": 20.0}],
            "b": [{"bucket": "1-5", "n": 3, "chrf": 40.0, "bleu": None}],
        }
    )
    assert list(table.columns) == ["source words", "n", "a chrF", "a BLEU", "b chrF", "b BLEU"]
    assert analysis.read_json(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match="bad.json"):
        analysis.read_json(tmp_path / "bad.json")
