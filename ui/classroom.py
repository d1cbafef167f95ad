"""Step through in class, the teacher's side: a *lesson* puts the whole class on the teacher's sentence,
model and step, with the teacher's rules; *Guess first* (`guessing`) runs inside it, and `browser` says
who is who. The students follow on a light page of their own (`classroom.routes`), pushed to them; a
student who opens the explorer from a lesson explores alone, with a link back to that page.

The store knows a teacher by the hash of the id of the browser that opened the lesson (or that scanned
*Teach from another device*). Nothing secret is ever in the address bar, the page text or a link.

State per browser session: `_lesson` (the code), `_teacher` (this page teaches it), `_lesson_seen` (the
lesson's version this page has taken in: a teacher's page left behind by another of the teacher's pages
reruns once when it changes) and `_lesson_shown` (the view this page last wrote or took from the store). Everything the class shares (the view, the rules, each guess, the
reveals, the end) is in the store (`classroom.store`), one SQLite file that outlives the server.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from classroom.record import lesson_record, most_picked, record_csv
from classroom.store import Lesson, LessonStore, default_path
from classroom.values import LessonError
from seq2seq.export import file_name
from seq2seq.session import TranslationSession
from seq2seq.viz.alignment import attention_heatmap

from . import links
from .browser import browser_id
from .figures import chart, figure_labels, png_name
from .i18n import t
from .models import Settings
from .sidebar import FRAMED, projector
from .widgets import row

LESSON, TEACHER = "_lesson", "_teacher"
SEEN, SHOWN, TAKE_STEP = "_lesson_seen", "_lesson_shown", "_lesson_take_step"
GUESSES, PROBLEM, NOTICE, HANDOFF = "_guesses", "_lesson_problem", "_lesson_notice", "_lesson_handoff"
POLL_S = 1.5  # how often a teacher's page looks for a change made by another of the teacher's pages
TALLY_POLL_S = 0.5  # how often the teacher's tally refreshes: a guess is on the projector within a second
TALLY = "_tally_figure"  # (what it shows, the figure): the teacher's tally, drawn again as it is when nothing changed


def store() -> LessonStore:
    """One store for every session of this server (the SQLite file outlives it)."""
    return _store(str(default_path()))


@st.cache_resource(show_spinner=False)
def _store(path: str) -> LessonStore:
    return LessonStore(path)


# --------------------------------------------------------------------------- joining and leading
LESSON_ERRORS = (
    "no_lesson",
    "bad_code",
    "not_current",
    "bad_step",
    "bad_token",
    "not_teacher",
    "ended",
    "revealed",
    "bad_handoff",
)  # worded in ui/


def say_problem(exc: LessonError) -> None:
    """Shown once, at the top of the page, on the next run."""
    st.session_state[PROBLEM] = t("lesson.err." + exc.code) if exc.code in LESSON_ERRORS else str(exc)


def _enter(code: str, teacher: bool) -> None:
    state = st.session_state
    state[LESSON], state[TEACHER] = code, teacher
    for key in (SEEN, SHOWN, HANDOFF):
        state.pop(key, None)


def join(code: str) -> None:
    """Into a lesson by its code: as its teacher when this browser is one, else as a student exploring
    alone (a link from the light page's *Explore alone*), with the way back to the light page."""
    try:
        lesson = store().get(code)
        if lesson.ended:
            raise LessonError("ended", "the lesson has ended")
        teacher = store().is_teacher(lesson.code, browser_id())
    except LessonError as exc:
        say_problem(exc)
        return
    _enter(lesson.code, teacher)


def student_link(code: str) -> str:
    """The students' light page of a lesson: its code and language, never a key."""
    lang = st.session_state.get("_lang")
    return f"{links.base_url()}/class/{code}" + (f"?{urlencode({'lang': lang})}" if lang else "")


def leave() -> None:
    for key in (LESSON, TEACHER, SHOWN, SEEN, HANDOFF):
        st.session_state.pop(key, None)
    links.write(lesson=None, teach=None)


def open_lesson() -> None:
    try:
        code, _ = store().open(teacher=browser_id())
    except LessonError as exc:
        say_problem(exc)
        return
    _enter(code, teacher=True)


def _as_teacher(action, *args) -> int | None:
    """Run a teacher's store action; the lesson's new version is what this page has seen."""
    try:
        version = action(st.session_state[LESSON], browser_id(), *args)
    except (LessonError, KeyError) as exc:
        say_problem(exc if isinstance(exc, LessonError) else LessonError("not_teacher", str(exc)))
        return None
    st.session_state[SEEN] = version
    return version


def clear_lesson() -> None:
    _as_teacher(store().clear)


def end_lesson() -> None:
    code = st.session_state.get(LESSON)
    if _as_teacher(store().end) is not None:
        st.session_state[NOTICE] = t("lesson.you_ended", code=code)
        leave()


def reveal(sentence: str, checkpoint: str, step: int) -> None:
    _as_teacher(store().reveal, sentence, checkpoint, step)


def show_handoff() -> None:
    """*Teach from another device*: a one-time token, shown as a QR code only, on request."""
    try:
        st.session_state[HANDOFF] = store().handoff(st.session_state[LESSON], browser_id())
    except (LessonError, KeyError) as exc:
        say_problem(exc if isinstance(exc, LessonError) else LessonError("not_teacher", str(exc)))


def teaching() -> bool:
    return bool(st.session_state.get(LESSON) and st.session_state.get(TEACHER))


def _take_handoff(code: str | None, token: str) -> None:
    """A teacher's own other device opened the *Teach from another device* link: the token works once,
    and it leaves the address bar at once (a projector shows the address bar)."""
    links.write(teach=None)
    if not code:
        return
    try:
        store().take_handoff(code, token, browser_id())
    except LessonError as exc:
        say_problem(exc)
        return
    _enter(code.strip().upper(), teacher=True)
    st.session_state[NOTICE] = t("lesson.now_teaching", code=code.strip().upper())


def follow() -> Lesson | None:
    """Before the sidebar: a link's `?lesson=` joins (as the teacher, when this browser is one), and a
    teacher's page takes the lesson's view from the store when another page (another tab, the teacher's
    phone) or a restart left it behind, and then it says so. Returns the lesson, while this page leads it."""
    state = st.session_state
    if not state.get(FRAMED):  # a first run that began at the page: the sidebar reruns it through app.py,
        return None  # which reads the link first
    code = state.pop("_lesson_join", None)
    token = st.query_params.get("teach")
    if token is not None:
        _take_handoff(code, token)
        if teaching():
            code = None
    if code and state.get(LESSON) != code:
        join(code)
    if not state.get(LESSON):
        return None
    try:
        lesson = store().get(state[LESSON])
    except LessonError as exc:
        say_problem(exc)
        leave()
        return None
    if lesson.ended:  # (a teacher's page that ended it said so already; another of its pages says it here)
        state[NOTICE] = t("lesson.ended" if not teaching() else "lesson.ended_elsewhere", code=lesson.code)
        leave()  # the page is this student's own, where it stands
        return None
    if not teaching():
        return None  # a student exploring alone
    _take_in(lesson)
    return lesson


def _take_in(lesson: Lesson) -> None:
    """Take the stored view into this page's state: what the sentence box, the model picker and Guess
    first's switches will show, and the step the stepper goes to (`lesson_step`)."""
    state = st.session_state
    behind = state.get(SEEN) != lesson.version
    state[SEEN] = lesson.version
    if not lesson.sentence:
        return
    if not behind or state.get(SHOWN) == lesson.view():
        return
    said = t("lesson.resumed" if SHOWN not in state else "lesson.moved", code=lesson.code, step=lesson.step)
    state.setdefault(NOTICE, said)  # "this device now teaches" says more
    state["_sentence"] = state["sentence"] = lesson.sentence
    state["_checkpoint"] = lesson.checkpoint
    state["st_guess"], state["st_guess_unit"] = lesson.guess_first, lesson.unit
    state["st_guess_mode"] = "hidden" if lesson.hidden else "shown"
    state[SHOWN] = lesson.view()
    state[TAKE_STEP] = (lesson.sentence, lesson.checkpoint, lesson.step, dict(lesson.forced))


def lesson_step(session: TranslationSession, settings: Settings) -> tuple[int, dict[int, int]] | None:
    """The step (and the forced tokens on the way) the stepper goes to: the lesson's, when this teacher's
    page just took it in and the session is on the lesson's sentence and model."""
    taken = st.session_state.pop(TAKE_STEP, None)
    if taken is None or taken[:2] != (session.source, settings.folder.name):
        return None
    return taken[2], taken[3]


def notices() -> None:
    """What happened to the lesson since the last run (an error, the end, a page that followed the store),
    at the top of the page: on a phone it is the first thing seen."""
    if PROBLEM in st.session_state:
        st.error(st.session_state.pop(PROBLEM))
    if NOTICE in st.session_state:
        st.info(st.session_state.pop(NOTICE), icon="🧑\u200d🏫")


def lesson_panel(settings: Settings) -> None:
    """The lesson's controls: open or join one; the teacher's code, link and QR code; leave or rejoin."""
    code = st.session_state.get(LESSON)
    with st.expander(t("lesson.title", code=code) if code else t("lesson.title_none"), expanded=bool(code)):
        if not code:
            st.caption(t("lesson.intro"))
            with row():
                st.button(t("lesson.open"), key="lesson_open", on_click=open_lesson, type="primary")
                st.text_input(t("lesson.code"), key="lesson_code_input", max_chars=8, placeholder="K7QP",
                              width=160)  # fmt: skip
                st.button(t("lesson.join"), key="lesson_join",
                          on_click=lambda: join(st.session_state.get("lesson_code_input") or ""))  # fmt: skip
            return
        if teaching():
            _teacher_panel(code)
            return
        st.markdown(t("lesson.exploring", code=code))
        with row():
            st.link_button(t("lesson.rejoin"), student_link(code), type="primary", help=t("hall.rejoin_help"))
            st.button(t("lesson.leave"), key="lesson_leave", on_click=leave)


def _teacher_panel(code: str) -> None:
    """The code to read aloud, the students' link and its QR code side by side (one projector screen),
    then the teacher's buttons. The link carries the lesson's code and language only: never a key."""
    url = student_link(code)
    text_col, qr_col = st.columns([3, 2], vertical_alignment="center")
    with text_col:
        st.markdown(t("share.lesson_code", code=code))
        st.code(url, language=None, wrap_lines=True)
        st.caption(t("lesson.teacher_help"))
    with qr_col:
        links.qr_image(url, "25vh" if projector() else "200px")
    with row():
        st.button(t("lesson.clear"), key="lesson_clear", on_click=clear_lesson)
        st.button(t("lesson.end"), key="lesson_end", on_click=end_lesson)
        if HANDOFF in st.session_state:
            st.button(t("lesson.handoff_hide"), key="lesson_handoff_hide",
                      on_click=lambda: st.session_state.pop(HANDOFF, None))  # fmt: skip
        else:
            st.button(
                t("lesson.handoff"),
                key="lesson_handoff",
                on_click=show_handoff,
                help=t("lesson.handoff_help"),
            )
    token = st.session_state.get(HANDOFF)
    if token:
        with st.container(border=True):
            st.warning(t("lesson.handoff_what"), icon="🔑")
            # the token is inside the PNG only; the address it makes is never written as text
            links.qr_image(
                links.base_url() + "/step_through?" + urlencode({"lesson": code, "teach": token}), "200px"
            )


def record_panel(settings: Settings, session: TranslationSession) -> None:
    """The lesson's record, for the teacher, during the lesson or after: a CSV (Excel-ready) and a
    picture of the whole lesson, one row per step (its camera button saves the PNG). No student named."""
    if not teaching() or not session.steps:
        return
    code, unit = st.session_state[LESSON], st.session_state.get("st_guess_unit") or "word"
    with st.expander(t("hall.record")):
        st.caption(t("hall.record_help"))
        tallies = store().tallies(code, session.source, settings.folder.name)
        table = lesson_record(session, unit, tallies)
        st.download_button(t("hall.record_csv"), record_csv(table), key="lesson_record_csv", mime="text/csv",
                           file_name=file_name(settings.translator.name, session.source, f"lesson-{code}", "csv"))  # fmt: skip
        if not tallies:
            st.caption(t("hall.record_empty"))
        if session.attention is not None:
            labels = {
                **figure_labels(),
                "guess_mark": t("hall.class_mark"),
            }  # the class's pick, not one student's
            figure = attention_heatmap(session.attention, session.src_tokens, session.tgt_tokens, labels=labels,
                                       marks=most_picked(session, unit, tallies), title=t("hall.record_title"))  # fmt: skip
            chart(figure, "lesson_record", name=png_name(settings, session.source, f"lesson-{code}"))
        names = {c: t("hall.col." + c) for c in ("step", "wrote", "guesses", "picked", "top")}
        names |= {"picked_share": t("hall.col.picked_share"), "top_share": t("hall.col.top_share")}
        st.dataframe(table.rename(columns=names), hide_index=True, key="lesson_record_table")


def publish(settings: Settings, session: TranslationSession) -> None:
    """The teacher's view (and Guess first's rules) into the store, when it changed: the class follows it."""
    if not teaching():
        return
    state = st.session_state
    rules = (
        bool(state.get("st_guess")),
        state.get("st_guess_unit") or "word",
        state.get("st_guess_mode") == "hidden",
    )
    view = (session.source, settings.folder.name, len(session.steps), session.forced, *rules)
    if state.get(SHOWN) == view:
        return
    try:
        state[SEEN] = store().show(
            state[LESSON], browser_id(), session.source, settings.folder.name, len(session.steps),
            settings.beam_size, source_tokens=len(session.src_tokens), steps=len(session.steps), forced=session.forced,
            guess_first=rules[0], unit=rules[1], hidden=rules[2],
        )  # fmt: skip
    except LessonError as exc:
        say_problem(exc)
        return
    state[SHOWN] = view
    links.write(lesson=state[LESSON])


def watch() -> None:
    """A teacher's page (another tab or device may move the lesson) reads the lesson's version every
    `POLL_S` and reruns once when it changed: one row read, and no rerun while nothing changes."""
    if not teaching():
        return

    @st.fragment(run_every=POLL_S)
    def look() -> None:
        code = st.session_state.get(LESSON)
        if not code or not teaching():
            return
        try:
            version = store().version(code)
        except LessonError:
            return
        if version is not None and version != st.session_state.get(SEEN):
            st.rerun(scope="app")

    look()
