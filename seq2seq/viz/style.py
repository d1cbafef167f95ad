"""What every figure shares: the font and colours, the words (`LABELS`), escaping, the token axes and
the one `styled` look with its `meta.figure` tag."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

FONT = {"family": "NanumGothic, 'Noto Sans CJK KR', 'Malgun Gothic', sans-serif", "size": 13}
TICK_FONT = 13  # token labels: legible at 1400 px and on a projector, never under 12 px
# The look the app gives every figure; it sets it as Plotly's default (`use_template`) rather than on
# each figure, which Plotly would validate again every time (about 15 ms a figure, most of a step's work).
TEMPLATE = "plotly_white"
FLAG_COLOUR, HIGHLIGHT_COLOUR = "#d62728", "#ff7f0e"  # flagged (dropped/repeated), current/selected
BAR_COLOUR, MUTED_COLOUR = "#1f77b4", "#b0b0b0"
NO_HOVER_BOX = "<extra></extra>"  # hides the trace-name box next to each hover
CELL = 24  # px per heatmap row or column
LABEL_PX = 8  # about one character of tick label, for the room rotated labels need
NARROWEST_PLOT = 450  # px of plot area on an 800 px screen with the sidebar open
WIDEST_PLOT = 1000  # px of plot area at 1400 px with the sidebar open: Streamlit fits charts to the page
ZERO_WIDTH = "\u200b"  # tells repeated token labels apart without showing

LABELS: dict[str, str] = {
    "source": "source",
    "target": "target",
    "source_axis": "source j",
    "target_axis": "target i",
    "heatmap_title": "Attention α_ij: the source each token drew on",
    "alpha": "α",
    "alpha_full": "α (0–1)",
    "alpha_auto": "α (0–{top}, auto range)",
    "energies_title": "energies e_ij",
    "energies_note": "axis cut: only differences matter",
    "weights_title": "weights α_ij",
    "weights_note": "= softmax_j(e_ij)",
    "no_attention_step": "No attention: this fixed-context model feeds the same vector c at every step.",
    "context_axis": "dimension of c_i",
    "dimension": "dimension",
    "probability": "probability",
    "next_tokens": "p(next token)",
    "taken_outside": "taken: {token} (not in the top {k})",
    "boundary": "▁ (word boundary)",
    "tree_title": "Beam search tree (■ = finished)",
    "tree_title_pruned": "Beam search tree (■ = finished, faded = pruned)",
    "tree_empty": "The beam search tree is empty.",
    "step_axis": "decoder step i",
    "step": "step",
    "cumulative": "cumulative log p",
    "finished": "finished (</s>)",
    "by_length": "{metric} by source length (words)",
    "length_axis": "source length",
    "words": "words",
    "no_eval": "No evaluation results yet.",
    "training_title": "Training curves",
    "no_metrics": "No training metrics yet.",
    "loss_title": "loss (cross-entropy per token)",
    "chrf_title": "dev chrF (greedy)",
    "train_loss": "train loss",
    "dev_loss": "dev loss",
    "dev_chrf": "dev chrF",
    "loss": "loss",
    "coverage_title": "Coverage Σ_i α_ij: attention each source token received",
    "dropped": "dropped < {value}",
    "repeated": "repeated > {value}",
    "dropped_q": "dropped?",
    "repeated_q": "repeated?",
    "timeline_title": "Step {step}: dev loss {loss}, dev chrF {chrf}",
    "play": "▶ Play",
    "pause": "❚❚ Pause",
    "guess_mark": "your guess",
    "class_title": "Step {i}: where the class guessed, beside the model's α",
    "class_share": "share of the class",
    "class_hidden": "the model's α is hidden until you reveal it",
}


def catalogue(labels: Mapping[str, str] | None) -> dict[str, str]:
    return {**LABELS, **(labels or {})}


def escape(text: str) -> str:
    """Plotly reads `<b>` and `&amp;` in labels and hovers; user text must show as typed."""
    return html.escape(str(text), quote=False)


def hover_cells(src: Sequence[str], tgt: Sequence[str]) -> np.ndarray:
    """A heatmap's hover labels, (source, target) per cell, (Ty, Tx, 2): one object array, which Plotly
    takes as it is, where nested lists cost it a validation per string (a third of a step's figure time)."""
    cells = np.empty((len(tgt), len(src), 2), dtype=object)
    cells[..., 0] = np.asarray(src, dtype=object)[None, :]
    cells[..., 1] = np.asarray(tgt, dtype=object)[:, None]
    return cells


def token_categories(tokens: Sequence[str], flagged: Sequence[int] = ()) -> list[str]:
    """A horizontal token axis's categories: escaped labels, flagged ones bold red, a repeat made distinct
    by zero-width spaces (Plotly merges equal categories, and "▁the" twice needs two columns)."""
    used: set[str] = set()
    out = []
    for j, token in enumerate(tokens):
        text = escape(token)
        if j in flagged:
            text = f"<b><span style='color:{FLAG_COLOUR}'>{text}</span></b>"
        while text in used:  # also when the typed text itself holds zero-width spaces
            text += ZERO_WIDTH
        used.add(text)
        out.append(text)
    return out


def source_axis(tokens: Sequence[str], columns: Sequence[str]) -> dict[str, Any]:
    """A source-token axis over `columns`, the `token_categories` its traces use as x (one list, so the
    two cannot disagree).

    A category axis: Plotly itself labels every token where the plot is wide enough and every second
    (third, ...) where it is not. It measures the plot as drawn, 1400 px on a projector or 450 on a tablet,
    which no server-side rule can know. A long axis gets upright (90°) labels, a shorter one level labels
    that Plotly tilts when they would touch; hover names every token.
    """
    crowded = sum(len(str(t)) + 1 for t in tokens) * LABEL_PX > NARROWEST_PLOT
    return {
        "type": "category",
        "categoryorder": "array",
        "categoryarray": list(columns),
        "tickfont": {"size": TICK_FONT},
        **({"tickangle": -90} if crowded else {}),
    }


def target_axis(tokens: Sequence[str]) -> dict[str, Any]:
    """A target-token axis: a row of CELL px per token, so every label fits; numeric positions (0..n-1)
    with the escaped token text."""
    return {
        "tickmode": "array",
        "tickvals": list(range(len(tokens))),
        "ticktext": [escape(t) for t in tokens],
        "tickfont": {"size": TICK_FONT},
    }


def label_room(tokens: Sequence[str]) -> int:
    """Pixels that the longest token label needs."""
    return LABEL_PX * max((len(str(t)) for t in tokens), default=1) + 12


def use_template(name: str = TEMPLATE) -> None:
    """Make `name` Plotly's default template: every figure built after gets it when it is drawn."""
    pio.templates.default = name


def styled(fig: go.Figure, kind: str, title: str | None, height: int | None = None, **meta: Any) -> go.Figure:
    """One look for every figure; `meta.figure` says what the figure is for tests and the app."""
    fig.update_layout(
        font=FONT,
        title={"text": escape(title), "x": 0.01, "font_size": 15} if title else None,
        margin={"l": 10, "r": 10, "t": 50 if title else 30, "b": 10},
        meta={"figure": kind, **meta},
    )
    if height is not None:
        fig.update_layout(height=height)
    return fig


def message(kind: str, text: str, title: str | None = None, height: int = 200) -> go.Figure:
    """An empty figure that says why there is nothing to draw, instead of a blank box."""
    fig = go.Figure()
    fig.add_annotation(
        text=escape(text), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font_size=14
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, kind, title, height, empty=True)


def check_length(name: str, values: Sequence | np.ndarray, tokens: Sequence[str]) -> None:
    if len(values) != len(tokens):
        raise ValueError(f"{name} has {len(values)} values but there are {len(tokens)} source tokens")


def piece_label(piece: str, labels: Mapping[str, str] | None = None) -> str:
    """How a piece reads to a person: the bare '▁' is the word-boundary piece, not a character."""
    return catalogue(labels)["boundary"] if piece == "▁" else piece
