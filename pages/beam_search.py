"""Beam search: the n-best hypotheses as paths through the search tree (pruned branches on request);
pick one to see its path and its attention."""

import pandas as pd
import streamlit as st

from seq2seq.decoding import APP_SEARCH, Search
from seq2seq.reranking import preferred
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.viz.beam import beam_tree, path_to
from ui import figures, notices, reverse, sidebar, widgets
from ui.i18n import t
from ui.text import markdown_text

PAGE_DEFAULT_BEAM = 4

settings = sidebar.settings()
st.title("🌳 " + t("beam.title"))
st.caption(t("beam.caption"))
widgets.direction_note("beam")

text = widgets.sentence_input()
search = settings.search
if search.beam_size < 2:
    search = Search.of(APP_SEARCH, beam_size=PAGE_DEFAULT_BEAM, max_len=search.max_len)
    st.info(t("beam.greedy_sidebar", beam=search.beam_size))
with st.expander(t("beam.options")):  # the score's parts, to switch on and off in front of the class
    coverage = st.slider(t("beam.coverage"), 0.0, 1.0, float(APP_SEARCH.coverage), 0.1, key="bs_coverage",
                           help=t("beam.coverage_help"))  # fmt: skip
    no_repeat = st.selectbox(t("beam.no_repeat"), [0, 2, 3, 4], index=[0, 2, 3, 4].index(APP_SEARCH.no_repeat),
                                 key="bs_no_repeat", format_func=lambda n: t("beam.no_repeat_off") if n == 0 else str(n),
                                 help=t("beam.no_repeat_help"))  # fmt: skip
    gnmt = st.toggle(t("beam.gnmt"), value=APP_SEARCH.gnmt_length, key="bs_gnmt", help=t("beam.gnmt_help"))
search = Search.of(search, coverage=coverage, no_repeat=no_repeat, gnmt_length=gnmt)
result = notices.translate(settings, text, search)
if result is None:
    st.stop()
notices.show_warnings(result.warnings)
notices.family_hint(settings, result)

nodes, candidates = result.tree, result.nbest
ends = result.nbest_ends()
paths = [path_to(nodes, end) for end in ends if end is not None]
pick = st.radio(  # keyed by what it picks from: a new sentence, model or beam starts on the best again
    t("beam.pick", n=len(candidates)),
    range(len(candidates)),
    key=widgets.pick_key("bs_pick", settings.translator.name, result.source, search),
    format_func=lambda k: (
        f"{k + 1}. {markdown_text(candidates[k].text)}  ({t('beam.score')} {candidates[k].score:.3f})"
    ),
)
selected = path_to(nodes, ends[pick]) if ends[pick] is not None else None
if selected is None:
    st.caption(t("beam.not_in_tree"))
show_pruned = st.toggle(t("beam.show_pruned"), key="bs_pruned", help=t("beam.show_pruned_help"))
tree = beam_tree(
    nodes, selected_path=selected, nbest_paths=paths, show_pruned=show_pruned, labels=figures.figure_labels()
)
figures.chart(tree, "bs_tree", name=figures.png_name(settings, result.source, "beam-tree"))
st.caption(t("beam.tree_caption", nodes=len(nodes), steps=max((n.step for n in nodes), default=-1) + 1,
             beam=search.beam_size, ms=f"{result.elapsed_ms:.0f}"))  # fmt: skip

channel = reverse.second_opinion(settings, result)
if channel is not None:  # the other direction's model on every hypothesis: its score and what it reads
    st.subheader(t("beam.second_opinion"))
    backs = reverse.back_texts(settings, [c.text for c in candidates])
    st.dataframe(
        pd.DataFrame({
            "#": range(1, len(candidates) + 1),
            t("beam.col.hypothesis"): [c.text for c in candidates],
            t("beam.col.score"): [round(c.score, 3) for c in candidates],
            t("beam.reverse_score"): [round(c.reverse, 3) for c in channel],
            t("beam.col.channel"): [round(c.total, 3) for c in channel],
            t("beam.back"): [b or "–" for b in backs],
        }),
        hide_index=True, key="bs_channel",
    )  # fmt: skip
    best = preferred(channel)
    weight = f"{reverse.CHANNEL_WEIGHT:g}"
    if best == 0:
        st.caption(t("beam.channel_agrees", weight=weight))
    else:
        st.caption(
            t("beam.channel_pick", weight=weight, n=best + 1, text=markdown_text(candidates[best].text))
        )
    st.caption(t("beam.channel_caption"))

candidate = candidates[pick]
st.subheader(t("beam.hypothesis", n=pick + 1))
widgets.big_text(candidate.text, "1.5rem")
st.caption(t("beam.hypothesis_meta", n=len(candidate.tgt_tokens))
           + ("" if candidate.finished else " · " + t("beam.unfinished")))  # fmt: skip
st.markdown(t("beam.score_parts", logp=f"{candidate.logprob:.3f}", lp=f"{candidate.length_norm:.3f}",
              cp=f"{candidate.coverage:.3f}", score=f"{candidate.score:.3f}"))  # fmt: skip
st.caption(t("beam.score_parts_help", alpha=f"{search.alpha:g}", beta=f"{search.coverage:g}",
             form=t("beam.lp_gnmt" if search.gnmt_length else "beam.lp_plain")))  # fmt: skip
if candidate.attention is None:
    notices.no_attention()
else:
    figures.chart(
        attention_heatmap(
            candidate.attention,
            result.src_tokens,
            candidate.tgt_tokens,
            title=t("beam.heatmap_title", n=pick + 1),
            labels=figures.figure_labels(),
            flagged_src=candidate.uncovered,
        ),
        "bs_heatmap",
        name=figures.png_name(settings, result.source, f"beam-hypothesis{pick + 1}"),
    )
    if candidate.uncovered:
        words = ", ".join(f"“{result.src_tokens[j].replace('▁', '')}”" for j in candidate.uncovered)
        st.caption(t("beam.uncovered", words=markdown_text(words), n=len(candidate.uncovered)))
    else:
        st.caption(t("beam.all_covered"))
