"""RNN encoder-decoder with pluggable attention, written bottom-up and named after the lecture.

Symbols: h_j the encoder annotations, s_{i-1} the decoder's previous state, e_ij the energies,
α_ij the weights, c_i the context. Every variant runs through the one `Decoder.step`, so
teacher-forced training, greedy search, beam search and the stepping session cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .config import ModelConfig
from .tokenizer import PAD_ID


@dataclass
class Memory:
    """What the encoder hands the decoder for one batch of sentences."""

    annotations: torch.Tensor  # h_j                     (B, Tx, 2H)
    keys: torch.Tensor  # the attention's projection of h_j, computed once per sentence (B, Tx, A)
    mask: torch.Tensor  # True on real source positions   (B, Tx)
    fixed_context: torch.Tensor  # c = [h→_Tx ; h←_1] (B, 2H): the classic model's one vector; also gives s_0

    def index_select(self, index: torch.Tensor) -> Memory:
        """Reorder or repeat sentences, e.g. to give every beam hypothesis its own copy."""
        return Memory(
            self.annotations.index_select(0, index),
            self.keys.index_select(0, index),
            self.mask.index_select(0, index),
            self.fixed_context.index_select(0, index),
        )


class Encoder(nn.Module):
    """Bidirectional RNN: h_j = [h→_j ; h←_j] reads the whole sentence from both sides."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.src_vocab_size, cfg.embed_dim, padding_idx=PAD_ID)
        rnn = nn.GRU if cfg.encoder_rnn == "gru" else nn.LSTM
        self.rnn = rnn(cfg.embed_dim, cfg.hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(cfg.dropout)
        self.word_dropout = cfg.word_dropout

    def forward(
        self, src: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`embedded` (B, Tx, E) stands in for the embeddings of `src` (gradient attribution needs them)."""
        x = self.embedding(src) if embedded is None else embedded  # (B, Tx, E)
        if self.training and self.word_dropout:
            # whole source tokens dropped (Sennrich & Zhang 2019): the decoder learns not to lean on one word
            keep = torch.rand(x.shape[:2], device=x.device) >= self.word_dropout
            x = x * keep.unsqueeze(-1).to(x.dtype)
        x = self.dropout(x)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, hidden = self.rnn(packed)
        if isinstance(hidden, tuple):  # LSTM returns (h_n, c_n)
            hidden = hidden[0]
        annotations, _ = pad_packed_sequence(output, batch_first=True, total_length=src.size(1))
        fixed_context = torch.cat([hidden[0], hidden[1]], dim=-1)  # [h→_Tx ; h←_1]  (B, 2H)
        return self.dropout(annotations), fixed_context


class Attention(nn.Module):
    """Shared maths of every scoring function a(s_{i-1}, h_j); subclasses define the score and say what it
    is: `label` for people, `formula` (LaTeX) for the pages and the model card. A new variant is one
    subclass here, registered in ATTENTIONS."""

    label = "attention"
    formula = r"e_{ij} = a(s_{i-1}, h_j)"

    def project_keys(self, annotations: torch.Tensor) -> torch.Tensor:
        return annotations

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self, query: torch.Tensor, memory: Memory, weights: torch.Tensor | None = None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
        """Return energies e_i· (B, Tx), weights α_i· (B, Tx) and context c_i (B, 2H).

        `weights` (B, Tx), when given, replace the softmax (an edited attention); the energies are still
        the model's own.
        """
        # e_ij = a(s_{i-1}, h_j); padding can never be looked at
        energies = self.score(query, memory.keys).masked_fill(~memory.mask, float("-inf"))
        if weights is None:
            # α_ij = exp(e_ij) / Σ_k exp(e_ik): padding gets exactly 0
            weights = torch.softmax(energies, dim=-1)
        # c_i = Σ_j α_ij h_j
        context = torch.bmm(weights.unsqueeze(1), memory.annotations).squeeze(1)
        return energies, weights, context


class AdditiveAttention(Attention):
    """Bahdanau: e_ij = vᵀ tanh(W s_{i-1} + U h_j + b), with U h_j + b projected once per sentence."""

    label = "Bahdanau (additive) attention"
    formula = r"e_{ij} = v^\top \tanh(W s_{i-1} + U h_j + b)"

    def __init__(self, query_size: int, key_size: int, attention_dim: int):
        super().__init__()
        self.W = nn.Linear(query_size, attention_dim, bias=False)
        self.U = nn.Linear(key_size, attention_dim, bias=True)  # its bias is the b above
        self.v = nn.Linear(attention_dim, 1, bias=False)

    def project_keys(self, annotations: torch.Tensor) -> torch.Tensor:
        return self.U(annotations)  # U h_j + b  (B, Tx, A)

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        # e_ij = vᵀ tanh(W s_{i-1} + U h_j + b)
        return self.v(torch.tanh(self.W(query).unsqueeze(1) + keys)).squeeze(-1)


class DotAttention(Attention):
    """Luong dot: e_ij = s_{i-1}ᵀ h_j (state and annotations share a size)."""

    label = "Luong dot attention"
    formula = r"e_{ij} = s_{i-1}^\top h_j"

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        # e_ij = s_{i-1}ᵀ h_j
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)


class GeneralAttention(Attention):
    """Luong general: e_ij = s_{i-1}ᵀ W_a h_j, with W_a h_j projected once per sentence."""

    label = "Luong general attention"
    formula = r"e_{ij} = s_{i-1}^\top W_a h_j"

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        self.W_a = nn.Linear(key_size, query_size, bias=False)

    def project_keys(self, annotations: torch.Tensor) -> torch.Tensor:
        return self.W_a(annotations)  # W_a h_j  (B, Tx, D)

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        # e_ij = s_{i-1}ᵀ W_a h_j
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)


class FixedContext(Attention):
    """The classic encoder-decoder: c_i = c, one fixed context vector at every step, no weights."""

    label = "no attention: one fixed context vector"
    formula = r"c_i = c = [\overrightarrow{h}_{T_x} ; \overleftarrow{h}_1]"

    def project_keys(self, annotations: torch.Tensor) -> torch.Tensor:
        return annotations[:, :, :0]  # nothing to precompute

    def forward(
        self, query: torch.Tensor, memory: Memory, weights: torch.Tensor | None = None
    ) -> tuple[None, None, torch.Tensor]:
        if weights is not None:
            raise ValueError("a fixed-context model has no attention weights to edit")
        return None, None, memory.fixed_context


ATTENTIONS: dict[str, type[Attention]] = {  # the config's `attention` names
    "additive": AdditiveAttention,
    "dot": DotAttention,
    "general": GeneralAttention,
    "none": FixedContext,
}


def build_attention(cfg: ModelConfig) -> Attention:
    state_size = key_size = 2 * cfg.hidden_size
    kind = ATTENTIONS[cfg.attention]
    if kind is AdditiveAttention:
        return AdditiveAttention(state_size, key_size, cfg.attention_dim)
    if kind is GeneralAttention:
        return GeneralAttention(state_size, key_size)
    return kind()


@dataclass
class StepOutput:
    """One decoder step i: the new state s_i, the attentional vector fed onward, and what it looked at."""

    state: torch.Tensor  # s_i (B, D)
    feed: torch.Tensor  # t_i = tanh(W_o [s_i; c_i; E y_{i-1}])  (B, H)
    energies: torch.Tensor | None  # e_i· (B, Tx)
    weights: torch.Tensor | None  # α_i· (B, Tx)
    context: torch.Tensor  # c_i  (B, 2H)


class Decoder(nn.Module):
    """GRU decoder: c_i from s_{i-1}, then s_i = GRU([E y_{i-1}; c_i; t_{i-1}], s_{i-1}) and the
    attentional vector t_i that feeds both the output layer and the next step (input feeding)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        state_size = context_size = 2 * cfg.hidden_size
        self.embedding = nn.Embedding(cfg.tgt_vocab_size, cfg.embed_dim, padding_idx=PAD_ID)
        self.init_state = nn.Linear(context_size, state_size)
        self.attention = build_attention(cfg)
        feed_size = cfg.hidden_size  # t_i is kept small: the vocabulary projection dominates the cost
        self.rnn = nn.GRUCell(
            cfg.embed_dim + context_size + (feed_size if cfg.input_feeding else 0), state_size
        )
        self.output = nn.Linear(state_size + context_size + cfg.embed_dim, feed_size)
        self.generator = nn.Linear(feed_size, cfg.tgt_vocab_size)
        if cfg.tie_embeddings:  # one matrix for E y_{i-1} and W_g: fewer parameters to learn from little data
            # N(0, 1/E), not nn.Embedding's N(0, 1): as output weights N(0, 1) start the logits at std ~8
            nn.init.normal_(self.embedding.weight, 0.0, cfg.embed_dim**-0.5)
            with torch.no_grad():
                self.embedding.weight[PAD_ID].zero_()
            self.generator.weight = self.embedding.weight
        self.dropout = nn.Dropout(cfg.dropout)

    def start(self, memory: Memory) -> tuple[torch.Tensor, torch.Tensor]:
        """s_0 = tanh(W_init [h→_Tx ; h←_1]) and an all-zero first attentional vector."""
        state = torch.tanh(self.init_state(memory.fixed_context))
        return state, state.new_zeros(state.size(0), self.cfg.hidden_size)

    def step(
        self,
        prev_tokens: torch.Tensor,
        state: torch.Tensor,
        feed: torch.Tensor,
        memory: Memory,
        weights: torch.Tensor | None = None,
    ) -> StepOutput:
        """Decoder step i from y_{i-1} (B,), s_{i-1} (B, D) and t_{i-1} (B, H).

        `weights` (B, Tx) replace the attention's own α_i· (what-if editing); None lets the model look.
        """
        y = self.dropout(self.embedding(prev_tokens))  # E y_{i-1}  (B, E)
        # e_i·, α_i· and c_i, scored against s_{i-1}
        energies, weights, context = self.attention(state, memory, weights)
        # s_i = GRU([E y_{i-1} ; c_i ; t_{i-1}], s_{i-1})   (t_{i-1} only with input feeding)
        parts = [y, context, feed] if self.cfg.input_feeding else [y, context]
        new_state = self.rnn(torch.cat(parts, dim=-1), state)
        # t_i = tanh(W_o [s_i ; c_i ; E y_{i-1}])
        new_feed = torch.tanh(self.output(self.dropout(torch.cat([new_state, context, y], -1))))
        return StepOutput(new_state, new_feed, energies, weights, context)

    def logits(self, feed: torch.Tensor) -> torch.Tensor:
        """p(y_i | y_<i, x) = softmax(W_g t_i + b_g): these are the scores before the softmax; (..., H) -> (..., V)."""
        return self.generator(self.dropout(feed))


# What `Encoder.forward` and `Decoder.step` compute, in LaTeX, for the pages: kept beside the code it describes.
DECODER_FORMULAS = (
    r"h_j = [\overrightarrow{h}_j ; \overleftarrow{h}_j], \qquad s_0 = \tanh(W_{init}\,[\overrightarrow{h}_{T_x} ; \overleftarrow{h}_1])",
    r"s_i = \mathrm{GRU}([E y_{i-1} ; c_i ; t_{i-1}],\ s_{i-1}), \qquad t_i = \tanh(W_o [s_i ; c_i ; E y_{i-1}])",
    r"p(y_i \mid y_{<i}, x) = \mathrm{softmax}(W_g\, t_i + b_g)",
)


class Seq2Seq(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    @property
    def has_attention(self) -> bool:
        return self.cfg.attention != "none"

    def encode(
        self, src: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None
    ) -> Memory:
        annotations, fixed_context = self.encoder(src, lengths, embedded)
        mask = torch.arange(src.size(1), device=src.device)[None, :] < lengths.to(src.device)[:, None]
        keys = self.decoder.attention.project_keys(annotations)  # once per sentence
        return Memory(annotations, keys, mask, fixed_context)

    def forward(
        self,
        src: torch.Tensor,
        lengths: torch.Tensor,
        tgt_in: torch.Tensor,
        embedded: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Teacher-forced logits (B, Ty, V) for tgt_in = [BOS, y_1, ..., y_{Ty-1}]."""
        memory = self.encode(src, lengths, embedded)
        state, feed = self.decoder.start(memory)
        feeds = []
        for i in range(tgt_in.size(1)):
            out = self.decoder.step(tgt_in[:, i], state, feed, memory)
            state, feed = out.state, out.feed
            feeds.append(feed)
        return self.decoder.logits(torch.stack(feeds, dim=1))  # one big output matmul


def sequence_loss(
    logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0
) -> tuple[torch.Tensor, int]:
    """Summed token cross-entropy over non-pad targets, and the token count."""
    loss = F.cross_entropy(
        logits.reshape(-1, logits.size(-1)).float(),
        targets.reshape(-1),
        ignore_index=PAD_ID,
        label_smoothing=label_smoothing,
        reduction="sum",
    )
    return loss, int((targets != PAD_ID).sum())


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
