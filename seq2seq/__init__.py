"""Seq2Seq with (Bahdanau) attention: data -> tokenizer -> model -> decoding -> training/evaluation -> figures.

The public API is `load_translator`; everything here runs without Streamlit.
"""

from .translator import Translation, Translator, load_translator
from .words import word_attention

__all__ = ["Translation", "Translator", "load_translator", "word_attention"]
