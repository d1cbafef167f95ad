"""What every page shares: the cached model loader, the sidebar, the sentence box, display helpers.

Widgets every page shows (checkpoint, beam size, max length, the sentence) are drawn anew by each
page, so their values are mirrored in `_<key>` entries (`shared`), which survive a page switch.
One `st.cache_resource` loader serves every page and every browser session (models are read-only);
`st.session_state` holds only UI state, per browser session.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st
import torch

from seq2seq import families, viz
from seq2seq.checkpoint import MODEL_FILE, CheckpointError, list_checkpoints, read_config
from seq2seq.data import CorpusError
from seq2seq.decoding import APP_SEARCH, Search, app_search
from seq2seq.evaluate import buckets_table
from seq2seq.export import file_name
from seq2seq.familiarity import SourceLM, knows_better
from seq2seq.jsonfiles import read_json
from seq2seq.lecture import LECTURE_SENTENCES
from seq2seq.model import ATTENTIONS
from seq2seq.neighbours import TRAIN_FILE
from seq2seq.translator import MAX_INPUT_CHARS, Translation, Translator, load_translator

from . import links
from .i18n import LANGUAGES, labels, language, set_language, t
from .text import html_text, markdown_text

APP_DIR = Path(__file__).resolve().parents[1]
viz.use_template()  # the app's figures: white, light grid
ERRORS = (ValueError, CheckpointError, CorpusError, OSError)  # what the library raises for bad input
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


def checkpoints_root() -> Path:
    return Path(os.environ.get("SEQ2SEQ_CHECKPOINTS") or APP_DIR / "checkpoints")


def stamp(folder: Path) -> float:
    return (folder / MODEL_FILE).stat().st_mtime


# --------------------------------------------------------------------------- loading
@st.cache_resource(show_spinner=False, max_entries=6)
def _load(path: str, stamp: float) -> Translator:
    """One Translator per checkpoint folder (and file time, so a retrained model is reloaded)."""
    # One sentence is small matrices: a second intra-op thread barely helps, and when the CPU is busy
    # (another process training) it makes decoding 10-50x slower. SEQ2SEQ_THREADS overrides.
    torch.set_num_threads(max(1, int(os.environ.get("SEQ2SEQ_THREADS") or 1)))
    started = time.perf_counter()
    translator = load_translator(path)
    translator.translate("Warm up.")  # the first call pays one-off setup; keep it out of the times shown
    # one line in the server log per load: the load tests check that a model is loaded once, not per session
    print(
        f"seq2seq: loaded model {path} on {translator.device} in {time.perf_counter() - started:.2f} s",
        file=sys.stderr,
        flush=True,
    )
    return translator


def load(folder: Path) -> Translator:
    with st.spinner(t("common.loading")):
        return _load(str(folder), stamp(folder))


@st.cache_data(max_entries=256, show_spinner=False)
def _translate(_translator: Translator, path: str, stamp: float, text: str, search: Search) -> Translation:
    return _translator.translate(text, search)


@st.cache_data(max_entries=64, show_spinner=False)
def _saliency(_translator: Translator, path: str, stamp: float, result: Translation, rank: int, method: str):
    return _translator.saliency(result, method, candidate=result.nbest[rank])


def saliency(settings: Settings, result: Translation, rank: int, method: str):
    """Gradient attribution for hypothesis `rank` of `result`, computed once per sentence and method."""
    translator = settings.translator
    with st.spinner(t("translate.saliency_computing")):
        return _saliency(translator, str(translator.folder), stamp(translator.folder), result, rank, method)


def attention_type(folder: Path) -> str:
    """The checkpoint's attention ('additive', 'none', ...) from config.json, without loading weights."""
    try:
        return str(read_config(folder)["model"].get("attention", "additive"))
    except (CheckpointError, AttributeError):
        return "?"


@dataclass
class Settings:
    """The sidebar's choices for this run of the page."""

    folder: Path
    translator: Translator
    search: Search
    checkpoints: list[Path]

    @property
    def beam_size(self) -> int:
        return self.search.beam_size

    def translate(
        self, text: str, search: Search | None = None, translator: Translator | None = None
    ) -> Translation:
        translator = translator or self.translator
        return _translate(
            translator, str(translator.folder), stamp(translator.folder), text, search or self.search
        )

    def by_name(self) -> dict[str, Path]:
        return {p.name: p for p in self.checkpoints}


# --------------------------------------------------------------------------- page frame and sidebar
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
    return families.default_name([p.name for p in valid])


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


def sidebar() -> Settings:
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
    valid = families.ordered(valid)
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
    links.write(m=name, beam=int(beam), lang=language(), proj=projector())
    links.show_refused()
    if bar.button("🔗 " + t("share.button"), key="share_open", help=t("share.help"), width="stretch"):
        share_dialog()
    return Settings(folder, translator, app_search(int(beam), int(max_len) or None), valid)


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


# --------------------------------------------------------------------------- shared widgets and helpers
def _use_example() -> None:
    example = st.session_state.get("example")
    if example:
        st.session_state["sentence"] = st.session_state["_sentence"] = example.split(" · ", 1)[1]


def example_options() -> list[str]:
    return [f"{t('examples.' + group)} · {text}" for group, texts in EXAMPLES.items() for text in texts]


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
    st.session_state.setdefault("_sentence", EXAMPLES["everyday"][0])
    st.session_state["sentence"] = st.session_state["_sentence"]
    st.text_area(
        t("sentence.label"), height=80, max_chars=MAX_INPUT_CHARS, help=t("sentence.help"), key="sentence",
        on_change="ignore",
    )  # fmt: skip
    st.button(t("sentence.translate"), type="primary", key="translate")
    links.write(s=st.session_state["_sentence"])
    return st.session_state["_sentence"]


def say(message: object) -> str:
    """A library message in the interface language when it carries a code (Notice, InputError), else as is."""
    code, values = getattr(message, "code", None), dict(getattr(message, "values", {}) or {})
    if code == "unfamiliar":
        why = [t(f"warn.unfamiliar_{reason}", **values) for reason in values.get("reasons", [])]
        return t("warn.unfamiliar", why="; ".join(why))
    if code:
        return t(("err." if isinstance(message, BaseException) else "warn.") + code, **values)
    return str(message)


def show_error(what: str, exc: BaseException) -> None:
    st.error(f"{what}: {markdown_text(say(exc))}")


def show_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        st.warning(
            markdown_text(say(warning)), icon="⚠️" if getattr(warning, "code", "") == "unfamiliar" else None
        )


def big_text(text: str, size: str = "1.5rem") -> None:
    """A translation, large; every character escaped, so it is text whatever the model or user wrote."""
    if projector():
        size = f"calc({size} * 1.5)"
    st.markdown(
        f'<div style="font-size:{size};line-height:1.5;">{html_text(text)}</div>', unsafe_allow_html=True
    )


def translate(
    settings: Settings, text: str, search: Search | None = None, translator: Translator | None = None
) -> Translation | None:
    """Translate, or show why not (st.error) and return None."""
    try:
        return settings.translate(text, search, translator)
    except ERRORS as exc:
        show_error(t("common.cannot_translate"), exc)
        return None


def models_by_attention(settings: Settings) -> tuple[Path | None, Path | None]:
    """(attention model, fixed-context model) of the chosen model's family, for the lecture's comparison."""
    return families.twins(settings.folder, settings.checkpoints, attention_type)


def use_checkpoint(name: str) -> None:
    """A button's callback: switch the sidebar's model (the next run shows it)."""
    st.session_state["_checkpoint"] = name


def source_model(folder: Path) -> SourceLM | None:
    """The bigram model of a checkpoint's training English, built once per server (a few seconds)."""
    try:
        changed = (folder / TRAIN_FILE).stat().st_mtime
    except OSError:
        return None
    with st.spinner(t("common.loading")):
        return _source_model(str(folder), changed)


@st.cache_resource(show_spinner=False, max_entries=4)
def _source_model(path: str, changed: float) -> SourceLM | None:
    return SourceLM.of_checkpoint(path)


def family_hint(settings: Settings, result: Translation) -> None:
    """When the other family's training English predicts the sentence clearly better than the chosen
    model's ("Click OK" on the general model), say so, with a one-click switch."""
    other = families.other_family(settings.folder, settings.checkpoints, attention_type)
    if other is None:
        return
    here, there = source_model(settings.folder), source_model(other)
    gain = knows_better(result.source, here, there) if here and there else None
    if gain is None:
        return
    family = families.family_of(other.name)
    st.info(t("family.better", family=t("family." + family), name=other.name, bits=f"{gain:.1f}"), icon="💡")
    st.button(
        t("family.switch", name=other.name), key=pick_key("family_switch", result.source, other.name),
        on_click=use_checkpoint, args=(other.name,), icon="🔀",
    )  # fmt: skip


def attention_label(translator: Translator) -> str:
    """The model's attention in the interface language; a variant the catalogues do not name yet shows
    its own (English) label."""
    name = translator.model.cfg.attention
    return labels("attention").get(name, ATTENTIONS[name].label)


def pick_key(base: str, *parts) -> str:
    """A widget key that changes with what it depends on (sentence, model, beam): a new sentence starts
    the widget afresh instead of keeping a pick that no longer means anything."""
    digest = hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:10]
    return f"{base}_{digest}"


def figure_labels() -> dict[str, str]:
    return labels("viz")


def _enlarge(fig: go.Figure) -> None:
    """Projector mode's larger text and figure, once: a figure drawn again keeps its size."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    if not meta.get("projector"):
        fig.update_layout(
            font_size=18, height=int((fig.layout.height or 400) * 1.3), meta={**meta, "projector": True}
        )
        fig.update_xaxes(tickfont_size=17)
        fig.update_yaxes(tickfont_size=17)


def shared_figure(kind: str, *args: Any, **kwargs: Any) -> go.Figure:
    """`viz.<kind>(*args, **kwargs)` in this session's language and size, built once for every session of
    the server: a class that follows a lesson draws the same step's figures, and each costs tens of ms.
    The figure is shared, so nobody may change it (`chart` does not)."""
    return _shared_figure(kind, str(st.session_state.get("_lang")), projector(), args, kwargs)


@st.cache_resource(max_entries=256, show_spinner=False)
def _shared_figure(kind: str, lang: str, big: bool, args: tuple, kwargs: dict) -> go.Figure:
    fig = getattr(viz, kind)(*args, labels=figure_labels(), **kwargs)
    if big:
        _enlarge(fig)
    return fig


def chart(fig: go.Figure, key: str, *, name: str | None = None) -> None:
    """Draw a figure: larger in projector mode, and a camera button that saves a PNG in the browser (no
    network needed), named after the model and sentence."""
    if projector():
        _enlarge(fig)
    config = {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": (name or key).removesuffix(".png"), "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }
    st.plotly_chart(fig, key=key, config=config)


def png_name(settings: Settings, source: str, what: str) -> str:
    return file_name(settings.translator.name, source, what, "png")


def show_buckets(buckets_by_model: dict[str, list[dict]], key: str) -> None:
    """Scores per source-length bucket; an empty bucket shows "–" (the numbers stay numbers, so sorting works)."""
    table = buckets_table(buckets_by_model).rename(columns={"source words": t("table.source_words")})
    st.dataframe(table, hide_index=True, key=key, placeholder=MISSING)


def no_attention(name: str | None = None) -> None:
    st.info(
        t("common.no_attention") if name is None else t("common.no_attention_named", name=markdown_text(name))
    )


def heatmap_range_control(key: str) -> str:
    """Full colour range (0–1) or auto (0–largest α), for weights well below 0.3."""
    return st.segmented_control(
        t("heatmap.range"), ["full", "auto"], format_func=lambda v: t(f"heatmap.range_{v}"), key=key, default="full",
        help=t("heatmap.range_help"), required=True,
    )  # fmt: skip


def metric(label: str, value, help: str | None = None) -> None:
    """A number with its label at its own width, for a `row()`: never squeezed until the label is cut."""
    st.metric(label, value, help=help, width="content")


def row():
    """Elements side by side at their own width, wrapping to the next line on a narrow screen (a tablet)
    instead of squeezing columns until labels are cut."""
    return st.container(horizontal=True, wrap=True, gap="medium", vertical_alignment="bottom")


__all__ = ["viz", "t"]
