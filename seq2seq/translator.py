"""The public face: `load_translator(folder)` -> `Translator.translate / translate_batch / start`."""

from __future__ import annotations

import dataclasses
import itertools
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import attribution
from .checkpoint import BUCKETS_FILE, CARD_FILE, LoadedCheckpoint, load_checkpoint
from .data import length_bucket
from .decoding import (
    BeamNode,
    Hypothesis,
    Search,
    Step,
    StepSession,
    check_max_len,
    decode_batches,
    max_output_length,
    pad_batch,
)
from .device import pick_device
from .familiarity import Familiarity, FamiliarityCheck
from .jsonfiles import read_json
from .neighbours import Neighbour, NeighbourIndex
from .tokenizer import EOS, EOS_ID, UNK_ID, Tokenizer

MAX_INPUT_CHARS = 2_000  # longer text is cut before tokenising, with a warning
MAX_INPUT_TOKENS = 150  # subword pieces the encoder reads at most (training saw up to 100)
SCAN_CHARS = 200_000  # characters read at most while looking for text to translate
WEAK_LENGTH = 0.55  # a length whose test chrF is under this share of the model's best length gets a notice
MIN_BUCKET = 20  # test sentences a length bucket needs before its score is trusted


class Notice(str):
    """A warning in English (it is a str) that also carries a `code` and its `values`, so that an
    interface can say it in another language."""

    code: str
    values: dict

    def __new__(cls, code: str, text: str, **values) -> Notice:
        notice = super().__new__(cls, text)
        notice.code, notice.values = code, values
        return notice

    def __reduce__(self):  # pickled (the app caches translations) with its code and values
        return _notice, (self.code, str(self), self.values)


def _notice(code: str, text: str, values: dict) -> Notice:
    return Notice(code, text, **values)


class InputError(ValueError):
    """Input that cannot be translated; `code` and `values` let an interface say why in its language."""

    def __init__(self, code: str, text: str, **values):
        super().__init__(text)
        self.code, self.values = code, values


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
            raise InputError(
                "empty_blank",
                f"input is empty: its first {read:,} characters are all blank or invisible",
                read=read,
            )
        raise InputError("empty", "input is empty: type a sentence to translate")
    cut = cleaned
    if len(cleaned) > MAX_INPUT_CHARS:
        cut = cleaned[:MAX_INPUT_CHARS].rsplit(" ", 1)[0] or cleaned[:MAX_INPUT_CHARS]
    warnings = []
    if len(cut) < len(cleaned) or read < len(text):
        message = f"input was {len(text):,} characters; only the first {len(cut):,} were translated"
        warnings.append(Notice("input_cut", message, total=len(text), kept=len(cut)))
    return cut, warnings


def unknown_warning(pieces: list[str], shown: int = 10) -> str:
    """Say which characters the source vocabulary lacks: the model reads each such piece as <unk>."""
    chars = list(dict.fromkeys(ch for piece in pieces for ch in piece if not ch.isspace()))
    listed = ", ".join(repr(ch) for ch in chars[:shown]) + (", …" if len(chars) > shown else "")
    verb = "piece is" if len(pieces) == 1 else "pieces are"
    shows = "shows" if len(pieces) == 1 else "show"
    text = f"{len(pieces)} {verb} unknown to the model and {shows} as <unk>: {listed}"
    return Notice("unknown_pieces", text, n=len(pieces), chars=listed)


def repetition(text: str, times: int = 3, longest: int = 4) -> tuple[str, int] | None:
    """The first run of 1 to `longest` words said `times` or more times in a row, and how many times: a
    decoder that has lost its place in the sentence loops ("명의 명의 명의 …")."""
    words = text.split()
    for start in range(len(words)):
        for size in range(1, longest + 1):
            span, count = words[start : start + size], 1
            while len(span) == size and words[start + count * size : start + (count + 1) * size] == span:
                count += 1
            if count >= times:
                return " ".join(span), count
    return None


def repetition_warning(text: str) -> Notice | None:
    found = repetition(text)
    if found is None:
        return None
    span, count = found
    message = f"the translation says “{span}” {count} times in a row: the decoder has lost its place in the sentence"
    return Notice("repeats", message, span=span, times=count)


def length_scores(folder: Path) -> dict[str, float]:
    """The checkpoint's test chrF by source length (`eval_buckets.json`); empty when missing or unreadable,
    since the notice it feeds is a courtesy and must never stop a translation."""
    try:
        buckets = read_json(folder / BUCKETS_FILE) or []
        return {str(b["bucket"]): float(b["chrf"]) for b in buckets if int(b.get("n", 0)) >= MIN_BUCKET}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}


def length_warning(words: int, scores: Mapping[str, float]) -> Notice | None:
    """Say so when sentences this long are where the model is weakest: its own test chrF at this length is
    little more than half its best, or less. One output cannot show this; it is the lecture's point 4."""
    bucket = length_bucket(words)
    if bucket not in scores:
        return None
    best = max(scores, key=scores.__getitem__)
    if scores[bucket] >= WEAK_LENGTH * scores[best]:
        return None
    chrf, top = f"{scores[bucket]:.1f}", f"{scores[best]:.1f}"
    text = (
        f"this sentence has {words} words: on its test split this model scores chrF {chrf} on sentences of "
        f"{bucket} words, against {top} on sentences of {best} words. Expect a rough translation."
    )
    return Notice("weak_length", text, words=words, bucket=bucket, chrf=chrf, best_bucket=best, best=top)


def unfamiliar_warning(familiarity: Familiarity) -> Notice:
    """Plain words for a sentence far from the training data: the translation is likely poor."""
    why = []
    if "unseen" in familiarity.reasons:
        shown = ", ".join(familiarity.unseen_words[:6]) + (", …" if len(familiarity.unseen_words) > 6 else "")
        why.append(f"{familiarity.unseen_share:.0%} of its words never occur in the training data ({shown})")
    if "unusual" in familiarity.reasons:
        why.append("its words come in combinations the training data hardly has")
    if "unsure" in familiarity.reasons:
        why.append(f"the model is unsure of its output (mean log p {familiarity.confidence:.2f} per token)")
    if "spread" in familiarity.reasons:
        why.append("its attention is spread thin: it finds little to hold on to")
    text = (
        "this sentence is far from what the model learned: " + "; ".join(why) + ". Expect a poor translation."
    )
    return Notice(
        "unfamiliar", text, share=f"{familiarity.unseen_share:.0%}", words=", ".join(familiarity.unseen_words[:6]),
        confidence=f"{familiarity.confidence:.2f}", reasons=familiarity.reasons,
    )  # fmt: skip


@dataclass
class Snapshot:
    """A whole translation at one moment: its text, pieces and α."""

    text: str
    tgt_tokens: list[str]
    attention: np.ndarray | None


@dataclass
class WhatIf:
    """What forcing `forced_token` at step `step` (from 0) changed: both full translations."""

    step: int
    original_token: str
    forced_token: str  # what the changed step wrote: the forced pieces (space-separated), or the model's pick
    original: Snapshot
    forced: Snapshot


class TranslationSession:
    """Step API for one sentence: `step(force=, attention=)`, `rewind(i)`, `run()`, and the moves a
    stepper offers (`next`, `back`, `reset`, `force_at`); tokens to force are pieces, words or ids."""

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

    def token_ids(self, token: int | str) -> list[int]:
        """The ids a forced token stands for: an id, a piece ('▁파일'), or a word typed without the ▁,
        which may take several pieces (사랑해요 -> ▁사랑 해 요)."""
        if isinstance(token, (int, np.integer)):
            if not 0 <= int(token) < len(self.translator.tgt_tokenizer):
                raise ValueError(f"token id {int(token)} is not in the target vocabulary")
            return [int(token)]
        tok = self.translator.tgt_tokenizer
        token = token.strip()
        if not token:
            raise ValueError("the forced token is empty")
        if any(unicodedata.category(ch) == "Cs" for ch in token):  # SentencePiece cannot look it up
            raise ValueError(f"{token!r} is not in the target vocabulary")
        for candidate in (token, "▁" + token.lstrip("▁"), token.lstrip("▁")):
            index = tok.piece_to_id(candidate)
            if index != tok.sp.unk_id() or candidate == "<unk>":
                return [index]
        ids = tok.encode(token)
        if not ids or UNK_ID in ids:  # forcing <unk> or a bare "▁" in its place would mislead
            raise ValueError(f"{token!r} is not in the target vocabulary")
        return ids

    def token_id(self, token: int | str) -> int:
        """One step's token; a word of several pieces is refused, naming them (use `force_at`)."""
        ids = self.token_ids(token)
        if len(ids) > 1:
            pieces = " ".join(self.pieces(ids))
            raise ValueError(f"{token!r} is {len(ids)} pieces ({pieces}); one step writes one piece")
        return ids[0]

    def check_weights(self, weights) -> np.ndarray:
        """Edited attention: one non-negative number per source token, normalised to sum to 1."""
        if not self.translator.has_attention:
            raise ValueError("this model has no attention weights to edit (fixed context vector)")
        try:
            values = np.asarray(weights, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"attention weights must be numbers ({exc})") from exc
        if values.size != len(self.src_tokens):
            raise ValueError(
                f"attention needs {len(self.src_tokens)} weights, one per source token, not {values.size}"
            )
        if not np.isfinite(values).all():
            raise ValueError("attention weights must be finite numbers (no NaN or infinity)")
        if (values < 0).any():
            raise ValueError("attention weights cannot be negative")
        if values.sum() <= 0:
            raise ValueError("attention weights are all zero: put weight on at least one source token")
        return values / values.sum()

    def step(self, force: int | str | None = None, attention=None) -> Step:
        """One decoder step. `force` writes that token instead of the likeliest; `attention` (one weight per
        source token) replaces α_i, so c_i = Σ_j α_ij h_j is built from it and decoding goes on from there."""
        token = None if force is None else self.token_id(force)
        weights = None if attention is None else self.check_weights(attention)
        return self._session.step(token, weights)

    def rewind(self, index: int) -> None:
        self._session.rewind(index)

    def run(self, max_len: int | None = None) -> list[Step]:
        """Step greedily until </s> or `max_len` tokens (None: 2 × source + 10)."""
        limit = check_max_len(max_len) or max_output_length(len(self.src_tokens))
        return self._session.run(limit)

    # the stepper's moves -------------------------------------------------------------------------
    def next(self) -> Step | None:
        return None if self.finished else self.step()

    def back(self) -> None:
        if self.steps:
            self.rewind(len(self.steps) - 1)

    def reset(self) -> None:
        self.rewind(0)

    @property
    def forced(self) -> tuple[tuple[int, int], ...]:
        """(step index, token id) of every token forced so far: what a class following this session replays."""
        return tuple((step.index, step.token) for step in self.steps if step.forced)

    def go_to(self, steps: int, forced: Mapping[int, int] | None = None) -> None:
        """Take or undo steps until `steps` are taken, or the end, keeping the path taken so far (a link's
        `step=`). With `forced` {step index: token id}, the path is those tokens at those steps and the
        model's own everywhere else (a lesson's class on the teacher's path): steps taken on another path
        are undone first. An id the model lacks is not forced."""
        keep = min(len(self.steps), steps)
        if forced is not None:
            for k, step in enumerate(self.steps[:keep]):
                if step.token != forced.get(k, step.token) or (
                    k not in forced and (step.forced or step.edited)
                ):
                    keep = k
                    break
        self.rewind(keep)
        while len(self.steps) < steps and not self.finished:
            try:
                self.step(force=(forced or {}).get(len(self.steps)))
            except ValueError:
                self.step()

    def snapshot(self) -> Snapshot:
        attention = self.attention
        return Snapshot(self.text, list(self.tgt_tokens), None if attention is None else attention.copy())

    def force_at(self, index: int, token: int | str, max_len: int | None = None) -> WhatIf:
        """Decode greedily from step `index` (the original), then again with `token` forced there.

        A word of several pieces is forced whole, one piece a step. Both full continuations come back as
        snapshots; the session stands just after the forced pieces, so a stepper shows the forced step and
        stepping on follows the forced path. The token is checked first: a bad one (ValueError) leaves the
        session as it was.
        """
        return self.what_if(index, token=token, max_len=max_len)

    def what_if(
        self, index: int, *, token: int | str | None = None, attention=None, max_len: int | None = None
    ) -> WhatIf:
        """The original continuation from step `index`, and the one where that step writes `token` and/or
        reads the edited `attention` (one weight per source token) instead of its own α. The session
        stands after the changed step(s) and goes on along the changed path."""
        ids = None if token is None else self.token_ids(token)
        weights = None if attention is None else self.check_weights(attention)
        check_max_len(max_len)
        if ids is None and weights is None:
            raise ValueError("a what-if needs a token to force or attention weights to use")
        if not 0 <= index <= len(self.steps):
            raise ValueError(f"can change steps 1..{len(self.steps) + 1}, not {index + 1}")
        self.rewind(index)
        self.run(max_len)
        original = self.snapshot()
        original_token = original.tgt_tokens[index] if index < len(original.tgt_tokens) else ""
        self.rewind(index)
        for k, token_id in enumerate(ids or [None]):
            if self.finished:
                break
            self._session.step(token_id, weights if k == 0 else None)
        changed_at = len(self.steps)
        self.run(max_len)
        changed = self.snapshot()
        self.rewind(
            changed_at
        )  # back to just after the changed step(s): their states are kept, so this is exact
        written = " ".join(self.pieces(ids)) if ids is not None else self.tgt_tokens[index]
        return WhatIf(index, original_token, written, original, changed)


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
        return TranslationSession(self, source, ids, warnings, memory, top_k)

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


def group_sums(weights: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Weights over source pieces (last axis) -> weights over their groups (words), summed: a row that
    summed to 1 still does."""
    weights = np.asarray(weights, dtype=float)
    return np.stack([weights[..., g].sum(axis=-1) for g in groups], axis=-1)


def word_text(pieces: list[str], group: list[int]) -> str:
    """The word that the pieces `group` (from `group_words`) spell."""
    return "".join(pieces[i] for i in group).replace("▁", " ").strip() or pieces[group[0]]


def word_level(matrix: np.ndarray, src_tokens: list[str], tgt_tokens: list[str]) -> WordAttention:
    """Subword weights -> word weights: source pieces summed within a word, target pieces averaged, so
    rows that summed to 1 still do (α, or attribution)."""
    src_groups, tgt_groups = group_words(src_tokens), group_words(tgt_tokens)
    summed = group_sums(matrix, src_groups)
    words = np.stack([summed[g].mean(axis=0) for g in tgt_groups], axis=0)
    return WordAttention(
        [word_text(src_tokens, g) for g in src_groups], [word_text(tgt_tokens, g) for g in tgt_groups], words
    )


def word_attention(result: Translation | Candidate, src_tokens: list[str] | None = None) -> WordAttention:
    """Subword α -> word α: source pieces summed within a word, target pieces averaged."""
    if result.attention is None:
        raise ValueError("this model has no attention (fixed context vector)")
    src_tokens = src_tokens if src_tokens is not None else result.src_tokens  # type: ignore[union-attr]
    return word_level(result.attention, src_tokens, result.tgt_tokens)
