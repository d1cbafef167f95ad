"""Tests for seq2seq.data: normalising, filtering, splitting by source, TSV files with domains."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_libreoffice import UI_MO, make_mo

from seq2seq.data import (
    CorpusError,
    Pair,
    filter_pairs,
    normalize_text,
    parse_pairs_tsv,
    read_pairs_tsv,
    split_pairs,
    write_pairs_tsv,
)
from seq2seq.libreoffice import ui_pairs


# --------------------------------------------------------------------------- normalisation
def test_normalize_text_collapses_all_whitespace_and_nfc() -> None:
    assert normalize_text(" a\u00a0b\t\tc\r\nd \u2028e ") == "a b c d e"
    assert normalize_text("\u1100\u1161") == "\uac00"  # conjoining jamo → NFC syllable
    assert normalize_text("Caf\u0065\u0301") == "Caf\u00e9"
    assert normalize_text("zero\u200bwidth") == "zerowidth"


def test_tsv_round_trip_keeps_pairs_on_their_lines(tmp_path: Path) -> None:
    raw = [
        Pair("a\nb", "가\n나"),
        Pair("tab\there", "탭\t여기"),
        Pair(" c ", "다\u00a0라"),
    ]
    pairs = raw + ui_pairs({"x.mo": make_mo(UI_MO)})
    path = tmp_path / "out" / "pairs.tsv"
    write_pairs_tsv(pairs, path)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(pairs)
    back = read_pairs_tsv(path)
    assert len(back) == len(pairs)
    for k, (p, q) in enumerate(zip(pairs, back)):
        assert lines[k] == f"{normalize_text(p.source)}\t{normalize_text(p.target)}"
        assert (q.source, q.target) == (
            normalize_text(p.source),
            normalize_text(p.target),
        )
    with pytest.raises(CorpusError, match="empty side"):
        write_pairs_tsv([Pair("x", " \n ")], tmp_path / "bad.tsv")


# --------------------------------------------------------------------------- filtering / splitting
def test_filter_pairs_rules() -> None:
    long = " ".join(["word"] * 81)
    pairs = [
        Pair("Open", "열기", "ui"),
        Pair("Open", "열기", "help"),  # exact duplicate
        Pair("Open", "열기 ", "ui"),  # duplicate after normalisation
        Pair("Open", "개방", "ui"),  # other translation of the same source: kept
        Pair("Index", "Index"),  # untranslated
        Pair("Mixed", "Mixed 한"),
        Pair("", "빈"),
        Pair("Empty", "  "),
        Pair("12.5 %", "12.5 %"),
        Pair("1 + 2", "일 + 이"),  # no ASCII letter in source
        Pair(long, "긴"),
        Pair(" ".join(["word"] * 80), " ".join(["단어"] * 80)),  # exactly the cap: kept
        Pair("a" * 601, "가"),
        Pair("Broken text here", "깨진\x8c텍스트"),
        Pair("The quick brown fox jumps over the lazy dog.", "가" * 200),  # stale translation
    ]
    kept = filter_pairs(pairs, "ko")
    assert [(p.source, p.target) for p in kept] == [
        ("Open", "열기"),
        ("Open", "개방"),
        ("Mixed", "Mixed 한"),
        (" ".join(["word"] * 80), " ".join(["단어"] * 80)),
    ]
    assert kept[0].origin == "ui"
    assert len(filter_pairs(pairs, "ko", max_words=10)) == 3
    # other languages: identical strings dropped, no script check
    de = filter_pairs([Pair("File", "Datei"), Pair("Index", "Index")], "de")
    assert de == [Pair("File", "Datei")]
    assert filter_pairs([Pair("File", "Fichier"), Pair("Menu", "Меню")], "ru") == [Pair("Menu", "Меню")]


def test_split_is_deterministic_and_disjoint() -> None:
    pairs = [Pair(f"sentence {i}", f"문장 {j}") for i in range(1500) for j in range(1 + i % 2)]
    a, b = split_pairs(pairs, seed=0), split_pairs(list(pairs), seed=0)
    assert a == b
    assert sum(len(v) for v in a.values()) == len(pairs)
    srcs = {k: {p.source for p in v} for k, v in a.items()}
    assert not (srcs["train"] & srcs["dev"] or srcs["train"] & srcs["test"] or srcs["dev"] & srcs["test"])
    assert len(a["dev"]) >= 225 and len(a["test"]) >= 225  # n//10 when 4% < 1000 is not possible
    assert split_pairs(pairs, seed=1)["test"] != a["test"]
    big = [Pair(f"s{i}", "t") for i in range(12000)]
    sizes = {k: len(v) for k, v in split_pairs(big).items()}
    assert sizes["dev"] >= 1000 and sizes["test"] >= 1000
    assert split_pairs([Pair("a", "b")])["train"] == [Pair("a", "b")]


# --------------------------------------------------------------------------- TSV errors
def test_tsv_reader_errors(tmp_path: Path) -> None:
    def write(name: str, data: bytes) -> Path:
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    with pytest.raises(CorpusError, match="file not found"):
        read_pairs_tsv(tmp_path / "nope.tsv")
    with pytest.raises(CorpusError, match="empty"):
        read_pairs_tsv(write("empty.tsv", b""))
    with pytest.raises(CorpusError, match="empty"):
        read_pairs_tsv(write("blank.tsv", b"\n  \n"))
    with pytest.raises(CorpusError, match=r"line 2: not valid UTF-8 \(byte 0xb0 at byte offset 6\)"):
        read_pairs_tsv(write("latin.tsv", b"a\t\xea\xb0\x80\n\xb0\tb\n"))
    with pytest.raises(CorpusError, match="line 3: no tab"):
        read_pairs_tsv(write("notab.tsv", b"a\tb\n\nno tab here\n"))
    with pytest.raises(CorpusError, match="line 1: empty target"):
        read_pairs_tsv(write("emptyside.tsv", b"a\t \n"))
    many = write("many.tsv", b"".join(b"bad line\n" for _ in range(12)))
    with pytest.raises(CorpusError, match=r"line 10: no tab.*\(and 2 more\)"):
        read_pairs_tsv(many)


def test_tsv_reader_accepts_bom_crlf_extra_columns(tmp_path: Path) -> None:
    data = "\ufeffHi.\t안녕.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1\r\n\r\nGo.\t가.\r\n".encode()
    path = tmp_path / "tatoeba.tsv"
    path.write_bytes(data)
    credit = "CC-BY 2.0 (France) Attribution: tatoeba.org #1"
    assert read_pairs_tsv(path) == [Pair("Hi.", "안녕.", attribution=credit), Pair("Go.", "가.")]


def test_tsv_domain_and_attribution_columns_round_trip(tmp_path: Path) -> None:
    pairs = [
        Pair("Hi.", "안녕.", domain="tatoeba", attribution="CC-BY 2.0 (France) #538123 (CM)"),
        Pair("Open", "열기", domain="libreoffice"),
    ]
    write_pairs_tsv(pairs, tmp_path / "mixed.tsv")
    assert (tmp_path / "mixed.tsv").read_text(encoding="utf-8").splitlines()[1] == "Open\t열기\tlibreoffice\t"
    assert read_pairs_tsv(tmp_path / "mixed.tsv") == pairs
    write_pairs_tsv([Pair("a", "b")], tmp_path / "plain.tsv")
    assert (tmp_path / "plain.tsv").read_text(encoding="utf-8") == "a\tb\n"  # no empty columns
    with pytest.raises(CorpusError, match="lower-case name"):
        write_pairs_tsv([Pair("a", "b", domain="Bad Domain")], tmp_path / "bad.tsv")


def test_parse_pairs_tsv_is_lenient() -> None:
    pairs, problems = parse_pairs_tsv(b"a\tb\nbroken\n\xff\tx\nc\td\n")
    assert pairs == [Pair("a", "b"), Pair("c", "d")]
    assert problems[0] == "line 2: no tab between source and target"
    assert problems[1].startswith("line 3: not valid UTF-8")
    assert parse_pairs_tsv("x\ty\nz\tw\n", max_lines=1) == ([Pair("x", "y")], [])
    assert parse_pairs_tsv(b"") == ([], ["the file is empty"])
