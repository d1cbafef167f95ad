"""Seq2Seq Attention Explorer: the router. Every page lives in pages/; this file names them in the
interface language, puts the language switch and projector mode in the sidebar, and runs the page."""

import streamlit as st

from ui import sidebar
from ui.i18n import t

# file (its name is its address: /translate, /step_through, ...), title key, icon; the first is home, at /
PAGES = (
    ("pages/home.py", "nav.home", "🧭"),
    ("pages/translate.py", "nav.translate", "🔤"),
    ("pages/step_through.py", "nav.step", "👣"),
    ("pages/beam_search.py", "nav.beam", "🌳"),
    ("pages/compare.py", "nav.compare", "⚖️"),
    ("pages/error_analysis.py", "nav.errors", "🔍"),
    ("pages/training.py", "nav.training", "🎞️"),
    ("pages/model_card.py", "nav.card", "📇"),
)

sidebar.frame()
navigation = st.navigation(
    [st.Page(path, title=t(key), icon=icon, default=i == 0) for i, (path, key, icon) in enumerate(PAGES)]
)
st.session_state["_page_path"] = navigation.url_path  # the share link's page ("" for Home)
navigation.run()
