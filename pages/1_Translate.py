"""Translate: the translation, its attention heatmap (subword or word level), the n-best list, downloads."""

import pandas as pd
import streamlit as st

import app_ui as ui
from seq2seq import analysis, viz, word_attention

settings = ui.page("Translate", "🔤")
st.title("🔤 Translate")
st.caption(
    "English → Korean with the selected checkpoint. The heatmap shows α_ij: for each Korean token "
    "(row i), how much weight each English token (column j) received when it was written."
)

text = ui.sentence_input()
result = ui.translate(settings, text)
if result is None:
    st.stop()
ui.show_warnings(result.warnings)

candidates = result.nbest
pick = 0
if len(candidates) > 1:
    st.subheader(f"{len(candidates)}-best list (beam {settings.beam_size})")
    st.dataframe(
        pd.DataFrame(
            {
                "rank": range(1, len(candidates) + 1),
                "translation": [c.text for c in candidates],
                "score (log p / length)": [round(c.score, 4) for c in candidates],
                "log p": [round(c.logprob, 3) for c in candidates],
                "finished": [c.finished for c in candidates],
            }
        ),
        hide_index=True,
        key="tr_nbest",
    )
    pick = st.radio(
        "Show the attention of",
        range(len(candidates)),
        key="tr_pick",
        horizontal=True,
        format_func=lambda k: f"{k + 1}. {analysis.markdown_text(candidates[k].text)}",
    )
candidate = candidates[pick]

st.subheader("Translation" if pick == 0 else f"Hypothesis {pick + 1}")
ui.big_text(candidate.text, "1.8rem")
time_col, beam_col, score_col, len_col = st.columns(4)
time_col.metric("Model time", f"{result.elapsed_ms:.0f} ms", help="Encoding + search on this machine")
beam_col.metric("Search", "greedy" if settings.beam_size == 1 else f"beam {settings.beam_size}")
score_col.metric("Score (log p / length)", f"{candidate.score:.3f}")
len_col.metric("Tokens (source → target)", f"{len(result.src_tokens)} → {len(candidate.tgt_tokens)}")
if not candidate.finished:
    st.warning("This hypothesis hit the length limit before </s>.")

if candidate.attention is None:
    st.info(ui.NO_ATTENTION)
    st.stop()

st.subheader("Where the decoder looked")
word_level = st.toggle(
    "Word level",
    key="tr_words",
    help="Sum the weights of a word's source pieces and average over its target pieces",
)
if word_level:
    words = word_attention(candidate, result.src_tokens)
    matrix, src_labels, tgt_labels, level = words.matrix, words.src_words, words.tgt_words, "word"
else:
    matrix, src_labels, tgt_labels, level = (
        candidate.attention,
        result.src_tokens,
        candidate.tgt_tokens,
        "subword",
    )
st.plotly_chart(
    viz.attention_heatmap(matrix, src_labels, tgt_labels, title=f"Attention α_ij ({level} level)"),
    key="tr_heatmap",
)
st.caption(
    "Rows: Korean tokens in the order they were written. Columns: English tokens. Hover a cell for α. "
    "The last column, </s>, often collects weight when no source word is needed."
)

meta = {
    "model": settings.translator.name,
    "source": result.source,
    "translation": candidate.text,
    "level": level,
    "beam_size": settings.beam_size,
    "rank": pick + 1,
}
csv_col, json_col, _ = st.columns([1, 1, 4])
csv_col.download_button(
    "Download CSV",
    analysis.attention_csv(src_labels, tgt_labels, matrix),
    file_name=f"attention-{level}.csv",
    mime="text/csv",
    key="tr_csv",
)
json_col.download_button(
    "Download JSON",
    analysis.attention_json(src_labels, tgt_labels, matrix, **meta),
    file_name=f"attention-{level}.json",
    mime="application/json",
    key="tr_json",
)

with st.expander("Tokens"):
    st.text("source pieces: " + " ".join(result.src_tokens))
    st.text("target pieces: " + " ".join(candidate.tgt_tokens))
    st.text("normalised input: " + result.source)
