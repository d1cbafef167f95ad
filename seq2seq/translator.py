"""The public face: `load_translator(folder)` -> `Translator.translate / translate_batch / start`."""

from __future__ import annotations

import itertools
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CARD_FILE, LoadedCheckpoint, load_checkpoint
from .decoding import (
    BeamNode,
    Hypothesis,
    Step,
    StepSession,
    check_limits,
    decode_batches,
    max_output_length,
    pad_batch,
)
from .tokenizer import EOS, EOS_ID, UNK_ID, Tokenizer
from .train import pick_device

MAX_INPUT_CHARS = 2_000  # longer text is cut before tokenising, with a warning
MAX_INPUT_TOKENS = 150  # subword pieces the encoder reads at most (training saw up to 100)
SCAN_CHARS = 200_000  # characters read at most while looking for text to translate


@dataclass
class Candidate:
    """One n-best hypothesis with its own attention."""

    text: str
    tgt_tokens: list[str]
    attention: np.ndarray | None  # (len(tgt_tokens), len(src_tokens))
    score: float  # length-normalised log-probability
    logprob: float
    finished: bool


@dataclass
class Translation:
    source: str  # the normalised input that was translated
    text: str
    src_tokens: list[str]  # subword pieces, ending in </s>
    tgt_tokens: list[str]
    attention: np.ndarray | None  # α, (len(tgt_tokens), len(src_tokens)); rows sum to 1
    score: float
    nbest: list[Candidate]
    tree: list[BeamNode] = field(default_factory=list)  # beam search only
    warnings: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0


def clean_input(text: str) -> tuple[str, list[str]]:
    """Control characters out, whitespace collapsed, NFC, length capped; raises on empty input.

    The scan stops once it holds more than MAX_INPUT_CHARS visible characters, or after SCAN_CHARS
    characters, so a huge paste costs little, and text after a long run of blanks is still found.
    """
    if not isinstance(text, str):
        raise ValueError(f"input must be text, not {type(text).__name__}")
    kept, visible, read = [], 0, 0
    for ch in itertools.islice(text, SCAN_CHARS):
        if visible > MAX_INPUT_CHARS:
            break
        read += 1
        cat = unicodedata.category(ch)
        if ch.isspace() or cat in ("Zl", "Zp"):
            kept.append(" ")
        elif cat not in ("Cc", "Cf", "Cs", "Co", "Cn"):  # NUL, zero-width and direction marks, surrogates
            kept.append(ch)
            visible += 1
    cleaned = unicodedata.normalize("NFC", " ".join("".join(kept).split()))
    if not cleaned:
        if read < len(text):
            raise ValueError(f"input is empty: its first {read:,} characters are all blank or invisible")
        raise ValueError("input is empty: type a sentence to translate")
    cut = cleaned
    if len(cleaned) > MAX_INPUT_CHARS:
        cut = cleaned[:MAX_INPUT_CHARS].rsplit(" ", 1)[0] or cleaned[:MAX_INPUT_CHARS]
    warnings = []
    if len(cut) < len(cleaned) or read < len(text):
        warnings.append(f"input was {len(text):,} characters; only the first {len(cut):,} were translated")
    return cut, warnings


def unknown_warning(pieces: list[str], shown: int = 10) -> str:
    """Say which characters the source vocabulary lacks: the model reads each such piece as <unk>."""
    chars = list(dict.fromkeys(ch for piece in pieces for ch in piece if not ch.isspace()))
    listed = ", ".join(repr(ch) for ch in chars[:shown]) + (", …" if len(chars) > shown else "")
    verb = "piece is" if len(pieces) == 1 else "pieces are"
    shows = "shows" if len(pieces) == 1 else "show"
    return f"{len(pieces)} {verb} unknown to the model and {shows} as <unk>: {listed}"


class TranslationSession:
    """Step API for one sentence: `step(force=None)`, `rewind(i)`, `run()`; pieces or ids for force."""

    def __init__(
        self, translator: Translator, source: str, src_ids: list[int], warnings: list[str], memory, top_k: int
    ):
        self.translator = translator
        self.source = source
        self.src_tokens = translator.src_tokenizer.pieces(src_ids)
        self.warnings = warnings
        self._session = StepSession(translator.model, memory, top_k)

    @property
    def steps(self) -> list[Step]:
        return self._session.steps

    @property
    def finished(self) -> bool:
        return self._session.finished

    @property
    def tgt_tokens(self) -> list[str]:
        return self.translator.tgt_tokenizer.pieces(self._session.tokens)

    @property
    def text(self) -> str:
        return self.translator.tgt_tokenizer.decode(self._session.tokens)

    @property
    def attention(self) -> np.ndarray | None:
        return self._session.attention

    def pieces(self, ids: list[int]) -> list[str]:
        return self.translator.tgt_tokenizer.pieces(ids)

    def token_id(self, token: int | str) -> int:
        """A forced token given as an id, a piece ('▁파일'), or a word typed without the ▁."""
        if isinstance(token, (int, np.integer)):
            return int(token)
        tok = self.translator.tgt_tokenizer
        token = token.strip()
        if not token:
            raise ValueError("the forced token is empty")
        if any(unicodedata.category(ch) == "Cs" for ch in token):  # SentencePiece cannot look it up
            raise ValueError(f"{token!r} is not in the target vocabulary")
        for candidate in (token, "▁" + token.lstrip("▁"), token.lstrip("▁")):
            index = tok.piece_to_id(candidate)
            if index != tok.sp.unk_id() or candidate == "<unk>":
                return index
        ids = tok.encode(token)
        if not ids or UNK_ID in ids:  # forcing <unk> or a bare "▁" in its place would mislead
            raise ValueError(f"{token!r} is not in the target vocabulary")
        return ids[0]  # its first piece: decoding goes on from there

    def step(self, force: int | str | None = None) -> Step:
        return self._session.step(None if force is None else self.token_id(force))

    def rewind(self, index: int) -> None:
        self._session.rewind(index)

    def run(self, max_len: int | None = None) -> list[Step]:
        check_limits(max_len=max_len)
        return self._session.run(max_len or max_output_length(len(self.src_tokens)))


class Translator:
    def __init__(self, loaded: LoadedCheckpoint, device: torch.device):
        self.model = loaded.model
        self.src_tokenizer: Tokenizer = loaded.src_tokenizer
        self.tgt_tokenizer: Tokenizer = loaded.tgt_tokenizer
        self.config = loaded.config
        self.folder = loaded.folder
        self.device = device
        card = loaded.folder / CARD_FILE
        self.card = card.read_text(encoding="utf-8", errors="replace") if card.is_file() else ""

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def has_attention(self) -> bool:
        return self.model.has_attention

    def encode_source(self, text: str) -> tuple[str, list[int], list[str]]:
        """Validated input -> (normalised text, ids ending in EOS, warnings)."""
        text, warnings = clean_input(text)
        ids, surfaces = self.src_tokenizer.encode_with_text(text)
        if len(ids) > MAX_INPUT_TOKENS - 1:
            warnings.append(
                f"input was {len(ids)} subword tokens; only the first {MAX_INPUT_TOKENS - 1} were translated"
            )
            ids, surfaces = ids[: MAX_INPUT_TOKENS - 1], surfaces[: MAX_INPUT_TOKENS - 1]
        unknown = [surface for i, surface in zip(ids, surfaces) if i == UNK_ID]
        if unknown:
            warnings.append(unknown_warning(unknown))
        return text, ids + [EOS_ID], warnings

    def _candidate(self, hyp: Hypothesis) -> Candidate:
        return Candidate(
            self.tgt_tokenizer.decode(hyp.tokens),
            self.tgt_tokenizer.pieces(hyp.tokens),
            hyp.attention,
            hyp.score,
            hyp.logprob,
            hyp.finished,
        )

    def translate(
        self, text: str, beam_size: int = 1, max_len: int | None = None, alpha: float = 1.0
    ) -> Translation:
        return self.translate_batch([text], beam_size, max_len, alpha=alpha, keep_tree=True)[0]

    def translate_batch(
        self,
        texts: list[str],
        beam_size: int = 1,
        max_len: int | None = None,
        batch_size: int = 64,
        alpha: float = 1.0,
        keep_tree: bool = False,
        progress=None,
    ) -> list[Translation]:
        """Batched greedy or beam translation; every text is validated first (ValueError if bad)."""
        check_limits(beam_size, max_len)
        started = time.perf_counter()
        prepared = [self.encode_source(t) for t in texts]
        results = decode_batches(
            self.model,
            [ids for _, ids, _ in prepared],
            beam_size,
            max_len,
            batch_size,
            alpha,
            keep_tree,
            progress,
        )
        elapsed = (time.perf_counter() - started) * 1000 / max(len(texts), 1)
        out = []
        for (source, ids, warnings), result in zip(prepared, results):
            nbest = [self._candidate(h) for h in result.nbest]
            best = nbest[0]
            if not best.finished:
                warnings = warnings + ["the translation hit the length limit before </s>"]
            out.append(
                Translation(
                    source,
                    best.text,
                    self.src_tokenizer.pieces(ids),
                    best.tgt_tokens,
                    best.attention,
                    best.score,
                    nbest,
                    result.tree,
                    warnings,
                    elapsed,
                )
            )
        return out

    def start(self, text: str, top_k: int = 5) -> TranslationSession:
        """A stepping session: each `step()` exposes s_{i-1}, e_i·, α_i·, c_i and the top-k."""
        source, ids, warnings = self.encode_source(text)
        src, lengths = pad_batch([ids], self.device)
        with torch.inference_mode():
            memory = self.model.encode(src, lengths)
        return TranslationSession(self, source, ids, warnings, memory, top_k)

    def summary(self) -> dict:
        cfg = self.model.cfg
        return {
            "name": self.name,
            "attention": cfg.attention,
            "device": str(self.device),
            "embed_dim": cfg.embed_dim,
            "hidden_size": cfg.hidden_size,
            "vocab": f"{cfg.src_vocab_size} / {cfg.tgt_vocab_size}",
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "scores": self.config.get("test", {}),
        }


def load_translator(folder: str | Path, device: str | torch.device | None = None) -> Translator:
    """Load a checkpoint folder for inference (GPU if there is one, unless `device` says otherwise)."""
    device = pick_device(str(device) if device else "")
    return Translator(load_checkpoint(folder, device), device)


@dataclass
class WordAttention:
    src_words: list[str]
    tgt_words: list[str]
    matrix: np.ndarray  # (len(tgt_words), len(src_words)); rows still sum to 1


def group_words(pieces: list[str]) -> list[list[int]]:
    """Indices of the pieces that make up each word: a '▁' piece starts one; </s> stands alone."""
    groups: list[list[int]] = []
    for index, piece in enumerate(pieces):
        if not groups or piece.startswith("▁") or piece == EOS or pieces[index - 1] == EOS:
            groups.append([index])
        else:
            groups[-1].append(index)
    return groups


def _word(pieces: list[str], group: list[int]) -> str:
    return "".join(pieces[i] for i in group).replace("▁", " ").strip() or pieces[group[0]]


def word_attention(result: Translation | Candidate, src_tokens: list[str] | None = None) -> WordAttention:
    """Subword α -> word α: source pieces summed within a word, target pieces averaged."""
    if result.attention is None:
        raise ValueError("this model has no attention (fixed context vector)")
    src_tokens = src_tokens if src_tokens is not None else result.src_tokens  # type: ignore[union-attr]
    src_groups, tgt_groups = group_words(src_tokens), group_words(result.tgt_tokens)
    summed = np.stack([result.attention[:, g].sum(axis=1) for g in src_groups], axis=1)
    matrix = np.stack([summed[g].mean(axis=0) for g in tgt_groups], axis=0)
    return WordAttention(
        [_word(src_tokens, g) for g in src_groups], [_word(result.tgt_tokens, g) for g in tgt_groups], matrix
    )
