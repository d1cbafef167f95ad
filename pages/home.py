"""Home: the lecture's six steps, each shown on the sentence above, claiming only what holds for this output."""

import streamlit as st

from seq2seq import lecture, word_attention
from seq2seq.evaluate import BUCKETS_FILE
from seq2seq.jsonfiles import read_json
from seq2seq.model import DECODER_FORMULAS
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.viz.curves import length_curve
from ui import figures, lengths, models, notices, reverse, sidebar, widgets
from ui.i18n import t
from ui.text import markdown_text

settings = sidebar.settings()
translator = settings.translator
st.title("🧭 " + t("home.title"))
st.markdown(t("home.intro"))
widgets.direction_note("home")
general = [d for d in translator.train_domains if d != "libreoffice"]
if general and "libreoffice" in translator.train_domains:
    st.markdown(t("home.domain_mixed", model=translator.name, domains=", ".join(general)))
elif general:
    st.markdown(t("home.domain_general", model=translator.name, domains=", ".join(general)))
else:
    st.markdown(t("home.domain_libreoffice", model=translator.name))

left, right = st.columns([3, 2], gap="large")
with right:
    st.subheader(t("home.equations"))
    st.caption(t("home.eq_at_step"))
    st.latex(translator.attention_kind.formula)
    if translator.has_attention:
        st.caption(t("home.eq_energy"))
        st.latex(r"\alpha_{ij} = \frac{\exp(e_{ij})}{\sum_k \exp(e_{ik})}")
        st.caption(t("home.eq_weight"))
        st.latex(r"c_i = \sum_j \alpha_{ij} h_j")
        st.caption(t("home.eq_context"))
    else:
        st.caption(t("home.eq_fixed"))
with left:
    text = widgets.sentence_input()
    result = notices.translate(settings, text)
    if result is not None:
        notices.show_warnings(result.warnings)
        notices.family_hint(settings, result)
        st.caption(t("home.translation"))
        widgets.big_text(result.text)
        reverse.back_translation(settings, result.text)
        st.caption(t("home.meta", model=translator.name, ms=f"{result.elapsed_ms:.0f}", beam=settings.beam_size,
                     src=len(result.src_tokens), tgt=len(result.tgt_tokens)))  # fmt: skip

labels = figures.figure_labels()
if result is not None:
    if result.attention is not None:
        figures.chart(
            attention_heatmap(result.attention, result.src_tokens, result.tgt_tokens, labels=labels),
            "home_heatmap",
            name=figures.png_name(settings, result.source, "attention"),
        )
        st.caption(t("home.hover"))
    else:
        notices.no_attention()

st.subheader(t("home.explore"))
LINKS = [("pages/translate.py", "nav.translate", "🔤"), ("pages/step_through.py", "nav.step", "👣"),
         ("pages/beam_search.py", "nav.beam", "🌳"), ("pages/compare.py", "nav.compare", "⚖️"),
         ("pages/error_analysis.py", "nav.errors", "🔍"), ("pages/training.py", "nav.training", "🎞️"),
         ("pages/model_card.py", "nav.card", "📇")]  # fmt: skip
with st.container(
    horizontal=True, wrap=True, gap="medium"
):  # each link at its own width, wrapping on a tablet
    for path, key, icon in LINKS:
        st.page_link(path, label=t(key), icon=icon)

st.header(t("home.six_steps"))
st.caption(t("home.six_steps_caption"))
words = word_attention(result) if result is not None and result.attention is not None else None

with st.expander(t("home.s1_title"), expanded=True):
    st.markdown(t("home.s1_text"))
    if words is None:
        st.info(t("home.s1_no_attention"))
    else:
        table = lecture.alignment(words)
        st.dataframe(
            table.rename(columns=lambda c: t("home.col." + c)), hide_index=True, key="home_alignment"
        )
        claim = lecture.order_claim(table, len(words.src_words) - 1)
        if claim is not None and claim.reordered:
            st.markdown(t("home.s1_crossed", crossings=claim.crossings, pairs=claim.pairs,
                          last=markdown_text(claim.last_word), source=markdown_text(claim.last_source),
                          position=claim.last_source_position, n=claim.source_words))  # fmt: skip
        elif claim is not None:
            st.markdown(t("home.s1_straight"))
        st.caption(t("home.s1_question"))

with st.expander(t("home.s2_title")):
    st.markdown(t("home.s2_text"))
    if result is not None:
        counts = lecture.length_counts(result)
        counts["side"] = [t("home.side_source"), t("home.side_target")]
        st.dataframe(counts.rename(columns=lambda c: t("home.col." + c)), hide_index=True, key="home_lengths")
        st.text(t("home.words_source") + " " + " / ".join(result.source.split()))
        st.text(t("home.words_target") + " " + " / ".join(result.text.split()))

with st.expander(t("home.s3_title")):
    cfg = translator.model.cfg
    st.markdown(t("home.s3_text", rnn=cfg.encoder_rnn.upper(), size=2 * cfg.hidden_size))
    for formula in DECODER_FORMULAS:
        st.latex(formula)
    st.caption(t("home.s3_feeding"))

with st.expander(t("home.s4_title")):
    st.markdown(t("home.s4_text"))
    curves = {}
    for folder in models.models_by_attention(settings):
        try:
            buckets = read_json(folder / BUCKETS_FILE) if folder is not None else None
        except ValueError as exc:
            notices.show_error(t("common.cannot_read_scores", name=folder.name), exc)
            buckets = None
        if buckets:
            curves[folder.name] = buckets
    if len(curves) == 2:
        figures.chart(length_curve(curves, labels=labels), "home_length_curve")
        lengths.gap_sentences(settings, *models.models_by_attention(settings), "home_gap_switch")
        st.page_link("pages/compare.py", label=t("home.s4_link"), icon="⚖️")
    else:
        st.info(t("home.s4_missing"))

with st.expander(t("home.s5_title")):
    st.markdown(t("home.s5_text"))
    if result is not None and result.attention is not None:
        session = translator.replay(result)  # the steps of this very output, no second search
        step = lecture.content_step(session.steps, session.tgt_tokens)
        if step is not None:
            st.markdown(
                t("home.s5_step", i=step.index + 1, token=markdown_text(session.tgt_tokens[step.index]))
            )
            for line in lecture.step_equations(step, session.src_tokens, translator.attention_kind.formula):
                st.latex(line)
    st.page_link("pages/step_through.py", label=t("home.s5_link"), icon="👣")

with st.expander(t("home.s6_title")):
    st.markdown(t("home.s6_text"))
    if words is not None:
        figures.chart(
            attention_heatmap(
                words.matrix, words.src_words, words.tgt_words, title=t("home.s6_figure"), labels=labels
            ),
            "home_word_heatmap",
            name=figures.png_name(settings, result.source, "attention-words"),
        )
    else:
        notices.no_attention()
