"""Error analysis: the test split (eval.jsonl) or your own TSV, sentence by sentence, with attention diagnostics."""

from pathlib import Path

import streamlit as st

from seq2seq import diagnostics
from seq2seq.decoding import Search
from seq2seq.diagnostics import DROPPED_BELOW, REPEATED_ABOVE
from seq2seq.evaluate import read_eval
from ui import errors_view, models, notices, sidebar, widgets
from ui.i18n import t
from ui.text import markdown_text

settings = sidebar.settings()
translator = settings.translator
st.title("🔍 " + t("errors.title"))
st.caption(t("errors.caption", low=f"{DROPPED_BELOW:g}", high=f"{REPEATED_ABOVE:g}"))
widgets.direction_note("errors")


@st.cache_data(max_entries=8, show_spinner=False)
def analyse_upload(
    data: bytes, folder: str, stamp: float, search: Search
) -> tuple[list[dict], list[str], str | None]:
    """(rows, problems, error) for an uploaded file; cached on its bytes, the model and the search."""
    try:
        pairs, problems = diagnostics.read_upload(data)
        bar = st.progress(0.0, text=t("errors.translating", n=len(pairs)))
        rows = diagnostics.analyse_pairs(
            models.load(Path(folder)),
            pairs,
            search,
            progress=lambda done, total: bar.progress(
                done / total, text=t("errors.translated", done=done, total=total)
            ),
        )
        bar.empty()
        return rows, problems, None
    except models.ERRORS as exc:
        return [], [], str(exc)


test_tab, upload_tab = st.tabs([t("errors.tab_test"), t("errors.tab_upload")])
with test_tab:
    try:
        summary, _, eval_rows = read_eval(settings.folder)
    except ValueError as exc:
        notices.show_error(t("common.cannot_read_scores", name=translator.name), exc)
        summary, eval_rows = None, None
    if not eval_rows:
        st.info(t("errors.not_evaluated", name=translator.name, folder=markdown_text(settings.folder)))
    else:
        if summary:
            st.caption(t("errors.summary", n=summary.get("sentences", len(eval_rows)), beam=summary.get("beam_size"),
                         chrf=summary.get("chrf"), bleu=summary.get("bleu")))  # fmt: skip
        errors_view.explore(settings, eval_rows, "ea")

with upload_tab:
    st.caption(
        t(
            "errors.upload_caption",
            lines=f"{diagnostics.MAX_UPLOAD_LINES:,}",
            mb=diagnostics.MAX_UPLOAD_BYTES // 1_000_000,
        )
    )
    upload = st.file_uploader(
        t("errors.upload"), type=["tsv", "txt", "tab"], key="eu_file", max_upload_size=2
    )
    if upload is not None:
        rows, problems, error = analyse_upload(
            upload.getvalue(), str(settings.folder), models.stamp(settings.folder), settings.search
        )
        if error:
            notices.show_error(t("errors.cannot_use", name=upload.name), ValueError(error))
        if problems:
            st.warning(t("errors.skipped", n=len(problems)))
            with st.expander(t("errors.problems")):
                st.text("\n".join(problems[:200]))
        if rows:
            scores = diagnostics.corpus_scores(rows)
            flags = ", ".join(f"{t('errors.flag.' + k)}: {v}" for k, v in scores["flags"].items()) or t(
                "errors.none"
            )
            st.success(
                t(
                    "errors.upload_done",
                    n=scores["sentences"],
                    chrf=f"{scores['chrf']:.1f}",
                    flags=markdown_text(flags),
                )
            )
            errors_view.explore(settings, rows, "eu")
