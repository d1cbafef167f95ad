"""The sentences beside a length chart (Home's step 4, Compare): attention's lead over the fixed context by
source length, said with this pair's own numbers; where the lead on long sentences is small, one click
to the family whose pair shows the bottleneck."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from seq2seq import families
from seq2seq.checkpoint import BUCKETS_FILE
from seq2seq.jsonfiles import read_json
from seq2seq.lecture import LengthGap, length_gap

from .i18n import t
from .models import Settings, attention_type, use_checkpoint
from .widgets import pick_key


def _buckets(folder: Path | None) -> list[dict] | None:
    try:
        return read_json(folder / BUCKETS_FILE) if folder is not None else None
    except ValueError:
        return None


def pair_gap(attention: Path | None, fixed: Path | None) -> LengthGap | None:
    a, f = _buckets(attention), _buckets(fixed)
    return length_gap(a, f) if a and f else None


def _listed(gaps: dict[str, float]) -> str:
    return ", ".join(t("gap.item", gap=f"{g:+.1f}", bucket=b.replace("-", "–")) for b, g in gaps.items())


def gap_sentences(settings: Settings, attention: Path | None, fixed: Path | None, key: str) -> None:
    """What the chart beside it shows, in words: does the lead grow with length, and is it large on long
    sentences? If not, the other family's pair, when its own numbers show the bottleneck."""
    gap = pair_gap(attention, fixed)
    if gap is None or not gap.gaps:
        return
    st.markdown(t("gap.widens" if gap.widens else "gap.not_widening", gaps=_listed(gap.gaps)))
    if not gap.small_on_long:
        return
    st.markdown(t("gap.small_long", long=_listed(gap.long)))
    other = families.other_family(settings.folder, settings.checkpoints, attention_type)
    if other is None:
        return
    there = pair_gap(*families.twins(other, settings.checkpoints, attention_type))
    if there is None or there.small_on_long or not there.long:
        return
    family = t("family." + families.family_of(other.name))
    st.markdown(t("gap.other_family", family=family, long=_listed(there.long)))
    st.button(
        t("gap.switch", family=family), key=pick_key(key, other.name),
        on_click=use_checkpoint, args=(other.name,), icon="⚖️",
    )  # fmt: skip
