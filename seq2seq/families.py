"""Model families: the checkpoints trained on one corpus, an attention model beside its fixed-context twin.

A checkpoint's folder says its family: `<direction>-<family>-<variant>` (`enko-general-additive`,
`enko-software-fixed`, `koen-general-additive`). The general family knows everyday English, the software
family LibreOffice's help; the lecture's comparison pairs a model with its own family's twin, never across
families. A checkpoint's direction (English→Korean or Korean→English) is what its config says it learned;
one made before there were two directions is English→Korean.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from .config import DIRECTIONS  # English→Korean first: the lecture's own direction

FAMILIES = ("general", "software")  # the app's order: the class types everyday sentences first
DEFAULTS = (  # the app's default, then its fallbacks; a direction's own come first (`default_name`)
    "enko-general-additive",
    "enko-software-additive",
    "koen-general-additive",
)
LANGUAGES = {"enko": ("en", "ko"), "koen": ("ko", "en")}  # (source, target)


def direction_of(config: dict) -> str:
    """'enko' or 'koen' from a checkpoint's config.json (its training config says; before it did, enko)."""
    train = config.get("train") if isinstance(config, dict) else None
    direction = train.get("direction", "enko") if isinstance(train, dict) else "enko"
    return direction if direction in DIRECTIONS else "enko"


def other_direction(direction: str) -> str:
    return "koen" if direction == "enko" else "enko"


_NAME = re.compile(r"[a-z]+-(?P<family>[a-z]+)-[a-z0-9-]+")


def family_of(name: str) -> str:
    """'general', 'software', or '' for a checkpoint whose name names no known family."""
    match = _NAME.fullmatch(name)
    family = match["family"] if match else ""
    return family if family in FAMILIES else ""


def ordered(checkpoints: Sequence[Path]) -> list[Path]:
    """By family in `FAMILIES` order (unknown families last), attention models first, then by name."""

    def key(path: Path) -> tuple:
        family = family_of(path.name)
        rank = FAMILIES.index(family) if family else len(FAMILIES)
        return rank, path.name.endswith("-fixed"), path.name

    return sorted(checkpoints, key=key)


def default_name(names: Sequence[str], direction: str = "enko") -> str:
    mine = [d for d in DEFAULTS if d.startswith(direction + "-")]
    return next((d for d in [*mine, *DEFAULTS] if d in names), names[0])


def twins(
    chosen: Path, checkpoints: Sequence[Path], attention_of: Callable[[Path], str]
) -> tuple[Path | None, Path | None]:
    """(attention model, fixed-context model) of `chosen`'s family, for the lecture's comparison.

    `attention_of` reads a checkpoint's attention type ('additive', 'none', '?' when unreadable). A
    checkpoint of no known family is paired with the other checkpoints of no known family.
    """
    family = family_of(chosen.name)
    kin = [p for p in ordered(checkpoints) if family_of(p.name) == family]
    kinds = {p: attention_of(p) for p in kin}
    attention = [p for p in kin if kinds[p] not in ("none", "?")]
    fixed = [p for p in kin if kinds[p] == "none"]
    if chosen in kinds and kinds[chosen] not in ("none", "?"):
        attention.insert(0, chosen)
    if chosen in kinds and kinds[chosen] == "none":
        fixed.insert(0, chosen)
    return (attention[0] if attention else None), (fixed[0] if fixed else None)


def other_family(
    chosen: Path, checkpoints: Sequence[Path], attention_of: Callable[[Path], str]
) -> Path | None:
    """The attention model of the other known family: where a sentence far from `chosen`'s data may be
    at home ("Click OK" on the general model)."""
    family = family_of(chosen.name)
    for path in ordered(checkpoints):
        other = family_of(path.name)
        if other and other != family and attention_of(path) not in ("none", "?"):
            return path
    return None
