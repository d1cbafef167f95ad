"""Step through: decode one step at a time, see e, α and c with their numbers, force another token or put
the attention somewhere else, and see how the rest of the translation changes."""

import streamlit as st

from ui import shared as ui
from ui import stepper
from ui.i18n import t
from ui.text import markdown_text

settings = ui.sidebar()
st.title("👣 " + t("step.title"))
st.caption(t("step.caption"))

text = ui.sentence_input()
top_k = st.slider(t("step.top_k"), 3, 10, 5, key="st_topk")
session = stepper.session_for(settings, text, top_k)
if session is None:
    st.stop()
translation = ui.translate(
    settings, text
)  # cached: its warnings (far from the training data, say) hold here too
ui.show_warnings(translation.warnings if translation is not None else session.warnings)
max_len = settings.search.max_len


@st.fragment
def stepping() -> None:
    """Everything a click on the stepper changes; it reruns alone, so a step shows at once."""
    stepper.controls(session, max_len)
    st.caption(
        t("step.source", n=len(session.src_tokens)) + " " + markdown_text(" ".join(session.src_tokens))
    )
    if not session.steps:
        st.info(t("step.nothing_yet"))
        return
    step_slot, tools_slot, whatif_slot = st.container(), st.container(), st.container()  # top to bottom
    answer_first = stepper.what_if_just_answered()
    if answer_first:  # drawn in its place below, but sent first: the line a Force click waits for
        with whatif_slot:
            stepper.whatif_view(settings, session)
    with step_slot:
        stepper.current_step(settings, session)
    with tools_slot:
        stepper.force_controls(session, max_len)
        stepper.edit_controls(session, max_len)
    if not answer_first:
        with whatif_slot:
            stepper.whatif_view(settings, session)


stepping()
