"""The interface catalogues: the same keys and placeholders in English and Korean, every key the code
looks up exists, the figure labels are all there, and Korean uses the lecture's terms."""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import Path

import pytest

from seq2seq.viz.style import LABELS
from ui import strings_en, strings_ko

REPO = Path(__file__).resolve().parents[1]
EN, KO = strings_en.STRINGS, strings_ko.STRINGS
LOOKUP = re.compile(r"""\bt\(\s*(?:f?)["']([^"'{}]+)["']""")
PREFIXED = re.compile(r"""\bt\(\s*(?:f?)["']([a-z_.]+\.)(?:["']\s*\+|\{)""")


def code_files() -> list[Path]:
    return [
        REPO / "app.py",
        *sorted((REPO / "ui").glob("*.py")),
        *sorted((REPO / "pages").glob("*.py")),
        *sorted((REPO / "classroom").glob("*.py")),
        *sorted((REPO / "classroom" / "static").glob("*.js")),
    ]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_have_the_same_keys_and_placeholders():
    assert set(EN) == set(KO), set(EN) ^ set(KO)
    for key in EN:
        assert fields(EN[key]) == fields(KO[key]), key
        assert KO[key].strip(), key


def test_every_key_the_code_looks_up_is_in_the_catalogue():
    used, prefixes = set(), set()
    for path in code_files():
        text = path.read_text(encoding="utf-8")
        used |= {k for k in LOOKUP.findall(text) if not k.endswith(".")}
        prefixes |= set(PREFIXED.findall(text))
    assert len(used) > 150
    assert not used - set(EN), sorted(used - set(EN))
    for (
        prefix
    ) in prefixes:  # keys built at run time ("errors.flag." + flag) have their family in the catalogue
        assert any(k.startswith(prefix) for k in EN), prefix


def test_figure_labels_are_all_translated():
    assert {k.removeprefix("viz.") for k in EN if k.startswith("viz.")} == set(LABELS)
    assert all(EN["viz." + k] == v for k, v in LABELS.items())  # the figures' defaults are the English ones


@pytest.mark.parametrize(
    "term", ["인코더", "디코더", "어텐션 가중치 α", "에너지 e", "문맥 벡터 c", "빔 탐색"]
)
def test_korean_uses_the_lectures_terms(term):
    assert any(term in text for text in KO.values())


def test_the_home_page_is_called_home():
    assert (EN["nav.home"], KO["nav.home"]) == ("Home", "홈")


def _punctuation(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"  # CommonMark's Unicode punctuation: ?, ., ▶, ⏭ ...


def unclosed_emphasis(text: str) -> list[str]:
    """The `*`/`**` runs CommonMark leaves as literal asterisks. A run closes only if right-flanking: after
    punctuation ("you?**") it must be followed by a space or punctuation, and Korean particles follow
    words directly ("you?**를"), which then shows the asterisks instead of bold."""
    open_runs, bad = [], []
    for run in re.finditer(r"\*+", text):
        before = text[run.start() - 1] if run.start() else " "
        after = text[run.end()] if run.end() < len(text) else " "
        left = not after.isspace() and (not _punctuation(after) or before.isspace() or _punctuation(before))
        right = not before.isspace() and (not _punctuation(before) or after.isspace() or _punctuation(after))
        if right and open_runs and open_runs[-1][0] == run.group():
            open_runs.pop()
        elif left:
            open_runs.append((run.group(), run.start()))
        else:
            bad.append(text[max(run.start() - 8, 0) : run.end() + 8])
    return bad + [text[i : i + 16] for _, i in open_runs]


@pytest.mark.parametrize("catalogue", [EN, KO], ids=["en", "ko"])
def test_bold_and_italic_close_even_around_values_that_end_in_punctuation(catalogue):
    assert unclosed_emphasis("**다음 ▶**으로") and unclosed_emphasis("**you?**를")  # the check itself
    assert not unclosed_emphasis("**다음 ▶**, 또는 **you?** (3번째)")
    for key, text in catalogue.items():
        filled = re.sub(r"\{[a-z_]+\}", "x?", text)  # the worst case: a word such as "you?"
        assert not unclosed_emphasis(filled), (key, text)
