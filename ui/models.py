"""The models every page uses: one `Translator` per checkpoint for the whole server (`st.cache_resource`;
models are read-only), translations and attributions cached, and the sidebar's choices as `Settings`."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from seq2seq import families
from seq2seq.checkpoint import MODEL_FILE, CheckpointError, read_config
from seq2seq.data import CorpusError
from seq2seq.decoding import Search
from seq2seq.familiarity import SourceLM
from seq2seq.model import ATTENTIONS
from seq2seq.neighbours import TRAIN_FILE
from seq2seq.translator import Translation, Translator, load_translator

from .i18n import labels, t

APP_DIR = Path(__file__).resolve().parents[1]
ERRORS = (ValueError, CheckpointError, CorpusError, OSError)  # what the library raises for bad input


def checkpoints_root() -> Path:
    return Path(os.environ.get("SEQ2SEQ_CHECKPOINTS") or APP_DIR / "checkpoints")


def stamp(folder: Path) -> float:
    return (folder / MODEL_FILE).stat().st_mtime


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


def checkpoint_direction(folder: Path) -> str:
    """'enko' or 'koen' from config.json, without loading weights (an unreadable one counts as enko)."""
    try:
        return families.direction_of(read_config(folder))
    except CheckpointError:
        return "enko"


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
    checkpoints: list[Path]  # this direction's
    reverse_folder: Path | None = None  # the other direction's attention model, if one is installed

    @property
    def direction(self) -> str:
        return self.translator.direction

    def reverse(self) -> Translator | None:
        """The other direction's model (loaded once per server), or None when there is none or it is broken."""
        if self.reverse_folder is None:
            return None
        try:
            return load(self.reverse_folder)
        except ERRORS:
            return None

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


def attention_label(translator: Translator) -> str:
    """The model's attention in the interface language; a variant the catalogues do not name yet shows
    its own (English) label."""
    name = translator.model.cfg.attention
    return labels("attention").get(name, ATTENTIONS[name].label)
