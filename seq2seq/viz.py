"""Pure Plotly figure builders for the lecture's pictures: α heatmap, e/α/c at one step, beam tree, length curves.

No Streamlit and no torch here: every function takes plain arrays and lists and returns a `go.Figure`,
so pages stay thin and tests can read values back from the figure spec.

Tokens repeat ("▁the" twice), and Plotly merges equal category labels, so token axes are numeric
(0..n-1) with the token text as `ticktext`. Token text is user input and Plotly renders a subset of
HTML in labels and hovers, so every token is escaped once, in `_escape`: `</s>` shows literally.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

FONT = {"family": "NanumGothic, 'Noto Sans CJK KR', 'Malgun Gothic', sans-serif"}
TEMPLATE = "plotly_white"
FLAG_COLOUR, HIGHLIGHT_COLOUR = (
    "#d62728",
    "#ff7f0e",
)  # flagged (dropped/repeated), current/selected
BAR_COLOUR, MUTED_COLOUR = "#1f77b4", "#b0b0b0"
NO_HOVER_BOX = "<extra></extra>"  # hides the trace-name box next to each hover


class TreeNode(Protocol):
    """What `beam_tree` reads from `seq2seq.decoding.BeamNode`."""

    id: int
    parent: int
    step: int
    token: int
    logprob: float
    finished: bool


def _escape(text: str) -> str:
    """Plotly reads `<b>` and `&amp;` in labels and hovers; user text must show as typed."""
    return html.escape(str(text), quote=False)


def _token_axis(
    tokens: Sequence[str], flagged: Sequence[int] = (), *, vertical: bool = False
) -> dict[str, Any]:
    """Numeric tick positions with escaped token labels, so repeated tokens keep their own slot.

    A long horizontal axis gets angled labels; flagged positions get bold red labels.
    """
    text = [_escape(t) for t in tokens]
    for j in flagged:
        text[j] = f"<b><span style='color:{FLAG_COLOUR}'>{text[j]}</span></b>"
    many = not vertical and (len(tokens) > 10 or sum(len(t) for t in tokens) > 60)
    return {
        "tickmode": "array",
        "tickvals": list(range(len(tokens))),
        "ticktext": text,
        "tickangle": -45 if many else 0,
    }


def _style(fig: go.Figure, kind: str, title: str | None, height: int | None = None, **meta: Any) -> go.Figure:
    """One look for every figure; `meta.figure` says what the figure is for tests and the app."""
    fig.update_layout(
        template=TEMPLATE,
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
        text=_escape(text),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font_size=14,
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
        type="rect",
        x0=x[0],
        x1=x[1],
        y0=y[0],
        y1=y[1],
        name=name,
        line={"color": colour, "width": 3 if dash == "solid" else 2, "dash": dash},
    )


def attention_heatmap(
    attention: np.ndarray,
    src_tokens: list[str],
    tgt_tokens: list[str],
    *,
    title: str | None = None,
    flagged_src: list[int] | None = None,
    highlight_row: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """α_ij as a heatmap (lecture point 6): row i = target token, column j = source token, first row on top."""
    attention = np.asarray(attention, dtype=float)  # (Ty, Tx)
    if attention.shape != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(
            f"attention has shape {attention.shape}, expected ({len(tgt_tokens)}, {len(src_tokens)})"
            " = (target tokens, source tokens)"
        )
    flagged = sorted({j for j in flagged_src or [] if 0 <= j < len(src_tokens)})
    src, tgt = [_escape(t) for t in src_tokens], [_escape(t) for t in tgt_tokens]
    fig = go.Figure(
        go.Heatmap(
            z=attention,
            x=list(range(len(src))),
            y=list(range(len(tgt))),
            customdata=[[[s, t] for s in src] for t in tgt],  # (Ty, Tx, 2)
            hovertemplate="source: %{customdata[0]}<br>target: %{customdata[1]}<br>α = %{z:.3f}"
            + NO_HOVER_BOX,
            colorscale="Blues",
            zmin=0.0,
            zmax=1.0,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": "α"}, "thickness": 12},
        )
    )
    fig.update_xaxes(**_token_axis(src_tokens, flagged), title_text="source j", showgrid=False)
    fig.update_yaxes(
        **_token_axis(tgt_tokens, vertical=True),
        title_text="target i",
        autorange="reversed",
        showgrid=False,
    )
    rows, cols = len(tgt_tokens), len(src_tokens)
    for j in flagged:  # a dashed red frame around each column the diagnostics flag
        _frame(
            fig,
            (j - 0.5, j + 0.5),
            (-0.5, rows - 0.5),
            FLAG_COLOUR,
            "flagged",
            dash="dash",
        )
    if highlight_row is not None and 0 <= highlight_row < rows:
        _frame(
            fig,
            (-0.5, cols - 0.5),
            (highlight_row - 0.5, highlight_row + 0.5),
            HIGHLIGHT_COLOUR,
            "highlight",
        )
    default = "Attention α_ij: which source tokens each target token drew on"
    return _style(
        fig,
        "attention_heatmap",
        title or default,
        height or max(260, 28 * rows + 150),
        flagged_src=flagged,
        highlight_row=highlight_row,
    )


def step_bars(
    energies: np.ndarray | None,
    weights: np.ndarray | None,
    src_tokens: list[str],
    *,
    title: str | None = None,
) -> go.Figure:
    """Lecture point 5 at one step: the raw energies e_ij above their softmax α_ij, per source token."""
    if energies is None or weights is None:
        return _message(
            "step_bars",
            "No attention: this fixed-context model feeds the same vector c at every step.",
            title,
        )
    energies, weights = (
        np.asarray(energies, float),
        np.asarray(weights, float),
    )  # (Tx,), (Tx,)
    _check_length("energies", energies, src_tokens)
    _check_length("weights", weights, src_tokens)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.14,
        subplot_titles=(
            "energies e_ij = vᵀ tanh(W s_{i-1} + U h_j)",
            "weights α_ij = softmax_j(e_ij)",
        ),
    )
    x, tokens = list(range(len(src_tokens))), [_escape(t) for t in src_tokens]
    for row, values, name in ((1, energies, "e"), (2, weights, "α")):
        fig.add_bar(
            x=x,
            y=values,
            customdata=tokens,
            name=f"{name}_ij",
            row=row,
            col=1,
            marker_color=[BAR_COLOUR if v >= 0 else FLAG_COLOUR for v in values],  # e can be < 0
            hovertemplate=f"source: %{{customdata}}<br>{name} = %{{y:.3f}}" + NO_HOVER_BOX,
        )
    fig.update_xaxes(**_token_axis(src_tokens))
    fig.update_xaxes(showticklabels=True, row=2, col=1)
    fig.update_yaxes(title_text="e", zeroline=True, row=1, col=1)
    fig.update_yaxes(title_text="α", range=[0, 1], row=2, col=1)
    fig.update_layout(showlegend=False)
    return _style(fig, "step_bars", title, 460 if title else 420)


def context_strip(context: np.ndarray, *, title: str | None = None) -> go.Figure:
    """c_i = Σ_j α_ij h_j as a 1×D strip: the one vector the decoder receives at step i."""
    context = np.asarray(context, dtype=float).ravel()  # (D,)
    fig = go.Figure(
        go.Heatmap(
            z=context[None, :],
            x=list(range(context.size)),
            y=[0],
            colorscale="RdBu_r",
            zmid=0.0,
            hovertemplate="dimension %{x}<br>c = %{z:.3f}" + NO_HOVER_BOX,
            colorbar={"title": {"text": "c"}, "thickness": 10},
        )
    )
    fig.update_xaxes(title_text="dimension of c_i", showgrid=False)
    fig.update_yaxes(visible=False)
    return _style(fig, "context_strip", title, 150 if title else 120)


def topk_bar(pieces: list[str], probs: list[float], *, chosen: str | None = None) -> go.Figure:
    """p(y_i | y_<i, x) for the k likeliest tokens, most likely on top; the taken (or forced) token stands out."""
    if len(pieces) != len(probs):
        raise ValueError(f"{len(pieces)} pieces but {len(probs)} probabilities")
    order = sorted(range(len(probs)), key=lambda k: -probs[k])
    pieces, probs = [pieces[k] for k in order], [float(probs[k]) for k in order]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=list(range(len(pieces))),
            orientation="h",
            customdata=[_escape(p) for p in pieces],
            text=[f"{p:.3f}" for p in probs],
            textposition="outside",
            marker_color=[HIGHLIGHT_COLOUR if p == chosen else BAR_COLOUR for p in pieces],
            hovertemplate="%{customdata}<br>p = %{x:.3f}" + NO_HOVER_BOX,
        )
    )
    fig.update_yaxes(**_token_axis(pieces, vertical=True), autorange="reversed")
    fig.update_xaxes(
        title_text="probability",
        range=[0, min(1.0, max(probs, default=1.0) * 1.25 + 0.05)],
    )
    if chosen is not None and chosen not in pieces:
        fig.add_annotation(
            text=f"taken: {_escape(chosen)} (not in the top {len(pieces)})",
            x=1,
            y=1,
            xref="paper",
            yref="paper",
            xanchor="right",
            showarrow=False,
        )
    return _style(
        fig,
        "topk_bar",
        "Next-token probabilities",
        max(200, 30 * len(pieces) + 90),
        chosen=chosen,
    )


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
        layer = sorted(
            (n for n in nodes if n.step == step),
            key=lambda n: (y.get(n.parent, 0.0), -n.logprob),
        )
        for rank, n in enumerate(layer):
            y[n.id] = rank - (len(layer) - 1) / 2
    return y


def _edges(nodes: Sequence[TreeNode], y: dict[int, float], keep: Callable[[int], bool]) -> tuple[list, list]:
    """Parent→child segments for the nodes `keep` accepts, None-separated for one line trace."""
    xs, ys = [], []
    for n in nodes:
        if keep(n.id):
            parent_step = -1 if n.parent == -1 else n.step - 1
            xs += [parent_step, n.step, None]
            ys += [y[n.parent], y[n.id], None]
    return xs, ys


def beam_tree(
    nodes: Sequence[TreeNode],
    tgt_pieces: list[str],
    *,
    selected_path: list[int] | None = None,
    nbest_paths: list[list[int]] | None = None,
) -> go.Figure:
    """The beam search tree: x = step, colour = cumulative log p; branches not on an n-best path are faded."""
    if len(tgt_pieces) != len(nodes):
        raise ValueError(f"{len(nodes)} nodes but {len(tgt_pieces)} pieces")
    if not nodes:
        return _message("beam_tree", "The beam search tree is empty.", "Beam search tree")
    y = _tree_positions(nodes)
    kept = {i for path in nbest_paths for i in path} if nbest_paths is not None else {n.id for n in nodes}
    selected = set(selected_path or [])
    fig = go.Figure()
    for keep, colour, width, name in (
        (lambda i: i not in kept, "#dddddd", 1, "pruned"),
        (lambda i: i in kept and i not in selected, "#777777", 1.5, "n-best"),
        (lambda i: i in selected, HIGHLIGHT_COLOUR, 4, "selected"),
    ):
        xs, ys = _edges(nodes, y, keep)
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
        x=[-1],
        y=[0],
        mode="markers+text",
        text=[_escape("<s>")],
        textposition="top center",
        marker={"color": MUTED_COLOUR, "size": 12},
        hoverinfo="skip",
        name="root",
        showlegend=False,
    )
    on = [n.id in kept for n in nodes]
    fig.add_scatter(
        x=[n.step for n in nodes],
        y=[y[n.id] for n in nodes],
        mode="markers+text",
        name="nodes",
        showlegend=False,
        text=[_escape(p) for p in tgt_pieces],
        textposition="top center",
        textfont={"color": ["#222222" if o else MUTED_COLOUR for o in on]},
        customdata=[
            [_escape(p), n.step, n.logprob, "finished (EOS)" if n.finished else ""]
            for p, n in zip(tgt_pieces, nodes)
        ],
        hovertemplate="%{customdata[0]}<br>step %{customdata[1]}<br>cumulative log p = %{customdata[2]:.3f}"
        "<br>%{customdata[3]}" + NO_HOVER_BOX,
        marker={
            "color": [n.logprob for n in nodes],
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": "log p"}, "thickness": 12},
            "size": [16 if n.id in selected else 11 for n in nodes],
            "opacity": [1.0 if o else 0.3 for o in on],
            "symbol": ["square" if n.finished else "circle" for n in nodes],
            "line": {
                "color": [HIGHLIGHT_COLOUR if n.id in selected else "#ffffff" for n in nodes],
                "width": [3 if n.id in selected else 1 for n in nodes],
            },
        },
    )
    steps = max(n.step for n in nodes)
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(-1, steps + 1)),
        ticktext=[_escape("<s>")] + [str(s) for s in range(steps + 1)],
        title_text="decoder step i",
        showgrid=False,
    )
    fig.update_yaxes(visible=False, autorange="reversed")
    widest = max(sum(1 for n in nodes if n.step == s) for s in range(steps + 1))
    return _style(
        fig,
        "beam_tree",
        "Beam search tree (■ = finished, faded = pruned)",
        max(300, 45 * widest + 120),
        selected_path=list(selected_path or []),
    )


METRIC_LABELS = {"chrf": "chrF", "bleu": "BLEU"}


def length_curve(buckets_by_model: dict[str, list[dict]], *, metric: str = "chrf") -> go.Figure:
    """Lecture point 4 in data: score per source-length bucket, one bar group per model."""
    label = METRIC_LABELS.get(metric, metric)
    title = f"{label} by source length (words)"
    if not buckets_by_model:
        return _message("length_curve", "No evaluation results yet.", title)
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
            hovertemplate=f"{_escape(model)}<br>%{{x}} words<br>{label} = %{{y:.1f}}<br>n = %{{customdata}}"
            + NO_HOVER_BOX,
        )
    fig.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=order,
        title_text="source length",
    )
    fig.update_yaxes(title_text=label, rangemode="tozero")
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    return _style(fig, "length_curve", title, 380, metric=metric)


def training_curves(rows: list[dict]) -> go.Figure:
    """metrics.jsonl drawn: train and dev loss above, dev chrF below, both against the optimiser step."""
    title = "Training curves"
    rows = sorted((r for r in rows if r.get("step") is not None), key=lambda r: r["step"])
    if not rows:
        return _message("training_curves", "No training metrics yet.", title)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("loss (cross-entropy per token)", "dev chrF (greedy)"),
    )
    for key, name, row, colour in (
        ("train_loss", "train loss", 1, BAR_COLOUR),
        ("dev_loss", "dev loss", 1, HIGHLIGHT_COLOUR),
        ("dev_chrf", "dev chrF", 2, "#2ca02c"),
    ):
        shown = [r for r in rows if r.get(key) is not None]
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
            hovertemplate=f"{name}<br>step %{{x}}<br>%{{y:.3f}}<br>lr %{{customdata[0]:.2g}}"
            "<br>%{customdata[1]:.0f} s" + NO_HOVER_BOX,
        )
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="chrF", row=2, col=1)
    # right of the plots, top-aligned: clear of the title and the subplot titles above
    fig.update_layout(legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"})
    return _style(fig, "training_curves", title, 480)


def coverage_bars(
    coverage: list[float], src_tokens: list[str], *, low: float = 0.3, high: float = 2.0
) -> go.Figure:
    """Σ_i α_ij per source token: below `low` the token was likely dropped, above `high` likely repeated."""
    _check_length("coverage", coverage, src_tokens)
    coverage = [float(c) for c in coverage]
    status = ["dropped?" if c < low else "repeated?" if c > high else "" for c in coverage]
    flagged = [j for j, s in enumerate(status) if s]
    fig = go.Figure(
        go.Bar(
            x=list(range(len(coverage))),
            y=coverage,
            marker_color=[FLAG_COLOUR if s else BAR_COLOUR for s in status],
            customdata=[[_escape(t), s] for t, s in zip(src_tokens, status)],
            hovertemplate="source: %{customdata[0]}<br>Σ_i α_ij = %{y:.2f}<br>%{customdata[1]}"
            + NO_HOVER_BOX,
        )
    )
    for value, text in ((low, f"dropped < {low:g}"), (high, f"repeated > {high:g}")):
        fig.add_hline(y=value, line={"color": FLAG_COLOUR, "width": 1, "dash": "dash"})
        fig.add_annotation(  # in the right margin, level with its line: never over a bar
            text=text,
            x=1,
            xref="paper",
            xanchor="left",
            xshift=4,
            y=value,
            yref="y",
            showarrow=False,
            font={"size": 11, "color": FLAG_COLOUR},
        )
    fig.update_xaxes(**_token_axis(src_tokens, flagged), title_text="source j")
    fig.update_yaxes(title_text="Σ_i α_ij", rangemode="tozero")
    fig = _style(
        fig,
        "coverage_bars",
        "Coverage Σ_i α_ij: attention each source token received",
        340,
        flagged_src=flagged,
        low=low,
        high=high,
    )
    fig.update_layout(margin_r=100)  # room for the threshold labels
    return fig
