"""Nearest training examples: the index is built once and cached outside the repository, the sentence
itself is its own nearest neighbour, and a word finds the pairs that use it."""

from __future__ import annotations

import lzma
import shutil

import numpy as np
import pytest

from seq2seq import load_translator
from seq2seq.neighbours import CACHE_ENV, read_training_pairs


@pytest.fixture
def shipped(tiny_checkpoint, toy_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    folder = tmp_path / "tiny-additive"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / "train.tsv.xz").write_bytes(lzma.compress((toy_corpus / "train.tsv").read_bytes()))
    return load_translator(folder, device="cpu"), toy_corpus


def test_a_training_sentence_is_its_own_nearest_neighbour(shipped, tmp_path):
    translator, corpus = shipped
    pairs = read_training_pairs(translator.folder)
    calls = []
    translator.neighbour_index(lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(pairs), len(pairs))  # the progress bar reaches the end
    cached = list((tmp_path / "cache").glob("neighbours-*.npy"))
    assert len(cached) == 1  # outside the checkpoint folder
    source = pairs[7].source
    found = translator.neighbours(source, k=5)
    assert len(found) == 5 and found[0].source == source and found[0].target == pairs[7].target
    assert found[0].score == pytest.approx(1.0, abs=2e-3)  # fp16 cache
    assert [n.score for n in found] == sorted((n.score for n in found), reverse=True)
    assert set(found[1].shared_words) <= set(source.lower().split())


def test_the_cached_index_is_reused_and_a_broken_cache_rebuilt(shipped, tmp_path):
    translator, _ = shipped
    index = translator.neighbour_index()
    path = index.cache_path()
    again = load_translator(translator.folder, device="cpu")
    calls = []
    again.neighbour_index(lambda done, total: calls.append(done))
    assert calls == []  # loaded from disk, nothing encoded
    np.testing.assert_allclose(again.neighbour_index().vectors, index.vectors, atol=2e-3)
    path.write_bytes(b"not numpy")
    third = load_translator(translator.folder, device="cpu")
    third.neighbour_index(lambda done, total: calls.append(done))
    assert calls, "a broken cache is encoded again"


def test_pairs_that_use_a_word(shipped):
    translator, _ = shipped
    index = translator.neighbour_index()
    found = index.containing("macro", k=3)
    assert 0 < len(found) <= 3 and all("macro" in p.source.split() for p in found)
    assert index.containing("Macro") == index.containing("macro")[: len(index.containing("Macro"))]
    assert index.containing("zebra") == [] and index.containing("") == []


def test_a_checkpoint_without_training_pairs_says_so(tiny_translator):
    with pytest.raises(ValueError, match="ships no training pairs"):
        tiny_translator.neighbours("the user opens the file .")
