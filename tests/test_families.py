"""Tests for seq2seq.families: which family a checkpoint belongs to, the app's default, and each model's
twin for the lecture's comparison (never across families)."""

from __future__ import annotations

from pathlib import Path

from seq2seq.families import default_name, family_of, ordered, other_family, twins

NAMES = [
    "enko-software-fixed",
    "my-run",
    "enko-general-fixed",
    "enko-software-additive",
    "enko-general-additive",
]
PATHS = [Path("checkpoints") / n for n in NAMES]


def attention_of(path: Path) -> str:
    return "none" if path.name.endswith("-fixed") else "additive"


def test_a_family_is_the_name_s_middle_word_and_the_general_family_comes_first():
    assert [family_of(n) for n in NAMES] == ["software", "", "general", "software", "general"]
    assert family_of("enko-medical-additive") == ""  # no such family: shown by its name alone
    assert [p.name for p in ordered(PATHS)] == [
        "enko-general-additive", "enko-general-fixed", "enko-software-additive", "enko-software-fixed", "my-run",
    ]  # fmt: skip


def test_the_default_is_the_general_attention_model_then_the_software_one():
    assert default_name(NAMES) == "enko-general-additive"
    assert default_name(["enko-software-fixed", "enko-software-additive"]) == "enko-software-additive"
    assert default_name(["my-run"]) == "my-run"


def test_each_model_is_compared_with_its_own_family_s_twin():
    for chosen, expected in (
        ("enko-general-additive", ("enko-general-additive", "enko-general-fixed")),
        ("enko-general-fixed", ("enko-general-additive", "enko-general-fixed")),
        ("enko-software-fixed", ("enko-software-additive", "enko-software-fixed")),
        ("my-run", ("my-run", None)),
    ):
        attention, fixed = twins(Path("checkpoints") / chosen, PATHS, attention_of)
        assert (attention.name if attention else None, fixed.name if fixed else None) == expected, chosen


def test_the_other_family_is_where_a_far_sentence_may_be_at_home():
    assert (
        other_family(Path("checkpoints/enko-general-additive"), PATHS, attention_of).name
        == "enko-software-additive"
    )
    assert (
        other_family(Path("checkpoints/enko-software-fixed"), PATHS, attention_of).name
        == "enko-general-additive"
    )
    assert other_family(Path("checkpoints/enko-general-additive"), PATHS[2:3], attention_of) is None
