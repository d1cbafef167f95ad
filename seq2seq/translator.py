"""The public face: `load_translator(folder)` -> `Translator.translate / translate_batch / start`."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import attribution
from .checkpoint import CARD_FILE, LoadedCheckpoint, load_checkpoint
from .decoding import (
    BeamNode,
    Hypothesis,
    Search,
    decode_batches,
    pad_batch,
)
from .device import pick_device
from .familiarity import Familiarity, FamiliarityCheck
from .families import LANGUAGES, direction_of
from .neighbours import Neighbour, NeighbourIndex
from .notices import (
    Notice,
    clean_input,
    length_scores,
    length_warning,
    repetition_warning,
    unfamiliar_warning,
    unknown_warning,
)
from .session import TranslationSession
from .tokenizer import EOS_ID, UNK_ID, Tokenizer

MAX_INPUT_TOKENS = 150  # subword pieces the encoder reads at most (training saw up to 100)


@dataclass
class Candidate:
    """One n-best hypothesis with its own attention."""

    text: str
    tgt_tokens: list[str]
    attention: np.ndarray | None  # (len(tgt_tokens), len(src_tokens))
    score: float  # logprob / length_norm + coverage: what the search ranked it by
    logprob: float
    finished: bool
    length_norm: float = 1.0  # lp(Y)
    coverage: float = 0.0  # cp(X; Y), 0 when the search has no coverage penalty
    uncovered: list[int] = field(default_factory=list)  # source positions it left (nearly) unread


@dataclass
class Translation:
    source: str  # the normalised input that was translated
    text: str
    src_tokens: list[str]  # subword pieces, ending in </s>
    tgt_tokens: list[str]
    attention: np.ndarray | None  # α, (len(tgt_tokens), len(src_tokens)); rows sum to 1
    score: float
    nbest: list[Candidate]
    tree: list[BeamNode] = field(default_factory=list)  # beam search only; each node's `piece` is filled
    warnings: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    search: Search = field(default_factory=Search)
    familiarity: Familiarity | None = None  # None when the checkpoint has no calibrated check

    def nbest_ends(self) -> list[int | None]:
        """The tree node where each n-best hypothesis ends (None if it is not in the tree), by its pieces."""
        paths: dict[int, tuple[str, ...]] = {}
        ends: dict[tuple[str, ...], int] = {}
        for node in self.tree:  # nodes come step by step: a parent before its children
            paths[node.id] = (*paths.get(node.parent, ()), node.piece)
            ends.setdefault(paths[node.id], node.id)
        return [ends.get(tuple(c.tgt_tokens)) for c in self.nbest]


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
        self.familiarity = FamiliarityCheck.load(loaded.folder)
        self.length_scores = length_scores(loaded.folder)
        self._neighbours: NeighbourIndex | None = None

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def has_attention(self) -> bool:
        return self.model.has_attention

    @property
    def direction(self) -> str:
        """'enko' (English source, Korean output) or 'koen', as the model was trained."""
        return direction_of(self.config)

    @property
    def languages(self) -> tuple[str, str]:
        """(source, target) language codes: ('en', 'ko') or ('ko', 'en')."""
        return LANGUAGES[self.direction]

    @property
    def train_domains(self) -> list[str]:
        """What the model learned from; a model trained before the mixed corpus knows LibreOffice alone."""
        return list(self.config.get("train_domains") or ["libreoffice"])

    def encode_source(self, text: str) -> tuple[str, list[int], list[str]]:
        """Validated input -> (normalised text, ids ending in EOS, warnings)."""
        text, warnings = clean_input(text)
        ids, surfaces = self.src_tokenizer.encode_with_text(text)
        if len(ids) > MAX_INPUT_TOKENS - 1:
            message = (
                f"input was {len(ids)} subword tokens; only the first {MAX_INPUT_TOKENS - 1} were translated"
            )
            warnings.append(Notice("tokens_cut", message, total=len(ids), kept=MAX_INPUT_TOKENS - 1))
            ids, surfaces = ids[: MAX_INPUT_TOKENS - 1], surfaces[: MAX_INPUT_TOKENS - 1]
        unknown = [surface for i, surface in zip(ids, surfaces) if i == UNK_ID]
        if unknown:
            warnings.append(unknown_warning(unknown))
        weak = length_warning(len(text.split()), self.length_scores)
        if weak is not None:
            warnings.append(weak)
        return text, ids + [EOS_ID], warnings

    def _candidate(self, hyp: Hypothesis) -> Candidate:
        return Candidate(
            self.tgt_tokenizer.decode(hyp.tokens),
            self.tgt_tokenizer.pieces(hyp.tokens),
            hyp.attention,
            hyp.score,
            hyp.logprob,
            hyp.finished,
            hyp.length_norm,
            hyp.coverage,
            hyp.uncovered(),
        )

    def translate(self, text: str, search: Search | None = None, **options) -> Translation:
        """One sentence; `search`, or options such as beam_size=5 or max_len=40, say how to search."""
        return self.translate_batch([text], Search.of(search, **options), keep_tree=True)[0]

    def translate_batch(
        self,
        texts: list[str],
        search: Search | None = None,
        *,
        batch_size: int = 64,
        keep_tree: bool = False,
        progress=None,
        **options,
    ) -> list[Translation]:
        """Batched greedy or beam translation; every text is validated first (ValueError if bad)."""
        search = Search.of(search, **options)
        started = time.perf_counter()
        prepared = [self.encode_source(t) for t in texts]
        sources = [ids for _, ids, _ in prepared]
        results = decode_batches(
            self.model, sources, search, batch_size=batch_size, keep_tree=keep_tree, progress=progress
        )
        elapsed = (time.perf_counter() - started) * 1000 / max(len(texts), 1)
        out = []
        for (source, ids, warnings), result in zip(prepared, results):
            nbest = [self._candidate(h) for h in result.nbest]
            best = nbest[0]
            if not best.finished:
                warnings = warnings + [
                    Notice("length_limit", "the translation hit the length limit before </s>")
                ]
            looping = repetition_warning(best.text)
            if looping is not None:
                warnings = warnings + [looping]
            pieces = self.tgt_tokenizer.pieces([n.token for n in result.tree])
            translation = Translation(
                source=source,
                text=best.text,
                src_tokens=self.src_tokenizer.pieces(ids),
                tgt_tokens=best.tgt_tokens,
                attention=best.attention,
                score=best.score,
                nbest=nbest,
                tree=[dataclasses.replace(n, piece=p) for n, p in zip(result.tree, pieces)],
                warnings=warnings,
                elapsed_ms=elapsed,
                search=search,
            )
            if self.familiarity is not None:
                translation.familiarity = self.familiarity.assess(source, translation)
                if translation.familiarity.unfamiliar:
                    translation.warnings = warnings + [unfamiliar_warning(translation.familiarity)]
            out.append(translation)
        return out

    def start(self, text: str, top_k: int = 5) -> TranslationSession:
        """A stepping session: each `step()` exposes s_{i-1}, e_i·, α_i·, c_i and the top-k."""
        source, ids, warnings = self.encode_source(text)
        src, lengths = pad_batch([ids], self.device)
        with torch.inference_mode():
            memory = self.model.encode(src, lengths)
        tokenizers = (self.src_tokenizer, self.tgt_tokenizer)
        return TranslationSession(self.model, tokenizers, source, ids, warnings, memory, top_k)

    def replay(self, translation: Translation, candidate: Candidate | None = None) -> TranslationSession:
        """A session stepped along a translation's own tokens (forced), e.g. a beam search result: each
        step's e, α and c for exactly that output, without searching again."""
        session = self.start(translation.source)
        for piece in (candidate or translation).tgt_tokens:
            session._session.step(self.tgt_tokenizer.piece_to_id(piece))
        return session

    def saliency(
        self,
        translation: Translation,
        method: str = "integrated_gradients",
        candidate: Candidate | None = None,
    ) -> np.ndarray:
        """Gradient attribution of each output token to each source token, (len(tgt_tokens), len(src_tokens)):
        non-negative rows summing to 1, teacher-forced on the translation (or one of its n-best)."""
        return self.attribute(translation.src_tokens, (candidate or translation).tgt_tokens, method)

    def attribute(
        self, src_tokens: list[str], tgt_tokens: list[str], method: str = "integrated_gradients"
    ) -> np.ndarray:
        """`saliency` for any source and output pieces (an eval.jsonl row, say)."""
        src_ids = [self.src_tokenizer.piece_to_id(p) for p in src_tokens]
        tgt_ids = [self.tgt_tokenizer.piece_to_id(p) for p in tgt_tokens]
        return attribution.normalise(attribution.raw_attributions(self.model, src_ids, tgt_ids, method))

    def neighbour_index(self, progress=None) -> NeighbourIndex:
        """The shipped training pairs with one encoder vector each, built once and cached on disk."""
        if self._neighbours is None:
            index = NeighbourIndex(self.folder, self.model, self.src_tokenizer)
            index.build(progress)
            self._neighbours = index
        return self._neighbours

    def neighbours(self, text: str, k: int = 5) -> list[Neighbour]:
        """The k training pairs nearest to `text` by the encoder's representation (cosine of mean h_j)."""
        source, _, _ = self.encode_source(text)
        return self.neighbour_index().nearest(source, k)

    @property
    def attention_kind(self):
        """The model's attention module; its `label` and `formula` (LaTeX) say what it computes."""
        return self.model.decoder.attention

    def describe(self) -> dict:
        """What the model is, for the sidebar and the Model card page."""
        cfg = self.model.cfg
        return {
            "name": self.name,
            "attention": cfg.attention,
            "attention_label": self.attention_kind.label,
            "formula": self.attention_kind.formula,
            "device": str(self.device),
            "embed_dim": cfg.embed_dim,
            "hidden_size": cfg.hidden_size,
            "vocab": f"{cfg.src_vocab_size} / {cfg.tgt_vocab_size}",
            "parameters": sum(p.numel() for p in self.model.parameters()),
        }


def load_translator(folder: str | Path, device: str | torch.device | None = None) -> Translator:
    """Load a checkpoint folder for inference (GPU if there is one, unless `device` says otherwise)."""
    device = pick_device(str(device) if device else "")
    return Translator(load_checkpoint(folder, device), device)
