"""What a page says beside its figures: the library's errors and warnings in the interface language, a
model without attention, and a sentence the other family knows better."""

from __future__ import annotations

import streamlit as st

from seq2seq import families
from seq2seq.decoding import Search
from seq2seq.familiarity import knows_better
from seq2seq.translator import Translation, Translator

from .i18n import t
from .models import ERRORS, Settings, attention_type, source_model, use_checkpoint
from .text import markdown_text
from .widgets import pick_key


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


def translate(
    settings: Settings, text: str, search: Search | None = None, translator: Translator | None = None
) -> Translation | None:
    """Translate, or show why not (st.error) and return None."""
    try:
        return settings.translate(text, search, translator)
    except ERRORS as exc:
        show_error(t("common.cannot_translate"), exc)
        return None


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


def no_attention(name: str | None = None) -> None:
    st.info(
        t("common.no_attention") if name is None else t("common.no_attention_named", name=markdown_text(name))
    )
