"""The Step-through page's parts: one stepping session per browser session, the moves as callbacks on it,
and the views of the current step. The page runs them inside `st.fragment`, so a click on Next, Back or
Force redraws only the stepper, not the whole page."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import streamlit as st

from seq2seq import lecture
from seq2seq.decoding import app_search
from seq2seq.session import TranslationSession, WhatIf
from seq2seq.translator import Translation
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.viz.decoder_step import context_strip, step_bars, topk_bar
from seq2seq.viz.style import piece_label

from .figures import chart, figure_labels, png_name, shared_figure
from .i18n import t
from .models import ERRORS, Settings
from .notices import no_attention, show_error, translate
from .text import markdown_text
from .widgets import big_text, row
from .widgets import pick_key as widget_key

SESSION, SESSION_ID, WHATIF, MESSAGE = "st_session", "st_session_id", "st_whatif", "st_message"
ANSWERED = "st_answered"  # set by a Force or an attention edit: the page draws its answer first
PICK = "st_force_pick"  # the top-k picker's key prefix: one picker per step (`force_pick_key`)


def session_for(settings: Settings, text: str, top_k: int) -> TranslationSession | None:
    """This browser session's stepper for (model, sentence, k); a new one when any of them changes."""
    ident = (str(settings.folder), text, top_k)
    if st.session_state.get(SESSION_ID) != ident:
        for key in (SESSION, SESSION_ID, WHATIF):
            st.session_state.pop(key, None)
        drop_picks()
        try:
            st.session_state[SESSION] = settings.translator.start(text, top_k)
        except ERRORS as exc:
            show_error(t("step.cannot_start"), exc)
            return None
        st.session_state[SESSION_ID] = ident
    return st.session_state[SESSION]


def go_to(session: TranslationSession, steps: int, forced: Mapping[int, int] | None = None) -> None:
    """To `steps` steps taken (a link's `step=`, a lesson's step and its forced tokens), or the end."""
    session.go_to(steps, forced)
    drop_picks()


def move(action: Callable[[TranslationSession], object], drawn_at: int | None = None) -> None:
    """A button's callback: change the session before the stepper is drawn again. With `drawn_at` (the
    steps taken when the button was drawn), a click that arrives again after the session moved on does
    nothing (once, in the lesson's browser test on a loaded machine, one Next click gave two steps)."""
    session = st.session_state.get(SESSION)
    if session is None or (drawn_at is not None and len(session.steps) != drawn_at):
        return
    try:
        result = action(session)
    except ValueError as exc:
        st.session_state[MESSAGE] = str(exc)
        return
    if isinstance(result, WhatIf):
        st.session_state[WHATIF] = result
        st.session_state[ANSWERED] = True
        return
    drop_picks()  # another step: its own picker, on its own runner-up
    whatif = st.session_state.get(WHATIF)
    if whatif is not None and len(session.steps) <= whatif.step:  # stepped back past the changed token
        st.session_state.pop(WHATIF)


def what_if_just_answered() -> bool:
    """Whether this run answers a Force or an attention edit (once): its answer is what the click asked
    for, so it is sent before the step's own figures, which have not changed."""
    return bool(st.session_state.pop(ANSWERED, False))


def force_pick_key(session: TranslationSession) -> str:
    """The top-k picker's key for the current step, new whenever the tokens so far change. One widget
    with changing options would keep the last step's choice in the browser, and a choice that is no
    longer an option comes back as its label ("▁ (word boundary)"), which Force would then force."""
    return widget_key(PICK, [step.token for step in session.steps])


def drop_picks() -> None:
    for key in [k for k in st.session_state if str(k).startswith(PICK)]:
        del st.session_state[key]


def forced_token(pick: str) -> str:
    typed = (st.session_state.get("st_force_text") or "").strip()
    token = typed or st.session_state.get(pick)
    if not token:
        raise ValueError(t("step.pick_or_type"))
    return token


def controls(session: TranslationSession, max_len: int | None) -> None:
    taken = len(session.steps)
    with row():  # at their own width, wrapping on a tablet: a cut "Run to end" helps nobody
        st.button(
            t("step.back"),
            key="st_back",
            on_click=move,
            args=(lambda s: s.back(), taken),
            disabled=not session.steps,
        )
        st.button(
            t("step.next"),
            key="st_next",
            on_click=move,
            args=(lambda s: s.next(), taken),
            disabled=session.finished,
            type="primary",
        )
        st.button(t("step.reset"), key="st_reset", on_click=move, args=(lambda s: s.reset(), taken))
        st.button(
            t("step.run"),
            key="st_run",
            on_click=move,
            args=(lambda s: s.run(max_len), taken),
            disabled=session.finished,
        )
    if MESSAGE in st.session_state:
        show_error(t("step.did_not_work"), ValueError(st.session_state.pop(MESSAGE)))


def current_step(settings: Settings, session: TranslationSession) -> None:
    """The step just taken: what it wrote, its e and α, the top-k, c_i, the equations and α so far. Its
    figures are shared between sessions: a lesson's class is on the same step."""
    labels = figure_labels()
    step = session.steps[-1]
    i = step.index
    taken = piece_label(session.pieces([step.token])[0], labels)
    mark = t("step.forced") if step.forced else t("step.edited") if step.edited else ""
    st.subheader(t("step.wrote", i=i + 1, token=markdown_text(taken)) + mark)
    big_text(session.text or "…", "1.5rem")
    status = t("step.finished") if session.finished else t("step.in_progress")
    st.caption(
        t("step.so_far", n=len(session.steps), status=status)
        + " "
        + markdown_text(" ".join(session.tgt_tokens))
    )
    bars_col, topk_col = st.columns([3, 2], gap="large")
    with bars_col:
        chart(
            shared_figure(
                step_bars,
                step.energies,
                step.weights,
                session.src_tokens,
                title=t("step.bars_title", i=i + 1),
            ),
            "st_bars",
            name=png_name(settings, session.source, f"step{i + 1}-energies"),
        )
    with topk_col:
        chart(
            shared_figure(
                topk_bar,
                session.pieces(step.top_ids),
                step.top_probs,
                chosen=session.pieces([step.token])[0],
            ),
            "st_topk_bar",
            name=png_name(settings, session.source, f"step{i + 1}-topk"),
        )
        st.caption(t("step.prob", token=markdown_text(taken), p=f"{step.prob:.3f}"))
    chart(shared_figure(context_strip, step.context, title=t("step.context_title", i=i + 1)), "st_context")
    if step.weights is None:
        no_attention()
        return
    st.markdown(t("step.equations"))
    for line in lecture.step_equations(step, session.src_tokens, settings.translator.attention_kind.formula):
        st.latex(line)
    table = lecture.top_sources(step, session.src_tokens, k=5)
    st.dataframe(
        table.rename(columns={"source token": t("step.col.source")}),
        hide_index=True,
        key="st_top_sources",
    )
    chart(
        shared_figure(
            attention_heatmap,
            session.attention,
            session.src_tokens,
            session.tgt_tokens,
            highlight_row=i,
            title=t("step.heatmap_title"),
        ),
        "st_heatmap",
        name=png_name(settings, session.source, "attention-so-far"),
    )


def force_controls(session: TranslationSession, max_len: int | None) -> None:
    step = session.steps[-1]
    taken = session.pieces([step.token])[0]
    st.header(t("step.whatif"))
    st.caption(
        t(
            "step.whatif_caption",
            i=step.index + 1,
            token=markdown_text(piece_label(taken, figure_labels())),
        )
    )
    options = session.pieces(step.top_ids)
    pick_col, type_col, force_col = st.columns([2, 2, 1], vertical_alignment="bottom")
    pick = force_pick_key(session)
    pick_col.selectbox(
        t("step.force_pick"),
        options,
        index=min(1, len(options) - 1),
        key=pick,
        format_func=lambda p: piece_label(p, figure_labels()),
    )
    type_col.text_input(
        t("step.force_type"), key="st_force_text", max_chars=50, placeholder=t("step.force_placeholder")
    )
    index = len(session.steps) - 1
    force_col.button(t("step.force"), key="st_force", width="stretch",
                     on_click=move, args=(lambda s: s.force_at(index, forced_token(pick), max_len),))  # fmt: skip


def edit_controls(session: TranslationSession, max_len: int | None) -> None:
    """Put the attention of this step on one source token, or blend it with the model's own weights."""
    step = session.steps[-1]
    if step.weights is None:
        return
    st.subheader(t("step.edit"))
    st.caption(t("step.edit_caption", i=step.index + 1))
    positions = list(range(len(session.src_tokens)))
    target = st.pills(t("step.edit_token"), positions, key="st_edit_token",
                      format_func=lambda j: f"{j + 1}·{session.src_tokens[j]}")  # fmt: skip
    blend = st.slider(
        t("step.edit_blend"), 0.0, 1.0, 1.0, 0.1, key="st_edit_blend", help=t("step.edit_blend_help")
    )
    if target is None:
        return
    own = np.asarray(session.steps[-1].weights, dtype=float)
    focus = np.zeros_like(own)
    focus[target] = 1.0
    weights = (1 - blend) * own + blend * focus
    index = len(session.steps) - 1
    st.button(t("step.edit_go", token=session.src_tokens[target]), key="st_edit_go", type="primary",
              on_click=move, args=(lambda s: s.what_if(index, attention=weights, max_len=max_len),))  # fmt: skip


def whatif_view(settings: Settings, session: TranslationSession) -> None:
    whatif = st.session_state.get(WHATIF)
    if whatif is None:
        return
    labels = figure_labels()
    st.markdown(
        t(
            "step.whatif_change",
            i=whatif.step + 1,
            before=markdown_text(piece_label(whatif.original_token, labels)),
            after=markdown_text(piece_label(whatif.forced_token, labels)),
        )
    )
    st.caption(t("step.whatif_follow", i=whatif.step + 1))
    for label, snap, key in (
        (t("step.original"), whatif.original, "st_original_heatmap"),
        (t("step.changed"), whatif.forced, "st_forced_heatmap"),
    ):
        st.markdown(f"**{label}**")  # stacked, full width: long sentences need the room
        big_text(snap.text, "1.3rem")
        if snap.attention is not None:
            chart(
                attention_heatmap(
                    snap.attention,
                    session.src_tokens,
                    snap.tgt_tokens,
                    highlight_row=whatif.step,
                    title=t("step.whatif_heatmap", label=label),
                    labels=labels,
                ),
                key,
                name=png_name(settings, session.source, key.removeprefix("st_")),
            )


def beam_differs(settings: Settings, text: str, translation: Translation) -> None:
    """This page steps along the decoder's own greedy path; one line says when the beam (the other
    views' default) ends elsewhere, and what it says."""
    if settings.beam_size < 2:
        return
    greedy = translate(settings, text, app_search(1, settings.search.max_len))
    if greedy is not None and greedy.text != translation.text:
        st.caption(t("step.beam_differs", beam=settings.beam_size, text=markdown_text(translation.text)))
