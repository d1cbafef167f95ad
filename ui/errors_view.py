"""The Error-analysis page's parts: the filterable table of diagnosed sentences, and one sentence in detail."""

from __future__ import annotations

import streamlit as st

from seq2seq import diagnostics
from seq2seq.diagnostics import DROPPED_BELOW, REPEATED_ABOVE
from seq2seq.viz.alignment import attention_heatmap, coverage_bars

from .figures import chart, figure_labels, png_name
from .i18n import t
from .models import Settings
from .notices import no_attention
from .text import diff_html, markdown_text
from .widgets import MISSING, metric
from .widgets import row as side_by_side

DETAIL_HEIGHT = 620  # px: a long sentence's heatmap scrolls inside this instead of filling the page


def columns() -> dict:
    c = st.column_config
    return {
        "id": None,
        "domain": c.TextColumn(t("errors.col.domain"), width="small"),
        "src": c.TextColumn(t("errors.col.src"), width="medium"),
        "ref": c.TextColumn(t("errors.col.ref"), width="medium"),
        "hyp": c.TextColumn(t("errors.col.hyp"), width="medium"),
        "chrf": c.NumberColumn("chrF", format="%.1f", width="small"),
        "src_words": c.NumberColumn(t("errors.col.src_words"), width="small"),
        "tgt_words": None,
        "src_tokens_n": None,
        "tgt_tokens_n": None,
        "dropped_share": c.NumberColumn(
            t("errors.col.dropped"), format="%.2f", help=t("errors.col.dropped_help"), width="small"
        ),
        "repeated_share": c.NumberColumn(
            t("errors.col.repeated"), format="%.2f", help=t("errors.col.repeated_help"), width="small"
        ),
        "entropy": c.NumberColumn(t("errors.col.entropy"), format="%.2f", width="small"),
        "monotonicity": c.NumberColumn(t("errors.col.monotonicity"), format="%.2f", width="small"),
        "flags": c.TextColumn(t("errors.col.flags"), width="small"),
    }


def detail(settings: Settings, row: dict, prefix: str) -> None:
    """One sentence: texts, scores, the ref-vs-hyp diff, its heatmap with flagged tokens, its coverage."""
    st.subheader(t("errors.selected"))
    st.text(
        f"{t('errors.col.src')}: {row['src']}\n{t('errors.col.ref')}: {row['ref']}\n{t('errors.col.hyp')}: {row['hyp']}"
    )
    flags = diagnostics.row_flags(row)
    with side_by_side():
        metric("chrF", f"{row['chrf']:.1f}")
        for key in ("dropped_share", "repeated_share", "entropy", "monotonicity"):
            value = row.get(key)
            metric(t("errors.metric." + key), MISSING if value is None else f"{value:.2f}")
    st.caption(
        t("errors.flags")
        + " "
        + (markdown_text(", ".join(t("errors.flag." + f) for f in flags)) if flags else t("errors.none"))
    )
    level = st.radio(t("errors.diff"), ["word", "char"], horizontal=True, key=f"{prefix}_diff",
                     format_func=lambda v: t("errors.diff." + v))  # fmt: skip
    st.markdown(diff_html(diagnostics.diff(row["ref"], row["hyp"], level), level), unsafe_allow_html=True)
    st.caption(t("errors.diff_caption"))
    if row.get("attention") is None:
        no_attention()
        return
    labels = figure_labels()
    with st.container(height=DETAIL_HEIGHT if len(row["tgt_tokens"]) > 20 else "content", border=False):
        chart(
            attention_heatmap(
                row["attention"],
                row["src_tokens"],
                row["tgt_tokens"],
                flagged_src=diagnostics.flagged_src(row),
                title=t("errors.heatmap_title"),
                labels=labels,
            ),
            f"{prefix}_heatmap",
            name=png_name(settings, row["src"], "attention"),
        )
    if row.get("coverage") is not None:
        chart(
            coverage_bars(
                row["coverage"], row["src_tokens"], low=DROPPED_BELOW, high=REPEATED_ABOVE, labels=labels
            ),
            f"{prefix}_coverage",
            name=png_name(settings, row["src"], "coverage"),
        )


def explore(settings: Settings, rows: list[dict], prefix: str) -> None:
    """Filters, the sortable table (click a row) and the selected sentence's detail."""
    frame = diagnostics.error_frame(rows)
    if frame.empty:
        st.info(t("errors.no_sentences"))
        return
    low, high = int(frame["src_words"].min()), int(frame["src_words"].max())
    length_col, score_col, domain_col = st.columns(3, vertical_alignment="bottom")
    length = (
        length_col.slider(t("errors.length"), low, high, (low, high), key=f"{prefix}_len")
        if low < high
        else None
    )
    score = score_col.slider("chrF", 0.0, 100.0, (0.0, 100.0), step=1.0, key=f"{prefix}_score")
    domains = sorted(d for d in frame["domain"].unique() if d)
    domain = domain_col.selectbox(t("errors.domain"), [None, *domains], key=f"{prefix}_domain",
                                  format_func=lambda d: t("errors.all_domains") if d is None else d) if domains else None  # fmt: skip
    # the sort options get a row of their own: beside anything else they are cut off on a tablet
    sort = st.segmented_control(t("errors.sort"), diagnostics.SORTS, default="telling", key=f"{prefix}_sort",
                                format_func=lambda s: t("errors.sort." + s)) or "telling"  # fmt: skip
    flagged_only = st.checkbox(t("errors.flagged_only"), key=f"{prefix}_flagged")
    shown = diagnostics.filter_errors(
        frame, length=length, score=score, flagged_only=flagged_only, domain=domain, sort=sort
    )
    config = columns()
    if not domains:  # a test split without domains: no empty column
        shown, config = shown.drop(columns="domain"), {k: v for k, v in config.items() if k != "domain"}
    shown["flags"] = [
        ", ".join(t("errors.flag." + f) for f in flags.split(", ") if f) for flags in shown["flags"]
    ]
    st.caption(t("errors.count", shown=len(shown), total=len(frame)))
    event = st.dataframe(shown, key=f"{prefix}_table", on_select="rerun", selection_mode="single-row", hide_index=True,
                         column_config=config, placeholder=MISSING)  # fmt: skip
    selected = [r for r in event.selection.rows if 0 <= r < len(shown)]
    if not selected:
        st.info(t("errors.select_row"))
        return
    try:
        detail(settings, rows[int(shown.iloc[selected[0]]["id"])], prefix)
    except (ValueError, KeyError, TypeError) as exc:  # a hand-edited or truncated eval.jsonl line
        st.error(t("errors.cannot_show") + ": " + markdown_text(exc))
