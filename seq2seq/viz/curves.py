"""Curves over a dimension other than the sentence: score by source length (lecture point 4) and the
training run's loss and dev chrF by step."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import BAR_COLOUR, HIGHLIGHT_COLOUR, NO_HOVER_BOX, catalogue, escape, message, styled

METRIC_LABELS = {"chrf": "chrF", "bleu": "BLEU"}


def length_curve(
    buckets_by_model: dict[str, list[dict]], *, metric: str = "chrf", labels: Mapping[str, str] | None = None
) -> go.Figure:
    """Lecture point 4 in data: score per source-length bucket, one bar group per model."""
    text = catalogue(labels)
    label = METRIC_LABELS.get(metric, metric)
    title = text["by_length"].format(metric=label)
    if not buckets_by_model:
        return message("length_curve", text["no_eval"], title)
    order: list[str] = []
    fig = go.Figure()
    for model, buckets in buckets_by_model.items():
        order += [b["bucket"] for b in buckets if b["bucket"] not in order]
        shown = [b for b in buckets if b.get(metric) is not None]
        fig.add_bar(
            x=[b["bucket"] for b in shown],
            y=[b[metric] for b in shown],
            name=escape(model),
            customdata=[b.get("n", 0) for b in shown],
            hovertemplate=f"{escape(model)}<br>%{{x}} {escape(text['words'])}<br>{label} = %{{y:.1f}}<br>n = %{{customdata}}"
            + NO_HOVER_BOX,
        )
    fig.update_xaxes(
        type="category", categoryorder="array", categoryarray=order, title_text=text["length_axis"]
    )
    fig.update_yaxes(title_text=label, rangemode="tozero")
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    return styled(fig, "length_curve", title, 380, metric=metric)


def training_curves(rows: list[dict], *, labels: Mapping[str, str] | None = None) -> go.Figure:
    """metrics.jsonl drawn: train and dev loss above, dev chrF below, both against the optimiser step."""
    text = catalogue(labels)
    title = text["training_title"]
    rows = sorted((r for r in rows if r.get("step") is not None), key=lambda r: r["step"])
    if not rows:
        return message("training_curves", text["no_metrics"], title)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
        subplot_titles=(escape(text["loss_title"]), escape(text["chrf_title"])),
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
            hovertemplate=f"{escape(name)}<br>{escape(text['step'])} %{{x}}<br>%{{y:.3f}}<br>lr %{{customdata[0]:.2g}}"
            "<br>%{customdata[1]:.0f} s" + NO_HOVER_BOX,
        )
    fig.update_xaxes(title_text=text["step"], row=2, col=1)
    fig.update_yaxes(title_text=text["loss"], row=1, col=1)
    fig.update_yaxes(title_text="chrF", row=2, col=1)
    # right of the plots, top-aligned: clear of the title and the subplot titles above
    fig.update_layout(legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"})
    return styled(fig, "training_curves", title, 480)
