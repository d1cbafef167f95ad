"""The benchmark scripts keep working (a smoke run at tiny sizes) and compare like with like.

Nothing here times anything: the numbers live in bench/RESULTS.md, made by `python -m bench`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import sentencepiece as spm

from bench import app, latency, peer_setup, report, speedups
from seq2seq.data import read_pairs_tsv
from seq2seq.lecture import LECTURE_SENTENCES


def test_joey_config_has_our_shape(tmp_path):
    shape = peer_setup.our_shape()
    cfg = peer_setup.joey_config(tmp_path / "data", tmp_path / "model", shape, updates=10, validation_freq=5)
    encoder, decoder = cfg["model"]["encoder"], cfg["model"]["decoder"]
    assert (encoder["rnn_type"], encoder["bidirectional"], encoder["hidden_size"]) == ("gru", True, 256)
    assert (decoder["rnn_type"], decoder["attention"], decoder["hidden_size"]) == ("gru", "bahdanau", 512)
    assert encoder["embeddings"]["embedding_dim"] == decoder["embeddings"]["embedding_dim"] == shape.embed_dim
    training = cfg["training"]
    assert (training["batch_type"], training["batch_size"]) == ("token", shape.batch_tokens)
    assert training["learning_rate"] == shape.lr and training["label_smoothing"] == shape.label_smoothing
    assert training["scheduling"] == "exponential" and training["decrease_factor"] == 1.0  # a fixed lr
    assert cfg["data"]["src"]["tokenizer_type"] == cfg["data"]["trg"]["tokenizer_type"] == "sentencepiece"


def test_prepare_data_gives_joey_our_pairs_and_our_pieces(toy_corpus, tiny_checkpoint, tmp_path):
    out = peer_setup.prepare_data(toy_corpus, tiny_checkpoint, tmp_path / "joey", dev_sentences=5)
    train = (toy_corpus / "train.tsv").read_text(encoding="utf-8").splitlines()
    assert (out / "train.en").read_text(encoding="utf-8").splitlines() == [r.split("\t")[0] for r in train]
    assert (out / "train.ko").read_text(encoding="utf-8").splitlines() == [r.split("\t")[1] for r in train]
    assert len((out / "dev.en").read_text(encoding="utf-8").splitlines()) == 5
    pieces = (out / "trg_vocab.txt").read_text(encoding="utf-8").splitlines()
    model = spm.SentencePieceProcessor(model_file=str(tiny_checkpoint / "tgt.model"))
    assert pieces == [model.id_to_piece(i) for i in range(4, model.get_piece_size())]
    assert not {"<pad>", "<unk>", "<s>", "</s>"} & set(pieces)  # Joey adds its own specials


def test_latency_smoke_run_and_results_page(tiny_checkpoint, toy_corpus, tmp_path, monkeypatch):
    checkpoint = tmp_path / "tiny"
    shutil.copytree(tiny_checkpoint, checkpoint)
    shutil.copy(toy_corpus / "test.tsv", checkpoint / "test.tsv")
    results = latency.main(["--checkpoint", str(checkpoint), "--repeats", "2"])
    rows = results["rows"]
    assert {(r["words"], r["beam"]) for r in rows} == {
        (w, b) for w in latency.WORDS for b in (1, 5, "step()")
    }
    assert all(0 < r["p50_ms"] <= r["p95_ms"] for r in rows)

    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(report, "RESULTS_MD", tmp_path / "RESULTS.md")
    saved = report.save("latency", results, ["--repeats", "2"])
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["environment"]["versions"]["torch"] and record["environment"]["hardware"]
    page = report.write_markdown().read_text(encoding="utf-8")
    assert "## Interactive latency" in page and "python -m bench latency --repeats 2" in page
    assert "| 30 | beam 5 |" in page


def test_bench_command_refuses_an_unknown_benchmark():
    done = subprocess.run([sys.executable, "-m", "bench", "nonsense"], capture_output=True, text=True)
    assert done.returncode != 0 and "unknown benchmark 'nonsense'" in done.stderr


def test_speedups_smoke_run_keeps_translations_equal():
    """Each switched-off candidate must give the same translations (checked inside) and a positive time."""
    results = speedups.main(["--sentences", "6", "--repeats", "1"])
    names = [r["candidate"] for r in results["rows"]]
    assert any("keys U h_j once" in n for n in names) and any("packed encoder" in n for n in names)
    assert all(r["on"] > 0 and r["off"] > 0 for r in results["rows"])
    assert "| candidate | without | with | gain |" in speedups.table(results)


@pytest.mark.skipif(os.environ.get("SEQ2SEQ_SKIP_BROWSER") == "1", reason="no browser tests on request")
def test_app_cold_start_smoke_run():
    """One cold start of the real app on the shipped model, in Chromium, and two translations after it."""
    results = app.run(runs=1, translations=2)
    first = results["runs"][0]
    assert 0 < first["server_up_s"] < first["first_heatmap_s"]
    assert 100 < results["rss_mb_first"] <= results["rss_mb_peak"]
    assert "cold start" in app.table(results)


@pytest.mark.skipif(os.environ.get("SEQ2SEQ_SKIP_BROWSER") == "1", reason="no browser tests on request")
def test_classroom_smoke_run():
    """Click-to-visible timing and a small class at once, on the shipped model in Chromium."""
    from bench import classroom

    results = {"after": classroom.run(repeats=1, sessions=2, app_dir=None)}
    clicks = results["after"]["clicks"]
    assert set(clicks) == {"next", "back", "force", "word level"} and all(
        0 < r["median_ms"] <= r["settled"]["median_ms"] for r in clicks.values()
    )
    assert results["after"]["class"]["problems"] == [] and results["after"]["class"]["interactions"]["n"] == 8
    assert "| next | 1 |" in classroom.table(results)


@pytest.mark.skipif(os.environ.get("SEQ2SEQ_SKIP_BROWSER") == "1", reason="no browser tests on request")
def test_hall_smoke_run():
    """A small lecture hall on the light page: light clients and one Chromium student, two Nexts."""
    import asyncio

    from bench import hall

    run = asyncio.run(hall.one_class(students=4, browsers=1, nexts=2))
    assert run["problems"] == [] and run["missed_last_change"] == 0 and run["guesses_refused"] == 0
    assert run["next_to_students"]["light"]["n"] == 6 and run["next_to_students"]["browser"]["n"] == 2
    assert run["guess_to_tally"]["all"]["n"] == 4 and run["server_mb"] > 0
    assert "| 4 (1 in Chromium) |" in hall.table({"runs": [run]})


def test_explain_smoke_run(tiny_checkpoint, toy_corpus, tmp_path):
    import lzma

    from bench import explain

    checkpoint = tmp_path / "tiny"
    shutil.copytree(tiny_checkpoint, checkpoint)
    shutil.copy(toy_corpus / "test.tsv", checkpoint / "test.tsv")
    (checkpoint / "train.tsv.xz").write_bytes(lzma.compress((toy_corpus / "train.tsv").read_bytes()))
    results = explain.main(["--checkpoint", str(checkpoint), "--repeats", "1", "--queries", "3"])
    assert results["integrated_gradients"]["p50_ms"] > 0 and results["query"]["n"] == 3
    assert results["training_pairs"] == 300 and results["completeness_gap"]["max_abs"] < 0.5
    assert "nearest training examples" in explain.table(results)


def test_families_run_sends_libreoffice_to_software_and_everyday_english_nowhere():
    """On the shipped test splits; the numbers themselves are the benchmark's, this pins the direction."""
    from bench import families

    results = families.main([])
    rows = {r["split"]: r for r in results["rows"]}
    margin = f"to_software@{results['margin']:g}"
    assert rows["software/libreoffice"][margin] > 0.5
    assert all(r[margin] < 0.5 for name, r in rows.items() if name.startswith("general/"))
    assert "LibreOffice" in families.table(results)


def test_search_smoke_run_scores_every_option_and_judges_it_against_the_plain_beam(
    tiny_checkpoint, toy_corpus
):
    from bench import search

    results = search.run(str(tiny_checkpoint), str(toy_corpus / "dev.tsv"), limit=8)
    rows = results["rows"]
    assert set(rows) == set(search.SEARCHES) and rows[search.BASELINE]["verdict"] == "baseline"
    assert all(row["verdict"] in ("keep", "drop") for name, row in rows.items() if name != search.BASELINE)
    assert "| beam 5 |" in search.table(results)
    base = rows[search.BASELINE]
    worse = {**base, "mean": base["mean"] + 1, "domains": {d: c - 0.6 for d, c in base["domains"].items()}}
    assert search.verdict(worse, base) == "drop"  # a better mean does not excuse a domain lost by 0.6
    better = {**base, "mean": base["mean"] + 1, "domains": {d: c - 0.4 for d, c in base["domains"].items()}}
    assert search.verdict(better, base) == "keep"


def test_recipes_smoke_run_reads_a_run_folder(tiny_checkpoint, toy_corpus):
    from bench import recipes

    results = recipes.run([str(tiny_checkpoint.parent)], str(toy_corpus / "dev.tsv"))
    (row,) = results["rows"]
    assert row["step"] > 0 and row["tokens_per_s"] > 0 and 0 < row["peak"] <= 1 and row["entropy"] >= 0
    assert row["run"] in recipes.table(results)


def test_rerank_smoke_run_chooses_on_dev_and_says_whether_it_becomes_the_default(
    tiny_checkpoint, tiny_koen_checkpoint, toy_corpus
):
    from bench import rerank

    results = rerank.main(
        ["--forward", str(tiny_checkpoint), "--reverse", str(tiny_koen_checkpoint), "--dev",
         str(toy_corpus / "dev.tsv"), "--test", str(toy_corpus / "test.tsv"), "--sizes", "2,3", "--weights", "0,1",
         "--repeats", "2"]
    )  # fmt: skip
    assert {"today's default (beam 5)", "beam 2, λ 0", "beam 3, λ 1"} <= set(results["rows"])
    assert results["gain"] == round(
        results["rows"][results["best"]]["mean"] - results["rows"]["today's default (beam 5)"]["mean"], 2
    )
    assert isinstance(results["default"], bool) and "reranked by" in rerank.table(results)
    checked = results["checked"]  # the dev choice, scored once on test beside today's default
    assert checked["sentences"] == len(read_pairs_tsv(toy_corpus / "test.tsv"))
    assert set(checked["today"]["domains"]) == set(checked["reranked"]["domains"])
    assert [row["source"] for row in checked["lecture"]] == list(LECTURE_SENTENCES)
    assert "On the test split" in rerank.table(results) and "Be sure to lock the door" in rerank.table(
        results
    )
