"""*Guess first* in Step through: a student picks the source word (or piece) the decoder will look at most
at step i, then sees α and how close the guess was. In a lesson the class guesses on the light page
(`classroom`), the answer waits for the teacher's Reveal, and the teacher's screen shows the class's
guesses beside α."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import streamlit as st

from classroom import question
from classroom.values import LessonError
from seq2seq.session import TranslationSession
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.viz.decoder_step import class_guesses
from seq2seq.words import group_sums

from .classroom import GUESSES, LESSON, PROBLEM, TALLY, TALLY_POLL_S, reveal, store, teaching
from .figures import chart, figure_labels
from .i18n import t
from .models import Settings
from .sidebar import projector
from .text import markdown_text
from .widgets import pick_key, row

TALLY_HEIGHT = 280  # the tally's figure, so that the question, Reveal and the tally fit one projector screen


def guesses(session: TranslationSession, settings: Settings) -> dict[int, int]:
    """This page's own guesses for this sentence and model: {step i (1-based): source index j}. (A class
    in a lesson guesses on the light page, `classroom.routes`, into the store.)"""
    key = pick_key("g", settings.folder.name, session.source)
    return st.session_state.setdefault(GUESSES, {}).setdefault(key, {})


def guess_controls() -> None:
    """Guess first's switches: in a lesson, the teacher's are the class's rules."""
    state = st.session_state
    state.setdefault("st_guess_unit", "word")
    state.setdefault("st_guess_mode", "shown")
    with row():
        st.toggle(t("guess.toggle"), key="st_guess", help=t("guess.toggle_help"))
        if state.get("st_guess"):
            st.segmented_control(
                t("guess.unit"), ["word", "piece"], format_func=lambda v: t("guess.unit." + v),
                key="st_guess_unit", required=True,
            )  # fmt: skip
            st.segmented_control(
                t("guess.mode"), ["shown", "hidden"], format_func=lambda v: t("guess.mode." + v),
                key="st_guess_mode", required=True,
            )  # fmt: skip


def _record(session: TranslationSession, settings: Settings, step: int, key: str, unit: Units) -> None:
    picked = st.session_state.get(key)
    if picked is None or not 0 <= int(picked) < len(unit.groups):
        st.session_state[PROBLEM] = t("guess.pick_first")
        return
    token = unit.groups[int(picked)][0]  # a word is stored as its first piece
    guesses(session, settings)[step] = token


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
    return Units(*question.units(session.src_tokens, st.session_state.get("st_guess_unit") or "word"))


def _noun() -> str:
    return t("guess.noun." + ("piece" if st.session_state.get("st_guess_unit") == "piece" else "word"))


def rank_of(weights: np.ndarray, j: int) -> int:
    """1 for the source token with the largest α; ties share the better rank."""
    return int((np.asarray(weights) > weights[j]).sum()) + 1


def has_final_consonant(word: str) -> bool | None:
    """Whether a Korean word ends in a consonant (받침), which picks its particle (은/는, 을/를); None when
    its last letter is not a Hangul syllable (a Latin token, a digit)."""
    last = word.strip()[-1:] if word.strip() else ""
    if not "가" <= last <= "힣":
        return None
    return (ord(last) - ord("가")) % 28 != 0


def particle(word: str, kind: str) -> str:
    """`word` with the Korean particle that fits its last syllable when the interface speaks Korean
    ("단어" + 은/는 is "단어는", "토큰" is "토큰은"), both spelled out where its end does not say (a Latin
    token); in English, `word` as it is."""
    if st.session_state.get("_lang") != "ko":
        return word
    final = has_final_consonant(word)
    pair = {"eun": ("은", "는"), "eul": ("을", "를")}[kind]
    return word + (f"{pair[0]}({pair[1]})" if final is None else pair[0] if final else pair[1])


def _written(session: TranslationSession) -> str:
    """What the current step wrote, as a person reads it: no ▁ word marker (the bare ▁ is a space)."""
    piece = session.pieces([session.steps[-1].token])[0]
    return piece.lstrip("▁") or t("guess.boundary")


def _question(session: TranslationSession, i: int) -> None:
    """The question the class answers at step `i`, as the students see it (and the projector)."""
    unit = particle(_noun(), "eun")
    if st.session_state.get("st_guess_mode") == "hidden":
        st.subheader(t("guess.ask_hidden", i=i, unit=unit))
        return
    written = _written(session)
    st.subheader(t("guess.ask", i=i, unit=unit, token=markdown_text(particle(written, "eul"))))
    so_far = "".join(session.tgt_tokens[:-1]).replace("▁", " ").strip()  # pieces as the text reads
    st.caption(t("guess.so_far") + " " + markdown_text(so_far or "…"))


def _revealed(session: TranslationSession, settings: Settings, i: int) -> bool:
    try:
        return store().is_revealed(st.session_state[LESSON], session.source, settings.folder.name, i)
    except (LessonError, KeyError):
        return False


def gate(settings: Settings, session: TranslationSession) -> bool:
    """Guess first: False (and the question) until this step has a guess; then its mark, and True.

    In a lesson the teacher reveals instead of guessing while the class's guesses come in (the students'
    light page shows nothing of the step, no α, e, rank or chart, until then).
    """
    if not session.steps or not st.session_state.get("st_guess"):
        return True
    step = session.steps[-1]
    i = step.index + 1
    if step.weights is None:
        st.info(t("guess.no_attention"))
        return True
    if teaching():
        _question(session, i)
        if _revealed(session, settings, i):
            return True
        st.button(t("guess.reveal", i=i), key=pick_key("reveal", session.source, settings.folder.name, i),
                  type="primary", on_click=reveal, args=(session.source, settings.folder.name, i))  # fmt: skip
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
    _question(session, i)
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
    """The teacher's screen: the class's guesses at the current step beside α, and how many students are
    connected, refreshed every `TALLY_POLL_S` (two small reads; only the teacher's page runs it)."""
    if not teaching() or not session.steps:
        return
    step = session.steps[-1]
    if step.weights is None:
        return
    i = step.index + 1
    ident = (session.source, settings.folder.name, i)
    guessing, unit = bool(st.session_state.get("st_guess")), units(session)

    @st.fragment(run_every=TALLY_POLL_S)
    def live() -> None:
        code = st.session_state.get(LESSON)
        if not code:
            return
        counts = store().tally(code, session.source, settings.folder.name, i)
        revealed = not guessing or _revealed(session, settings, i)
        values = unit.counts(counts)
        with row():
            st.caption(t("lesson.guesses_in", n=sum(values)))
            st.caption(t("hall.connected", n=store().connected(code)))
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
            figure = class_guesses(values, unit.weights(step.weights) if revealed else None, unit.labels,
                                   step=i, labels=figure_labels())  # fmt: skip
            figure.update_layout(height=TALLY_HEIGHT)
            st.session_state[TALLY] = (drawn, figure)
        chart(st.session_state[TALLY][1], "st_class_guesses")

    live()
