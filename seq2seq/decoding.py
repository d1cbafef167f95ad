"""Search over `Decoder.step`: batched greedy, and batched beam search with its tree (`Search` says which,
with its penalties). Stepping one sentence a step at a time lives in `session`.

Both call the same step function the trainer uses (as `session.StepSession` does), so stepping to the end
equals greedy translation and beam size 1 equals greedy, by construction and by test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from .model import Memory, Seq2Seq
from .tokenizer import BOS_ID, EOS_ID, PAD_ID


@dataclass
class Hypothesis:
    """One output sequence: ids (EOS included when it finished) and α for each output token."""

    tokens: list[int]
    attention: np.ndarray | None  # (len(tokens), Tx); None for a fixed-context model
    logprob: float  # Σ log p(y_i | y_<i, x)
    score: float  # logprob / length_norm + coverage, what beam search ranks by
    finished: bool = True
    length_norm: float = 1.0  # lp(Y): len(tokens)**alpha, or GNMT's ((5 + len) / 6)**alpha
    coverage: float = 0.0  # cp(X; Y) = β Σ_j log(min(Σ_i α_ij, 1)); 0 without a coverage penalty

    def uncovered(self, threshold: float = 0.5) -> list[int]:
        """Source positions j whose attention over the whole output, Σ_i α_ij, stays under `threshold`:
        the words this hypothesis left (nearly) unread."""
        if self.attention is None:
            return []
        return [int(j) for j in np.nonzero(self.attention.sum(axis=0) < threshold)[0]]


@dataclass
class BeamNode:
    """An expanded node of the beam search tree; parent -1 is the BOS root."""

    id: int
    parent: int
    step: int
    token: int
    logprob: float  # cumulative
    attention: np.ndarray | None  # α row that produced this token (Tx,)
    finished: bool
    piece: str = ""  # the token as text: search works in ids, `Translator` fills this in


@dataclass
class BeamResult:
    nbest: list[Hypothesis]
    tree: list[BeamNode] = field(default_factory=list)


def length_penalty(length: int, alpha: float, gnmt: bool = False) -> float:
    """lp(Y) = |Y|**α, or GNMT's lp(Y) = ((5 + |Y|) / (5 + 1))**α (Wu et al. 2016, §7), which divides
    short outputs less."""
    length = max(length, 1)
    return ((5 + length) / 6) ** alpha if gnmt else length**alpha


COVERAGE_FLOOR = 1e-6  # Σ_i α_ij never reaches 0 (a softmax); this keeps log() finite if it underflows


def coverage_penalty(attention: np.ndarray | None, beta: float) -> float:
    """cp(X; Y) = β Σ_j log(min(Σ_i α_ij, 1.0)) (Wu et al. 2016, §7): 0 when every source word got at
    least a whole unit of attention, negative for each one the output left unread."""
    if attention is None or not beta:
        return 0.0
    received = np.clip(attention.sum(axis=0), COVERAGE_FLOOR, 1.0)  # Σ_i α_ij for each j
    return float(beta * np.log(received).sum())


def ranked(tokens, attention, logprob: float, finished: bool, search: Search) -> Hypothesis:
    """A hypothesis with the score search ranks it by: log p / lp(Y) + cp(X; Y)."""
    lp = length_penalty(len(tokens), search.alpha, search.gnmt_length)
    cp = coverage_penalty(attention, search.coverage)
    return Hypothesis(tokens, attention, logprob, logprob / lp + cp, finished, lp, cp)


def banned_repeats(seq: list[int], n: int) -> list[int]:
    """Tokens that would say an n-gram of `seq` a second time (`no_repeat`): the usual guard against an
    output that loops. Empty when n < 1."""
    if n < 1 or len(seq) < n - 1:
        return []
    prefix = seq[len(seq) - n + 1 :] if n > 1 else []
    return [seq[i + n - 1] for i in range(len(seq) - n + 1) if seq[i : i + n - 1] == prefix]


def _trim(tokens: list[int]) -> tuple[list[int], bool]:
    """Cut after the first EOS; report whether there was one."""
    if EOS_ID in tokens:
        return tokens[: tokens.index(EOS_ID) + 1], True
    return tokens, False


@torch.inference_mode()
def greedy_search(
    model: Seq2Seq, memory: Memory, max_len: int, alpha: float = 1.0, search: Search | None = None
) -> list[Hypothesis]:
    """Batched greedy decoding: y_i = argmax p(y | y_<i, x) until EOS or max_len. `search` (its
    `no_repeat` and the score's parts) overrides `alpha`."""
    search = search or Search(alpha=alpha)
    batch = memory.mask.size(0)
    state, feed = model.decoder.start(memory)
    prev = torch.full((batch,), BOS_ID, dtype=torch.long, device=memory.mask.device)
    done = torch.zeros(batch, dtype=torch.bool, device=prev.device)
    tokens, logprobs, weights = [], [], []
    for _ in range(max_len):
        out = model.decoder.step(prev, state, feed, memory)
        logp = torch.log_softmax(model.decoder.logits(out.feed).float(), dim=-1)
        if search.no_repeat and tokens:
            _ban(logp, torch.stack(tokens, 1).tolist(), search.no_repeat)
        best_logp, best = logp.max(dim=-1)
        best = best.masked_fill(done, PAD_ID)
        tokens.append(best)
        logprobs.append(best_logp.masked_fill(done, 0.0))
        if out.weights is not None:
            weights.append(out.weights.float())
        done = done | (best == EOS_ID)
        state, feed, prev = out.state, out.feed, best
        if bool(done.all()):
            break
    token_matrix = torch.stack(tokens, 1).cpu().numpy()  # (B, T)
    logprob_matrix = torch.stack(logprobs, 1).cpu().numpy()
    attention = torch.stack(weights, 1).cpu().numpy() if weights else None  # (B, T, Tx)
    lengths = memory.mask.sum(1).cpu().numpy()
    results = []
    for b in range(batch):
        seq, finished = _trim(token_matrix[b].tolist())
        n = len(seq)
        logprob = float(logprob_matrix[b, :n].sum())
        attn = None if attention is None else attention[b, :n, : lengths[b]]
        results.append(ranked(seq, attn, logprob, finished, search))
    return results


def _ban(logp: torch.Tensor, sequences: list[list[int]], n: int) -> None:
    """Give -inf to every row's tokens that `banned_repeats` forbids (in place)."""
    for row, seq in enumerate(sequences):
        banned = banned_repeats(seq, n)
        if banned:
            logp[row, banned] = float("-inf")


@torch.inference_mode()
def beam_search(
    model: Seq2Seq,
    memory: Memory,
    beam_size: int,
    max_len: int,
    alpha: float = 1.0,
    keep_tree: bool = True,
    search: Search | None = None,
) -> list[BeamResult]:
    """Batched, length-normalised beam search with no Python loop over hypotheses.

    Each sentence keeps `beam_size` live hypotheses in one (B*K) batch; a hypothesis that emits
    EOS leaves the beam as finished, and a sentence stops once it has `beam_size` finished ones. The
    finished ones rank by log p / lp(Y) + cp(X; Y) (`ranked`); `search` overrides `alpha`.
    """
    search = search or Search(beam_size=beam_size, alpha=alpha)
    batch, k = memory.mask.size(0), beam_size
    device = memory.mask.device
    # Only sentences still searching are decoded: `active` lists them, and the live tensors (state,
    # feed, prev, mem) hold their K hypotheses each. A sentence leaves once it has K finished ones.
    active = np.arange(batch)  # sentence ids, in the order of the live rows
    mem = memory.index_select(torch.arange(batch, device=device).repeat_interleave(k))
    state, feed = model.decoder.start(mem)
    prev = torch.full((batch * k,), BOS_ID, dtype=torch.long, device=device)
    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one so the first step has no duplicates
    src_len = memory.mask.size(1)
    history: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]] = []
    finished: list[list[tuple[int, int]]] = [[] for _ in range(batch)]  # (step, slot)
    sequences: list[list[int]] = [[] for _ in range(batch * k)]  # each live row's tokens (no_repeat)
    for t in range(max_len):
        n = len(active)
        out = model.decoder.step(prev, state, feed, mem)
        logp = torch.log_softmax(model.decoder.logits(out.feed).float(), dim=-1)  # (n*K, V)
        if search.no_repeat:
            _ban(logp, sequences, search.no_repeat)
        vocab = logp.size(-1)
        candidates = (scores.view(-1, 1) + logp).view(n, k * vocab)
        top_scores, top_index = candidates.topk(k, dim=-1)  # (n, K)
        parents = torch.div(top_index, vocab, rounding_mode="floor")
        tokens = top_index % vocab
        flat_parents = (torch.arange(n, device=device)[:, None] * k + parents).view(-1)
        weights = None if out.weights is None else out.weights.float()[flat_parents].view(n, k, -1)
        tok_np, top_np = _record(history, (batch, k, src_len), active, tokens, parents, top_scores, weights)
        is_eos = tokens == EOS_ID
        for b, slot in zip(*np.nonzero((tok_np == EOS_ID) & np.isfinite(top_np))):
            if len(finished[b]) < k:
                finished[b].append((t, int(slot)))
        scores = top_scores.masked_fill(is_eos, float("-inf"))
        state, feed, prev = out.state[flat_parents], out.feed[flat_parents], tokens.view(-1)
        if search.no_repeat:
            sequences = [sequences[p] + [y] for p, y in zip(flat_parents.tolist(), prev.tolist())]
        searching = torch.tensor(
            [len(finished[b]) < k for b in active.tolist()], dtype=torch.bool, device=device
        ) & torch.isfinite(scores).any(dim=-1)
        if not bool(searching.all()):
            if not bool(searching.any()):
                break
            keep = searching.nonzero().squeeze(1)
            keep_rows = (keep[:, None] * k + torch.arange(k, device=device)).view(-1)
            active, scores = active[keep.cpu().numpy()], scores[keep]
            state, feed, prev = state[keep_rows], feed[keep_rows], prev[keep_rows]
            mem = mem.index_select(keep_rows)
            if search.no_repeat:
                sequences = [sequences[r] for r in keep_rows.tolist()]
    return _results(history, finished, memory.mask.sum(1).cpu().numpy(), k, search, keep_tree)


def _record(history: list, shape: tuple[int, int, int], active, tokens, parents, top_scores, weights):
    """Append one step to the search's history, for every sentence of the batch: ones that already left
    hold dead slots (PAD, -inf). Returns the step's tokens and scores as arrays."""
    batch, k, src_len = shape
    tok_np = np.full((batch, k), PAD_ID, dtype=np.int64)
    par_np = np.zeros((batch, k), dtype=np.int64)
    top_np = np.full((batch, k), -np.inf, dtype=np.float32)
    tok_np[active], par_np[active], top_np[active] = (
        tokens.cpu().numpy(),
        parents.cpu().numpy(),
        top_scores.cpu().numpy(),
    )
    attn = None
    if weights is not None:
        attn = np.zeros((batch, k, src_len), dtype=np.float32)
        attn[active] = weights.cpu().numpy()
    history.append((tok_np, par_np, top_np, attn))
    return tok_np, top_np


def _results(history, finished, lengths, k: int, search: Search, keep_tree: bool) -> list[BeamResult]:
    """Each sentence's n-best (and tree) read back from the search's history; a sentence that ran out of
    length counts its best live hypotheses too, unfinished."""
    results = []
    for b, ends in enumerate(finished):
        ends = list(ends)
        if len(ends) < k:
            last = history[-1]
            live = [s for s in np.argsort(-last[2][b]) if np.isfinite(last[2][b][s])]
            live = [s for s in live if (len(history) - 1, int(s)) not in ends]
            ends += [(len(history) - 1, int(s)) for s in live[: k - len(ends)]]
        nbest = [_backtrack(history, b, t, slot, lengths[b], search) for t, slot in ends]
        nbest.sort(key=lambda h: h.score, reverse=True)
        tree = _tree(history, b, lengths[b]) if keep_tree else []
        results.append(BeamResult(nbest, tree))
    return results


def _backtrack(history, b: int, t: int, slot: int, src_len: int, search: Search) -> Hypothesis:
    tokens, rows = [], []
    logprob = float(history[t][2][b, slot])
    for step in range(t, -1, -1):
        tok, par, _, attn = history[step]
        tokens.append(int(tok[b, slot]))
        if attn is not None:
            rows.append(attn[b, slot, :src_len])
        slot = int(par[b, slot])
    tokens.reverse()
    rows.reverse()
    attention = np.stack(rows) if rows else None
    finished = tokens[-1] == EOS_ID
    return ranked(tokens, attention, logprob, finished, search)


def _tree(history, b: int, src_len: int) -> list[BeamNode]:
    nodes: list[BeamNode] = []
    ids: dict[tuple[int, int], int] = {}
    for t, (tok, par, score, attn) in enumerate(history):
        for slot in range(tok.shape[1]):
            if not np.isfinite(score[b, slot]):
                continue
            parent = ids.get((t - 1, int(par[b, slot])), -1)
            if t > 0 and parent == -1:
                continue  # its parent had already finished or died
            ids[(t, slot)] = len(nodes)
            row = None if attn is None else attn[b, slot, :src_len]
            token = int(tok[b, slot])
            nodes.append(BeamNode(len(nodes), parent, t, token, float(score[b, slot]), row, token == EOS_ID))
    return nodes


def pad_batch(sequences: list[list[int]], device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists into (B, T) with their lengths (B,)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    batch = torch.full((len(sequences), int(lengths.max())), PAD_ID, dtype=torch.long)
    for row, seq in enumerate(sequences):
        batch[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return batch.to(device), lengths.to(device)


def max_output_length(src_len: int) -> int:
    """Default output cap: Korean subwords run a little longer than English ones."""
    return int(src_len * 2 + 10)


def _whole(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def check_max_len(max_len: int | None) -> int | None:
    """An output cap search can use (None or 0: automatic, `max_output_length`), else ValueError."""
    if max_len is not None and (not _whole(max_len) or max_len < 0):
        raise ValueError(
            f"max_len must be a whole number of at least 1 (0 or None: automatic), not {max_len!r}"
        )
    return int(max_len) if max_len else None


@dataclass(frozen=True)
class Search:
    """How to look for a translation. Checked once, when made, so nothing is searched with a bad setting;
    frozen and hashable, so it can key a cache. Add a search option here, and where it is used."""

    beam_size: int = 1  # 1 = greedy
    max_len: int | None = None  # output cap in subword tokens; None (or 0) = max_output_length(source)
    alpha: float = 1.0  # length normalisation: hypotheses rank by log p / lp(Y), lp = length**alpha
    gnmt_length: bool = False  # lp(Y) = ((5 + length) / 6)**alpha instead (Wu et al. 2016)
    coverage: float = 0.0  # β of the coverage penalty cp = β Σ_j log(min(Σ_i α_ij, 1)); 0 = off
    no_repeat: int = 0  # never say the same n-gram of pieces twice (n; 0 = off)

    def __post_init__(self) -> None:
        if not _whole(self.beam_size) or self.beam_size < 1:
            raise ValueError(f"beam_size must be a whole number of at least 1, not {self.beam_size!r}")
        object.__setattr__(self, "beam_size", int(self.beam_size))
        object.__setattr__(self, "max_len", check_max_len(self.max_len))
        if (
            isinstance(self.alpha, bool)
            or not isinstance(self.alpha, (int, float))
            or not 0 <= self.alpha <= 5
        ):
            raise ValueError(f"alpha (length normalisation) must be a number from 0 to 5, not {self.alpha!r}")
        if (
            isinstance(self.coverage, bool)
            or not isinstance(self.coverage, (int, float))
            or not 0 <= self.coverage <= 5
        ):
            raise ValueError(f"coverage (β) must be a number from 0 to 5, not {self.coverage!r}")
        if not _whole(self.no_repeat) or not 0 <= self.no_repeat <= 10:
            raise ValueError(f"no_repeat must be a whole number from 0 to 10, not {self.no_repeat!r}")
        object.__setattr__(self, "no_repeat", int(self.no_repeat))
        object.__setattr__(self, "gnmt_length", bool(self.gnmt_length))

    @classmethod
    def of(cls, search: Search | None = None, **options) -> Search:
        """`search` with `options` changed (beam_size=5, ...), or a new one from `options`."""
        unknown = set(options) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown search option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(search, **options) if search is not None else cls(**options)

    def limit(self, src_len: int) -> int:
        return self.max_len or max_output_length(src_len)


GREEDY = Search()
# What the views that show a whole translation use unless told otherwise (Home, Translate, Beam search,
# Compare, Error analysis). Chosen on the general dev split by `python -m bench search` (bench/RESULTS.md):
# mean dev chrF 14.8 greedy, 16.8 beam 5, 17.8 with the coverage penalty and no repeated piece trigram,
# no domain losing more than 0.5 against the plain beam; outputs that loop 9.4% -> 7.6% -> 0.3%.
APP_SEARCH = Search(beam_size=5, coverage=0.2, no_repeat=3)


def app_search(beam_size: int, max_len: int | None = None) -> Search:
    """The app's search at this beam size: beam 1 is the decoder's own greedy path, with nothing added."""
    if beam_size == 1:
        return Search(max_len=max_len)
    return Search.of(APP_SEARCH, beam_size=beam_size, max_len=max_len)


@torch.inference_mode()
def decode_batches(
    model: Seq2Seq,
    sources: list[list[int]],
    search: Search = GREEDY,
    *,
    batch_size: int = 64,
    keep_tree: bool = False,
    progress=None,
) -> list[BeamResult]:
    """Decode many sources in length-sorted batches; results come back in input order."""
    device = next(model.parameters()).device
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    results: list[BeamResult | None] = [None] * len(sources)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        src, lengths = pad_batch([sources[i] for i in chunk], device)
        memory = model.encode(src, lengths)
        limit = search.limit(int(lengths.max()))
        if search.beam_size == 1:
            found = [BeamResult([h]) for h in greedy_search(model, memory, limit, search=search)]
        else:
            found = beam_search(model, memory, search.beam_size, limit, keep_tree=keep_tree, search=search)
        for i, result in zip(chunk, found):
            results[i] = result
        if progress is not None:
            progress(len(chunk))
    return results  # type: ignore[return-value]
