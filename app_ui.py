"""What every page shares: the cached model loader, the sidebar, the sentence box, display helpers.

Widgets every page shows (checkpoint, beam size, max length, the sentence) are drawn anew by each
page, so their values are mirrored in `_<key>` entries (`shared`), which survive a page switch.
One `st.cache_resource` loader serves every page and every browser session (models are read-only);
`st.session_state` holds only UI state, per browser session.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from seq2seq.analysis import buckets_table, html_text, markdown_text, read_json
from seq2seq.checkpoint import CheckpointError, list_checkpoints, read_config
from seq2seq.data import CorpusError
from seq2seq.evaluate import SUMMARY_FILE
from seq2seq.translator import MAX_INPUT_CHARS, Translation, Translator, load_translator

APP_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL, FIXED_MODEL = "enko-additive", "enko-fixed"
APP_TITLE = "Seq2Seq Attention Explorer"
EXAMPLES = [
    "Choose Format - Cells and click the Borders tab.",
    "Select the cells that you want to merge.",
    "Click the Save button to save the document.",
    "This function returns the number of characters in a text string.",
    "If you want to print only the selected pages, enter the page numbers in the Pages box.",
    "To insert a new sheet, right-click the sheet tab and choose Insert Sheet.",
    "The macro opens the file and deletes the selected table.",
]
ATTENTION_NAMES = {
    "additive": "Bahdanau (additive): e_ij = vᵀ tanh(W s_{i-1} + U h_j)",
    "dot": "Luong dot: e_ij = s_{i-1}ᵀ h_j",
    "general": "Luong general: e_ij = s_{i-1}ᵀ W h_j",
    "none": "none: one fixed context vector c",
}
NO_ATTENTION = (
    "This checkpoint has **no attention**: the encoder squeezes the whole sentence into one fixed-size "
    "context vector c, and the decoder receives that same c at every step. There are no weights α_ij "
    "to draw. This is the lecture's point 4, the bottleneck that attention removes."
)
ERRORS = (ValueError, CheckpointError, CorpusError, OSError)  # what the library raises for bad input


def checkpoints_root() -> Path:
    return Path(os.environ.get("SEQ2SEQ_CHECKPOINTS") or APP_DIR / "checkpoints")


# --------------------------------------------------------------------------- loading
@st.cache_resource(show_spinner="Loading the model…", max_entries=6)
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
    return _load(str(folder), (folder / "model.pt").stat().st_mtime)


@st.cache_data(max_entries=256, show_spinner=False)
def _translate(
    _translator: Translator, path: str, stamp: float, text: str, beam_size: int, max_len: int | None
) -> Translation:
    return _translator.translate(text, beam_size=beam_size, max_len=max_len)


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
    beam_size: int
    max_len: int | None
    checkpoints: list[Path]

    def translate(
        self, text: str, beam_size: int | None = None, translator: Translator | None = None
    ) -> Translation:
        translator = translator or self.translator
        return _translate(
            translator,
            str(translator.folder),
            (translator.folder / "model.pt").stat().st_mtime,
            text,
            beam_size or self.beam_size,
            self.max_len,
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


def page(title: str, icon: str) -> Settings:
    """Page config, then the sidebar; stops the page (with a message) when no model can be loaded."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide")
    return sidebar()


def default_checkpoint(valid: list[Path]) -> str:
    names = [p.name for p in valid]
    return DEFAULT_MODEL if DEFAULT_MODEL in names else names[0]


def sidebar() -> Settings:
    root = checkpoints_root()
    valid, skipped = list_checkpoints(root)
    bar = st.sidebar
    bar.header("Model")
    if not valid:
        bar.error("No checkpoint to load.")
        st.error(
            f"No valid checkpoint folder in `{markdown_text(root)}`. Train one with "
            "`python -m seq2seq train --config configs/enko-additive.yaml` and copy `runs/<name>/best` there, "
            "or point the environment variable `SEQ2SEQ_CHECKPOINTS` at a folder of checkpoints."
        )
        _skipped(skipped)
        st.stop()
    names = [p.name for p in valid]
    if st.session_state.get("_checkpoint") not in names:
        st.session_state["_checkpoint"] = default_checkpoint(valid)
    name = bar.selectbox(
        "Checkpoint",
        names,
        help=f"Every valid checkpoint folder in {markdown_text(root)}",
        **shared("checkpoint", names[0]),
    )
    _skipped(skipped)
    folder = root / name
    try:
        translator = load(folder)
    except ERRORS as exc:
        st.error(f"Cannot load the checkpoint **{markdown_text(name)}**: {markdown_text(exc)}")
        st.stop()
    _model_summary(translator)
    bar.header("Decoding")
    beam = bar.slider(
        "Beam size",
        1,
        10,
        help="1 = greedy search; more keeps that many hypotheses and gives an n-best list",
        **shared("beam_size", 1),
    )
    max_len = bar.number_input(
        "Max output length (subword tokens, 0 = automatic)",
        0,
        400,
        step=10,
        help="0 means 2 × source tokens + 10",
        **shared("max_len", 0),
    )
    return Settings(folder, translator, int(beam), int(max_len) or None, valid)


def _skipped(skipped: list[tuple[Path, str]]) -> None:
    if not skipped:
        return
    with st.sidebar.expander(f"Skipped folders ({len(skipped)})"):
        for folder, reason in skipped:
            st.text(f"{folder.name}: {reason}")


def _model_summary(translator: Translator) -> None:
    summary = translator.summary()
    device = translator.device
    where = "GPU" if device.type == "cuda" else "CPU"
    bar = st.sidebar
    bar.caption(f"Device in use: **{where}** ({markdown_text(device)})")
    lines = [
        f"- attention: {markdown_text(ATTENTION_NAMES.get(summary['attention'], summary['attention']))}",
        f"- embedding {summary['embed_dim']}, hidden {summary['hidden_size']} per direction",
        f"- vocabulary (en / ko): {markdown_text(summary['vocab'])}",
        f"- parameters: {summary['parameters']:,}",
    ]
    try:
        scores = read_json(translator.folder / SUMMARY_FILE)
    except ValueError:
        scores = None
    if isinstance(scores, dict) and scores.get("chrf") is not None:
        lines.append(
            f"- test: chrF **{scores['chrf']:.1f}**, BLEU **{scores.get('bleu', float('nan')):.1f}** "
            f"({scores.get('sentences', '?')} sentences, beam {scores.get('beam_size', '?')})"
        )
    else:
        lines.append("- test scores: not evaluated yet")
    bar.markdown("\n".join(lines))


# --------------------------------------------------------------------------- shared widgets and helpers
def _use_example() -> None:
    example = st.session_state.get("example")
    if example:
        st.session_state["sentence"] = st.session_state["_sentence"] = example


def sentence_input(label: str = "English sentence") -> str:
    """The sentence box every page shares (key `sentence`), an example picker and the Translate button."""
    st.selectbox(
        "Example sentences (LibreOffice help style)",
        EXAMPLES,
        index=None,
        key="example",
        placeholder="Pick an example…",
        on_change=_use_example,
    )
    text = st.text_area(
        label,
        height=80,
        max_chars=MAX_INPUT_CHARS,
        help="Press Ctrl+Enter or click Translate.",
        **shared("sentence", EXAMPLES[0]),
    )
    st.button("Translate", key="translate", type="primary")
    return text


def show_error(what: str, exc: BaseException) -> None:
    st.error(f"{what}: {markdown_text(exc)}")


def show_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        st.warning(markdown_text(warning))


MISSING = "–"  # a score that does not exist (a length bucket with no test sentence)


def show_buckets(buckets_by_model: dict[str, list[dict]], key: str) -> None:
    """Scores per source-length bucket; an empty bucket shows "–" (the numbers stay numbers, so sorting works)."""
    st.dataframe(buckets_table(buckets_by_model), hide_index=True, key=key, placeholder=MISSING)


def big_text(text: str, size: str = "1.5rem") -> None:
    """A translation, large; every character escaped, so it is text whatever the model or user wrote."""
    st.markdown(
        f'<div style="font-size:{size};line-height:1.5;">{html_text(text)}</div>', unsafe_allow_html=True
    )


def translate(
    settings: Settings, text: str, beam_size: int | None = None, translator: Translator | None = None
) -> Translation | None:
    """Translate, or show why not (st.error) and return None."""
    try:
        return settings.translate(text, beam_size, translator)
    except ERRORS as exc:
        show_error("Cannot translate this input", exc)
        return None


def models_by_attention(checkpoints: list[Path]) -> tuple[Path | None, Path | None]:
    """(attention model, fixed-context model) for the lecture's comparison; the shipped names come first."""
    by_name = {p.name: p for p in checkpoints}
    attn = by_name.get(DEFAULT_MODEL) or next((p for p in checkpoints if attention_type(p) != "none"), None)
    fixed = by_name.get(FIXED_MODEL) or next((p for p in checkpoints if attention_type(p) == "none"), None)
    return attn, fixed
