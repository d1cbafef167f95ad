"""Alignment figures: α_ij over the whole translation (lecture point 6) and Σ_i α_ij per source token."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .style import (
    BAR_COLOUR,
    CELL,
    FLAG_COLOUR,
    HIGHLIGHT_COLOUR,
    NO_HOVER_BOX,
    catalogue,
    check_length,
    escape,
    hover_cells,
    label_room,
    source_axis,
    styled,
    target_axis,
    token_categories,
)


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
    return CELL * len(tgt_tokens) + label_room(src_tokens) + 110


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
    text = catalogue(labels)
    attention = np.asarray(attention, dtype=float)  # (Ty, Tx)
    if attention.shape != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(
            f"attention has shape {attention.shape}, expected ({len(tgt_tokens)}, {len(src_tokens)})"
            " = (target tokens, source tokens)"
        )
    flagged = sorted({j for j in flagged_src or [] if 0 <= j < len(src_tokens)})
    src, tgt = [escape(t) for t in src_tokens], [escape(t) for t in tgt_tokens]
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
            customdata=hover_cells(src, tgt),  # (Ty, Tx, 2)
            hovertemplate=f"{escape(text['source'])}: %{{customdata[0]}}<br>{escape(text['target'])}: "
            f"%{{customdata[1]}}<br>{escape(name)} = %{{z:.4f}}" + NO_HOVER_BOX,
            colorscale=colorscale,
            zmin=0.0,
            zmax=zmax,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": escape(scale), "side": "right"}, "thickness": 12},
        )
    )
    fig.update_xaxes(
        **source_axis(src_tokens, columns), title_text=text["source_axis"], showgrid=False, side="bottom"
    )
    fig.update_yaxes(
        **target_axis(tgt_tokens),
        title_text=text["target_axis"],
        autorange="reversed",
        showgrid=False,
    )
    _overlays(fig, columns, len(tgt_tokens), flagged, highlight_row, marks or {}, text)
    return styled(
        fig,
        "attention_heatmap",
        title or text["heatmap_title"],
        height or max(200, heatmap_height(src_tokens, tgt_tokens)),
        flagged_src=flagged,
        highlight_row=highlight_row,
        colour_range=colour_range,
    )


def _overlays(
    fig: go.Figure,
    columns: list[str],
    rows: int,
    flagged: list[int],
    highlight_row: int | None,
    marks: Mapping[int, int],
    text: Mapping[str, str],
) -> None:
    """What a heatmap marks on top of α: flagged source columns (dashed red), the current row, and a
    student's guesses (one × per guessed cell)."""
    cols = len(columns)
    for j in flagged:  # a dashed red frame around each column the diagnostics flag
        _frame(fig, (j - 0.5, j + 0.5), (-0.5, rows - 0.5), FLAG_COLOUR, "flagged", dash="dash")
    if highlight_row is not None and 0 <= highlight_row < rows:
        _frame(
            fig, (-0.5, cols - 0.5), (highlight_row - 0.5, highlight_row + 0.5), HIGHLIGHT_COLOUR, "highlight"
        )
    cells = sorted((i, j) for i, j in marks.items() if 0 <= i < rows and 0 <= j < cols)
    if cells:
        fig.add_scatter(
            x=[columns[j] for _, j in cells], y=[i for i, _ in cells], mode="markers", name=escape(text["guess_mark"]),
            marker={"symbol": "x-thin", "size": 14, "line": {"width": 3, "color": FLAG_COLOUR}},
            hovertemplate=escape(text["guess_mark"]) + NO_HOVER_BOX, showlegend=True,
        )  # fmt: skip
        fig.update_layout(
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"}
        )


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
    text = catalogue(labels)
    check_length("coverage", coverage, src_tokens)
    coverage = [float(c) for c in coverage]
    status = [text["dropped_q"] if c < low else text["repeated_q"] if c > high else "" for c in coverage]
    flagged = [j for j, s in enumerate(status) if s]
    columns = token_categories(src_tokens, flagged)
    fig = go.Figure(
        go.Bar(
            x=columns,
            y=coverage,
            marker_color=[FLAG_COLOUR if s else BAR_COLOUR for s in status],
            customdata=[[escape(t), escape(s)] for t, s in zip(src_tokens, status)],
            hovertemplate=f"{escape(text['source'])}: %{{customdata[0]}}<br>Σ_i α_ij = %{{y:.2f}}<br>%{{customdata[1]}}"
            + NO_HOVER_BOX,
        )
    )
    for value, label in (
        (low, text["dropped"].format(value=f"{low:g}")),
        (high, text["repeated"].format(value=f"{high:g}")),
    ):
        fig.add_hline(y=value, line={"color": FLAG_COLOUR, "width": 1, "dash": "dash"})
        fig.add_annotation(  # in the right margin, level with its line: never over a bar
            text=escape(label), x=1, xref="paper", xanchor="left", xshift=4, y=value, yref="y",
            showarrow=False, font={"size": 11, "color": FLAG_COLOUR},
        )  # fmt: skip
    fig.update_xaxes(**source_axis(src_tokens, columns), title_text=text["source_axis"])
    fig.update_yaxes(title_text="Σ_i α_ij", rangemode="tozero")
    fig = styled(
        fig,
        "coverage_bars",
        text["coverage_title"],
        300 + label_room(src_tokens),
        flagged_src=flagged,
        low=low,
        high=high,
    )
    fig.update_layout(margin_r=110)  # room for the threshold labels
    return fig
