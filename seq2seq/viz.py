"""Pure Plotly figure builders for the lecture's pictures: α heatmap, e/α/c at one step, beam tree, length
curves, training curves and the alignment emerging during training.

No Streamlit and no torch here: every function takes plain arrays and lists and returns a `go.Figure`,
so pages stay thin and tests can read values back from the figure spec.

Tokens repeat ("▁the" twice), and Plotly merges equal category labels, so a repeat gets a zero-width
space (`token_categories`); target axes are numeric (0..n-1) with the token text as `ticktext`. Token text
is user input and Plotly renders a subset of HTML in labels and hovers, so every token is escaped once,
in `_escape`: `</s>` shows literally.
Every word a figure writes comes from `LABELS` (English), which the app replaces with its catalogue.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

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
TREE_LABEL_PX = 64  # a beam-tree label of up to 8 characters

LABELS: dict[str, str] = {
    "source": "source",
    "target": "target",
    "source_axis": "source j",
    "target_axis": "target i",
    "heatmap_title": "Attention α_ij: which source tokens each target token drew on",
    "alpha": "α",
    "alpha_full": "α (0–1)",
    "alpha_auto": "α (0–{top}, auto range)",
    "energies_title": "energies e_ij (axis from the lowest: look at the differences)",
    "weights_title": "weights α_ij = softmax_j(e_ij)",
    "no_attention_step": "No attention: this fixed-context model feeds the same vector c at every step.",
    "context_axis": "dimension of c_i",
    "dimension": "dimension",
    "probability": "probability",
    "next_tokens": "Next-token probabilities",
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


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    return {**LABELS, **(labels or {})}


class TreeNode(Protocol):
    """What `beam_tree` reads from `seq2seq.decoding.BeamNode`."""

    id: int
    parent: int
    step: int
    piece: str
    logprob: float
    finished: bool


def _escape(text: str) -> str:
    """Plotly reads `<b>` and `&amp;` in labels and hovers; user text must show as typed."""
    return html.escape(str(text), quote=False)


def token_categories(tokens: Sequence[str], flagged: Sequence[int] = ()) -> list[str]:
    """A horizontal token axis's categories: escaped labels, flagged ones bold red, a repeat made distinct
    by zero-width spaces (Plotly merges equal categories, and "▁the" twice needs two columns)."""
    used: set[str] = set()
    out = []
    for j, token in enumerate(tokens):
        text = _escape(token)
        if j in flagged:
            text = f"<b><span style='color:{FLAG_COLOUR}'>{text}</span></b>"
        while text in used:  # also when the typed text itself holds zero-width spaces
            text += ZERO_WIDTH
        used.add(text)
        out.append(text)
    return out


def _source_axis(tokens: Sequence[str], columns: Sequence[str]) -> dict[str, Any]:
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


def _target_axis(tokens: Sequence[str]) -> dict[str, Any]:
    """A target-token axis: a row of CELL px per token, so every label fits; numeric positions (0..n-1)
    with the escaped token text."""
    return {
        "tickmode": "array",
        "tickvals": list(range(len(tokens))),
        "ticktext": [_escape(t) for t in tokens],
        "tickfont": {"size": TICK_FONT},
    }


def _label_room(tokens: Sequence[str]) -> int:
    """Pixels that the longest token label needs."""
    return LABEL_PX * max((len(str(t)) for t in tokens), default=1) + 12


def use_template(name: str = TEMPLATE) -> None:
    """Make `name` Plotly's default template: every figure built after gets it when it is drawn."""
    pio.templates.default = name


def _style(fig: go.Figure, kind: str, title: str | None, height: int | None = None, **meta: Any) -> go.Figure:
    """One look for every figure; `meta.figure` says what the figure is for tests and the app."""
    fig.update_layout(
        font=FONT,
        title={"text": _escape(title), "x": 0.01, "font_size": 15} if title else None,
        margin={"l": 10, "r": 10, "t": 50 if title else 30, "b": 10},
        meta={"figure": kind, **meta},
    )
    if height is not None:
        fig.update_layout(height=height)
    return fig


def _message(kind: str, text: str, title: str | None = None, height: int = 200) -> go.Figure:
    """An empty figure that says why there is nothing to draw, instead of a blank box."""
    fig = go.Figure()
    fig.add_annotation(
        text=_escape(text), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font_size=14
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, kind, title, height, empty=True)


def _check_length(name: str, values: Sequence | np.ndarray, tokens: Sequence[str]) -> None:
    if len(values) != len(tokens):
        raise ValueError(f"{name} has {len(values)} values but there are {len(tokens)} source tokens")


def _frame(
    fig: go.Figure,
    x: tuple[float, float],
    y: tuple[float, float],
    colour: str,
    name: str,
    dash: str = "solid",
) -> None:
    """A named rectangle outline in data coordinates (cells are centred on integers)."""
    fig.add_shape(
        type="rect", x0=x[0], x1=x[1], y0=y[0], y1=y[1], name=name,
        line={"color": colour, "width": 3 if dash == "solid" else 2, "dash": dash},
    )  # fmt: skip


def heatmap_height(src_tokens: Sequence[str], tgt_tokens: Sequence[str]) -> int:
    """Pixels that give every target token a row of CELL and the source labels their room (the width is
    the page's: Streamlit fits a chart to its column)."""
    return CELL * len(tgt_tokens) + _label_room(src_tokens) + 110


def attention_heatmap(
    attention: np.ndarray,
    src_tokens: list[str],
    tgt_tokens: list[str],
    *,
    title: str | None = None,
    flagged_src: list[int] | None = None,
    highlight_row: int | None = None,
    height: int | None = None,
    colour_range: str = "full",
    colorscale: str = "Blues",
    value_name: str | None = None,
    labels: Mapping[str, str] | None = None,
    marks: Mapping[int, int] | None = None,
) -> go.Figure:
    """α_ij as a heatmap (lecture point 6): row i = target token, column j = source token, first row on top.

    `marks` {row i: column j} puts a marker in cell (i, j): a student's guess of where step i looked.

    `colour_range="auto"` stretches the colours from 0 to the largest weight, so weights well below 0.3
    still show; the colour bar says which range is in use. Hover always gives the exact value.
    """
    text = _labels(labels)
    attention = np.asarray(attention, dtype=float)  # (Ty, Tx)
    if attention.shape != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(
            f"attention has shape {attention.shape}, expected ({len(tgt_tokens)}, {len(src_tokens)})"
            " = (target tokens, source tokens)"
        )
    flagged = sorted({j for j in flagged_src or [] if 0 <= j < len(src_tokens)})
    src, tgt = [_escape(t) for t in src_tokens], [_escape(t) for t in tgt_tokens]
    columns = token_categories(src_tokens, flagged)
    name = value_name or text["alpha"]
    top = float(np.nanmax(attention)) if attention.size else 1.0
    zmax = 1.0 if colour_range == "full" else max(np.ceil(top * 20) / 20, 0.05)
    scale = text["alpha_full"] if colour_range == "full" else text["alpha_auto"].format(top=f"{zmax:g}")
    if value_name:
        scale = value_name
    fig = go.Figure(
        go.Heatmap(
            z=attention,
            x=columns,
            y=list(range(len(tgt))),
            customdata=[[[s, t] for s in src] for t in tgt],  # (Ty, Tx, 2)
            hovertemplate=f"{_escape(text['source'])}: %{{customdata[0]}}<br>{_escape(text['target'])}: "
            f"%{{customdata[1]}}<br>{_escape(name)} = %{{z:.4f}}" + NO_HOVER_BOX,
            colorscale=colorscale,
            zmin=0.0,
            zmax=zmax,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": _escape(scale), "side": "right"}, "thickness": 12},
        )
    )
    fig.update_xaxes(
        **_source_axis(src_tokens, columns), title_text=text["source_axis"], showgrid=False, side="bottom"
    )
    fig.update_yaxes(
        **_target_axis(tgt_tokens),
        title_text=text["target_axis"],
        autorange="reversed",
        showgrid=False,
    )
    rows, cols = len(tgt_tokens), len(src_tokens)
    for j in flagged:  # a dashed red frame around each column the diagnostics flag
        _frame(fig, (j - 0.5, j + 0.5), (-0.5, rows - 0.5), FLAG_COLOUR, "flagged", dash="dash")
    if highlight_row is not None and 0 <= highlight_row < rows:
        _frame(
            fig, (-0.5, cols - 0.5), (highlight_row - 0.5, highlight_row + 0.5), HIGHLIGHT_COLOUR, "highlight"
        )
    cells = sorted((i, j) for i, j in (marks or {}).items() if 0 <= i < rows and 0 <= j < cols)
    if cells:
        fig.add_scatter(
            x=[columns[j] for _, j in cells], y=[i for i, _ in cells], mode="markers", name=_escape(text["guess_mark"]),
            marker={"symbol": "x-thin", "size": 14, "line": {"width": 3, "color": FLAG_COLOUR}},
            hovertemplate=_escape(text["guess_mark"]) + NO_HOVER_BOX, showlegend=True,
        )  # fmt: skip
        fig.update_layout(
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"}
        )
    return _style(
        fig,
        "attention_heatmap",
        title or text["heatmap_title"],
        height or max(200, heatmap_height(src_tokens, tgt_tokens)),
        flagged_src=flagged,
        highlight_row=highlight_row,
        colour_range=colour_range,
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
    text = _labels(labels)
    _check_length("counts", counts, src_tokens)
    total = max(sum(counts), 1)
    x, tokens = token_categories(src_tokens), [_escape(t) for t in src_tokens]
    fig = go.Figure()
    fig.add_bar(
        x=x, y=[c / total for c in counts], name=_escape(text["class_share"]), marker_color=HIGHLIGHT_COLOUR,
        text=[str(c) if c else "" for c in counts], textposition="outside", customdata=tokens,
        hovertemplate="%{customdata}: %{text} (%{y:.0%})" + NO_HOVER_BOX,
    )  # fmt: skip
    if weights is not None:
        weights = np.asarray(weights, float)
        _check_length("weights", weights, src_tokens)
        fig.add_bar(
            x=x, y=weights, name=_escape(text["alpha"]), marker_color=BAR_COLOUR, customdata=tokens,
            hovertemplate="%{customdata}: α = %{y:.3f}" + NO_HOVER_BOX,
        )  # fmt: skip
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(**_source_axis(src_tokens, x))
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%")
    title = text["class_title"].format(i=step) + ("" if weights is not None else f" ({text['class_hidden']})")
    return _style(fig, "class_guesses", title, 340, students=int(sum(counts)), revealed=weights is not None)


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
    text = _labels(labels)
    if energies is None or weights is None:
        return _message("step_bars", text["no_attention_step"], title)
    energies, weights = np.asarray(energies, float), np.asarray(weights, float)  # (Tx,), (Tx,)
    _check_length("energies", energies, src_tokens)
    _check_length("weights", weights, src_tokens)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.14,
        subplot_titles=(_escape(text["energies_title"]), _escape(text["weights_title"])),
    )  # fmt: skip
    x, tokens = token_categories(src_tokens), [_escape(t) for t in src_tokens]
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
            hovertemplate=f"{_escape(text['source'])}: %{{customdata}}<br>{name} = %{{y:.{3 if row == 1 else 4}f}}"
            + NO_HOVER_BOX,
        )
    fig.update_xaxes(**_source_axis(src_tokens, x))
    fig.update_xaxes(showticklabels=True, row=2, col=1)
    fig.update_yaxes(title_text="e", range=[low - pad, high + pad], row=1, col=1)
    fig.update_yaxes(title_text="α", range=[0, 1.05], row=2, col=1)
    fig.update_layout(showlegend=False)
    return _style(fig, "step_bars", title, 420 + _label_room(src_tokens), energies=energies.tolist())


def context_strip(
    context: np.ndarray, *, title: str | None = None, labels: Mapping[str, str] | None = None
) -> go.Figure:
    """c_i = Σ_j α_ij h_j as a 1×D strip: the one vector the decoder receives at step i."""
    text = _labels(labels)
    context = np.asarray(context, dtype=float).ravel()  # (D,)
    fig = go.Figure(
        go.Heatmap(
            z=context[None, :],
            x=list(range(context.size)),
            y=[0],
            colorscale="RdBu_r",
            zmid=0.0,
            hovertemplate=f"{_escape(text['dimension'])} %{{x}}<br>c = %{{z:.3f}}" + NO_HOVER_BOX,
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
    return _style(fig, "context_strip", title, 150 if title else 120)


def piece_label(piece: str, labels: Mapping[str, str] | None = None) -> str:
    """How a piece reads to a person: the bare '▁' is the word-boundary piece, not a character."""
    return _labels(labels)["boundary"] if piece == "▁" else piece


def topk_bar(
    pieces: list[str],
    probs: list[float],
    *,
    chosen: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """p(y_i | y_<i, x) for the k likeliest tokens, most likely on top; the taken (or forced) token stands out."""
    text = _labels(labels)
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
            customdata=[_escape(p) for p in shown],
            text=[f"{p:.3f}" for p in probs],
            textposition=["inside" if p > 0.75 else "outside" for p in probs],  # p ≈ 1 stays inside the plot
            insidetextanchor="end",
            cliponaxis=False,
            marker_color=[HIGHLIGHT_COLOUR if p == chosen else BAR_COLOUR for p in pieces],
            hovertemplate="%{customdata}<br>p = %{x:.4f}" + NO_HOVER_BOX,
        )
    )
    fig.update_yaxes(**_target_axis(shown), autorange="reversed")
    fig.update_xaxes(
        title_text=text["probability"], range=[0, min(1.0, max(probs, default=1.0) * 1.25 + 0.05)]
    )
    if chosen is not None and chosen not in pieces:
        fig.add_annotation(
            text=_escape(text["taken_outside"].format(token=piece_label(chosen, labels), k=len(pieces))),
            x=1, y=1, xref="paper", yref="paper", xanchor="right", showarrow=False,
        )  # fmt: skip
    return _style(fig, "topk_bar", text["next_tokens"], max(200, 30 * len(pieces) + 90), chosen=chosen)


def path_to(nodes: Sequence[TreeNode], node_id: int) -> list[int]:
    """Node ids from the first step down to `node_id`: one hypothesis, read back through the parents."""
    by_id = {n.id: n for n in nodes}
    path = []
    while node_id != -1:
        if node_id not in by_id or len(path) > len(nodes):
            raise ValueError(f"node {node_id} is not in the tree (or the tree has a cycle)")
        path.append(node_id)
        node_id = by_id[node_id].parent
    return path[::-1]


def _tree_positions(nodes: Sequence[TreeNode]) -> dict[int, float]:
    """y per node id: within a step, children follow their parent's order, then best log-prob first."""
    y = {-1: 0.0}
    for step in sorted({n.step for n in nodes}):
        layer = sorted((n for n in nodes if n.step == step), key=lambda n: (y.get(n.parent, 0.0), -n.logprob))
        for rank, n in enumerate(layer):
            y[n.id] = rank - (len(layer) - 1) / 2
    return y


def _fit(label: str, room: int = 8) -> str:
    return label if len(label) <= room else label[: room - 1] + "…"


def _path_rows(paths: list[list[int]]) -> dict[int, float]:
    """y per node of the n-best paths: each node on the row of the best path that passes through it,
    so a shared beginning is drawn once and each hypothesis branches off to its own row."""
    y = {-1: 0.0}
    for rank, path in enumerate(paths):
        for node in path:
            y.setdefault(node, float(rank))
    return y


def _edges(nodes: Sequence[TreeNode], y: dict[int, float], keep: Callable[[int], bool]) -> tuple[list, list]:
    """Parent→child segments for the nodes `keep` accepts, None-separated for one line trace."""
    xs, ys = [], []
    for n in nodes:
        if keep(n.id) and n.id in y:
            parent_step = -1 if n.parent == -1 else n.step - 1
            xs += [parent_step, n.step, None]
            ys += [y[n.parent], y[n.id], None]
    return xs, ys


def _tree_nodes(
    fig: go.Figure,
    nodes: Sequence[TreeNode],
    y: dict[int, float],
    kept: set[int],
    selected: set[int],
    text: dict,
) -> None:
    """The beam tree's nodes: colour = cumulative log p, squares finished, the selected path ringed."""
    shown_nodes = nodes
    on = [n.id in kept for n in shown_nodes]
    # n-best nodes carry their token (cut to 8 characters), on every `stride`-th step when the steps are too
    # narrow for all, and where a row branches off or ends; pruned ones, and all of them, tell it on hover
    steps_shown = max(n.step for n in shown_nodes) + 2
    stride = max(1, math.ceil(steps_shown * TREE_LABEL_PX / WIDEST_PLOT))
    by_id = {n.id: n for n in shown_nodes}

    def labelled(n: TreeNode) -> bool:
        branch = n.parent == -1 or n.parent not in by_id or y[by_id[n.parent].id] != y[n.id]
        return n.id in kept and (n.step % stride == 0 or n.finished or branch)

    shown_text = [_escape(_fit(n.piece)) if labelled(n) else "" for n in shown_nodes]
    fig.add_scatter(
        x=[n.step for n in shown_nodes],
        y=[y[n.id] for n in shown_nodes],
        mode="markers+text",
        name="nodes",
        showlegend=False,
        text=shown_text,
        textposition="top center",
        textfont={"color": ["#222222" if o else MUTED_COLOUR for o in on], "size": 12},
        customdata=[
            [_escape(piece_label(n.piece, text)), n.step, n.logprob, text["finished"] if n.finished else ""]
            for n in shown_nodes
        ],
        hovertemplate=f"%{{customdata[0]}}<br>{_escape(text['step'])} %{{customdata[1]}}<br>"
        f"{_escape(text['cumulative'])} = %{{customdata[2]:.3f}}<br>%{{customdata[3]}}" + NO_HOVER_BOX,
        marker={
            "color": [n.logprob for n in shown_nodes],
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": "log p"}, "thickness": 12},
            "size": [16 if n.id in selected else 11 for n in shown_nodes],
            "opacity": [1.0 if o else 0.3 for o in on],
            "symbol": ["square" if n.finished else "circle" for n in shown_nodes],
            "line": {
                "color": [HIGHLIGHT_COLOUR if n.id in selected else "#ffffff" for n in shown_nodes],
                "width": [3 if n.id in selected else 1 for n in shown_nodes],
            },
        },
    )


def beam_tree(
    nodes: Sequence[TreeNode],
    *,
    selected_path: list[int] | None = None,
    nbest_paths: list[list[int]] | None = None,
    show_pruned: bool = False,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """The beam search tree: x = step, colour = cumulative log p.

    By default only the n-best hypotheses are drawn, one row each, labelled where they differ from the
    row above; `show_pruned` adds every expanded node (pruned ones faded and unlabelled, hover tells).
    Crowded steps are labelled every second (third, ...) step; drag a box to zoom in, hover for any token.
    """
    text = _labels(labels)
    title = text["tree_title_pruned"] if show_pruned else text["tree_title"]
    if not nodes:
        return _message("beam_tree", text["tree_empty"], title)
    kept = {i for path in nbest_paths for i in path} if nbest_paths is not None else {n.id for n in nodes}
    if show_pruned or nbest_paths is None:
        shown_nodes, y = list(nodes), _tree_positions(nodes)
    else:
        shown_nodes, y = [n for n in nodes if n.id in kept], _path_rows(nbest_paths)
    selected = set(selected_path or [])
    fig = go.Figure()
    for keep, colour, width, name in (
        (lambda i: i not in kept, "#dddddd", 1, "pruned"),
        (lambda i: i in kept and i not in selected, "#777777", 1.5, "n-best"),
        (lambda i: i in selected, HIGHLIGHT_COLOUR, 4, "selected"),
    ):
        xs, ys = _edges(shown_nodes, y, keep)
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": colour, "width": width},
            hoverinfo="skip",
            name=name,
            showlegend=False,
        )
    fig.add_scatter(
        x=[-1], y=[0], mode="markers+text", text=[_escape("<s>")], textposition="middle left",
        marker={"color": MUTED_COLOUR, "size": 12}, hoverinfo="skip", name="root", showlegend=False,
    )  # fmt: skip
    _tree_nodes(fig, shown_nodes, y, kept, selected, text)
    steps = max(n.step for n in shown_nodes)
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(-1, steps + 1)),
        ticktext=[_escape("<s>")] + [str(s + 1) for s in range(steps + 1)],
        title_text=text["step_axis"],
        showgrid=False,
        range=[-1.6, steps + 0.6],
    )
    rows = max(y[n.id] for n in shown_nodes) - min(min(y[n.id] for n in shown_nodes), 0)
    top = min(min(y[n.id] for n in shown_nodes), 0)
    fig.update_yaxes(visible=False, range=[top + rows + 0.6, top - 0.9])  # room above the first row's labels
    widest = max(sum(1 for n in shown_nodes if n.step == s) for s in range(steps + 1))
    height = max(300, int(55 * (rows + 1)) + 140) if not show_pruned else max(300, 45 * widest + 140)
    fig.update_layout(dragmode="zoom")  # drag a box to read a crowded stretch; a double click zooms out
    return _style(
        fig, "beam_tree", title, height, selected_path=list(selected_path or []),
        show_pruned=show_pruned,
    )  # fmt: skip


METRIC_LABELS = {"chrf": "chrF", "bleu": "BLEU"}


def length_curve(
    buckets_by_model: dict[str, list[dict]], *, metric: str = "chrf", labels: Mapping[str, str] | None = None
) -> go.Figure:
    """Lecture point 4 in data: score per source-length bucket, one bar group per model."""
    text = _labels(labels)
    label = METRIC_LABELS.get(metric, metric)
    title = text["by_length"].format(metric=label)
    if not buckets_by_model:
        return _message("length_curve", text["no_eval"], title)
    order: list[str] = []
    fig = go.Figure()
    for model, buckets in buckets_by_model.items():
        order += [b["bucket"] for b in buckets if b["bucket"] not in order]
        shown = [b for b in buckets if b.get(metric) is not None]
        fig.add_bar(
            x=[b["bucket"] for b in shown],
            y=[b[metric] for b in shown],
            name=_escape(model),
            customdata=[b.get("n", 0) for b in shown],
            hovertemplate=f"{_escape(model)}<br>%{{x}} {_escape(text['words'])}<br>{label} = %{{y:.1f}}<br>n = %{{customdata}}"
            + NO_HOVER_BOX,
        )
    fig.update_xaxes(
        type="category", categoryorder="array", categoryarray=order, title_text=text["length_axis"]
    )
    fig.update_yaxes(title_text=label, rangemode="tozero")
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    return _style(fig, "length_curve", title, 380, metric=metric)


def training_curves(rows: list[dict], *, labels: Mapping[str, str] | None = None) -> go.Figure:
    """metrics.jsonl drawn: train and dev loss above, dev chrF below, both against the optimiser step."""
    text = _labels(labels)
    title = text["training_title"]
    rows = sorted((r for r in rows if r.get("step") is not None), key=lambda r: r["step"])
    if not rows:
        return _message("training_curves", text["no_metrics"], title)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
        subplot_titles=(_escape(text["loss_title"]), _escape(text["chrf_title"])),
    )  # fmt: skip
    for key, row, colour in (
        ("train_loss", 1, BAR_COLOUR),
        ("dev_loss", 1, HIGHLIGHT_COLOUR),
        ("dev_chrf", 2, "#2ca02c"),
    ):
        shown = [r for r in rows if r.get(key) is not None]
        name = text[key]
        fig.add_scatter(
            x=[r["step"] for r in shown],
            y=[r[key] for r in shown],
            name=name,
            mode="lines+markers",
            line_color=colour,
            marker_size=4,
            row=row,
            col=1,
            customdata=[[r.get("lr"), r.get("elapsed_s")] for r in shown],
            hovertemplate=f"{_escape(name)}<br>{_escape(text['step'])} %{{x}}<br>%{{y:.3f}}<br>lr %{{customdata[0]:.2g}}"
            "<br>%{customdata[1]:.0f} s" + NO_HOVER_BOX,
        )
    fig.update_xaxes(title_text=text["step"], row=2, col=1)
    fig.update_yaxes(title_text=text["loss"], row=1, col=1)
    fig.update_yaxes(title_text="chrF", row=2, col=1)
    # right of the plots, top-aligned: clear of the title and the subplot titles above
    fig.update_layout(legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"})
    return _style(fig, "training_curves", title, 480)


def coverage_bars(
    coverage: list[float],
    src_tokens: list[str],
    *,
    low: float,
    high: float,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Σ_i α_ij per source token: below `low` the token was likely dropped, above `high` likely repeated
    (the thresholds are `seq2seq.diagnostics.DROPPED_BELOW` and `REPEATED_ABOVE`)."""
    text = _labels(labels)
    _check_length("coverage", coverage, src_tokens)
    coverage = [float(c) for c in coverage]
    status = [text["dropped_q"] if c < low else text["repeated_q"] if c > high else "" for c in coverage]
    flagged = [j for j, s in enumerate(status) if s]
    columns = token_categories(src_tokens, flagged)
    fig = go.Figure(
        go.Bar(
            x=columns,
            y=coverage,
            marker_color=[FLAG_COLOUR if s else BAR_COLOUR for s in status],
            customdata=[[_escape(t), _escape(s)] for t, s in zip(src_tokens, status)],
            hovertemplate=f"{_escape(text['source'])}: %{{customdata[0]}}<br>Σ_i α_ij = %{{y:.2f}}<br>%{{customdata[1]}}"
            + NO_HOVER_BOX,
        )
    )
    for value, label in (
        (low, text["dropped"].format(value=f"{low:g}")),
        (high, text["repeated"].format(value=f"{high:g}")),
    ):
        fig.add_hline(y=value, line={"color": FLAG_COLOUR, "width": 1, "dash": "dash"})
        fig.add_annotation(  # in the right margin, level with its line: never over a bar
            text=_escape(label), x=1, xref="paper", xanchor="left", xshift=4, y=value, yref="y",
            showarrow=False, font={"size": 11, "color": FLAG_COLOUR},
        )  # fmt: skip
    fig.update_xaxes(**_source_axis(src_tokens, columns), title_text=text["source_axis"])
    fig.update_yaxes(title_text="Σ_i α_ij", rangemode="tozero")
    fig = _style(
        fig,
        "coverage_bars",
        text["coverage_title"],
        300 + _label_room(src_tokens),
        flagged_src=flagged,
        low=low,
        high=high,
    )
    fig.update_layout(margin_r=110)  # room for the threshold labels
    return fig


def timeline_figure(timeline: dict, probe: int, *, labels: Mapping[str, str] | None = None) -> go.Figure:
    """How the alignment of probe sentence `probe` emerges: its α heatmap at every saved training step,
    animated (play button and step slider, all in the browser), beside dev loss and chrF with the step marked."""
    text = _labels(labels)
    snapshots = timeline.get("snapshots") or []
    if not snapshots:
        return _message("timeline", text["no_metrics"], text["training_title"])
    src_tokens = timeline["probes"][probe]["src_tokens"]
    columns = token_categories(src_tokens)  # one list for every frame's heatmap and the axis
    steps = [s["step"] for s in snapshots]
    # heatmap above, curves below: each gets the page's whole width, on a tablet too
    rows = len(snapshots[-1]["outputs"][probe]["tgt_tokens"])
    heat_px, gap_px, curve_px = max(160, CELL * min(rows, 40) + 20), _label_room(src_tokens) + 75, 220
    total_px = heat_px + gap_px + curve_px
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[heat_px, curve_px],
        vertical_spacing=gap_px / total_px,
        specs=[[{}], [{"secondary_y": True}]],
    )

    def heat(snapshot: dict) -> go.Heatmap:
        out = snapshot["outputs"][probe]
        weights = np.asarray(
            out["weights"] if out["weights"] is not None else np.zeros((0, len(src_tokens))), float
        )
        tgt = [_escape(t) for t in out["tgt_tokens"]]
        return go.Heatmap(
            z=weights, x=columns, y=list(range(len(tgt))), zmin=0, zmax=1, colorscale="Blues",
            customdata=[[[_escape(s), t] for s in src_tokens] for t in tgt],
            hovertemplate=f"{_escape(text['source'])}: %{{customdata[0]}}<br>{_escape(text['target'])}: %{{customdata[1]}}"
            "<br>α = %{z:.4f}" + NO_HOVER_BOX,
            colorbar={"title": {"text": "α"}, "thickness": 10, "x": 1.01, "xanchor": "left", "y": 1, "yanchor": "top",
                      "len": heat_px / total_px},
        )  # fmt: skip

    def marker(step: int) -> go.Scatter:
        chrfs = [s.get("dev_chrf") for s in snapshots]
        return go.Scatter(x=[step, step], y=[0, max([c for c in chrfs if c is not None] + [1])], mode="lines",
                          line={"color": HIGHLIGHT_COLOUR, "width": 2}, hoverinfo="skip", showlegend=False)  # fmt: skip

    def y_axis(snapshot: dict) -> dict:
        """The output's tokens top to bottom; an explicit range, because an animation does not autorange."""
        rows = len(snapshot["outputs"][probe]["tgt_tokens"])
        return {
            **_target_axis(snapshot["outputs"][probe]["tgt_tokens"]),
            "range": [rows - 0.5, -0.5],
        }

    last = snapshots[-1]
    fig.add_trace(heat(last), row=1, col=1)
    fig.add_trace(go.Scatter(x=steps, y=[s.get("dev_chrf") for s in snapshots], name=text["dev_chrf"], mode="lines+markers",
                             line_color="#2ca02c", marker_size=4, connectgaps=True), row=2, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=steps, y=[s.get("dev_loss") for s in snapshots], name=text["dev_loss"], mode="lines+markers",
                             line_color=BAR_COLOUR, marker_size=4, connectgaps=True), row=2, col=1, secondary_y=True)  # fmt: skip
    fig.add_trace(marker(last["step"]), row=2, col=1)
    # Fixed label room: an animation does not re-measure its margins, so frames with longer outputs (or
    # a crowded source axis) would lose their row labels while it plays.
    source_axis = {**_source_axis(src_tokens, columns), "automargin": False}
    source_axis.setdefault("tickangle", -45)
    fig.update_xaxes(
        **source_axis, title_text=text["source_axis"], title_standoff=4, showgrid=False, row=1, col=1
    )
    fig.update_yaxes(**y_axis(last), showgrid=False, automargin=False, row=1, col=1)
    fig.update_xaxes(title_text=text["step"], row=2, col=1)
    fig.update_yaxes(title_text="chrF", row=2, col=1)
    fig.update_yaxes(title_text=text["loss"], secondary_y=True, row=2, col=1)
    every_output = [t for s in snapshots for t in s["outputs"][probe]["tgt_tokens"]]

    def title(snapshot: dict) -> str:
        loss = snapshot.get("dev_loss")
        chrf = snapshot.get("dev_chrf")
        return text["timeline_title"].format(step=snapshot["step"], loss=f"{loss:.3f}" if loss is not None else "–",
                                             chrf=f"{chrf:.1f}" if chrf is not None else "–")  # fmt: skip

    fig.frames = [
        go.Frame(
            name=str(s["step"]),
            data=[heat(s), marker(s["step"])],
            traces=[0, 3],
            layout={"yaxis": y_axis(s), "title": {"text": _escape(title(s))}},
        )
        for s in snapshots
    ]
    play = {"frame": {"duration": 600, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    controls = 70 / total_px  # paper units below the curves' step axis
    fig.update_layout(
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0.0, "y": -controls, "xanchor": "left", "yanchor": "top",
            "showactive": False,
            "buttons": [
                {"label": _escape(text["play"]), "method": "animate", "args": [None, play]},
                {"label": _escape(text["pause"]), "method": "animate", "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}]},
            ],
        }],
        sliders=[{
            "active": len(snapshots) - 1, "x": 0.24, "y": -controls + 0.01, "len": 0.76, "yanchor": "top",
            "currentvalue": {"prefix": f"{_escape(text['step'])}: ", "xanchor": "right"},
            "steps": [
                {"label": str(s["step"]), "method": "animate",
                 "args": [[str(s["step"])], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}]}
                for s in snapshots
            ],
        }],
        legend={"orientation": "h", "x": 0, "y": curve_px / total_px + 0.01, "yanchor": "bottom"},  # above the curves
    )  # fmt: skip
    # the height of the final output: an untrained model's early outputs run to the length limit, and
    # their many rows simply get thinner as the animation plays
    fig = _style(
        fig, "timeline", title(last), total_px + 50 + 130, steps=steps, probe=probe
    )  # + title, controls
    fig.update_layout(margin={"l": _label_room(every_output) + 30, "r": 60, "b": 130})
    return fig
