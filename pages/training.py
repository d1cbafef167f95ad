"""Training: watch the alignment emerge. A slider (or ▶) over the saved training steps shows a probe
sentence's attention and greedy output at that step, beside dev loss and chrF."""

import pandas as pd
import streamlit as st

from seq2seq.jsonfiles import read_jsonl
from seq2seq.snapshots import METRICS_FILE
from seq2seq.timeline import peak_weights, read_timeline, sharpening
from seq2seq.viz.curves import training_curves
from seq2seq.viz.timeline import timeline_figure
from ui import figures, notices, sidebar, widgets
from ui.i18n import t

settings = sidebar.settings()
translator = settings.translator
st.title("🎞️ " + t("training.title"))
st.caption(t("training.caption"))
widgets.direction_note("training")

try:
    timeline = read_timeline(settings.folder)
except ValueError as exc:
    notices.show_error(t("training.unreadable", name=translator.name), exc)
    timeline = None
if timeline is None or not timeline.get("snapshots"):
    st.info(t("training.no_timeline", name=translator.name))
    figures.chart(
        training_curves(read_jsonl(settings.folder / METRICS_FILE), labels=figures.figure_labels()),
        "tl_curves",
    )
    st.stop()

probes = timeline["probes"]
probe = st.selectbox(
    t("training.probe"), range(len(probes)), key="tl_probe", format_func=lambda k: probes[k]["source"]
)
if timeline.get("attention"):
    figures.chart(
        timeline_figure(timeline, probe, labels=figures.figure_labels()),
        "tl_figure",
        name=figures.png_name(settings, probes[probe]["source"], "timeline"),
    )
    st.caption(t("training.figure_caption"))
    said = sharpening(timeline)
    if said is not None:
        points = {k: v for k, v in said.items() if isinstance(v, tuple)}  # (step, mean largest α)
        numbers = {f"{k}_step": v[0] for k, v in points.items()} | {
            k: f"{v[1]:.2f}" for k, v in points.items()
        }
        st.markdown(t("training.sharpening", **numbers) + " " + t(f"training.{said['verdict']}", **numbers))
else:
    st.info(t("training.fixed", name=translator.name))
st.subheader(t("training.outputs"))
peaks = dict(peak_weights(timeline, probe))
st.dataframe(
    pd.DataFrame(
        {
            t("training.col.step"): [s["step"] for s in timeline["snapshots"]],
            t("training.col.output"): [
                "".join(s["outputs"][probe]["tgt_tokens"]).replace("▁", " ").replace("</s>", "").strip()
                for s in timeline["snapshots"]
            ],
            "dev chrF": pd.to_numeric(
                [s.get("dev_chrf") for s in timeline["snapshots"]]
            ),  # none between evaluations
            "dev loss": pd.to_numeric([s.get("dev_loss") for s in timeline["snapshots"]]),
            t("training.col.peak"): pd.to_numeric(
                [peaks.get(s["step"]) for s in timeline["snapshots"]]
            ).round(2),
        }
    ),
    hide_index=True,
    key="tl_outputs",
    placeholder=widgets.MISSING,
)
