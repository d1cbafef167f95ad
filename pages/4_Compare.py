"""Compare: attention vs one fixed context vector, on your sentence and on the test split by source length."""

import streamlit as st

import app_ui as ui
from seq2seq import analysis, viz
from seq2seq.evaluate import BUCKETS_FILE

settings = ui.page("Compare", "⚖️")
st.title("⚖️ Attention vs fixed context")
st.caption(
    "The lecture's point 4, made visible: without attention the encoder must squeeze the whole sentence "
    "into one fixed-size vector, and quality drops as sentences get longer. Any two checkpoints can be "
    "compared; by default the attention model and the fixed-context model."
)

names = [p.name for p in settings.checkpoints]
attn_model, fixed_model = ui.models_by_attention(settings.checkpoints)
default_a = attn_model.name if attn_model else names[0]
default_b = fixed_model.name if fixed_model else names[min(1, len(names) - 1)]
pick_a, pick_b = st.columns(2)
name_a = pick_a.selectbox("Model A", names, index=names.index(default_a), key="cmp_a")
name_b = pick_b.selectbox("Model B", names, index=names.index(default_b), key="cmp_b")

text = ui.sentence_input()
folders = settings.by_name()
columns = st.columns(2, gap="large")
curves = {}
for column, name, key in ((columns[0], name_a, "cmp_heatmap_a"), (columns[1], name_b, "cmp_heatmap_b")):
    with column:
        st.subheader(name)
        try:
            translator = ui.load(folders[name])
        except ui.ERRORS as exc:
            ui.show_error(f"Cannot load {name}", exc)
            continue
        st.caption(ui.ATTENTION_NAMES.get(translator.model.cfg.attention, translator.model.cfg.attention))
        result = ui.translate(settings, text, translator=translator)
        if result is not None:
            ui.show_warnings(result.warnings)
            ui.big_text(result.text, "1.4rem")
            st.caption(
                f"model time {result.elapsed_ms:.0f} ms · score {result.score:.3f} · "
                f"{len(result.tgt_tokens)} target tokens"
            )
            if result.attention is not None:
                st.plotly_chart(
                    viz.attention_heatmap(
                        result.attention,
                        result.src_tokens,
                        result.tgt_tokens,
                        title=f"{name}: attention α_ij",
                    ),
                    key=key,
                )
            else:
                st.info(
                    "No attention: one fixed context vector c, the same at every step, carries the whole "
                    "sentence. Nothing to draw, which is the point."
                )
        try:
            buckets = analysis.read_json(folders[name] / BUCKETS_FILE)
        except ValueError as exc:
            ui.show_error(f"Cannot read the scores of {name}", exc)
            buckets = None
        if buckets:
            curves[name] = buckets

st.header("Quality by source length (test split)")
if not curves:
    st.info(
        "Neither model has been evaluated yet (eval_buckets.json is missing). Run "
        "`python -m seq2seq evaluate <checkpoint> --test <test.tsv>`."
    )
    st.stop()
metric = st.radio(
    "Metric",
    ["chrf", "bleu"],
    key="cmp_metric",
    horizontal=True,
    format_func=lambda m: {"chrf": "chrF", "bleu": "BLEU"}[m],
)
st.plotly_chart(viz.length_curve(curves, metric=metric), key="cmp_length_curve")
st.dataframe(analysis.buckets_table(curves), hide_index=True, key="cmp_table")
st.caption(
    "Source length in words. Both models were scored on the same test split; n is the number of "
    "sentences in each bucket. The gap usually widens with length: that is the bottleneck."
)
if name_a == name_b:
    st.caption("Both selections name the same checkpoint.")
