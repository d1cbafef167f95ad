"""User and model text made safe for Streamlit: literal in markdown, inert in HTML."""

from __future__ import annotations

import re
from collections.abc import Sequence

from seq2seq.diagnostics import DiffPiece

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|$:~<>&=\"'])")


def markdown_text(text: object) -> str:
    """User text made literal inside st.markdown: every markdown, math (`$`) and directive (`:`) sign escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text).replace("\n", " "))


def html_text(text: object) -> str:
    """User text for an HTML snippet shown by st.markdown: HTML-escaped, and ASCII punctuation written as
    numeric entities so the markdown pass (emphasis, `$` math, `:colour[...]`) cannot read it either."""
    return "".join(ch if ch.isalnum() or ch == " " or ord(ch) > 127 else f"&#{ord(ch)};" for ch in str(text))


def diff_html(pieces: Sequence[DiffPiece], level: str = "word") -> str:
    """One `<div>` line: missing reference text struck through in red, extra hypothesis text in green.

    Every piece goes through `html_text`, so user text can never become markup.
    """
    style = {
        "delete": "background:#fde2e1;color:#a61b1b;text-decoration:line-through;",
        "insert": "background:#dcf5dc;color:#17651a;",
        "equal": "",
    }
    sep = " " if level == "word" else ""
    spans = [
        f'<span style="{style[p.op]}">{html_text(p.text)}</span>' if style[p.op] else html_text(p.text)
        for p in pieces
    ]
    return f'<div style="line-height:1.9;font-size:1.05rem;">{sep.join(spans)}</div>'
