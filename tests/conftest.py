"""Session fixtures: a toy English->Korean corpus and tiny models trained on it in seconds.

Tests never depend on the shipped checkpoints: these are built fresh, seeded, in a temp folder.
The toy grammar moves the verb to the end (SVO -> SOV), like the real pair, so attention must cross.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

SUBJECTS = {
    "the user": "사용자가",
    "the program": "프로그램이",
    "the dialog": "대화 상자가",
    "the macro": "매크로가",
}
VERBS = {
    "opens": "엽니다",
    "saves": "저장합니다",
    "closes": "닫습니다",
    "deletes": "삭제합니다",
    "prints": "인쇄합니다",
}
OBJECTS = {
    "the file": "파일을",
    "the document": "문서를",
    "the table": "표를",
    "the chart": "차트를",
    "the cell": "셀을",
    "the page": "페이지를",
}
ADVERBS = {"": "", "now": "지금 ", "again": "다시 "}

PROBES = ["the user opens the file .", "the macro prints the chart now ."]
TINY_OVERRIDES = [
    "src_vocab=60",
    "tgt_vocab=60",
    "model.embed_dim=48",
    "model.hidden_size=48",
    "model.attention_dim=48",
    "model.dropout=0.0",
    "label_smoothing=0.0",
    "batch_tokens=400",
    "lr=0.005",
    "max_steps=300",
    "eval_every=100",
    "eval_sentences=30",
    "log_every=1000",
    "threads=1",
]


def toy_pairs() -> list[tuple[str, str]]:
    rows = sorted(
        {
            (f"{s} {v} {o} {a}".strip() + " .", f"{SUBJECTS[s]} {ADVERBS[a]}{OBJECTS[o]} {VERBS[v]}.")
            for s in SUBJECTS
            for v in VERBS
            for o in OBJECTS
            for a in ADVERBS
        }
    )
    random.Random(0).shuffle(rows)
    return rows


def write_toy_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = toy_pairs()
    for name, part in (("train", rows[:300]), ("dev", rows[300:330]), ("test", rows[330:])):
        (folder / f"{name}.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in part), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def toy_corpus(tmp_path_factory) -> Path:
    return write_toy_corpus(tmp_path_factory.mktemp("toy") / "data")


def train_tiny(corpus: Path, out: Path, name: str, *extra: str) -> Path:
    from seq2seq.config import load_train_config
    from seq2seq.train import train

    cfg = load_train_config(
        None, [*TINY_OVERRIDES, f"data_dir={corpus}", f"out_dir={out}", f"name={name}", *extra]
    )
    return train(cfg, show_progress=False) / "best"


@pytest.fixture(scope="session")
def tiny_checkpoint(toy_corpus, tmp_path_factory) -> Path:
    """A tiny additive-attention model that has learned the toy grammar (about 10 s on 1 core), with the
    attention timeline of two probe sentences, recorded every 50 steps and at every evaluation."""
    return train_tiny(
        toy_corpus,
        tmp_path_factory.mktemp("runs"),
        "tiny-additive",
        f"probes={PROBES!r}",
        "timeline_every=50",
    )


@pytest.fixture(scope="session")
def tiny_fixed_checkpoint(toy_corpus, tmp_path_factory) -> Path:
    """The same tiny model with one fixed context vector and no attention."""
    return train_tiny(toy_corpus, tmp_path_factory.mktemp("runs"), "tiny-fixed", "model.attention=none")


@pytest.fixture(scope="session")
def tiny_dot_checkpoint(toy_corpus, tmp_path_factory) -> Path:
    """The same tiny model with Luong dot attention: pages and cards must show its own equation."""
    return train_tiny(
        toy_corpus, tmp_path_factory.mktemp("runs"), "tiny-dot", "model.attention=dot", "max_steps=100"
    )


@pytest.fixture(scope="session")
def tiny_translator(tiny_checkpoint):
    from seq2seq import load_translator

    return load_translator(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def checkpoints_dir(tiny_checkpoint, tiny_fixed_checkpoint, toy_corpus, tmp_path_factory) -> Path:
    """A checkpoints/ folder as the app sees it: both tiny models, evaluated on the toy test split."""
    from seq2seq.decoding import Search
    from seq2seq.evaluate import evaluate_checkpoint

    root = tmp_path_factory.mktemp("checkpoints")
    for name, source in (("tiny-additive", tiny_checkpoint), ("tiny-fixed", tiny_fixed_checkpoint)):
        shutil.copytree(source, root / name)
        evaluate_checkpoint(
            root / name, toy_corpus / "test.tsv", Search(beam_size=2), device="cpu", show_progress=False
        )
    return root


def write_reversed(corpus: Path, folder: Path) -> Path:
    """The toy corpus Korean first, as `data general --direction koen` writes the real one."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "dev", "test"):
        lines = (corpus / f"{name}.tsv").read_text(encoding="utf-8").splitlines()
        flipped = ["\t".join(reversed(line.split("\t")[:2])) for line in lines if line]
        (folder / f"{name}.tsv").write_text("".join(f"{line}\n" for line in flipped), encoding="utf-8")
    return folder


KOEN_PROBES = ["사용자가 파일을 엽니다.", "매크로가 지금 차트를 인쇄합니다."]


@pytest.fixture(scope="session")
def toy_corpus_koen(toy_corpus, tmp_path_factory) -> Path:
    return write_reversed(toy_corpus, tmp_path_factory.mktemp("toy-koen") / "data")


@pytest.fixture(scope="session")
def tiny_koen_checkpoint(toy_corpus_koen, tmp_path_factory) -> Path:
    """A tiny Korean→English additive model of the toy grammar (the verb moves from the end to the middle)."""
    return train_tiny(
        toy_corpus_koen,
        tmp_path_factory.mktemp("runs"),
        "koen-tiny-additive",
        "direction=koen",
        f"probes={KOEN_PROBES!r}",
        "timeline_every=100",
    )


@pytest.fixture(scope="session")
def tiny_koen_fixed_checkpoint(toy_corpus_koen, tmp_path_factory) -> Path:
    return train_tiny(
        toy_corpus_koen,
        tmp_path_factory.mktemp("runs"),
        "koen-tiny-fixed",
        "direction=koen",
        "model.attention=none",
    )


@pytest.fixture(scope="session")
def both_directions_dir(
    checkpoints_dir, tiny_koen_checkpoint, tiny_koen_fixed_checkpoint, toy_corpus_koen, tmp_path_factory
) -> Path:
    """checkpoints/ with both directions: the English→Korean tiny pair and its Korean→English twins."""
    from seq2seq.decoding import Search
    from seq2seq.evaluate import evaluate_checkpoint

    root = tmp_path_factory.mktemp("checkpoints-both")
    for folder in checkpoints_dir.iterdir():
        shutil.copytree(folder, root / folder.name)
    for name, source in (
        ("koen-tiny-additive", tiny_koen_checkpoint),
        ("koen-tiny-fixed", tiny_koen_fixed_checkpoint),
    ):
        shutil.copytree(source, root / name)
        evaluate_checkpoint(
            root / name, toy_corpus_koen / "test.tsv", Search(beam_size=2), device="cpu", show_progress=False
        )
    return root
