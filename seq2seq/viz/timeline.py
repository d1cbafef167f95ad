"""The alignment emerging during training: one probe sentence's α at every saved step, animated in the
browser beside dev loss and chrF."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import (
    BAR_COLOUR,
    CELL,
    HIGHLIGHT_COLOUR,
    NO_HOVER_BOX,
    catalogue,
    escape,
    hover_cells,
    label_room,
    message,
    source_axis,
    styled,
    target_axis,
    token_categories,
)


@dataclass
class _Frames:
    """What every frame of one probe's animation draws: its heatmap, the step marker on the curves, the
    row axis and the title, each from one snapshot."""

    probe: int
    src_tokens: list[str]
    columns: list[str]  # one list for every frame's heatmap and the axis
    snapshots: list[dict]
    colorbar_len: float
    text: Mapping[str, str]

    def heat(self, snapshot: dict) -> go.Heatmap:
        out, text = snapshot["outputs"][self.probe], self.text
        weights = np.asarray(
            out["weights"] if out["weights"] is not None else np.zeros((0, len(self.src_tokens))), float
        )
        tgt = [escape(t) for t in out["tgt_tokens"]]
        return go.Heatmap(
            z=weights, x=self.columns, y=list(range(len(tgt))), zmin=0, zmax=1, colorscale="Blues",
            customdata=hover_cells([escape(s) for s in self.src_tokens], tgt),
            hovertemplate=f"{escape(text['source'])}: %{{customdata[0]}}<br>{escape(text['target'])}: %{{customdata[1]}}"
            "<br>α = %{z:.4f}" + NO_HOVER_BOX,
            colorbar={"title": {"text": "α"}, "thickness": 10, "x": 1.01, "xanchor": "left", "y": 1, "yanchor": "top",
                      "len": self.colorbar_len},
        )  # fmt: skip

    def marker(self, step: int) -> go.Scatter:
        chrfs = [s.get("dev_chrf") for s in self.snapshots]
        return go.Scatter(x=[step, step], y=[0, max([c for c in chrfs if c is not None] + [1])], mode="lines",
                          line={"color": HIGHLIGHT_COLOUR, "width": 2}, hoverinfo="skip", showlegend=False)  # fmt: skip

    def y_axis(self, snapshot: dict) -> dict:
        """The output's tokens top to bottom; an explicit range, because an animation does not autorange."""
        tokens = snapshot["outputs"][self.probe]["tgt_tokens"]
        return {**target_axis(tokens), "range": [len(tokens) - 0.5, -0.5]}

    def title(self, snapshot: dict) -> str:
        loss, chrf = snapshot.get("dev_loss"), snapshot.get("dev_chrf")
        return self.text["timeline_title"].format(
            step=snapshot["step"], loss=f"{loss:.3f}" if loss is not None else "–",
            chrf=f"{chrf:.1f}" if chrf is not None else "–",
        )  # fmt: skip

    def frame(self, snapshot: dict) -> go.Frame:
        return go.Frame(
            name=str(snapshot["step"]),
            data=[self.heat(snapshot), self.marker(snapshot["step"])],
            traces=[0, 3],
            layout={"yaxis": self.y_axis(snapshot), "title": {"text": escape(self.title(snapshot))}},
        )


def timeline_figure(timeline: dict, probe: int, *, labels: Mapping[str, str] | None = None) -> go.Figure:
    """How the alignment of probe sentence `probe` emerges: its α heatmap at every saved training step,
    animated (play button and step slider, all in the browser), beside dev loss and chrF with the step marked."""
    text = catalogue(labels)
    snapshots = timeline.get("snapshots") or []
    if not snapshots:
        return message("timeline", text["no_metrics"], text["training_title"])
    src_tokens = timeline["probes"][probe]["src_tokens"]
    steps = [s["step"] for s in snapshots]
    # heatmap above, curves below: each gets the page's whole width, on a tablet too
    rows = len(snapshots[-1]["outputs"][probe]["tgt_tokens"])
    heat_px, gap_px, curve_px = max(160, CELL * min(rows, 40) + 20), label_room(src_tokens) + 75, 220
    total_px = heat_px + gap_px + curve_px
    frames = _Frames(probe, src_tokens, token_categories(src_tokens), snapshots, heat_px / total_px, text)
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[heat_px, curve_px],
        vertical_spacing=gap_px / total_px,
        specs=[[{}], [{"secondary_y": True}]],
    )
    last = snapshots[-1]
    fig.add_trace(frames.heat(last), row=1, col=1)
    fig.add_trace(go.Scatter(x=steps, y=[s.get("dev_chrf") for s in snapshots], name=text["dev_chrf"], mode="lines+markers",
                             line_color="#2ca02c", marker_size=4, connectgaps=True), row=2, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=steps, y=[s.get("dev_loss") for s in snapshots], name=text["dev_loss"], mode="lines+markers",
                             line_color=BAR_COLOUR, marker_size=4, connectgaps=True), row=2, col=1, secondary_y=True)  # fmt: skip
    fig.add_trace(frames.marker(last["step"]), row=2, col=1)
    # Fixed label room: an animation does not re-measure its margins, so frames with longer outputs (or
    # a crowded source axis) would lose their row labels while it plays.
    x_axis = {**source_axis(src_tokens, frames.columns), "automargin": False}
    x_axis.setdefault("tickangle", -45)
    fig.update_xaxes(**x_axis, title_text=text["source_axis"], title_standoff=4, showgrid=False, row=1, col=1)
    fig.update_yaxes(**frames.y_axis(last), showgrid=False, automargin=False, row=1, col=1)
    fig.update_xaxes(title_text=text["step"], row=2, col=1)
    fig.update_yaxes(title_text="chrF", row=2, col=1)
    fig.update_yaxes(title_text=text["loss"], secondary_y=True, row=2, col=1)
    fig.frames = [frames.frame(s) for s in snapshots]
    fig.update_layout(**_controls(steps, 70 / total_px, text))
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "y": curve_px / total_px + 0.01, "yanchor": "bottom"}
    )
    # the height of the final output: an untrained model's early outputs run to the length limit, and
    # their many rows simply get thinner as the animation plays
    fig = styled(
        fig, "timeline", frames.title(last), total_px + 50 + 130, steps=steps, probe=probe
    )  # + title, controls
    every_output = [t for s in snapshots for t in s["outputs"][probe]["tgt_tokens"]]
    fig.update_layout(margin={"l": label_room(every_output) + 30, "r": 60, "b": 130})
    return fig


def _controls(steps: list[int], below: float, text: Mapping[str, str]) -> dict:
    """Play/pause buttons and a step slider, `below` paper units under the curves' step axis."""
    play = {"frame": {"duration": 600, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    return dict(
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0.0, "y": -below, "xanchor": "left", "yanchor": "top",
            "showactive": False,
            "buttons": [
                {"label": escape(text["play"]), "method": "animate", "args": [None, play]},
                {"label": escape(text["pause"]), "method": "animate", "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}]},
            ],
        }],
        sliders=[{
            "active": len(steps) - 1, "x": 0.24, "y": -below + 0.01, "len": 0.76, "yanchor": "top",
            "currentvalue": {"prefix": f"{escape(text['step'])}: ", "xanchor": "right"},
            "steps": [
                {"label": str(step), "method": "animate",
                 "args": [[str(step)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}]}
                for step in steps
            ],
        }],
    )  # fmt: skip
