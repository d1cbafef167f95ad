"""Drawing the library's figures: in the interface language, larger in projector mode, with a PNG
button, and a step's figures built once for every session of the server (`shared_figure`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from seq2seq.export import file_name
from seq2seq.viz.style import use_template

from .i18n import labels, t
from .models import Settings
from .sidebar import projector

use_template()  # the app's figures: white, light grid


def figure_labels() -> dict[str, str]:
    return labels("viz")


def _enlarge(fig: go.Figure) -> None:
    """Projector mode's larger text and figure, once: a figure drawn again keeps its size."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    if not meta.get("projector"):
        fig.update_layout(
            font_size=18, height=int((fig.layout.height or 400) * 1.3), meta={**meta, "projector": True}
        )
        fig.update_xaxes(tickfont_size=17)
        fig.update_yaxes(tickfont_size=17)


def shared_figure(draw: Callable[..., go.Figure], *args: Any, **kwargs: Any) -> go.Figure:
    """`draw(*args, **kwargs)` (a `seq2seq.viz` builder) in this session's language and size, built once for
    every session of the server: a class that follows a lesson draws the same step's figures, and each
    costs tens of ms. The figure is shared, so nobody may change it (`chart` does not)."""
    name = f"{draw.__module__}.{draw.__qualname__}"
    return _shared_figure(draw, name, str(st.session_state.get("_lang")), projector(), args, kwargs)


@st.cache_resource(max_entries=256, show_spinner=False)
def _shared_figure(
    _draw: Callable[..., go.Figure], name: str, lang: str, big: bool, args: tuple, kwargs: dict
) -> go.Figure:
    fig = _draw(*args, labels=figure_labels(), **kwargs)  # `name` keys the cache; `_draw` is not hashed
    if big:
        _enlarge(fig)
    return fig


def chart(fig: go.Figure, key: str, *, name: str | None = None) -> None:
    """Draw a figure: larger in projector mode, and a camera button that saves a PNG in the browser (no
    network needed), named after the model and sentence."""
    if projector():
        _enlarge(fig)
    config = {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": (name or key).removesuffix(".png"), "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }
    st.plotly_chart(fig, key=key, config=config)


def png_name(settings: Settings, source: str, what: str) -> str:
    return file_name(settings.translator.name, source, what, "png")


def heatmap_range_control(key: str) -> str:
    """Full colour range (0–1) or auto (0–largest α), for weights well below 0.3."""
    return st.segmented_control(
        t("heatmap.range"), ["full", "auto"], format_func=lambda v: t(f"heatmap.range_{v}"), key=key, default="full",
        help=t("heatmap.range_help"), required=True,
    )  # fmt: skip
