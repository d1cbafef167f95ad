"""The interface language: English or Korean, from `?lang=` or the sidebar switch, and `t(key)` to look
a string up in that language's catalogue (`strings_en.py`, `strings_ko.py`: the same keys in both).

A missing key is a bug: with SEQ2SEQ_STRICT_I18N=1 (the tests) it raises; otherwise the English text shows.

A string that reads differently when the models translate Korean into English has a `<key>@koen` twin in
both catalogues; `t(key)` takes it while the session's direction is Korean→English.
"""

from __future__ import annotations

import os
import sys

import streamlit as st

from seq2seq.config import DIRECTIONS

from . import strings_en, strings_ko

CATALOGUES = {"en": strings_en.STRINGS, "ko": strings_ko.STRINGS}
LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT = "en"
STATE = "_lang"
DIRECTION_STATE = "_dir"  # enko | koen: which way this session's models translate (ui.sidebar sets it)


def direction() -> str:
    """'enko' or 'koen': the session's direction ('enko' until the sidebar or a `dir=` link says)."""
    chosen = st.session_state.get(DIRECTION_STATE, "enko")
    return chosen if chosen in DIRECTIONS else "enko"


def language() -> str:
    """The language of this browser session: `?lang=` wins when the page is opened with it."""
    asked = st.query_params.get("lang")
    if asked in CATALOGUES and st.session_state.get("_lang_from_url") != asked:
        st.session_state[STATE] = st.session_state["_lang_from_url"] = asked
    return st.session_state.setdefault(STATE, DEFAULT)


def set_language(lang: str) -> None:
    """The switch: the address bar then says the language too, so a copied link opens the same view."""
    st.session_state[STATE] = lang
    st.session_state["_lang_from_url"] = lang
    st.query_params["lang"] = lang


def t(key: str, **values) -> str:
    """The string `key` in the session's language, `{name}` fields filled from `values`."""
    lang = st.session_state.get(STATE, DEFAULT)
    catalogue = CATALOGUES.get(lang, CATALOGUES[DEFAULT])
    if key not in catalogue:
        if os.environ.get("SEQ2SEQ_STRICT_I18N") == "1":
            raise KeyError(f"interface string {key!r} is missing from the {lang} catalogue")
        print(f"seq2seq: interface string {key!r} is missing ({lang})", file=sys.stderr)
        catalogue = CATALOGUES[DEFAULT]
    if direction() == "koen" and key + "@koen" in catalogue:
        key += "@koen"
    text = catalogue.get(key, key)
    return text.format(**values) if values else text


def labels(prefix: str) -> dict[str, str]:
    """Every string under `prefix.` (e.g. the figure labels, `viz.`) without the prefix."""
    lang = st.session_state.get(STATE, DEFAULT)
    catalogue = CATALOGUES.get(lang, CATALOGUES[DEFAULT])
    return {k[len(prefix) + 1 :]: v for k, v in catalogue.items() if k.startswith(prefix + ".")}
