"""Compare: attention against one fixed context vector, on your sentence (with the reference when it is a
test sentence) and on the test split by source length and domain."""

import streamlit as st

from seq2seq import families
from seq2seq.evaluate import (
    BUCKETS_FILE,
    domains_table,
    long_examples,
    read_eval,
    sentence_chrf,
    test_references,
)
from seq2seq.jsonfiles import read_json
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.viz.curves import length_curve
from ui import figures, lengths, models, notices, sidebar, widgets
from ui.i18n import t
from ui.text import markdown_text

settings = sidebar.settings()
st.title("⚖️ " + t("compare.title"))
st.caption(t("compare.caption"))
widgets.direction_note("compare")

names = [p.name for p in settings.checkpoints]
attn_model, fixed_model = models.models_by_attention(settings)
family = families.family_of(settings.folder.name)
if st.session_state.get("_cmp_family", family) != family:  # another family in the sidebar: its own twins
    for key in ("cmp_a", "cmp_b"):
        st.session_state.pop(key, None)
st.session_state["_cmp_family"] = family
default_a = attn_model.name if attn_model else names[0]
default_b = fixed_model.name if fixed_model else names[min(1, len(names) - 1)]
name_a, name_b = (
    column.selectbox(
        t(label), names, index=names.index(default), key=key, format_func=sidebar.checkpoint_label
    )
    for column, label, default, key in zip(
        st.columns(2), ("compare.model_a", "compare.model_b"), (default_a, default_b), ("cmp_a", "cmp_b")
    )
)
folders = settings.by_name()


def use_long(source: str) -> None:
    st.session_state["_sentence"] = source


try:
    (_, _, rows_a), (_, _, rows_b) = read_eval(folders[name_a]), read_eval(folders[name_b])
except ValueError as exc:
    notices.show_error(t("common.cannot_read_scores", name=f"{name_a}, {name_b}"), exc)
    rows_a = rows_b = None
examples = long_examples(rows_a or [], rows_b or [], min_words=30, n=5)
if examples:
    with st.expander(t("compare.long_examples")):
        st.caption(t("compare.long_caption", a=name_a, b=name_b))
        for k, example in enumerate(examples):
            st.button(f"{example['chrf_a']:.0f} : {example['chrf_b']:.0f} · {example['src'][:110]}…", key=f"cmp_long_{k}",
                      on_click=use_long, args=(example["src"],))  # fmt: skip

text = widgets.sentence_input()
references = test_references(folders[name_a], " ".join(text.split()))
if references is not None:
    refs, domains = references
    st.markdown(t("compare.reference" if len(refs) == 1 else "compare.references", domain=", ".join(domains) or "test", n=len(refs)) + " "
                + " · ".join(markdown_text(r) for r in refs))  # fmt: skip
results, curves, summaries = {}, {}, {}
for column, name in zip(st.columns(2, gap="large"), (name_a, name_b)):  # the two translations side by side
    with column:
        st.subheader(name)
        try:
            translator = models.load(folders[name])
        except models.ERRORS as exc:
            notices.show_error(t("sidebar.cannot_load_short", name=name), exc)
            continue
        st.caption(models.attention_label(translator))
        result = notices.translate(settings, text, translator=translator)
        if result is not None:
            notices.show_warnings(result.warnings)
            widgets.big_text(result.text, "1.4rem")
            if references is not None:
                st.metric(t("compare.sentence_chrf"), f"{sentence_chrf(result.text, references[0]):.1f}")
                if len(references[0]) > 1:
                    st.caption(t("compare.sentence_chrf_many", n=len(references[0])))
            st.caption(
                t(
                    "compare.meta",
                    ms=f"{result.elapsed_ms:.0f}",
                    score=f"{result.score:.3f}",
                    n=len(result.tgt_tokens),
                )
            )
            results[name] = result
        try:
            buckets, summaries[name] = (
                read_json(folders[name] / BUCKETS_FILE),
                read_json(folders[name] / "eval_summary.json"),
            )
        except ValueError as exc:
            notices.show_error(t("common.cannot_read_scores", name=name), exc)
            buckets = None
        if buckets:
            curves[name] = buckets

if results:  # full width, one under the other: long sentences need the room for their source tokens
    st.header(t("compare.where"))
for (name, result), key in zip(results.items(), ("cmp_heatmap_a", "cmp_heatmap_b")):
    if result.attention is not None:
        figures.chart(
            attention_heatmap(
                result.attention,
                result.src_tokens,
                result.tgt_tokens,
                title=t("compare.heatmap_title", name=name),
                labels=figures.figure_labels(),
            ),
            key,
            name=figures.png_name(settings, result.source, f"{name}-attention"),
        )
    else:
        notices.no_attention(name)

st.header(t("compare.by_length"))
if not curves:
    st.info(t("compare.not_evaluated"))
    st.stop()
metric = st.radio(
    t("compare.metric"),
    ["chrf", "bleu"],
    key="cmp_metric",
    horizontal=True,
    format_func={"chrf": "chrF", "bleu": "BLEU"}.get,
)
figures.chart(length_curve(curves, metric=metric, labels=figures.figure_labels()), "cmp_length_curve")
widgets.show_buckets(curves, key="cmp_table")
st.caption(t("compare.by_length_caption"))
if attn_model is not None and {name_a, name_b} == {attn_model.name, getattr(fixed_model, "name", None)}:
    lengths.gap_sentences(settings, attn_model, fixed_model, "cmp_gap_switch")
domains = domains_table(summaries)
if not domains.empty:
    st.subheader(t("compare.by_domain"))
    st.dataframe(domains, hide_index=True, key="cmp_domains")
if name_a == name_b:
    st.caption(t("compare.same"))
