"""Translate: the translation, its attention heatmap (subword or word level) beside gradient attribution,
the n-best list, downloads, and the training pairs nearest to the sentence."""

import pandas as pd
import streamlit as st

from seq2seq import attribution, export
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.words import word_level
from ui import figures, links, models, neighbours_panel, notices, reverse, sidebar, widgets
from ui.i18n import t
from ui.text import markdown_text

settings = sidebar.settings()
st.title("🔤 " + t("translate.title"))
st.caption(t("translate.caption"))
widgets.direction_note("translate")

text = widgets.sentence_input()
result = notices.translate(settings, text)
if result is None:
    st.stop()
notices.show_warnings(result.warnings)
notices.family_hint(settings, result)

candidates = result.nbest
pick = 0
if len(candidates) > 1:
    st.subheader(t("translate.nbest", n=len(candidates), beam=settings.beam_size))
    st.dataframe(
        pd.DataFrame({
            t("translate.col.rank"): range(1, len(candidates) + 1),
            t("translate.col.translation"): [c.text for c in candidates],
            t("translate.col.score"): [round(c.score, 4) for c in candidates],
            "log p": [round(c.logprob, 3) for c in candidates],
            t("translate.col.finished"): [c.finished for c in candidates],
        }),
        hide_index=True, key="tr_nbest",
    )  # fmt: skip
    pick = st.radio(  # a new sentence, model or beam starts again on the best hypothesis
        t("translate.show_attention_of"),
        range(len(candidates)),
        horizontal=True,
        key=widgets.pick_key("tr_pick", settings.translator.name, result.source, settings.search),
        format_func=lambda k: f"{k + 1}. {markdown_text(candidates[k].text)}",
    )
candidate = candidates[pick]

st.subheader(t("translate.translation") if pick == 0 else t("translate.hypothesis", n=pick + 1))
widgets.big_text(candidate.text, "1.8rem")
reverse.back_translation(settings, candidate.text)
if pick == 0:
    reverse.channel_hint(settings, result)
with widgets.row():  # metrics at their own width, wrapping on a narrow screen instead of cutting labels
    widgets.metric(
        t("translate.metric.time"), f"{result.elapsed_ms:.0f} ms", help=t("translate.metric.time_help")
    )
    widgets.metric(
        t("translate.metric.search"),
        t("translate.greedy") if settings.beam_size == 1 else f"beam {settings.beam_size}",
    )
    widgets.metric(
        t("translate.metric.score"), f"{candidate.score:.3f}", help=t("translate.metric.score_help")
    )
    widgets.metric(t("translate.metric.tokens"), f"{len(result.src_tokens)} → {len(candidate.tgt_tokens)}")
if not candidate.finished:
    st.warning(t("common.length_limit"))

if candidate.attention is None:
    notices.no_attention()
    st.stop()


@st.fragment
def where_it_looked() -> None:
    """The heatmap and its switches: a toggle reruns this part only, not the translation."""
    st.subheader(t("translate.where"))
    with widgets.row():
        word = st.toggle(t("translate.word_level"), key="tr_words", help=t("translate.word_level_help"))
        compare = st.toggle(t("translate.saliency"), key="tr_saliency", help=t("translate.saliency_help"))
        colour_range = figures.heatmap_range_control("tr_range")
    level = "word" if word else "subword"
    links.write(level=level)
    shown = word_level(candidate.attention, result.src_tokens, candidate.tgt_tokens) if word else None
    matrix, src, tgt = (
        (shown.matrix, shown.src_words, shown.tgt_words)
        if word
        else (candidate.attention, result.src_tokens, candidate.tgt_tokens)
    )
    labels = figures.figure_labels()
    figures.chart(attention_heatmap(matrix, src, tgt, title=t("translate.heatmap_title", level=t("translate.level." + level)),
                                    colour_range=colour_range, labels=labels),
                  "tr_heatmap", name=export.file_name(settings.translator.name, result.source, f"attention-{level}", "png"))  # fmt: skip
    st.caption(t("translate.heatmap_caption"))
    if compare:
        method = st.radio(t("translate.method"), attribution.METHODS, horizontal=True, key="tr_method",
                          format_func=lambda m: t("translate.method." + m))  # fmt: skip
        try:
            raw = models.saliency(settings, result, pick, method)
        except ValueError as exc:
            notices.show_error(t("translate.saliency_failed"), exc)
            return
        scores = word_level(raw, result.src_tokens, candidate.tgt_tokens).matrix if word else raw
        agree = attribution.agreement(matrix, scores)
        with widgets.row():
            widgets.metric(
                t("translate.agree_top"), f"{agree.top_match:.0%}", help=t("translate.agree_top_help")
            )
            widgets.metric(
                t("translate.agree_rank"),
                f"{agree.rank_correlation:.2f}",
                help=t("translate.agree_rank_help"),
            )
        figures.chart(attention_heatmap(scores, src, tgt, title=t("translate.saliency_title", method=t("translate.method." + method)),
                                        colour_range=colour_range, colorscale="Oranges", value_name=t("translate.attribution"), labels=labels),
                      "tr_saliency_map", name=export.file_name(settings.translator.name, result.source, f"{method}-{level}", "png"))  # fmt: skip
        st.caption(t("translate.saliency_caption"))
    meta = {"model": settings.translator.name, "source": result.source, "translation": candidate.text, "level": level,
            "beam_size": settings.beam_size, "rank": pick + 1}  # fmt: skip
    csv_col, json_col = st.columns(2)
    csv_col.download_button(
        t("translate.download_csv"), export.csv_bytes(export.attention_csv(src, tgt, matrix)),
        file_name=export.file_name(settings.translator.name, result.source, f"attention-{level}", "csv"),
        mime="text/csv", key="tr_csv", width="stretch",
    )  # fmt: skip
    json_col.download_button(
        t("translate.download_json"), export.attention_json(src, tgt, matrix, **meta),
        file_name=export.file_name(settings.translator.name, result.source, f"attention-{level}", "json"),
        mime="application/json", key="tr_json", width="stretch",
    )  # fmt: skip


where_it_looked()
neighbours_panel.show(settings, result)
with st.expander(t("translate.tokens")):
    st.text(t("translate.source_pieces") + " " + " ".join(result.src_tokens))
    st.text(t("translate.target_pieces") + " " + " ".join(candidate.tgt_tokens))
    st.text(t("translate.normalised") + " " + result.source)
