"""Tests for seq2seq.libreoffice: .mo and help-page extraction, and a whole build from fake .deb files."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path

import pytest

from seq2seq.data import CorpusError, Pair, filter_pairs, read_pairs_tsv
from seq2seq.libreoffice import (
    build_libreoffice_corpus,
    help_pairs,
    parse_mo,
    strip_mnemonics,
    ui_pairs,
)


# --------------------------------------------------------------------------- fixtures
def make_mo(entries: dict[str, str]) -> bytes:
    """GNU .mo (little endian) from {msgid-with-ctxt: msgstr}; a header entry is added."""
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", **entries}
    keys = sorted(entries)
    ids = [k.encode() for k in keys]
    strs = [entries[k].encode() for k in keys]
    n = len(keys)
    ids_at, strs_at = 28, 28 + 8 * n
    pos = strs_at + 8 * n
    id_tab, str_tab, blob = b"", b"", b""
    for tab_is_ids, items in ((True, ids), (False, strs)):
        for s in items:
            entry = struct.pack("<2I", len(s), pos + len(blob))
            blob += s + b"\x00"
            if tab_is_ids:
                id_tab += entry
            else:
                str_tab += entry
    header = struct.pack("<7I", 0x950412DE, 0, n, ids_at, strs_at, 0, 0)
    return header + id_tab + str_tab + blob


def _tar_xz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_deb(path: Path, package: str, files: dict[str, bytes], version: str = "4:7.4.7-1") -> Path:
    """A minimal but real .deb: ar archive of debian-binary, control.tar.xz, data.tar.xz."""
    control = f"Package: {package}\nVersion: {version}\nArchitecture: all\nDescription: test\n"
    members = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", _tar_xz({"./control": control.encode()})),
        ("data.tar.xz", _tar_xz({f"./{k}": v for k, v in files.items()})),
    ]
    out = b"!<arch>\n"
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode() + data
        out += b"\n" if len(data) % 2 else b""
    path.write_bytes(out)
    return path


def page(lang: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><title>t</title><script>var x = "<p>";</script>'
        f'<style>p {{color: red}}</style></head><body><div id="DisplayArea">{body}</div></body></html>'
    )


SWITCH = (
    '<span id="swlnsys1" class="switchinline"><span hidden="true" id="MAC1" class="MAC">'
    '<span class="keycode">{mac}</span></span><span hidden="true" id="default1">'
    '<span class="keycode">{default}</span></span></span>'
)

EN_PAGE = page(
    "en-US",
    '<h1 id="hd_id1">Inserting&nbsp;Frames</h1>\n'
    '<p id="par_id2" class="paragraph">A frame is a <span class="emph">container</span>\n for text.</p>'
    f'<p id="par_id3">Press {SWITCH.format(mac="Command", default="Ctrl")}<span class="keycode"> + F</span>'
    " to open <b>Find</b>.</p>"
    '<p id="par_id4">Untranslated paragraph.</p>'
    '<p id="par_id5">Only in English.</p>'
    '<table><tr><td><p id="par_id6" class="tablecontentintable">Cell text</p></td></tr></table>'
    '<p id="par_id7">Same id twice.</p><p id="par_id7">Second copy.</p>'
    '<p class="paragraph">No id, ignored.</p>',
)
KO_PAGE = page(
    "ko",
    '<h1 id="hd_id1">프레임 삽입</h1>'
    '<p id="par_id2" class="paragraph">프레임은 텍스트를 위한 <span class="emph">컨테이너</span>입니다.</p>'
    f'<p id="par_id3">{SWITCH.format(mac="Command", default="Ctrl")}<span class="keycode"> + F</span>'
    " 키를 눌러 <b>찾기</b>를 엽니다.</p>"
    '<p id="par_id4">Untranslated paragraph.</p>'
    '<table><tr><td><p id="par_id6" class="tablecontentintable">셀 텍스트</p></td></tr></table>'
    '<p id="par_id7">같은 아이디 두 번.</p><p id="par_id7">두 번째 사본.</p>',
)

UI_MO = {
    "menu|file\x04~File": "파일(~F)",
    "dlg|open\x04_Open": "열기(_O)",
    "dlg|all\x04Correct A_ll": "전부 수정(_L)",
    "STR_MULTI\x04First line.\nSecond\tline.": "첫째 줄.\n둘째\t줄.",
    "STR_PAGES\x04One page\x00%1 pages": "1 쪽\x00%1 쪽",
    "STR_TARGET\x04_blank": "_blank",
    "STR_RANGE\x04The index (1..30).": "1~30의 색인값",
    "No context ~here": "여기(~H)",
}


# --------------------------------------------------------------------------- .mo
def test_strip_mnemonics() -> None:
    assert strip_mnemonics("~File") == "File"
    assert strip_mnemonics("Pa~ges:") == "Pages:"
    assert strip_mnemonics("파일(~F)") == "파일"
    assert strip_mnemonics("열기(_O)...", gtk=True) == "열기..."
    assert strip_mnemonics("Automat_ic", gtk=True) == "Automatic"
    assert strip_mnemonics("_X 축", gtk=True) == "X 축"
    assert strip_mnemonics("sal_Int8 and %FILE_NAME") == "sal_Int8 and %FILE_NAME"
    assert strip_mnemonics("1~30, 빨강~검정, tilde (~)") == "1~30, 빨강~검정, tilde (~)"


def test_parse_mo_contexts_and_plurals() -> None:
    entries = {(c, i): s for c, i, s in parse_mo(make_mo(UI_MO))}
    assert entries[("menu|file", "~File")] == "파일(~F)"
    assert entries[("STR_PAGES", "One page")] == "1 쪽"
    assert entries[("", "No context ~here")] == "여기(~H)"
    assert ("", "") not in entries  # header skipped
    with pytest.raises(CorpusError, match="not a GNU .mo"):
        parse_mo(b"garbage bytes that are long enough....")


def test_ui_pairs_strip_and_normalise() -> None:
    got = {p.source: p.target for p in ui_pairs({"x.mo": make_mo(UI_MO)})}
    assert got["File"] == "파일"
    assert got["Open"] == "열기"
    assert got["Correct All"] == "전부 수정"
    assert got["First line. Second line."] == "첫째 줄. 둘째 줄."
    assert got["One page"] == "1 쪽"
    assert got["_blank"] == "_blank"  # not a GTK string: underscore kept
    assert got["The index (1..30)."] == "1~30의 색인값"
    assert got["No context here"] == "여기"
    assert all(p.origin == "ui" for p in ui_pairs({"x.mo": make_mo(UI_MO)}))


# --------------------------------------------------------------------------- help pages
def test_help_alignment_by_id() -> None:
    pairs = help_pairs({"text/a.html": EN_PAGE, "text/only_en.html": EN_PAGE}, {"text/a.html": KO_PAGE})
    got = {p.source: p.target for p in pairs}
    assert got["Inserting Frames"] == "프레임 삽입"
    assert got["A frame is a container for text."] == "프레임은 텍스트를 위한 컨테이너입니다."
    assert got["Press Ctrl + F to open Find."] == "Ctrl + F 키를 눌러 찾기를 엽니다."
    assert got["Cell text"] == "셀 텍스트"
    assert got["Same id twice."] == "같은 아이디 두 번."
    assert got["Second copy."] == "두 번째 사본."
    assert "Only in English." not in got
    assert not any("Command" in s or "No id" in s or "<p>" in s or "color" in s for s in got)
    assert len(pairs) == 7  # untranslated one still here; filtering drops it
    kept = {p.source for p in filter_pairs(pairs, "ko")}
    assert "Untranslated paragraph." not in kept and len(kept) == 6


# --------------------------------------------------------------------------- whole build
HELP_EN = "usr/share/libreoffice/help/en-US/text/swriter/a.html"
HELP_KO = "usr/share/libreoffice/help/ko/text/swriter/a.html"
MO_KO = "usr/lib/libreoffice/program/resource/ko/LC_MESSAGES/sw.mo"


@pytest.fixture
def fake_debs(tmp_path: Path) -> Path:
    d = tmp_path / "debs"
    d.mkdir()
    make_deb(
        d / "libreoffice-help-en-us_4%3a7.4.7-1_all.deb",
        "libreoffice-help-en-us",
        {HELP_EN: EN_PAGE.encode()},
    )
    make_deb(
        d / "libreoffice-help-ko_4%3a7.4.7-1_all.deb",
        "libreoffice-help-ko",
        {
            HELP_KO: KO_PAGE.encode(),
            "usr/share/doc/libreoffice-help-ko/copyright": b"MPL",
        },
    )
    make_deb(
        d / "libreoffice-l10n-ko_4%3a7.4.7-1_all.deb",
        "libreoffice-l10n-ko",
        {MO_KO: make_mo(UI_MO)},
    )
    make_deb(d / "libreoffice-l10n-ja_4%3a7.4.7-1_all.deb", "libreoffice-l10n-ja", {})  # ignored
    return d


def test_fake_deb_is_a_real_deb(fake_debs: Path) -> None:
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb not installed")
    deb = next(fake_debs.glob("libreoffice-help-ko_*.deb"))
    out = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "libreoffice-help-ko"


def test_build_libreoffice_corpus_from_debs(fake_debs: Path, tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    summary = build_libreoffice_corpus("ko", out, debs_dir=fake_debs)
    assert summary["packages"] == {
        "libreoffice-help-en-us": "4:7.4.7-1",
        "libreoffice-help-ko": "4:7.4.7-1",
        "libreoffice-l10n-ko": "4:7.4.7-1",
    }
    splits = {
        k: read_pairs_tsv(out / f"{k}.tsv") if (out / f"{k}.tsv").stat().st_size else []
        for k in summary["splits"]
    }
    every = [p for v in splits.values() for p in v]
    assert len(every) == summary["pairs"] == 13  # 6 help + 7 ui (`_blank` is untranslated)
    assert sum(c.get("help", 0) for c in summary["splits"].values()) == 6
    assert Pair("Press Ctrl + F to open Find.", "Ctrl + F 키를 눌러 찾기를 엽니다.") in every
    assert Pair("First line. Second line.", "첫째 줄. 둘째 줄.") in every
    md = (out / "DATA.md").read_text(encoding="utf-8")
    for needle in (
        "MPL-2.0",
        "The Document Foundation",
        "libreoffice-l10n-ko",
        "4:7.4.7-1",
    ):
        assert needle in md
    assert build_libreoffice_corpus("ko", tmp_path / "again", debs_dir=fake_debs) == summary
    assert (tmp_path / "again" / "train.tsv").read_bytes() == (out / "train.tsv").read_bytes()


def test_build_reports_missing_packages(fake_debs: Path, tmp_path: Path) -> None:
    next(fake_debs.glob("libreoffice-l10n-ko_*.deb")).unlink()
    with pytest.raises(CorpusError, match="libreoffice-l10n-ko"):
        build_libreoffice_corpus("ko", tmp_path / "x", debs_dir=fake_debs)
