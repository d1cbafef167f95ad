"""evaluate: corpus scores, JSONL per sentence with diagnostics, and the length buckets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seq2seq.cli import main
from seq2seq.diagnostics import attention_diagnostics, length_bucket
from seq2seq.evaluate import BUCKETS_FILE, EVAL_FILE, SUMMARY_FILE, buckets_table, read_eval
from seq2seq.jsonfiles import EVAL_DECIMALS, read_json


@pytest.mark.parametrize(
    ("words", "bucket"),
    [
        (1, "1-5"),
        (5, "1-5"),
        (6, "6-10"),
        (20, "11-20"),
        (21, "21-30"),
        (30, "21-30"),
        (31, "31+"),
        (200, "31+"),
    ],
)
def test_length_buckets(words, bucket):
    assert length_bucket(words) == bucket


def test_diagnostics_flag_dropped_and_repeated_tokens():
    # 3 target steps over 3 source tokens + </s>: token 0 looked at 2.4 times, token 1 never
    attention = np.array([[0.8, 0.0, 0.1, 0.1], [0.8, 0.0, 0.1, 0.1], [0.8, 0.0, 0.1, 0.1]])
    d = attention_diagnostics(attention)
    assert d["coverage"] == pytest.approx([2.4, 0.0, 0.3, 0.3])
    assert d["repeated"] == [0] and d["dropped"] == [1]  # token 2 sits at 0.3: not below it
    assert d["dropped_share"] == pytest.approx(1 / 3) and d["repeated_share"] == pytest.approx(1 / 3)
    assert d["monotonicity"] == 1.0
    assert d["entropy"] == pytest.approx(-(0.8 * np.log(0.8) + 2 * 0.1 * np.log(0.1)), abs=1e-3)


def test_monotonicity_counts_backward_jumps():
    eye = np.eye(4)[::-1]  # peaks at 3, 2, 1, 0: always moving back
    assert attention_diagnostics(eye)["monotonicity"] == 0.0


def test_evaluate_writes_jsonl_buckets_and_summary(tiny_checkpoint, toy_corpus, tmp_path, capsys):
    assert (
        main(
            [
                "evaluate",
                str(tiny_checkpoint),
                "--test",
                str(toy_corpus / "test.tsv"),
                "--beam",
                "3",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "chrF" in printed and "by source length" in printed
    summary, buckets, rows = read_eval(tmp_path)
    assert {EVAL_FILE, BUCKETS_FILE, SUMMARY_FILE} <= {p.name for p in tmp_path.iterdir()}
    assert summary["sentences"] == len(rows) == 30 and summary["beam_size"] == 3
    # the app's search (its no-repeat rule costs the toy corpus's templated targets a few points)
    assert (summary["coverage"], summary["no_repeat"]) == (0.2, 3)
    assert summary["bleu_tokenize"] == "char" and summary["chrf"] > 80
    assert [b["bucket"] for b in buckets] == ["1-5", "6-10", "11-20", "21-30", "31+"]
    assert sum(b["n"] for b in buckets) == 30
    row = rows[0]
    for key in (
        "src",
        "ref",
        "hyp",
        "chrf",
        "src_words",
        "tgt_words",
        "attention",
        "coverage",
        "dropped_share",
        "repeated_share",
        "entropy",
        "monotonicity",
    ):
        assert key in row, key
    attention = np.array(row["attention"])
    assert attention.shape == (len(row["tgt_tokens"]), len(row["src_tokens"]))
    # α is stored to 3 decimals: each of a row's entries is within 5e-4, so its sum within 5e-4 per entry
    np.testing.assert_allclose(attention.sum(1), 1.0, atol=0.5 * 10**-EVAL_DECIMALS * attention.shape[1])
    np.testing.assert_allclose(
        row["coverage"], attention.sum(0), atol=0.5 * 10**-EVAL_DECIMALS * (attention.shape[0] + 1)
    )
    json.dumps(rows)  # plain JSON all the way down


def test_evaluate_fixed_context_model_has_no_attention(tiny_fixed_checkpoint, toy_corpus, tmp_path):
    main(
        [
            "evaluate",
            str(tiny_fixed_checkpoint),
            "--test",
            str(toy_corpus / "test.tsv"),
            "--beam",
            "1",
            "--out",
            str(tmp_path),
            "--limit",
            "5",
        ]
    )
    _, buckets, rows = read_eval(tmp_path)
    assert len(rows) == 5 and all(r["attention"] is None for r in rows)
    assert "coverage" not in rows[0]


def test_buckets_table_and_readers(tmp_path):
    table = buckets_table(
        {
            "a": [{"bucket": "1-5", "n": 3, "chrf": 50.0, "bleu": 20.0}],
            "b": [{"bucket": "1-5", "n": 3, "chrf": 40.0, "bleu": None}],
        }
    )
    assert list(table.columns) == ["source words", "n", "a chrF", "a BLEU", "b chrF", "b BLEU"]
    assert read_json(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match="bad.json"):
        read_json(tmp_path / "bad.json")


def test_attention_agreement_over_the_test_split_by_domain_and_length(checkpoints_dir, capsys):
    from seq2seq.evaluate import AGREEMENT_FILE, group_name, group_parts

    folder = checkpoints_dir / "tiny-additive"
    assert main(["agreement", str(folder), "--ig-per-domain", "5"]) == 0
    report = json.loads((folder / AGREEMENT_FILE).read_text(encoding="utf-8"))
    groups = {(r["method"], r["group"]) for r in report["rows"]}
    assert ("grad_x_input", "all") in groups and ("integrated_gradients", "all") in groups
    every = next(r for r in report["rows"] if r["method"] == "grad_x_input" and r["group"] == "all")
    _, _, rows = read_eval(folder)
    assert (
        every["sentences"] == len(rows)
        and 0 <= every["top_match"] <= 1
        and -1 <= every["rank_correlation"] <= 1
    )
    names = [group_parts(r["group"]) for r in report["rows"] if r["method"] == "grad_x_input"]
    assert names[0] == ("all", "")
    lengths = [value for kind, value in names if kind == "words"]
    assert lengths and lengths == sorted(lengths, key=lambda v: int(v.split("-")[0].rstrip("+")))
    assert all(group_name(kind, value) in {r["group"] for r in report["rows"]} for kind, value in names[1:])
    assert not any(kind == "domain" for kind, _ in names)  # the toy test split names no domain
    assert "top match" in capsys.readouterr().out
    assert main(["agreement", str(checkpoints_dir / "tiny-fixed")]) == 2  # no attention: a clear error


def test_evaluation_by_domain(tiny_checkpoint, toy_corpus, tmp_path):
    from seq2seq.data import read_pairs_tsv, write_pairs_tsv
    from seq2seq.decoding import Search
    from seq2seq.evaluate import domains_table, evaluate_checkpoint

    pairs = read_pairs_tsv(toy_corpus / "test.tsv")
    mixed = [
        p.__class__(p.source, p.target, domain="software" if k % 3 else "everyday")
        for k, p in enumerate(pairs)
    ]
    write_pairs_tsv(mixed, tmp_path / "test.tsv")
    evaluate_checkpoint(
        tiny_checkpoint,
        tmp_path / "test.tsv",
        Search(beam_size=2),
        out=tmp_path / "eval",
        show_progress=False,
    )
    summary, buckets, rows = read_eval(tmp_path / "eval")
    assert {r["domain"] for r in rows} == {
        "software",
        "everyday",
    }  # eval.jsonl carries each sentence's domain
    domains = summary["domains"]
    assert set(domains) == {"software", "everyday"}
    assert domains["software"]["n"] + domains["everyday"]["n"] == summary["sentences"] == len(rows)
    assert [b["bucket"] for b in domains["everyday"]["buckets"]] == [b["bucket"] for b in buckets]
    table = domains_table({"tiny": summary})
    assert list(table["domain"]) == ["everyday", "software"] and "tiny chrF" in table.columns


def test_eval_rows_are_gzipped_and_an_older_uncompressed_file_still_reads(checkpoints_dir, tmp_path):
    import gzip
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(checkpoints_dir / "tiny-additive", folder)
    _, _, rows = read_eval(folder)
    assert (folder / EVAL_FILE).read_bytes()[:2] == b"\x1f\x8b" and rows
    (folder / "eval.jsonl").write_bytes(gzip.decompress((folder / EVAL_FILE).read_bytes()))
    (folder / EVAL_FILE).unlink()
    assert read_eval(folder)[2] == rows  # a checkpoint shipped before the change
    (folder / EVAL_FILE).write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        read_eval(folder)


def test_a_sentence_with_several_references_is_scored_against_the_closest(tmp_path):
    from seq2seq.evaluate import sentence_chrf, test_references

    (tmp_path / "test.tsv").write_text(
        "How are you?\t안녕하세요?\tkss\t\nHow are you?\t어떻게 지내니?\tjhe\t\nHi.\t안녕.\tkss\t\n",
        encoding="utf-8",
    )
    refs, domains = test_references(tmp_path, "How are you?")
    assert refs == ["안녕하세요?", "어떻게 지내니?"] and domains == ["jhe", "kss"]
    assert sentence_chrf("어떻게 지내니?", refs) == 100.0
    assert sentence_chrf("어떻게 지내니?", refs[0]) < 5  # the first reference alone: 2.7
    assert test_references(tmp_path, "Bye.") is None


def test_a_source_with_several_references_scores_once_against_all_of_them():
    """Tatoeba gives "How are you?" two references; an output equal to either is right (issue 27)."""
    from seq2seq.evaluate import corpus_score

    rows = [
        {"src": "How are you?", "ref": "안녕하세요?", "hyp": "어떻게 지내니?", "domain": "tatoeba"},
        {"src": "How are you?", "ref": "어떻게 지내니?", "hyp": "어떻게 지내니?", "domain": "tatoeba"},
        {"src": "I am a student.", "ref": "나는 학생이야.", "hyp": "나는 학생이야.", "domain": "tatoeba"},
    ]
    scores = corpus_score(rows, "char")
    assert scores["n"] == 3 and scores["sources"] == 2
    assert scores["chrf_all_refs"] == 100.0 > scores["chrf"]  # each pair alone: one misses its reference
    # the same source in another domain is another sentence to score
    other = {**rows[0], "domain": "kss", "ref": "잘 지내요?"}
    assert corpus_score([*rows, other], "char")["sources"] == 3
    assert corpus_score([], "char") == {
        "n": 0,
        "chrf": None,
        "bleu": None,
        "sources": 0,
        "chrf_all_refs": None,
    }
