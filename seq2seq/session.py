"""Stepping through one translation (lecture point 5), a decoder step at a time.

`StepSession` works in token ids on the model: s_{i-1}, e_i·, α_i· and c_i at each step, forcing, edited
weights and exact rewinds. `TranslationSession` is the same for a sentence in words and pieces: force a
word, go back, replay a forced path (`go_to`), and say what a forced token changed (`what_if`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from .decoding import check_max_len, max_output_length
from .model import Memory, Seq2Seq
from .tokenizer import BOS_ID, EOS_ID, UNK_ID, Tokenizer


@dataclass
class Step:
    """Everything about decoder step i, in the lecture's terms, for one sentence."""

    index: int  # i, counting from 0
    prev_state: np.ndarray  # s_{i-1} (D,)
    energies: np.ndarray | None  # e_i· (Tx,)
    weights: np.ndarray | None  # α_i· (Tx,)
    context: np.ndarray  # c_i (2H,)
    top_ids: list[int]  # the k most likely next tokens
    top_probs: list[float]
    token: int  # the token taken: the argmax, or the forced one
    prob: float  # p(token)
    forced: bool
    edited: bool = False  # α was given, not computed

    @property
    def is_eos(self) -> bool:
        return self.token == EOS_ID


class StepSession:
    """Decode one sentence a step at a time, with forcing (what-if) and rewinding.

    The session stores the decoder state before every step, so rewinding is exact and cheap.
    """

    def __init__(self, model: Seq2Seq, memory: Memory, top_k: int = 5):
        self.model, self.memory, self.top_k = model, memory, top_k
        with torch.inference_mode():
            state, feed = model.decoder.start(memory)
        self._states = [(state, feed)]  # decoder (s, t) before step i
        self.steps: list[Step] = []

    @property
    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1].is_eos

    @property
    def tokens(self) -> list[int]:
        return [s.token for s in self.steps]

    @property
    def attention(self) -> np.ndarray | None:
        if not self.steps or self.steps[0].weights is None:
            return None
        return np.stack([s.weights for s in self.steps])

    @torch.inference_mode()
    def step(self, force: int | None = None, weights: np.ndarray | None = None) -> Step:
        """One step: the likeliest token, or `force`; `weights` (Tx,), summing to 1, replace α_i."""
        if self.finished:
            raise ValueError("the translation is finished (EOS); rewind to change it")
        state, feed = self._states[len(self.steps)]
        prev = self.steps[-1].token if self.steps else BOS_ID
        device = self.memory.mask.device
        prev_t = torch.tensor([prev], dtype=torch.long, device=device)
        edited = None if weights is None else torch.as_tensor(weights, dtype=state.dtype, device=device)[None]
        out = self.model.decoder.step(prev_t, state, feed, self.memory, edited)
        probs = torch.softmax(self.model.decoder.logits(out.feed).float(), dim=-1)[0]
        top_probs, top_ids = probs.topk(min(self.top_k, probs.numel()))
        vocab = probs.numel()
        if force is not None and not 0 <= int(force) < vocab:
            raise ValueError(f"token id {force} is outside the vocabulary (0..{vocab - 1})")
        token = int(top_ids[0]) if force is None else int(force)

        def numpy(x: torch.Tensor | None) -> np.ndarray | None:
            return None if x is None else x[0].float().cpu().numpy()

        step = Step(
            index=len(self.steps),
            prev_state=numpy(state),
            energies=numpy(out.energies),
            weights=numpy(out.weights),
            context=numpy(out.context),
            top_ids=top_ids.tolist(),
            top_probs=top_probs.tolist(),
            token=token,
            prob=float(probs[token]),
            forced=force is not None and token != int(top_ids[0]),
            edited=weights is not None,
        )
        self.steps.append(step)
        self._states.append((out.state, out.feed))
        return step

    def rewind(self, index: int) -> None:
        """Go back to just before step `index` (0 = the start)."""
        if not 0 <= index <= len(self.steps):
            raise ValueError(f"can rewind to steps 0..{len(self.steps)}, not {index}")
        del self.steps[index:]
        del self._states[index + 1 :]

    def run(self, max_len: int) -> list[Step]:
        """Step greedily until EOS or max_len steps in total."""
        while not self.finished and len(self.steps) < max_len:
            self.step()
        return self.steps


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
        self,
        model: Seq2Seq,
        tokenizers: tuple[Tokenizer, Tokenizer],
        source: str,
        src_ids: list[int],
        warnings: list[str],
        memory,
        top_k: int,
    ):
        """`Translator.start` builds one: the model, its (source, target) tokenizers and the sentence's
        encoder memory, so a session never needs the translator itself."""
        src_tokenizer, self.tgt_tokenizer = tokenizers
        self.model = model
        self.source = source
        self.src_tokens = src_tokenizer.pieces(src_ids)
        self.warnings = warnings
        self._session = StepSession(model, memory, top_k)

    @property
    def steps(self) -> list[Step]:
        return self._session.steps

    @property
    def finished(self) -> bool:
        return self._session.finished

    @property
    def tgt_tokens(self) -> list[str]:
        return self.tgt_tokenizer.pieces(self._session.tokens)

    @property
    def text(self) -> str:
        return self.tgt_tokenizer.decode(self._session.tokens)

    @property
    def attention(self) -> np.ndarray | None:
        return self._session.attention

    def pieces(self, ids: list[int]) -> list[str]:
        return self.tgt_tokenizer.pieces(ids)

    def token_ids(self, token: int | str) -> list[int]:
        """The ids a forced token stands for: an id, a piece ('▁파일'), or a word typed without the ▁,
        which may take several pieces (사랑해요 -> ▁사랑 해 요)."""
        if isinstance(token, (int, np.integer)):
            if not 0 <= int(token) < len(self.tgt_tokenizer):
                raise ValueError(f"token id {int(token)} is not in the target vocabulary")
            return [int(token)]
        tok = self.tgt_tokenizer
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
        if not self.model.has_attention:
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
