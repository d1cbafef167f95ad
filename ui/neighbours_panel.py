"""Where did it learn this? The training pairs nearest to the sentence, and the pairs that use a word."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from seq2seq.neighbours import TRAIN_FILE, words
from seq2seq.translator import Translation

from .i18n import t
from .models import ERRORS, Settings
from .notices import show_error


def show(settings: Settings, result: Translation) -> None:
    translator = settings.translator
    st.subheader(t("neighbours.title"))
    if not (translator.folder / TRAIN_FILE).is_file():
        st.info(t("neighbours.none", name=translator.name))
        return
    if not st.toggle(t("neighbours.toggle"), key="nb_on", help=t("neighbours.help")):
        return
    try:
        bar = st.progress(0.0, text=t("neighbours.building"))
        translator.neighbour_index(
            lambda done, total: bar.progress(
                done / total, text=t("neighbours.building_n", done=done, total=total)
            )
        )
        bar.empty()
        found = translator.neighbours(result.source, k=5)
    except ERRORS as exc:
        show_error(t("neighbours.failed"), exc)
        return
    st.dataframe(
        pd.DataFrame({
            t("neighbours.col.score"): [round(n.score, 3) for n in found],
            t("neighbours.col.source"): [n.source for n in found],
            t("neighbours.col.target"): [n.target for n in found],
            t("neighbours.col.shared"): [", ".join(n.shared_words) for n in found],
            t("neighbours.col.domain"): [n.domain for n in found],
        }),
        hide_index=True, key="nb_table",
    )  # fmt: skip
    st.caption(t("neighbours.caption"))
    choices = list(dict.fromkeys(words(result.source)))
    word = st.pills(t("neighbours.word"), choices, key="nb_word", help=t("neighbours.word_help"))
    if word:
        pairs = translator.neighbour_index().containing(word, k=10)
        if not pairs:
            st.info(t("neighbours.word_none", word=word))
        else:
            st.dataframe(
                pd.DataFrame({t("neighbours.col.source"): [p.source for p in pairs], t("neighbours.col.target"): [p.target for p in pairs]}),
                hide_index=True, key="nb_word_table",
            )  # fmt: skip
