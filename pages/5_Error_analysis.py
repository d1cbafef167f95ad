"""Error analysis: the test split (eval.jsonl) or your own TSV, sentence by sentence, with attention diagnostics."""

import streamlit as st

import app_ui as ui
from seq2seq import analysis, viz
from seq2seq.evaluate import DROPPED_BELOW, REPEATED_ABOVE, read_eval

UPLOAD_STATE = "eu_result"

settings = ui.page("Error analysis", "🔍")
translator = settings.translator
st.title("🔍 Error analysis")
st.caption(
    "Every test sentence with its score and attention diagnostics. Coverage Σ_i α_ij is the total attention a "
    f"source token received: below {DROPPED_BELOW:g} it was probably dropped, above "
    f"{REPEATED_ABOVE:g} probably translated twice. Entropy: how spread the weights are (low = sharp). "
    "Monotonicity: share of steps whose focus does not move back in the source."
)

COLUMNS = {
    "id": None,
    "src": st.column_config.TextColumn("source", width="medium"),
    "ref": st.column_config.TextColumn("reference", width="medium"),
    "hyp": st.column_config.TextColumn("hypothesis", width="medium"),
    "chrf": st.column_config.NumberColumn("chrF", format="%.1f"),
    "src_words": st.column_config.NumberColumn("src words"),
    "tgt_words": st.column_config.NumberColumn("ref words"),
    "src_tokens_n": st.column_config.NumberColumn("src tokens"),
    "tgt_tokens_n": st.column_config.NumberColumn("hyp tokens"),
    "dropped_share": st.column_config.NumberColumn(
        "dropped", format="%.2f", help="share of source tokens dropped"
    ),
    "repeated_share": st.column_config.NumberColumn(
        "repeated", format="%.2f", help="share of source tokens repeated"
    ),
    "entropy": st.column_config.NumberColumn("entropy", format="%.2f"),
    "monotonicity": st.column_config.NumberColumn("monotonicity", format="%.2f"),
    "flags": st.column_config.TextColumn("flags"),
}


def detail(row: dict, prefix: str) -> None:
    """One sentence: texts, scores, the ref-vs-hyp diff, its heatmap with flagged tokens, its coverage."""
    st.subheader("Selected sentence")
    st.text(f"source:     {row['src']}\nreference:  {row['ref']}\nhypothesis: {row['hyp']}")
    flags = analysis.row_flags(row)
    cols = st.columns(5)
    cols[0].metric("chrF", f"{row['chrf']:.1f}")
    for column, key, label in zip(
        cols[1:],
        ("dropped_share", "repeated_share", "entropy", "monotonicity"),
        ("dropped", "repeated", "entropy", "monotonicity"),
    ):
        value = row.get(key)
        column.metric(label, "–" if value is None else f"{value:.2f}")
    st.caption("flags: " + (analysis.markdown_text(", ".join(flags)) if flags else "none"))

    level = st.radio(
        "Difference between reference and hypothesis",
        ["word", "char"],
        horizontal=True,
        key=f"{prefix}_diff",
        format_func=lambda v: {"word": "by word", "char": "by character"}[v],
    )
    pieces = analysis.diff(row["ref"], row["hyp"], level)
    st.markdown(analysis.diff_html(pieces, level), unsafe_allow_html=True)
    st.caption(
        "Struck through in red: only in the reference (missed). Green: only in the hypothesis (extra)."
    )

    attention = row.get("attention")
    if attention is None:
        st.info(ui.NO_ATTENTION)
        return
    # full width, one under the other: both run along the same source tokens, which need the room
    st.plotly_chart(
        viz.attention_heatmap(
            attention,
            row["src_tokens"],
            row["tgt_tokens"],
            flagged_src=analysis.flagged_src(row),
            title="Attention (flagged source tokens framed in red)",
        ),
        key=f"{prefix}_heatmap",
    )
    if row.get("coverage") is not None:
        st.plotly_chart(
            viz.coverage_bars(row["coverage"], row["src_tokens"], low=DROPPED_BELOW, high=REPEATED_ABOVE),
            key=f"{prefix}_coverage",
        )


def explore(rows: list[dict], prefix: str) -> None:
    """Filters, the sortable table (click a row) and the selected sentence's detail."""
    frame = analysis.error_frame(rows)
    if frame.empty:
        st.info("No sentences.")
        return
    low, high = int(frame["src_words"].min()), int(frame["src_words"].max())
    length_col, score_col, flag_col = st.columns([2, 2, 1], vertical_alignment="bottom")
    length = None
    if low < high:
        length = length_col.slider("Source length (words)", low, high, (low, high), key=f"{prefix}_len")
    score = score_col.slider("chrF", 0.0, 100.0, (0.0, 100.0), step=1.0, key=f"{prefix}_score")
    flagged_only = flag_col.checkbox("Flagged only", key=f"{prefix}_flagged")
    shown = analysis.filter_errors(frame, length=length, score=score, flagged_only=flagged_only)
    st.caption(
        f"{len(shown)} of {len(frame)} sentences, worst chrF first. Click a column header to sort, "
        "a row to inspect it."
    )
    event = st.dataframe(
        shown,
        key=f"{prefix}_table",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        column_config=COLUMNS,
        placeholder=ui.MISSING,  # a fixed-context model has no attention diagnostics
    )
    selected = [r for r in event.selection.rows if 0 <= r < len(shown)]
    if not selected:
        st.info("Select a row in the table to see its attention, coverage and differences.")
        return
    try:
        detail(rows[int(shown.iloc[selected[0]]["id"])], prefix)
    except (ValueError, KeyError, TypeError) as exc:  # a hand-edited or truncated eval.jsonl line
        ui.show_error("Cannot show this sentence", exc)


test_tab, upload_tab = st.tabs(["Test split", "Your TSV file"])

with test_tab:
    try:
        summary, _, eval_rows = read_eval(settings.folder)
    except ValueError as exc:
        ui.show_error(f"Cannot read the evaluation files of {translator.name}", exc)
        eval_rows = None
    if not eval_rows:
        st.info(
            f"{translator.name} has not been evaluated yet (no eval.jsonl). Run "
            f"`python -m seq2seq evaluate {analysis.markdown_text(settings.folder)} --test <test.tsv>`, "
            "or upload a TSV in the next tab."
        )
    else:
        if summary:
            st.caption(
                f"{summary.get('sentences', len(eval_rows))} test sentences, beam {summary.get('beam_size')}, "
                f"corpus chrF {summary.get('chrf')}, BLEU {summary.get('bleu')}."
            )
        explore(eval_rows, "ea")

with upload_tab:
    st.caption(
        f"One pair per line, `English<TAB>Korean`, UTF-8; at most {analysis.MAX_UPLOAD_LINES:,} lines and "
        f"{analysis.MAX_UPLOAD_BYTES // 1_000_000} MB. Each line is translated with the sidebar's settings "
        "and analysed like the test split."
    )
    upload = st.file_uploader(
        "Upload a TSV file", type=["tsv", "txt", "tab"], key="eu_file", max_upload_size=2
    )
    if upload is None:
        st.session_state.pop(UPLOAD_STATE, None)
    else:
        data = upload.getvalue()
        ident = (analysis.digest(data), str(settings.folder), settings.beam_size, settings.max_len)
        state = st.session_state.get(UPLOAD_STATE)
        if state is None or state["id"] != ident:
            state = {"id": ident, "rows": [], "problems": [], "error": None}
            try:
                pairs, state["problems"] = analysis.read_upload(data)
                bar = st.progress(0.0, text=f"Translating {len(pairs)} sentences…")
                state["rows"] = analysis.analyse_pairs(
                    translator,
                    pairs,
                    beam_size=settings.beam_size,
                    max_len=settings.max_len,
                    progress=lambda done, total: bar.progress(
                        done / total, text=f"Translated {done} of {total}"
                    ),
                )
                bar.empty()
            except ui.ERRORS as exc:
                state["error"] = str(exc)
            st.session_state[UPLOAD_STATE] = state
        if state["error"]:
            ui.show_error(f"Cannot use {upload.name}", ValueError(state["error"]))
        if state["problems"]:
            st.warning(f"{len(state['problems'])} line(s) skipped or cut; the others were translated.")
            with st.expander("Problems, by line number"):
                st.text("\n".join(state["problems"][:200]))
        if state["rows"]:
            scores = analysis.corpus_scores(state["rows"])
            flags = ", ".join(f"{k}: {v}" for k, v in scores["flags"].items()) or "none"
            st.success(
                f"{scores['sentences']} sentences translated · corpus chrF {scores['chrf']:.1f} · "
                f"flags: {analysis.markdown_text(flags)}"
            )
            explore(state["rows"], "eu")
