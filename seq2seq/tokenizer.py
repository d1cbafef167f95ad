"""SentencePiece wrapper: subword pieces for plot labels, with the special ids fixed in one place."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"


class Tokenizer:
    """One side's SentencePiece model. Ids come back without BOS/EOS; callers add EOS themselves."""

    def __init__(self, model_proto: bytes, path: str | None = None):
        self.model_proto = model_proto
        self.path = path
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.LoadFromSerializedProto(model_proto)
        except Exception as exc:  # sentencepiece raises bare RuntimeError/OSError on bad bytes
            raise ValueError(f"{path or 'tokenizer'}: not a valid SentencePiece model ({exc})") from exc
        if self.sp.pad_id() != PAD_ID or self.sp.eos_id() != EOS_ID or self.sp.unk_id() != UNK_ID:
            raise ValueError(f"{path or 'tokenizer'}: special ids differ from pad=0 unk=1 bos=2 eos=3")

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer file is missing: {path}")
        return cls(path.read_bytes(), str(path))

    @classmethod
    def train(cls, sentences: Iterable[str], vocab_size: int, character_coverage: float = 1.0) -> Tokenizer:
        """Train a unigram model in memory; vocab_size shrinks automatically on tiny corpora."""
        sentences = [s for s in sentences if s.strip()]
        if not sentences:
            raise ValueError("cannot train a tokenizer on no text")
        buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=buffer,
            model_type="unigram",
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            character_coverage=character_coverage,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            input_sentence_size=2_000_000,
            shuffle_input_sentence=True,
            num_threads=2,
            minloglevel=2,
        )
        return cls(buffer.getvalue())

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.model_proto)

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text, out_type=int)

    def sample(self, text: str, alpha: float) -> list[int]:
        """One segmentation drawn from the unigram model (subword regularisation, Kudo 2018): the same word
        comes in different pieces from epoch to epoch. Seeded through `spm.set_random_generator_seed`."""
        return self.sp.encode(text, out_type=int, enable_sampling=True, alpha=alpha, nbest_size=-1)

    def encode_with_text(self, text: str) -> tuple[list[int], list[str]]:
        """Ids and, for each, the input text it covers: how an <unk> id shows which characters it hides.

        SentencePiece writes an unknown piece as its own characters (a run of them merged into one piece),
        so the string pieces line up with the ids one for one.
        """
        ids = self.encode(text)
        surfaces = [piece.replace("▁", " ") for piece in self.sp.encode(text, out_type=str)]
        return ids, surfaces

    def unknown_rate(self, texts: Iterable[str]) -> float:
        """The share of pieces that come out as <unk>: text this vocabulary cannot spell."""
        ids = [i for text in texts for i in self.encode(text)]
        return sum(i == UNK_ID for i in ids) / max(len(ids), 1)

    def pieces(self, ids: Iterable[int]) -> list[str]:
        """Pieces for display: unknown characters stay visible as <unk>, EOS as </s>."""
        return [self.sp.id_to_piece(int(i)) for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode([int(i) for i in ids if int(i) not in (PAD_ID, BOS_ID, EOS_ID)])

    def piece_to_id(self, piece: str) -> int:
        return self.sp.piece_to_id(piece)
