"""Model card: training curves, the card, the config and the test scores of the selected checkpoint."""

import streamlit as st

import app_ui as ui
from seq2seq import analysis, viz
from seq2seq.checkpoint import CONFIG_FILE
from seq2seq.evaluate import BUCKETS_FILE, SUMMARY_FILE
from seq2seq.train import METRICS_FILE, read_metrics

settings = ui.page("Model card", "📇")
folder, translator = settings.folder, settings.translator
st.title(f"📇 Model card: {translator.name}")
st.caption(ui.ATTENTION_NAMES.get(translator.model.cfg.attention, translator.model.cfg.attention))

try:
    summary = analysis.read_json(folder / SUMMARY_FILE)
    buckets = analysis.read_json(folder / BUCKETS_FILE)
    config = analysis.read_json(folder / CONFIG_FILE)
except ValueError as exc:
    ui.show_error(f"Cannot read the files of {translator.name}", exc)
    st.stop()

st.header("Test scores")
if isinstance(summary, dict):
    cols = st.columns(4)
    cols[0].metric("chrF", summary.get("chrf", "–"))
    cols[1].metric(f"BLEU ({summary.get('bleu_tokenize', '?')})", summary.get("bleu", "–"))
    cols[2].metric("Test sentences", summary.get("sentences", "–"))
    cols[3].metric(
        "Sentences / s", summary.get("sentences_per_s", "–"), help=f"on {summary.get('device', '?')}"
    )
    st.caption(f"Beam {summary.get('beam_size', '?')}.")
else:
    st.info("Not evaluated yet: eval_summary.json is missing.")
if buckets:
    st.plotly_chart(viz.length_curve({translator.name: buckets}), key="mc_length_curve")
    ui.show_buckets({translator.name: buckets}, key="mc_buckets")

st.header("Training")
st.plotly_chart(viz.training_curves(read_metrics(folder / METRICS_FILE)), key="mc_curves")

st.header("Card")
if translator.card.strip():
    st.markdown(translator.card)  # our own file, written with the checkpoint
else:
    st.info("This checkpoint has no card.md.")

st.header("Configuration")
summary_row = translator.summary()
st.caption(
    f"{summary_row['parameters']:,} parameters · vocabulary {summary_row['vocab']} · "
    f"device {summary_row['device']}"
)
with st.expander("config.json", expanded=False):
    st.json(config or {}, expanded=2)
