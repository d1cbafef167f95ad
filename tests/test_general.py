"""Tests for seq2seq.general: the mixed corpus from small fixture files of every source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seq2seq.cli import main
from seq2seq.data import CorpusError, Pair, read_pairs_tsv, write_pairs_tsv
from seq2seq.general import NONCOMMERCIAL, build_general_corpus, build_mixed_corpus

CREDIT = "CC-BY 2.0 (France) Attribution: tatoeba.org #{} (CM) & #{} (Eunhee)"


def write_general(folder: Path) -> Path:
    """Fixture files shaped like the real ones: Tatoeba with attribution and repeated English sentences,
    StyleKQC's paraphrase groups of 10, XPersona's dialogues, an English sentence shared by two sources."""
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
        "kss-en-ko.tsv": [f"I bought {i} apples.\t사과를 {i}개 샀어요." for i in range(40)]
        + ["Sentence number 7.\t7번째 문장이에요."],  # also a Tatoeba sentence: both on one side
        "stylekqc-en-ko.tsv": [
            f"Could you tell me about request {g}, version {k}?\t{g}번 요청 {k}번째 말투 알려 줘"
            for g in range(12)
            for k in range(10)
        ],
        "xpersona-en-ko.tsv": [
            f"In chat {i // 50} I said line {i}.\t대화 {i // 50}에서 {i}번째 말." for i in range(200)
        ],
        "kornli-xnli-en-ko.tsv": [
            f"He walked {i} miles home.\t그는 집까지 {i}마일을 걸었다." for i in range(40)
        ],
        "korsts-en-ko.tsv": [
            f"A man is slicing {i} herbs.\t한 남자가 허브 {i}개를 썰고 있다." for i in range(40)
        ],
        "pawsx-en-ko.tsv": [
            f"The council number {i} was formed.\t{i}번 위원회가 구성되었다." for i in range(40)
        ],
        "xrisawoz-en-ko.tsv": [f"Book me hotel number {i}.\t{i}번 호텔을 예약해 주세요." for i in range(100)],
        "iwslt23-formality-en-ko.tsv": [  # each English line twice: a formal and an informal Korean
            f"I called about order {i}.\t{i}번 주문 때문에 전화{ending}"
            for i in range(30)
            for ending in ("했어요.", "했어.")
        ],
        "storybooks-en-ko.tsv": [f"The goat ate {i} leaves.\t염소가 잎 {i}장을 먹었어요." for i in range(40)]
        + ["Thank you.\t고마워요."],
        "storybooks-nc-en-ko.tsv": [
            f"The cow says moo {i} times.\t소가 음메 {i}번 울어요." for i in range(10)
        ]
        + ["Thanks a lot.\t고마워요."],  # the same Korean as another English sentence's
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


HELD_OUT = {
    "tatoeba": (10, 12), "news": (4, 6), "jhe": (3, 3), "kss": (4, 4), "stylekqc": (20, 20), "xpersona": (50, 50),
    "kornli": (4, 4), "korsts": (4, 4), "pawsx": (4, 4), "xrisawoz": (4, 4), "iwslt": (4, 6), "storybooks": (3, 3),
}  # fmt: skip


def write_libreoffice(folder: Path) -> Path:
    for name, n in (("train", 30), ("dev", 5), ("test", 5)):
        pairs = [Pair(f"Click button {name} {i}.", f"{name} {i} 단추를 누릅니다.") for i in range(n)]
        write_pairs_tsv(pairs + ([Pair("Open", "열기")] if name == "train" else []), folder / f"{name}.tsv")
    return folder


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, dict]:
    general = write_general(tmp_path / "general")
    lo = write_libreoffice(tmp_path / "lo")
    summary = build_mixed_corpus(lo, general, tmp_path / "mixed", held_out=HELD_OUT)
    return tmp_path / "mixed", summary


def test_every_pair_names_its_domain_and_libreoffice_splits_stay_as_they_were(mixed, tmp_path):
    out, summary = mixed
    splits = {name: read_pairs_tsv(out / f"{name}.tsv") for name in ("train", "dev", "test")}
    for name, pairs in splits.items():
        trained_only = {"storybooks_nc"} if name == "train" else set()  # too small to hold out
        assert {p.domain for p in pairs} == {"libreoffice", *HELD_OUT, *trained_only}, name
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
    (general / "jhe-koen-dev.tsv").unlink()
    with pytest.raises(CorpusError, match="missing jhe-koen-dev.tsv"):
        build_mixed_corpus(lo, general, tmp_path / "again")


@pytest.fixture
def general(tmp_path: Path) -> tuple[Path, dict]:
    summary = build_general_corpus(write_general(tmp_path / "general"), tmp_path / "out", held_out=HELD_OUT)
    return tmp_path / "out", summary


def sides_of(out: Path, key) -> dict:
    """{group key: the splits its pairs landed in}"""
    sides: dict = {}
    for name in ("train", "dev", "test"):
        for pair in read_pairs_tsv(out / f"{name}.tsv"):
            sides.setdefault(key(pair), set()).add(name)
    return sides


def test_the_general_corpus_holds_out_every_domain_and_reports_the_counts(general):
    out, summary = general
    for name in ("dev", "test"):
        assert set(summary["splits"][name]) == set(HELD_OUT), name
        for domain, (dev, test) in HELD_OUT.items():
            assert summary["splits"][name][domain] >= (dev if name == "dev" else test), (name, domain)
    assert "libreoffice" not in summary["splits"]["train"]
    text = (out / "DATA.md").read_text(encoding="utf-8")
    assert "| train |" in text and "CC BY-NC-SA 4.0" in text and "**Non-commercial terms:**" in text


def test_no_paraphrase_group_dialogue_or_english_sentence_straddles_two_splits(general):
    out, _ = general
    request = re.compile(r"request (\d+),")
    groups = sides_of(
        out, lambda p: ("stylekqc", request.search(p.source)[1]) if p.domain == "stylekqc" else None
    )
    chats = sides_of(out, lambda p: ("chat", p.source.split()[2]) if p.domain == "xpersona" else None)
    english = sides_of(out, lambda p: p.source)
    groups.pop(None), chats.pop(None)
    assert len(groups) == 12 and all(len(s) == 1 for s in groups.values())
    assert {frozenset(s) for s in groups.values()} >= {frozenset({"test"}), frozenset({"train"})}
    assert len(chats) == 4 and all(len(s) == 1 for s in chats.values())
    assert all(len(s) == 1 for s in english.values())  # "Sentence number 7." in KSS and Tatoeba alike


def test_commercial_only_leaves_out_the_non_commercial_sources(tmp_path, capsys):
    folder = write_general(tmp_path / "general")
    for name in ("kss-en-ko.tsv", "storybooks-nc-en-ko.tsv"):  # not needed without the non-commercial sources
        (folder / name).unlink()
    build_general_corpus(folder, tmp_path / "free", held_out=HELD_OUT, commercial_only=True)
    splits = {name: read_pairs_tsv(tmp_path / "free" / f"{name}.tsv") for name in ("train", "dev", "test")}
    assert {p.domain for pairs in splits.values() for p in pairs} == set(HELD_OUT) - set(NONCOMMERCIAL)
    assert set(NONCOMMERCIAL) == {"kss", "kornli", "storybooks_nc"}
    text = (tmp_path / "free" / "DATA.md").read_text(encoding="utf-8")
    assert "--commercial-only" in text and "CC BY-NC" not in text
    # the command line: the option is passed on, and without it the missing KSS file is named
    args = ["data", "general", "--general", str(folder), "--commercial-only", "--out"]
    assert (
        main([*args, str(tmp_path / "cli")]) == 0 and '"kss"' in capsys.readouterr().out
    )  # listed as left out
    assert main(["data", "general", "--general", str(folder), "--out", str(tmp_path / "all")]) == 2
    assert "missing kss-en-ko.tsv" in capsys.readouterr().err


def test_korean_first_reverses_the_same_splits_and_never_trains_on_a_held_out_korean(tmp_path):
    folder = write_general(tmp_path / "general")
    build_general_corpus(folder, tmp_path / "enko", held_out=HELD_OUT)
    summary = build_general_corpus(folder, tmp_path / "koen", held_out=HELD_OUT, direction="koen")
    for name in ("dev", "test"):
        enko = {(p.source, p.target) for p in read_pairs_tsv(tmp_path / "enko" / f"{name}.tsv")}
        koen = {(p.target, p.source) for p in read_pairs_tsv(tmp_path / "koen" / f"{name}.tsv")}
        assert enko == koen, name
    held = {p.source for name in ("dev", "test") for p in read_pairs_tsv(tmp_path / "koen" / f"{name}.tsv")}
    train = read_pairs_tsv(tmp_path / "koen" / "train.tsv")
    assert train and all(re.search("[가-힣]", p.source) for p in train)
    assert not held & {p.source for p in train}
    enko_train = read_pairs_tsv(tmp_path / "enko" / "train.tsv")
    assert len(enko_train) - len(train) == sum(summary["dropped_held_out_korean"].values())
    assert "Korean → English" in (tmp_path / "koen" / "DATA.md").read_text(encoding="utf-8")
    with pytest.raises(CorpusError, match="direction"):
        build_general_corpus(folder, tmp_path / "x", held_out=HELD_OUT, direction="jaen")
