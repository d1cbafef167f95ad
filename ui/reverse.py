"""The other direction's model beside this one's: what a translation says back in the source language
(back-translation), and its second opinion on each n-best hypothesis (the noisy channel, seq2seq.reranking)."""

from __future__ import annotations

import streamlit as st

from seq2seq.reranking import ChannelScore, channel_scores, preferred
from seq2seq.translator import Translation

from .i18n import t
from .models import ERRORS, Settings
from .notices import show_error, translate
from .text import markdown_text
from .widgets import big_text

# λ of the noisy-channel score (seq2seq.reranking), chosen on the dev split with the shipped Korean→English
# model (bench rerank, 100 pairs a domain): beam 10 with λ 1 gained most, +0.95 mean chrF, short of the +1
# that would make reranking the app's default, so Beam search shows the score and its parts beside the others.
CHANNEL_WEIGHT = 1.0


def back_translation(settings: Settings, output: str) -> None:
    """`output` (this model's translation) translated back by the other direction's model, with a caveat."""
    reverse = settings.reverse()
    if reverse is None:
        if settings.direction == "enko":
            st.caption(t("back.none"))
        return
    source_lang = "en" if settings.direction == "enko" else "ko"
    st.caption(t("back.title", lang=t("back.lang." + source_lang)))
    back = translate(settings, output, translator=reverse)
    if back is not None:
        big_text(back.text, "1.2rem")
        st.caption(t("back.caption", name=reverse.name))


def back_texts(settings: Settings, outputs: list[str]) -> list[str | None]:
    """Each output translated back (None where it cannot be), cached like every translation."""
    reverse = settings.reverse()
    if reverse is None:
        return [None] * len(outputs)
    texts: list[str | None] = []
    for output in outputs:
        try:
            texts.append(settings.translate(output, translator=reverse).text)
        except ERRORS:
            texts.append(None)
    return texts


def second_opinion(settings: Settings, result: Translation) -> list[ChannelScore] | None:
    """The noisy-channel scores of `result`'s n-best, or None without a reverse model (shown as an error
    when scoring fails)."""
    reverse = settings.reverse()
    if reverse is None:
        return None
    try:
        return channel_scores(result, reverse, CHANNEL_WEIGHT)
    except (*ERRORS, RuntimeError) as exc:
        show_error(t("back.failed"), exc)
        return None


def channel_hint(settings: Settings, result: Translation) -> None:
    """On Translate: say when the reverse model, reading each hypothesis back, prefers another one, so a
    wrong top translation ("wife" for "phone") comes with a way out. English→Korean only: that is the
    direction where the noisy channel was measured on dev (+0.39 mean chrF at beam 5 with λ 1, `bench rerank`)."""
    if settings.direction != "enko" or len(result.nbest) < 2:
        return
    scores = second_opinion(settings, result)
    if not scores or (best := preferred(scores)) == 0:
        return
    st.info(t("back.channel_hint", n=best + 1, text=markdown_text(result.nbest[best].text)), icon="🔁")
