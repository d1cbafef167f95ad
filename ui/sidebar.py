"""The page frame and the sidebar: language, projector mode, the model and the search, and `settings()`,
which every page calls first.

Widgets every page shows (checkpoint, beam size, max length, the sentence) are drawn anew by each
page, so their values are mirrored in `_<key>` entries (`shared`), which survive a page switch;
`st.session_state` holds only UI state, per browser session.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from seq2seq import families
from seq2seq.checkpoint import list_checkpoints
from seq2seq.decoding import APP_SEARCH, app_search
from seq2seq.jsonfiles import read_json
from seq2seq.lecture import lecture_sentences
from seq2seq.translator import Translator

from . import links
from .i18n import DIRECTION_STATE, LANGUAGES, direction, language, set_language, t
from .models import ERRORS, Settings, attention_label, checkpoint_direction, checkpoints_root, load
from .text import markdown_text


def _keep(key: str) -> None:
    st.session_state["_" + key] = st.session_state[key]


def shared(key: str, default) -> dict:
    """Give a widget shown on several pages its last value; returns the widget's `key`/`on_change` arguments."""
    st.session_state.setdefault("_" + key, default)
    st.session_state[key] = st.session_state["_" + key]
    return {"key": key, "on_change": _keep, "args": (key,)}


def _switch_language() -> None:
    set_language(st.session_state["lang_switch"])


def interface_controls() -> None:
    """The language switch and projector mode, at the top of the sidebar on every page."""
    lang = language()
    st.session_state["lang_switch"] = lang
    st.sidebar.segmented_control(
        "Language · 언어",
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        key="lang_switch",
        on_change=_switch_language,
    )
    st.sidebar.toggle(t("sidebar.projector"), help=t("sidebar.projector_help"), **shared("projector", False))
    # fixed CSS, no user text; a style-only html element takes no room on the page
    st.html(BASE_CSS + (PROJECTOR_CSS if projector() else ""))


# An equation wider than its column (Home's side column on a tablet) scrolls instead of being cut off
BASE_CSS = """<style>
[data-testid="stMain"] .katex-display { overflow-x: auto; overflow-y: hidden; }
</style>"""


PROJECTOR_CSS = """<style>
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label,
[data-testid="stMain"] input, [data-testid="stMain"] textarea { font-size: 1.35rem !important; }
[data-testid="stMain"] h1 { font-size: 3rem !important; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 2.1rem !important; }
[data-testid="stMetricValue"] { font-size: 2.4rem !important; }
</style>"""


FRAMED = "_framed"


def frame() -> None:
    """What app.py does before the page: the wide layout, the language, the sidebar switches.

    A page also calls it (through `sidebar`) when app.py did not run first: Streamlit serves the very
    first request after a start from the `pages/` folder on its own, and that view should look the same.
    """
    st.set_page_config(page_title="Seq2Seq Attention Explorer", page_icon="🧭", layout="wide")
    language()
    links.apply(lambda: [p.name for p in list_checkpoints(checkpoints_root())[0]])  # a link just opened
    interface_controls()
    st.session_state[FRAMED] = True


def projector() -> bool:
    return bool(st.session_state.get("_projector"))


def default_checkpoint(valid: list[Path]) -> str:
    return families.default_name([p.name for p in valid], direction())


def remember_sentence(new: str, link: dict | None = None) -> None:
    """Switch the session to direction `new`. Each direction keeps its own sentence: switching to
    Korean→English brings back the last Korean sentence (or the lecture's first), not the English one in
    the box. A link that names its sentence (`link`: what the box held before it) leaves the box as it is."""
    state = st.session_state
    old = direction()
    if new == old:
        return
    state[DIRECTION_STATE] = new
    if link is not None:
        if link.get("before"):
            state[f"_sentence@{old}"] = link["before"]
        return
    if "_sentence" in state:
        state[f"_sentence@{old}"] = state["_sentence"]
    state["_sentence"] = state.get(f"_sentence@{new}", lecture_sentences(new)[0])
    if "sentence" in state:
        state["sentence"] = state["_sentence"]


def _switch_direction() -> None:
    remember_sentence(st.session_state["dir_switch"])


def direction_control(by_direction: dict[str, list[Path]]) -> str:
    """The direction switch (shown when both directions have a model) and the direction this run uses.

    A link's `dir=` says the direction, and a link's model decides its own; a link's sentence stays in the
    box. A direction with no model falls back to one that has, and says so."""
    state = st.session_state
    available = [d for d in families.DIRECTIONS if by_direction.get(d)]
    link = state.pop("_sentence_from_link", None)
    asked = state.pop("_dir_from_link", None)
    if state.pop("_checkpoint_from_link", False):
        asked = next(
            (d for d in available if state.get("_checkpoint") in {p.name for p in by_direction[d]}), asked
        )
    if asked is not None:
        if asked not in available:
            st.sidebar.warning(t("sidebar.direction_missing", asked=t("direction." + asked)), icon="🔗")
        else:
            remember_sentence(asked, link)
    chosen = direction()
    if chosen not in available:
        remember_sentence(available[0])
        chosen = available[0]
    if len(available) > 1:
        state["dir_switch"] = chosen
        st.sidebar.radio(  # one line each: two long labels side by side would not fit the sidebar
            t("sidebar.direction"), available, format_func=lambda d: t("direction." + d), key="dir_switch",
            on_change=_switch_direction, help=t("sidebar.direction_help"),
        )  # fmt: skip
    return chosen


def reverse_model(by_direction: dict[str, list[Path]], chosen: str) -> Path | None:
    """The other direction's default model (its attention model): back-translation and a second opinion."""
    other = families.other_direction(chosen)
    names = {p.name: p for p in by_direction.get(other, [])}
    return names[families.default_name(list(names), other)] if names else None


def checkpoint_label(name: str) -> str:
    """A checkpoint in the picker, with its family first: "General · enko-general-additive"."""
    family = families.family_of(name)
    return f"{t('family.' + family)} · {name}" if family else name


def _run_through_app() -> None:
    """The first request after a server start can run a page without app.py: Streamlit sees the `pages/`
    folder and builds its own navigation from the file names. Turn that legacy mode off, as
    `st.navigation` itself does when app.py runs, and run again through app.py."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


def settings() -> Settings:
    """Draw the sidebar and return its choices: the model (loaded, or the page stops with why) and the search."""
    if not st.session_state.pop(FRAMED, False):  # this run began at the page, not at app.py
        _run_through_app()
    root = checkpoints_root()
    valid, skipped = list_checkpoints(root)
    bar = st.sidebar
    bar.header(t("sidebar.model"))
    if not valid:
        bar.error(t("sidebar.no_checkpoint"))
        st.error(t("sidebar.no_checkpoint_long", root=markdown_text(root)))
        _skipped(skipped)
        st.stop()
    by_direction: dict[str, list[Path]] = {}
    for folder in families.ordered(valid):
        by_direction.setdefault(checkpoint_direction(folder), []).append(folder)
    chosen_direction = direction_control(by_direction)
    valid = by_direction[chosen_direction]
    reverse = reverse_model(by_direction, chosen_direction)
    names = [p.name for p in valid]
    if st.session_state.get("_checkpoint") not in names:
        st.session_state["_checkpoint"] = default_checkpoint(valid)
    name = bar.selectbox(
        t("sidebar.checkpoint"), names, format_func=checkpoint_label,
        help=t("sidebar.checkpoint_help", root=markdown_text(root)), **shared("checkpoint", names[0]),
    )  # fmt: skip
    family = families.family_of(name)
    if family:
        bar.caption(t(f"family.{family}_learned"))
    _skipped(skipped)
    folder = root / name
    try:
        translator = load(folder)
    except ERRORS as exc:
        st.error(t("sidebar.cannot_load", name=markdown_text(name), error=markdown_text(exc)))
        st.stop()
    _model_summary(translator)
    bar.header(t("sidebar.decoding"))
    beam = bar.slider(
        t("sidebar.beam"), 1, 10, help=t("sidebar.beam_help"), **shared("beam_size", APP_SEARCH.beam_size)
    )
    max_len = bar.number_input(
        t("sidebar.max_len"), 0, 400, step=10, help=t("sidebar.max_len_help"), **shared("max_len", 0)
    )
    links.write(
        m=name, beam=int(beam), lang=language(), proj=projector(),
        dir=None if chosen_direction == "enko" else chosen_direction,
    )  # fmt: skip
    links.show_refused()
    if bar.button("🔗 " + t("share.button"), key="share_open", help=t("share.help"), width="stretch"):
        share_dialog()
    return Settings(folder, translator, app_search(int(beam), int(max_len) or None), valid, reverse)


def share_dialog() -> None:
    """The link to this very view and its QR code, in a dialog over the page."""

    @st.dialog(t("share.title"), width="large")
    def dialog() -> None:
        links.share_panel(links.share_link(), projector())

    dialog()


def _skipped(skipped: list[tuple[Path, str]]) -> None:
    if not skipped:
        return
    with st.sidebar.expander(t("sidebar.skipped", n=len(skipped))):
        for folder, reason in skipped:
            st.text(f"{folder.name}: {reason}")


def _model_summary(translator: Translator) -> None:
    info = translator.describe()
    device = translator.device
    bar = st.sidebar
    where = "GPU" if device.type == "cuda" else "CPU"
    bar.caption(t("sidebar.device", where=where, device=markdown_text(device)))
    bar.markdown(
        "\n".join(
            [
                f"- {t('sidebar.attention')}: {markdown_text(attention_label(translator))}",
                f"- {t('sidebar.shape', embed=info['embed_dim'], hidden=info['hidden_size'])}",
                f"- {t('sidebar.vocab')}: {markdown_text(info['vocab'])}",
                f"- {t('sidebar.parameters')}: {info['parameters']:,}",
                f"- {test_scores_line(translator.folder)}",
            ]
        )
    )


def test_scores_line(folder: Path) -> str:
    try:
        scores = read_json(folder / "eval_summary.json")
    except ValueError:
        scores = None
    if isinstance(scores, dict) and scores.get("chrf") is not None:
        return t("sidebar.test_scores", chrf=f"{scores['chrf']:.1f}", bleu=f"{scores.get('bleu', float('nan')):.1f}",
                 n=scores.get("sentences", "?"), beam=scores.get("beam_size", "?"))  # fmt: skip
    return t("sidebar.not_evaluated")
