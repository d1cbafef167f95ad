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
results, curves = {}, {}
for column, name in zip(st.columns(2, gap="large"), (name_a, name_b)):  # the two translations side by side
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
            results[name] = result
        try:
            buckets = analysis.read_json(folders[name] / BUCKETS_FILE)
        except ValueError as exc:
            ui.show_error(f"Cannot read the scores of {name}", exc)
            buckets = None
        if buckets:
            curves[name] = buckets

if results:  # full width, one under the other: long sentences need the room for their source tokens
    st.header("Where each model looks")
for (name, result), key in zip(results.items(), ("cmp_heatmap_a", "cmp_heatmap_b")):
    if result.attention is not None:
        st.plotly_chart(
            viz.attention_heatmap(
                result.attention, result.src_tokens, result.tgt_tokens, title=f"{name}: attention α_ij"
            ),
            key=key,
        )
    else:
        st.info(
            f"**{analysis.markdown_text(name)}** has no attention: one fixed context vector c, the same at "
            "every step, carries the whole sentence. Nothing to draw, which is the point."
        )

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
ui.show_buckets(curves, key="cmp_table")
st.caption(
    "Source length in words. Both models were scored on the same test split; n is the number of "
    "sentences in each bucket. The gap usually widens with length: that is the bottleneck."
)
if name_a == name_b:
    st.caption("Both selections name the same checkpoint.")
