"""One decoder step i (lecture point 5): the energies e_ij and weights α_ij, the context c_i, the next
token's probabilities, and a class's guesses of where the step looked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import (
    BAR_COLOUR,
    HIGHLIGHT_COLOUR,
    NO_HOVER_BOX,
    catalogue,
    check_length,
    escape,
    label_room,
    message,
    piece_label,
    source_axis,
    styled,
    target_axis,
    token_categories,
)


def class_guesses(
    counts: Sequence[int],
    weights: np.ndarray | None,
    src_tokens: list[str],
    *,
    step: int,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """The class's guesses at one step (the share of students per source token) beside the model's α_ij;
    `weights` None keeps α hidden (the class has not seen it yet)."""
    text = catalogue(labels)
    check_length("counts", counts, src_tokens)
    total = max(sum(counts), 1)
    x, tokens = token_categories(src_tokens), [escape(t) for t in src_tokens]
    fig = go.Figure()
    fig.add_bar(
        x=x, y=[c / total for c in counts], name=escape(text["class_share"]), marker_color=HIGHLIGHT_COLOUR,
        text=[str(c) if c else "" for c in counts], textposition="outside", customdata=tokens,
        hovertemplate="%{customdata}: %{text} (%{y:.0%})" + NO_HOVER_BOX,
    )  # fmt: skip
    if weights is not None:
        weights = np.asarray(weights, float)
        check_length("weights", weights, src_tokens)
        fig.add_bar(
            x=x, y=weights, name=escape(text["alpha"]), marker_color=BAR_COLOUR, customdata=tokens,
            hovertemplate="%{customdata}: α = %{y:.3f}" + NO_HOVER_BOX,
        )  # fmt: skip
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(**source_axis(src_tokens, x))
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%")
    title = text["class_title"].format(i=step) + ("" if weights is not None else f" ({text['class_hidden']})")
    return styled(fig, "class_guesses", title, 340, students=int(sum(counts)), revealed=weights is not None)


def _titled(text: Mapping[str, str], name: str) -> str:
    """A subplot title over a smaller note, as two short lines: Plotly does not wrap, and beside the top-k
    bars at 800 px the step chart is about 250 px wide."""
    return f"{escape(text[name + '_title'])}<br><span style='font-size:11px'>{escape(text[name + '_note'])}</span>"


def step_bars(
    energies: np.ndarray | None,
    weights: np.ndarray | None,
    src_tokens: list[str],
    *,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Lecture point 5 at one step: the raw energies e_ij above their softmax α_ij, per source token.

    The energy axis starts just below the lowest energy, not at 0: softmax only cares about the
    differences, and 10.2 against 10.7 must look different.
    """
    text = catalogue(labels)
    if energies is None or weights is None:
        return message("step_bars", text["no_attention_step"], title)
    energies, weights = np.asarray(energies, float), np.asarray(weights, float)  # (Tx,), (Tx,)
    check_length("energies", energies, src_tokens)
    check_length("weights", weights, src_tokens)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.14,
        subplot_titles=(_titled(text, "energies"), _titled(text, "weights")),
    )
    x, tokens = token_categories(src_tokens), [escape(t) for t in src_tokens]
    low, high = float(energies.min()), float(energies.max())
    pad = max((high - low) * 0.12, 0.05)
    for row, values, name in ((1, energies, "e"), (2, weights, "α")):
        fig.add_bar(
            x=x,
            y=values,
            customdata=tokens,
            name=f"{name}_ij",
            row=row,
            col=1,
            marker_color=[HIGHLIGHT_COLOUR if row == 1 and v == high else BAR_COLOUR for v in values],
            hovertemplate=f"{escape(text['source'])}: %{{customdata}}<br>{name} = %{{y:.{3 if row == 1 else 4}f}}"
            + NO_HOVER_BOX,
        )
    fig.update_xaxes(**source_axis(src_tokens, x))
    fig.update_xaxes(showticklabels=True, row=2, col=1)
    fig.update_yaxes(title_text="e", range=[low - pad, high + pad], row=1, col=1)
    fig.update_yaxes(title_text="α", range=[0, 1.05], row=2, col=1)
    fig = styled(fig, "step_bars", title, 440 + label_room(src_tokens), energies=energies.tolist())
    return fig.update_layout(showlegend=False, margin_t=95 if title else 60)  # room for the note's line


def context_strip(
    context: np.ndarray, *, title: str | None = None, labels: Mapping[str, str] | None = None
) -> go.Figure:
    """c_i = Σ_j α_ij h_j as a 1×D strip: the one vector the decoder receives at step i."""
    text = catalogue(labels)
    context = np.asarray(context, dtype=float).ravel()  # (D,)
    fig = go.Figure(
        go.Heatmap(
            z=context[None, :],
            x=list(range(context.size)),
            y=[0],
            colorscale="RdBu_r",
            zmid=0.0,
            hovertemplate=f"{escape(text['dimension'])} %{{x}}<br>c = %{{z:.3f}}" + NO_HOVER_BOX,
            colorbar={
                "title": {"text": "c", "side": "right"},
                "thickness": 10,
                "nticks": 3,
                "len": 1.0,
                "tickfont": {"size": 11},
            },
        )
    )
    fig.update_xaxes(title_text=text["context_axis"], showgrid=False)
    fig.update_yaxes(visible=False)
    return styled(fig, "context_strip", title, 150 if title else 120)


def topk_bar(
    pieces: list[str],
    probs: list[float],
    *,
    chosen: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """p(y_i | y_<i, x) for the k likeliest tokens, most likely on top; the taken (or forced) token stands out."""
    text = catalogue(labels)
    if len(pieces) != len(probs):
        raise ValueError(f"{len(pieces)} pieces but {len(probs)} probabilities")
    order = sorted(range(len(probs)), key=lambda k: -probs[k])
    pieces, probs = [pieces[k] for k in order], [float(probs[k]) for k in order]
    shown = [piece_label(p, labels) for p in pieces]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=list(range(len(pieces))),
            orientation="h",
            customdata=[escape(p) for p in shown],
            text=[f"{p:.3f}" for p in probs],
            textposition=["inside" if p > 0.75 else "outside" for p in probs],  # p ≈ 1 stays inside the plot
            insidetextanchor="end",
            cliponaxis=False,
            marker_color=[HIGHLIGHT_COLOUR if p == chosen else BAR_COLOUR for p in pieces],
            hovertemplate="%{customdata}<br>p = %{x:.4f}" + NO_HOVER_BOX,
        )
    )
    fig.update_yaxes(**target_axis(shown), autorange="reversed")
    fig.update_xaxes(
        title_text=text["probability"], range=[0, min(1.0, max(probs, default=1.0) * 1.25 + 0.05)]
    )
    if chosen is not None and chosen not in pieces:
        fig.add_annotation(
            text=escape(text["taken_outside"].format(token=piece_label(chosen, labels), k=len(pieces))),
            x=1, y=1, xref="paper", yref="paper", xanchor="right", showarrow=False,
        )  # fmt: skip
    return styled(fig, "topk_bar", text["next_tokens"], max(200, 30 * len(pieces) + 90), chosen=chosen)
