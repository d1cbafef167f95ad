"""What both sides of `bench peer` are given: our shape, read from our config; the same data and
SentencePiece models in Joey NMT's plain format; Joey's own venv; and a Joey 2.3.0 config of our shape."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOEY_VENV = REPO / "bench" / ".venv-joeynmt"
JOEY_PINS = ["torch==2.13.0", "joeynmt==2.3.0", "sentencepiece==0.2.0", "importlib_metadata"]
CONFIG = REPO / "configs" / "enko-software-additive.yaml"
DEV_SENTENCES = 400  # both sides validate on the same 400 dev sentences (greedy chrF)
SPECIALS = 4  # our pad, unk, bos, eos; Joey adds its own four in front of the vocabulary file


@dataclass
class Shape:
    """What both sides share; read from our config so the comparison follows it."""

    embed_dim: int
    hidden_size: int
    dropout: float
    batch_tokens: int
    lr: float
    clip_norm: float
    label_smoothing: float
    max_src_len: int
    max_tgt_len: int


def our_shape() -> Shape:
    from seq2seq.config import load_train_config

    cfg = load_train_config(CONFIG)
    return Shape(
        cfg.model.embed_dim,
        cfg.model.hidden_size,
        cfg.model.dropout,
        cfg.batch_tokens,
        cfg.lr,
        cfg.clip_norm,
        cfg.label_smoothing,
        cfg.max_src_len,
        cfg.max_tgt_len,
    )


def joey_python() -> Path:
    """Joey's interpreter, after creating its venv with the pins it needs (once)."""
    python = JOEY_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(JOEY_VENV)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import joeynmt, sentencepiece, torch; print(joeynmt.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0 or probe.stdout.strip() != "2.3.0":
        subprocess.run([str(python), "-m", "pip", "install", "-q", *JOEY_PINS], check=True)
    return python


def vocabulary(model_file: Path) -> list[str]:
    """The SentencePiece pieces in id order, without our four specials (Joey puts its own first)."""
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=str(model_file))
    return [processor.id_to_piece(i) for i in range(SPECIALS, processor.get_piece_size())]


def prepare_data(data_dir: Path, tokenizers: Path, out: Path, dev_sentences: int = DEV_SENTENCES) -> Path:
    """Joey's plain format (train.en / train.ko, ...) from our TSV splits, and vocab files from our models."""
    from seq2seq.data import read_pairs_tsv

    out.mkdir(parents=True, exist_ok=True)
    for name, split, limit in (("train", "train", None), ("dev", "dev", dev_sentences), ("test", "test", None),
                               ("probe", "dev", 8)):  # fmt: skip
        pairs = read_pairs_tsv(data_dir / f"{split}.tsv")[:limit]
        (out / f"{name}.en").write_text("".join(p.source + "\n" for p in pairs), encoding="utf-8")
        (out / f"{name}.ko").write_text("".join(p.target + "\n" for p in pairs), encoding="utf-8")
    for side, model in (("src", "src.model"), ("trg", "tgt.model")):
        shutil.copy(tokenizers / model, out / f"{side}.model")
        (out / f"{side}_vocab.txt").write_text("\n".join(vocabulary(out / f"{side}.model")) + "\n", "utf-8")
    return out


def joey_config(
    data: Path, model_dir: Path, shape: Shape, *, updates: int, validation_freq: int, seed: int = 1
) -> dict:
    """A Joey NMT 2.3.0 config of our shape: biGRU encoder, GRU decoder, Bahdanau attention."""
    return {
        "name": model_dir.name,
        "joeynmt_version": "2.3.0",
        "data": {
            "train": str(data / "train"),
            "dev": str(data / "dev"),
            "test": str(data / "test"),
            "dataset_type": "plain",
            "src": _joey_side(data, "en", "src", shape.max_src_len),
            "trg": _joey_side(data, "ko", "trg", shape.max_tgt_len),
        },
        "testing": {
            "n_best": 1,
            "beam_size": 5,
            "beam_alpha": 1.0,
            "batch_size": 64,  # sentences, as our decoder's batches
            "batch_type": "sentence",
            "eval_metrics": ["chrf"],
            "sacrebleu_cfg": {"tokenize": "char", "whitespace": False},
        },
        "training": _joey_training(model_dir, shape, updates, validation_freq, seed),
        "model": _joey_model(shape),
    }


def _joey_side(data: Path, lang: str, name: str, max_length: int) -> dict:
    return {
        "lang": lang,
        "level": "bpe",
        "lowercase": False,
        "max_length": max_length,
        "min_length": 1,
        "voc_file": str(data / f"{name}_vocab.txt"),
        "tokenizer_type": "sentencepiece",
        "tokenizer_cfg": {"model_file": str(data / f"{name}.model"), "pretokenizer": "none"},
    }


def _joey_training(model_dir: Path, shape: Shape, updates: int, validation_freq: int, seed: int) -> dict:
    return {
        "random_seed": seed,
        "optimizer": "adam",
        "learning_rate": shape.lr,
        "learning_rate_min": 1.0e-8,
        "clip_grad_norm": shape.clip_norm,
        "label_smoothing": shape.label_smoothing,
        "batch_size": shape.batch_tokens,
        "batch_type": "token",
        "normalization": "tokens",
        "scheduling": "exponential",  # Joey's plateau scheduler breaks on torch 2.13; 1.0 keeps lr fixed
        "decrease_factor": 1.0,
        "epochs": 1000,
        "updates": updates,
        "validation_freq": validation_freq,
        "logging_freq": 10,
        "eval_metrics": ["chrf"],
        "early_stopping_metric": "chrf",
        "model_dir": str(model_dir),
        "overwrite": True,
        "shuffle": True,
        "use_cuda": False,
        "print_valid_sents": [],
        "keep_best_ckpts": 1,
    }


def _joey_model(shape: Shape) -> dict:
    embeddings = {"embedding_dim": shape.embed_dim, "scale": False}
    return {
        "initializer": "xavier_uniform",
        "embed_initializer": "normal",
        "embed_init_weight": 0.1,
        "bias_initializer": "zeros",
        "encoder": {
            "type": "recurrent",
            "rnn_type": "gru",
            "embeddings": embeddings,
            "hidden_size": shape.hidden_size,
            "bidirectional": True,
            "dropout": shape.dropout,
            "num_layers": 1,
        },
        "decoder": {
            "type": "recurrent",
            "rnn_type": "gru",
            "embeddings": embeddings,
            "hidden_size": 2 * shape.hidden_size,  # our decoder state s_i is 2H, as the annotations
            "dropout": shape.dropout,
            "hidden_dropout": shape.dropout,
            "num_layers": 1,
            "input_feeding": True,
            "init_hidden": "bridge",
            "attention": "bahdanau",
        },
    }
