"""Tests for seq2seq.general: the mixed corpus from small fixture files of every source."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.cli import main
from seq2seq.data import CorpusError, Pair, read_pairs_tsv, write_pairs_tsv
from seq2seq.general import GENERAL_SOURCES, build_mixed_corpus

CREDIT = "CC-BY 2.0 (France) Attribution: tatoeba.org #{} (CM) & #{} (Eunhee)"


def write_general(folder: Path) -> Path:
    """Fixture files shaped like the real ones: Tatoeba with attribution and repeated English sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    tatoeba = []
    for i in range(60):
        for k in range(1 + i % 3):  # one, two or three translations of the same English sentence
            tatoeba.append(f"Sentence number {i}.\t{i}번 문장{'이야' * k}.\t{CREDIT.format(i, 100 + k)}")
    files = {
        "tatoeba-kor-eng.tsv": tatoeba,
        "news-koen-dev.tsv": [
            f"The minister said {i} things today.\t장관은 오늘 {i}가지를 말했다." for i in range(30)
        ],
        "news-koen-test.tsv": [f"Prices rose {i} percent.\t물가가 {i}퍼센트 올랐다." for i in range(30)],
        "jhe-koen-dev.tsv": [f"The farmer had {i} cows.\t농부는 소 {i}마리가 있었다." for i in range(20)]
        + [
            "Open\t열기",
            "Untranslated line.\tUntranslated line.",
        ],  # a LibreOffice source; an untranslated one
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_libreoffice(folder: Path) -> Path:
    for name, n in (("train", 30), ("dev", 5), ("test", 5)):
        pairs = [Pair(f"Click button {name} {i}.", f"{name} {i} 단추를 누릅니다.") for i in range(n)]
        write_pairs_tsv(pairs + ([Pair("Open", "열기")] if name == "train" else []), folder / f"{name}.tsv")
    return folder


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, dict]:
    general = write_general(tmp_path / "general")
    lo = write_libreoffice(tmp_path / "lo")
    held_out = {"tatoeba": (10, 12), "news": (4, 6), "jhe": (3, 3)}
    summary = build_mixed_corpus(lo, general, tmp_path / "mixed", held_out=held_out)
    return tmp_path / "mixed", summary


def test_every_pair_names_its_domain_and_libreoffice_splits_stay_as_they_were(mixed, tmp_path):
    out, summary = mixed
    splits = {name: read_pairs_tsv(out / f"{name}.tsv") for name in ("train", "dev", "test")}
    for name, pairs in splits.items():
        assert {p.domain for p in pairs} == {"libreoffice", "tatoeba", "news", "jhe"}, name
        lo = [(p.source, p.target) for p in pairs if p.domain == "libreoffice"]
        assert lo == [(p.source, p.target) for p in read_pairs_tsv(tmp_path / "lo" / f"{name}.tsv")]
    assert summary["splits"]["dev"]["news"] >= 4 and summary["splits"]["test"]["jhe"] >= 3
    assert not any(p.source == "Untranslated line." for ps in splits.values() for p in ps)
    # a general pair whose English is a LibreOffice training source trains, never held out
    assert [p.domain for p in splits["train"] if p.source == "Open"] == ["libreoffice", "jhe"]
    text = (out / "DATA.md").read_text(encoding="utf-8")
    assert "| dev | 5 | " in text and "CC BY 2.0 FR" in text and "CC BY-SA 3.0" in text


def test_tatoeba_is_split_by_english_sentence_with_its_attribution(mixed):
    out, _ = mixed
    sides = {}
    for name in ("train", "dev", "test"):
        for pair in read_pairs_tsv(out / f"{name}.tsv"):
            if pair.domain == "tatoeba":
                assert pair.attribution.startswith("CC-BY 2.0 (France) Attribution: tatoeba.org #")
                sides.setdefault(pair.source, set()).add(name)
    assert len(sides) == 60 and all(len(names) == 1 for names in sides.values())
    held = [s for s, names in sides.items() if names != {"train"}]
    assert held, "some Tatoeba sentences are held out"


def test_the_cli_builds_it_and_a_missing_source_is_named(tmp_path, capsys):
    general = write_general(tmp_path / "general")
    lo = write_libreoffice(tmp_path / "lo")
    code = main(
        ["data", "mixed", "--libreoffice", str(lo), "--general", str(general), "--out", str(tmp_path / "m")]
    )
    assert code == 0 and (tmp_path / "m" / "train.tsv").is_file()
    assert '"tatoeba"' in capsys.readouterr().out
    (general / GENERAL_SOURCES[-1].file).unlink()
    with pytest.raises(CorpusError, match="missing jhe-koen-dev.tsv"):
        build_mixed_corpus(lo, general, tmp_path / "again")
