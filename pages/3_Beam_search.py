"""Beam search: the search tree, pruned branches faded; pick an n-best hypothesis to see its path and attention."""

import streamlit as st

import app_ui as ui
from seq2seq import analysis, viz

PAGE_DEFAULT_BEAM = 4

settings = ui.page("Beam search", "🌳")
st.title("🌳 Beam search")
st.caption(
    "Greedy search keeps only the single most likely token at each step. Beam search keeps the k best "
    "partial translations (the beam), extends each by every token, and keeps the k best again; a "
    "hypothesis that writes </s> leaves the beam finished. Scores are log-probabilities divided by length."
)

text = ui.sentence_input()
beam_size = settings.beam_size
if beam_size < 2:
    beam_size = PAGE_DEFAULT_BEAM
    st.info(
        f"The sidebar's beam size is 1 (greedy, a single path); this page searches with beam {beam_size}. "
        "Set a beam size of 2 or more in the sidebar to choose it yourself."
    )
result = ui.translate(settings, text, beam_size=beam_size)
if result is None:
    st.stop()
ui.show_warnings(result.warnings)

nodes = result.tree
node_pieces = settings.translator.tgt_tokenizer.pieces([n.token for n in nodes])
ends = analysis.nbest_nodes(nodes, node_pieces, result.nbest)
paths = [viz.path_to(nodes, end) for end in ends if end is not None]

candidates = result.nbest
pick = st.radio(
    f"{len(candidates)}-best hypotheses (best first)",
    range(len(candidates)),
    key="bs_pick",
    format_func=lambda k: (
        f"{k + 1}. {analysis.markdown_text(candidates[k].text)}  (score {candidates[k].score:.3f})"
    ),
)
selected = viz.path_to(nodes, ends[pick]) if ends[pick] is not None else None
if selected is None:
    st.caption("This hypothesis is not in the stored tree, so no path is highlighted.")

st.plotly_chart(viz.beam_tree(nodes, node_pieces, selected_path=selected, nbest_paths=paths), key="bs_tree")
st.caption(
    f"{len(nodes)} expanded nodes over {max((n.step for n in nodes), default=-1) + 1} steps, beam "
    f"{beam_size}, model time {result.elapsed_ms:.0f} ms. Colour: cumulative log p. Squares: finished "
    "with </s>. Faded: pruned branches that no n-best hypothesis uses. Orange: the selected hypothesis."
)

candidate = candidates[pick]
st.subheader(f"Hypothesis {pick + 1}")
ui.big_text(candidate.text, "1.5rem")
st.caption(
    f"score {candidate.score:.3f} · log p {candidate.logprob:.3f} · {len(candidate.tgt_tokens)} tokens"
    + ("" if candidate.finished else " · unfinished (length limit)")
)
if candidate.attention is None:
    st.info(ui.NO_ATTENTION)
else:
    st.plotly_chart(
        viz.attention_heatmap(
            candidate.attention,
            result.src_tokens,
            candidate.tgt_tokens,
            title=f"Attention of hypothesis {pick + 1}",
        ),
        key="bs_heatmap",
    )
