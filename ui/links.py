"""Every view is a link: the address bar follows the view, and a link opened anywhere shows that view.

A run first reads the query (`apply`) when it is not the one this session last wrote: a link just
opened, or the browser's back button. The pages then write what they show (`write`) as it changes, so
the address bar can be copied at any time. `share_dialog` shows the link and its QR code.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from urllib.parse import urlsplit

import segno
import streamlit as st

from seq2seq.links import KEYS, View, link, parse_query

from .i18n import t

WRITTEN, APPLIED, REFUSED, STEP = "_url_written", "_url_applied", "_url_refused", "_url_step"
SHARE_URL_ENV = "SEQ2SEQ_SHARE_URL"  # `make classroom` sets it to http://<this machine's LAN address>:8501
QR_MAX_CHARS = 1200  # beyond this a QR code is too dense to scan off a projector; the link is still shown


def current_query() -> dict[str, str]:
    return {key: st.query_params.get(key) for key in st.query_params}


def apply(checkpoints: Callable[[], list[str]]) -> View | None:
    """Take the view a newly opened link asks for into this session's state; None when there is none.

    Only keys the link names change anything, so a bare page address keeps the session's own view.
    `checkpoints` lists the valid model names; it is only called when there is a link to apply, so an
    ordinary rerun does not scan the checkpoint folders twice (the sidebar scans them anyway).
    """
    query = {k: v for k, v in current_query().items() if k in KEYS.values()}
    if not query or query == st.session_state.get(WRITTEN) or query == st.session_state.get(APPLIED):
        return None
    st.session_state[APPLIED] = query
    view, refused = parse_query(query, checkpoints())
    st.session_state[REFUSED] = refused
    state = st.session_state
    if view.text is not None:
        # a direction the link asks for keeps its sentence, and the one it leaves keeps the box's (ui.sidebar)
        state["_sentence_from_link"] = {"before": state.get("_sentence")}
        state["_sentence"] = view.text
        if "sentence" in state:  # the box keeps what was typed into it unless told: the link's sentence wins
            state["sentence"] = view.text
    if view.direction is not None:
        state["_dir_from_link"] = view.direction
    if view.checkpoint is not None:
        state["_checkpoint"] = view.checkpoint
        state["_checkpoint_from_link"] = True  # its direction wins over the session's (ui.sidebar)
    if view.beam is not None:
        state["_beam_size"] = view.beam
    if view.projector is not None:
        state["_projector"] = view.projector
    if view.level is not None:
        state["tr_words"] = view.level == "word"
    if view.step is not None:
        state[STEP] = view.step
    if view.lesson is not None:
        state["_lesson_join"] = view.lesson
    return view


def show_refused() -> None:
    """Say which values of the opened link were not used (once), in the interface language."""
    for refused in st.session_state.pop(REFUSED, []):
        st.warning(t("link.refused", field=refused.key, why=t("link.why." + refused.reason)), icon="🔗")


def write(**values) -> None:
    """Put these view values into the address bar (None removes one): `write(s=..., m=..., step=3)`."""
    query = current_query()
    for key, value in values.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    if query != current_query():
        st.query_params.from_dict(query)
    st.session_state[WRITTEN] = {k: v for k, v in query.items() if k in KEYS.values()}


def pending_step() -> int | None:
    """The step a link asked Step through to show, once."""
    return st.session_state.pop(STEP, None)


def base_url() -> str:
    """Where the students reach this server: the LAN address under `make classroom`, else the browser's."""
    configured = os.environ.get(SHARE_URL_ENV, "").strip()
    if configured:
        return configured.rstrip("/")
    parts = urlsplit(st.context.url or "http://127.0.0.1:8501")
    return f"{parts.scheme}://{parts.netloc}"


def page_path() -> str:
    """This page's path ("step_through"; "" for Home), as app.py's navigation names it."""
    return str(st.session_state.get("_page_path") or "")


def share_link(view: View | None = None, page: str | None = None) -> str:
    """The link to this view (the address bar's query, or `view`), without the teacher's secret."""
    if view is None:
        query = {k: v for k, v in current_query().items() if k in KEYS.values()}
        view, _ = parse_query(query, [query["m"]] if "m" in query else [])
    return link(base_url(), page_path() if page is None else page, view)


def qr_png(text: str, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def qr_image(text: str, height: str) -> None:
    """The QR code at a CSS height ("25vh" on a projector: scannable from the back of a hall). The page
    gets an image of fixed markup: the link is inside the PNG, never in the HTML."""
    if len(text) > QR_MAX_CHARS:
        st.info(t("share.too_long"))
        return
    data = base64.b64encode(qr_png(text)).decode("ascii")
    st.html(
        f'<img src="data:image/png;base64,{data}" alt="QR" data-testid="share-qr" '
        f'style="height:{height};width:auto;max-width:100%;object-fit:contain;image-rendering:pixelated;'
        'display:block;margin:auto;">'
    )


def share_panel(url: str, projector: bool, code: str | None = None) -> None:
    """The link as text to copy, its QR code, and the lesson code to read aloud."""
    if code:
        st.markdown(t("share.lesson_code", code=code))
    st.code(url, language=None, wrap_lines=True)
    qr_image(url, "25vh" if projector else "200px")
    st.caption(t("share.caption"))
