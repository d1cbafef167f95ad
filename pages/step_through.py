"""Step through: decode one step at a time, see e, α and c with their numbers, force another token or put
the attention somewhere else, and see how the rest of the translation changes. In class: guess first,
and lead a lesson (the students follow it on their light page, classroom/)."""

import streamlit as st

from ui import browser, classroom, guessing, links, notices, reverse, sidebar, stepper, widgets
from ui.i18n import t
from ui.text import markdown_text

classroom.follow()  # before the sidebar: a teacher's page takes the stored lesson's sentence and model
settings = sidebar.settings()
st.title("👣 " + t("step.title"))
classroom.notices()
st.caption(t("step.caption"))
widgets.direction_note("step")
text = widgets.sentence_input()
top_k = st.slider(t("step.top_k"), 3, 10, 5, key="st_topk")
session = stepper.session_for(settings, text, top_k)
if session is None:
    st.stop()
classroom.lesson_panel(settings)
target, forced = links.pending_step(), None
if (place := classroom.lesson_step(session, settings)) is not None:
    target, forced = place  # the lesson's step, and the tokens the teacher forced on the way
if target is not None:
    stepper.go_to(session, target, forced)
translation = notices.translate(
    settings, text
)  # cached: its warnings (far from the training data, say) hold here too
notices.show_warnings(translation.warnings if translation is not None else session.warnings)
if translation is not None:
    notices.family_hint(settings, translation)
    stepper.beam_differs(settings, text, translation)
guessing.guess_controls()
max_len = settings.search.max_len


@st.fragment
def stepping() -> None:
    """Everything a click on the stepper changes; it reruns alone, so a step shows at once."""
    stepper.controls(session, max_len)
    links.write(step=len(session.steps))
    classroom.publish(settings, session)
    st.caption(
        t("step.source", n=len(session.src_tokens)) + " " + markdown_text(" ".join(session.src_tokens))
    )
    if not session.steps:
        st.info(t("step.nothing_yet"))
        return
    shown = guessing.gate(settings, session)  # guess first: the step stays hidden until then
    guessing.tally(settings, session)  # the teacher's: under the question and Reveal, on one screen
    classroom.record_panel(settings, session)  # the teacher's download of the class's results
    if not shown:
        return
    step_slot, tools_slot, whatif_slot = st.container(), st.container(), st.container()  # top to bottom
    answer_first = stepper.what_if_just_answered()
    if answer_first:  # drawn in its place below, but sent first: the line a Force click waits for
        with whatif_slot:
            stepper.whatif_view(settings, session)
    with step_slot:
        guessing.score(settings, session)
        stepper.current_step(settings, session)
        if session.finished and session.text:  # the translation is done: what it says back
            reverse.back_translation(settings, session.text)
    with tools_slot:
        stepper.force_controls(session, max_len)
        stepper.edit_controls(session, max_len)
    if not answer_first:
        with whatif_slot:
            stepper.whatif_view(settings, session)


stepping()
classroom.watch()
browser.keep_browser_id()
