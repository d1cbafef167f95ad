"""Step through in class: *Guess first* (a student picks the source token the decoder will look at most,
then sees α and how close the guess was) and *lessons* (the whole class on the teacher's sentence, model
and step; each guess into the shared store; the class's guesses on the teacher's screen as they come).

State per browser session: `_lesson` (the code), `_teacher` (the lesson's secret, teacher only),
`_student` (a random id), `_following` (a student follows the teacher), and the guesses per stepping
session. The store (`seq2seq.lessons`) is one SQLite file shared by every session of the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import streamlit as st

from seq2seq.lessons import Lesson, LessonError, LessonStore, default_path, new_student_id
from seq2seq.session import TranslationSession
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.viz.decoder_step import class_guesses
from seq2seq.viz.style import piece_label
from seq2seq.words import group_sums, group_words, word_text

from . import links
from .figures import chart, figure_labels
from .i18n import t
from .models import Settings
from .sidebar import projector
from .text import markdown_text
from .widgets import pick_key, row

LESSON, TEACHER, STUDENT, FOLLOWING = "_lesson", "_teacher", "_student", "_following"
GUESSES, SHOWN, REVEALED, PROBLEM = "_guesses", "_lesson_shown", "_revealed", "_lesson_problem"
TALLY = "_tally_figure"  # (what it shows, the figure): the teacher's tally, drawn again as it is when nothing changed
POLL_S = 1.5  # how often a student's page looks for the teacher's next step, and the tally refreshes


def store() -> LessonStore:
    """One store for every session of this server (the SQLite file outlives it)."""
    return _store(str(default_path()))


@st.cache_resource(show_spinner=False)
def _store(path: str) -> LessonStore:
    return LessonStore(path)


# --------------------------------------------------------------------------- joining and following
LESSON_ERRORS = (
    "no_lesson",
    "bad_code",
    "not_current",
    "bad_step",
    "bad_token",
    "not_teacher",
)  # worded in ui/


def _say_problem(exc: LessonError) -> None:
    """Shown once, at the top of the lesson panel, on the next run."""
    st.session_state[PROBLEM] = t("lesson.err." + exc.code) if exc.code in LESSON_ERRORS else str(exc)


def join(code: str) -> None:
    try:
        lesson = store().get(code)
    except LessonError as exc:
        _say_problem(exc)
        return
    st.session_state[LESSON] = lesson.code
    st.session_state[FOLLOWING] = True
    st.session_state.pop(TEACHER, None)
    st.session_state.setdefault(STUDENT, new_student_id())
    st.session_state["st_guess"] = True  # a class guesses first


def leave() -> None:
    for key in (LESSON, TEACHER, FOLLOWING, SHOWN):
        st.session_state.pop(key, None)
    links.write(lesson=None, teach=None)


def open_lesson() -> None:
    try:
        code, secret = store().open()
    except LessonError as exc:
        _say_problem(exc)
        return
    st.session_state[LESSON], st.session_state[TEACHER] = code, secret
    st.session_state.pop(FOLLOWING, None)


def clear_lesson() -> None:
    try:
        store().clear(st.session_state[LESSON], st.session_state[TEACHER])
    except (LessonError, KeyError) as exc:
        _say_problem(exc if isinstance(exc, LessonError) else LessonError("not_teacher", str(exc)))


def teaching() -> bool:
    return bool(st.session_state.get(LESSON) and st.session_state.get(TEACHER))


def following() -> bool:
    return bool(st.session_state.get(LESSON) and st.session_state.get(FOLLOWING))


def follow() -> Lesson | None:
    """Before the sidebar: a link's `?lesson=` joins, a teacher's own `teach=` takes the lesson back, and
    a following student takes the teacher's sentence and model. Returns the lesson followed, if any."""
    state = st.session_state
    code = state.pop("_lesson_join", None)
    secret = st.query_params.get("teach")
    if code and secret:
        try:
            if store().is_teacher(code, secret):
                state[LESSON], state[TEACHER] = code, secret
                state.pop(FOLLOWING, None)
                code = None
        except LessonError:
            pass
    if code and state.get(LESSON) != code:
        join(code)
    if not following():
        return None
    try:
        lesson = store().get(state[LESSON])
    except LessonError as exc:
        _say_problem(exc)
        leave()
        return None
    if lesson.sentence:
        state["_sentence"], state["_checkpoint"] = lesson.sentence, lesson.checkpoint
    return lesson


def lesson_panel(settings: Settings) -> None:
    """The lesson's controls: open or join one; the teacher's code, link and QR code; leave or rejoin."""
    if PROBLEM in st.session_state:
        st.error(st.session_state.pop(PROBLEM))
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
            view = links.View(text=st.session_state.get("_sentence"), checkpoint=settings.folder.name, lesson=code,
                              lang=st.session_state.get("_lang"))  # fmt: skip
            links.share_panel(links.link(links.base_url(), "step_through", view), projector(), code)
            st.caption(t("lesson.teacher_help"))
            with row():
                st.button(t("lesson.clear"), key="lesson_clear", on_click=clear_lesson)
                st.button(t("lesson.end"), key="lesson_end", on_click=leave)
            return
        st.markdown(t("lesson.student", code=code))
        with row():
            if following():
                st.button(t("lesson.explore"), key="lesson_explore",
                          on_click=lambda: st.session_state.update({FOLLOWING: False}))  # fmt: skip
            else:
                st.button(
                    t("lesson.rejoin"), key="lesson_rejoin", on_click=join, args=(code,), type="primary"
                )
            st.button(t("lesson.leave"), key="lesson_leave", on_click=leave)


def publish(settings: Settings, session: TranslationSession) -> None:
    """The teacher's view into the store, when it changed: the class follows it."""
    if not teaching():
        return
    view = (
        session.source,
        settings.folder.name,
        len(session.steps),
        settings.beam_size,
        len(session.src_tokens),
        session.forced,
    )
    if st.session_state.get(SHOWN) == view:
        return
    try:
        store().show(st.session_state[LESSON], st.session_state[TEACHER], *view[:4], source_tokens=view[4],
                     steps=len(session.steps), forced=view[5])  # fmt: skip
    except LessonError as exc:
        _say_problem(exc)
        return
    st.session_state[SHOWN] = view
    links.write(lesson=st.session_state[LESSON], teach=st.session_state[TEACHER])


def watch(shown: tuple[str, str, int, tuple]) -> None:
    """A student's page looks for the teacher's next move (sentence, model, step, forced tokens) every
    `POLL_S` and follows it."""
    if not following():
        return

    @st.fragment(run_every=POLL_S)
    def look() -> None:
        try:
            lesson = store().get(st.session_state[LESSON])
        except (LessonError, KeyError):
            return
        if lesson.sentence and (lesson.sentence, lesson.checkpoint, lesson.step, lesson.forced) != shown:
            st.rerun(scope="app")

    look()


# --------------------------------------------------------------------------- guessing
def guesses(session: TranslationSession, settings: Settings) -> dict[int, int]:
    """This student's guesses for this sentence and model: {step i (1-based): source index j}."""
    key = pick_key("g", settings.folder.name, session.source)
    return st.session_state.setdefault(GUESSES, {}).setdefault(key, {})


def guess_controls() -> None:
    with row():
        st.toggle(t("guess.toggle"), key="st_guess", help=t("guess.toggle_help"))
        if st.session_state.get("st_guess"):
            st.segmented_control(
                t("guess.unit"), ["word", "piece"], format_func=lambda v: t("guess.unit." + v),
                key="st_guess_unit", default="word", required=True,
            )  # fmt: skip
            st.segmented_control(
                t("guess.mode"), ["shown", "hidden"], format_func=lambda v: t("guess.mode." + v),
                key="st_guess_mode", default="shown", required=True,
            )  # fmt: skip


def _record(session: TranslationSession, settings: Settings, step: int, key: str, unit: Units) -> None:
    picked = st.session_state.get(key)
    if picked is None or not 0 <= int(picked) < len(unit.groups):
        st.session_state[PROBLEM] = t("guess.pick_first")
        return
    token = unit.groups[int(picked)][0]  # a word is stored as its first piece
    guesses(session, settings)[step] = token
    if following():
        try:
            store().guess(st.session_state[LESSON], st.session_state[STUDENT], session.source, settings.folder.name,
                          step, int(token))  # fmt: skip
        except LessonError as exc:
            _say_problem(exc)


@dataclass(frozen=True)
class Units:
    """What a class guesses among: source words (pieces grouped as Translate's word level groups them) or
    the pieces themselves. A guess is stored as its unit's first piece, so a teacher's tally can count
    either way whatever each student picked."""

    labels: list[str]
    groups: list[list[int]]

    def of(self, j: int) -> int:
        """The unit that source piece `j` belongs to."""
        return next(u for u, group in enumerate(self.groups) if j in group)

    def weights(self, alpha) -> np.ndarray:
        """A unit's α: the sum over its pieces (a row still sums to 1)."""
        return group_sums(alpha, self.groups)

    def counts(self, per_piece: Mapping[int, int]) -> list[int]:
        return [sum(per_piece.get(j, 0) for j in group) for group in self.groups]


def units(session: TranslationSession) -> Units:
    if st.session_state.get("st_guess_unit", "word") == "piece":
        return Units(list(session.src_tokens), [[j] for j in range(len(session.src_tokens))])
    groups = group_words(session.src_tokens)
    return Units([word_text(session.src_tokens, g) for g in groups], groups)


def _noun() -> str:
    return t("guess.noun." + ("piece" if st.session_state.get("st_guess_unit") == "piece" else "word"))


def rank_of(weights: np.ndarray, j: int) -> int:
    """1 for the source token with the largest α; ties share the better rank."""
    return int((np.asarray(weights) > weights[j]).sum()) + 1


def gate(settings: Settings, session: TranslationSession) -> bool:
    """Guess first: False (and the question) until this step has a guess; then its mark, and True.

    The teacher of a lesson reveals instead of guessing, while the class's guesses come in.
    """
    if not session.steps or not st.session_state.get("st_guess"):
        return True
    step = session.steps[-1]
    i = step.index + 1
    if step.weights is None:
        st.info(t("guess.no_attention"))
        return True
    if teaching():
        revealed = st.session_state.setdefault(REVEALED, set())
        ident = (session.source, settings.folder.name, i)
        if ident in revealed:
            return True
        st.button(t("guess.reveal", i=i), key=pick_key("reveal", *ident), type="primary",
                  on_click=lambda: revealed.add(ident))  # fmt: skip
        return False
    mine, unit = guesses(session, settings), units(session)
    if i in mine:
        u = unit.of(mine[i])
        weights = unit.weights(step.weights)
        rank = rank_of(weights, u)
        verdict = t("guess.top") if rank == 1 else t("guess.not_top", rank=rank, n=len(weights))
        st.success(t("guess.result", i=i, token=markdown_text(unit.labels[u]), alpha=f"{weights[u]:.2f}",
                     verdict=verdict))  # fmt: skip
        return True
    written = piece_label(session.pieces([step.token])[0], figure_labels())
    hidden = st.session_state.get("st_guess_mode") == "hidden"
    question = (t("guess.ask_hidden", i=i, unit=_noun()) if hidden
                else t("guess.ask", i=i, unit=_noun(), token=markdown_text(written)))  # fmt: skip
    st.subheader(question)
    if not hidden:
        st.caption(t("guess.so_far") + " " + markdown_text(" ".join(session.tgt_tokens[:-1]) or "…"))
    key = pick_key("guess_pick", settings.folder.name, session.source, i, len(unit.labels))
    st.pills(t("guess.pick"), list(range(len(unit.labels))), key=key,
             format_func=lambda u: f"{u + 1}·{unit.labels[u]}")  # fmt: skip
    st.button(
        t("guess.go"),
        key=key + "_go",
        type="primary",
        on_click=_record,
        args=(session, settings, i, key, unit),
    )
    return False


def score(settings: Settings, session: TranslationSession) -> None:
    """The running score, and at the end the guesses drawn on the attention heatmap."""
    mine = guesses(session, settings)
    if not st.session_state.get("st_guess") or not mine or session.attention is None:
        return
    steps, unit = {s.index + 1: s for s in session.steps}, units(session)
    ranks = [rank_of(unit.weights(steps[i].weights), unit.of(j)) for i, j in mine.items() if i in steps]
    if not ranks:
        return
    st.markdown(t("guess.score", top=sum(r == 1 for r in ranks), n=len(ranks), mean=f"{np.mean(ranks):.1f}"))
    if session.finished:
        marks = {i - 1: j for i, j in mine.items() if i in steps}
        chart(
            attention_heatmap(
                session.attention,
                session.src_tokens,
                session.tgt_tokens,
                marks=marks,
                title=t("guess.heatmap_title"),
                labels=figure_labels(),
            ),
            "st_guess_heatmap",
        )


def tally(settings: Settings, session: TranslationSession) -> None:
    """The teacher's screen: the class's guesses at the current step beside α, refreshed every `POLL_S`."""
    if not teaching() or not session.steps:
        return
    step = session.steps[-1]
    if step.weights is None:
        return
    i = step.index + 1
    ident = (session.source, settings.folder.name, i)
    guessing, unit = bool(st.session_state.get("st_guess")), units(session)

    @st.fragment(run_every=POLL_S)
    def live() -> None:
        counts = store().tally(st.session_state[LESSON], session.source, settings.folder.name, i)
        revealed = not guessing or ident in st.session_state.get(REVEALED, set())
        values = unit.counts(counts)
        st.caption(t("lesson.guesses_in", n=sum(values)))
        # built again only when a count or the reveal changed: most polls change nothing, and building a
        # Plotly figure every 1.5 s was a third of the server's CPU in a lesson of 10 (bench/notes/classroom.md)
        drawn = (
            ident,
            tuple(values),
            revealed,
            projector(),
            st.session_state.get("_lang"),
            tuple(unit.labels),
        )
        if st.session_state.get(TALLY, (None,))[0] != drawn:
            figure = class_guesses(
                values,
                unit.weights(step.weights) if revealed else None,
                unit.labels,
                step=i,
                labels=figure_labels(),
            )
            st.session_state[TALLY] = (drawn, figure)
        chart(st.session_state[TALLY][1], "st_class_guesses")

    live()
