"""Small pieces every page shares: the sentence box with its examples, a large translation, metrics in a
row that wraps, widget keys that follow what they show, and score tables."""

from __future__ import annotations

import hashlib

import streamlit as st

from seq2seq.evaluate import buckets_table
from seq2seq.lecture import LECTURE_SENTENCES, LECTURE_SENTENCES_KO, lecture_sentences
from seq2seq.notices import MAX_INPUT_CHARS

from . import links
from .i18n import direction as current_direction
from .i18n import t
from .sidebar import projector
from .text import html_text

MISSING = "–"  # a score that does not exist (a length bucket with no test sentence)
# Examples for both families, everyday first, labelled by family; sources only (the model writes the Korean)
EXAMPLES = {
    "everyday": [*LECTURE_SENTENCES, "I want to learn Korean."],
    "software": [
        "Choose Format - Cells and click the Borders tab.",
        "Select the cells that you want to merge.",
        "Click the Save button to save the document.",
        "If you want to print only the selected pages, enter the page numbers in the Pages box.",
    ],
    "long": [
        "To insert a new sheet, right-click the sheet tab and choose Insert Sheet, then enter a name for the "
        "new sheet and click OK to close the dialog and return to the document.",
    ],
}


# Korean→English: the lecture's ten in Korean, then a long news sentence of the general corpus's dev split
EXAMPLES_KO = {
    "everyday": list(LECTURE_SENTENCES_KO),
    "long": [
        "초당 12조3천억 번의 계산을 수행할수 있는 능력이 있는 로렌스 리버모아 국립 연구소의 이 수퍼컴퓨터는 미국의 노후한 "
        "비축 핵무기들이 발사되었을 때 어떻게 작동할 것인가를 모의 실험하는데 주로 사용될 것이다.",
    ],
}


def examples(direction: str | None = None) -> dict[str, list[str]]:
    return EXAMPLES_KO if (direction or current_direction()) == "koen" else EXAMPLES


def default_sentence(direction: str) -> str:
    return lecture_sentences(direction)[0]  # the lecture's first: How are you? / 잘 지내?


def _use_example() -> None:
    example = st.session_state.get("example")
    if example:
        st.session_state["sentence"] = st.session_state["_sentence"] = example.split(" · ", 1)[1]


def example_options() -> list[str]:
    return [f"{t('examples.' + group)} · {text}" for group, texts in examples().items() for text in texts]


def sentence_input() -> str:
    """The sentence box every page shares (key `sentence`), an example picker and the Translate button.

    Typing does not rerun the page (on_change="ignore"), so the first click elsewhere after typing, on a
    sidebar link say, is never swallowed by a rerun; Translate (or Ctrl+Enter) translates it.
    """
    st.selectbox(
        t("examples.label"), example_options(), index=None, key="example", placeholder=t("examples.placeholder"),
        on_change=_use_example,
    )  # fmt: skip
    if "sentence" in st.session_state:  # the box as typed: it arrives with the run a click starts
        st.session_state["_sentence"] = st.session_state["sentence"]
    st.session_state.setdefault("_sentence", default_sentence(current_direction()))
    st.session_state["sentence"] = st.session_state["_sentence"]
    st.text_area(
        t("sentence.label"), height=80, max_chars=MAX_INPUT_CHARS, help=t("sentence.help"), key="sentence",
        on_change="ignore",
    )  # fmt: skip
    st.button(t("sentence.translate"), type="primary", key="translate")
    links.write(s=st.session_state["_sentence"])
    return st.session_state["_sentence"]


def direction_note(page: str) -> None:
    """Where a page's lecture point reads differently with a Korean source, say so (Korean→English only)."""
    if current_direction() == "koen":
        st.info(t(page + ".koen_note"), icon="🔁")


def big_text(text: str, size: str = "1.5rem") -> None:
    """A translation, large; every character escaped, so it is text whatever the model or user wrote."""
    if projector():
        size = f"calc({size} * 1.5)"
    st.markdown(
        f'<div style="font-size:{size};line-height:1.5;">{html_text(text)}</div>', unsafe_allow_html=True
    )


def pick_key(base: str, *parts) -> str:
    """A widget key that changes with what it depends on (sentence, model, beam): a new sentence starts
    the widget afresh instead of keeping a pick that no longer means anything."""
    digest = hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:10]
    return f"{base}_{digest}"


def show_buckets(buckets_by_model: dict[str, list[dict]], key: str) -> None:
    """Scores per source-length bucket; an empty bucket shows "–" (the numbers stay numbers, so sorting works)."""
    table = buckets_table(buckets_by_model).rename(columns={"source words": t("table.source_words")})
    st.dataframe(table, hide_index=True, key=key, placeholder=MISSING)


def metric(label: str, value, help: str | None = None) -> None:
    """A number with its label at its own width, for a `row()`: never squeezed until the label is cut."""
    st.metric(label, value, help=help, width="content")


def row():
    """Elements side by side at their own width, wrapping to the next line on a narrow screen (a tablet)
    instead of squeezing columns until labels are cut."""
    return st.container(horizontal=True, wrap=True, gap="medium", vertical_alignment="bottom")
