"""The beam search tree: every hypothesis the search kept (or pruned), step by step."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import plotly.graph_objects as go

from .style import (
    HIGHLIGHT_COLOUR,
    MUTED_COLOUR,
    NO_HOVER_BOX,
    WIDEST_PLOT,
    catalogue,
    escape,
    message,
    piece_label,
    styled,
)

TREE_LABEL_PX = 64  # a beam-tree label of up to 8 characters


class TreeNode(Protocol):
    """What `beam_tree` reads from `seq2seq.decoding.BeamNode`."""

    id: int
    parent: int
    step: int
    piece: str
    logprob: float
    finished: bool


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

    shown_text = [escape(_fit(n.piece)) if labelled(n) else "" for n in shown_nodes]
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
            [escape(piece_label(n.piece, text)), n.step, n.logprob, text["finished"] if n.finished else ""]
            for n in shown_nodes
        ],
        hovertemplate=f"%{{customdata[0]}}<br>{escape(text['step'])} %{{customdata[1]}}<br>"
        f"{escape(text['cumulative'])} = %{{customdata[2]:.3f}}<br>%{{customdata[3]}}" + NO_HOVER_BOX,
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
    text = catalogue(labels)
    title = text["tree_title_pruned"] if show_pruned else text["tree_title"]
    if not nodes:
        return message("beam_tree", text["tree_empty"], title)
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
        x=[-1], y=[0], mode="markers+text", text=[escape("<s>")], textposition="middle left",
        marker={"color": MUTED_COLOUR, "size": 12}, hoverinfo="skip", name="root", showlegend=False,
    )  # fmt: skip
    _tree_nodes(fig, shown_nodes, y, kept, selected, text)
    steps = max(n.step for n in shown_nodes)
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(-1, steps + 1)),
        ticktext=[escape("<s>")] + [str(s + 1) for s in range(steps + 1)],
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
    return styled(
        fig, "beam_tree", title, height, selected_path=list(selected_path or []),
        show_pruned=show_pruned,
    )  # fmt: skip
