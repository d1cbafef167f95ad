"""The software corpus: English→X pairs from Debian's LibreOffice packages.

The help pages (en-US vs. <lang>) share element ids, so paragraphs align by (page, id); the UI
catalogues (.mo) map English msgids to translations directly.
"""

from __future__ import annotations

import io
import re
import shlex
import struct
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from .data import (
    MAX_CHARS,
    MAX_RATIO,
    CorpusError,
    Pair,
    filter_pairs,
    normalize_text,
    split_pairs,
    write_pairs_tsv,
)

HELP_PREFIX = "usr/share/libreoffice/help/"
MO_PREFIX = "usr/lib/libreoffice/program/resource/"
LICENCE = "MPL-2.0"
ATTRIBUTION = "The Document Foundation and LibreOffice contributors"


# --------------------------------------------------------------------------- .mo catalogues
def parse_mo(data: bytes) -> list[tuple[str, str, str]]:
    """Read a GNU .mo file into (context, msgid, msgstr); plurals keep the singular forms."""
    magic = struct.unpack("<I", data[:4])[0] if len(data) >= 28 else 0
    end = {0x950412DE: "<", 0xDE120495: ">"}.get(magic)
    if end is None:
        raise CorpusError("not a GNU .mo file (bad magic number)")
    n, ids_at, strs_at = struct.unpack_from(end + "3I", data, 8)
    out = []
    for i in range(n):
        ilen, ioff = struct.unpack_from(end + "2I", data, ids_at + 8 * i)
        slen, soff = struct.unpack_from(end + "2I", data, strs_at + 8 * i)
        msgid = data[ioff : ioff + ilen].decode("utf-8", "replace")
        msgstr = data[soff : soff + slen].decode("utf-8", "replace")
        if not msgid:
            continue  # header entry
        ctxt, _, msgid = msgid.rpartition("\x04")
        out.append((ctxt, msgid.split("\x00")[0], msgstr.split("\x00")[0]))
    return out


_PAREN_MNEMONIC = re.compile(r"\s?\([~_][^\s()]\)")  # 파일(~F), 왼쪽(_L)
# ~File, Pa~ges → mnemonic; 1~30, 빨강~검정, "(~)" are real tildes
_TILDE = re.compile(r"(?<![\d~])~(?=[A-Za-z0-9])")
_UNDERSCORE = re.compile(r"(?<!_)_(?=\w)")


def strip_mnemonics(s: str, gtk: bool = False) -> str:
    """Remove accelerator marks. `_` only counts for GTK .ui/stock strings (context `a|b`,
    `stock`): elsewhere it is real text (`_blank`, `sal_Int8`, `%FILE_NAME`)."""
    s = _TILDE.sub("", _PAREN_MNEMONIC.sub("", s))
    return _UNDERSCORE.sub("", s, count=1) if gtk else s


def ui_pairs(mo_files: dict[str, bytes]) -> list[Pair]:
    pairs = []
    for name in sorted(mo_files):
        for ctxt, msgid, msgstr in parse_mo(mo_files[name]):
            gtk = "|" in ctxt or ctxt == "stock"
            src, tgt = strip_mnemonics(msgid, gtk), strip_mnemonics(msgstr, gtk)
            pairs.append(Pair(normalize_text(src), normalize_text(tgt), "ui"))
    return pairs


# --------------------------------------------------------------------------- help pages
_BLOCK = re.compile(r"p|h[1-6]?|td|th|li|dt|dd|pre")  # elements that carry a par_id
_VOID = re.compile(r"br|img|meta|link|input|hr|col|area|base|wbr|embed")  # never closed
_PAR_ID = re.compile(r"^[a-z]+_id\w*$")


class _HelpParser(HTMLParser):
    """Collect visible text of id'd blocks. In a `switchinline` the alternatives are all
    `hidden`; a reader on Windows/Linux sees the default one (no class), so classed
    hidden spans (MAC, WRITER, ...) inside a block are skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, str | None]] = []  # (tag, skipping, block id)
        self.texts: dict[str, list[str]] = {}
        self.order: list[str] = []
        self.seen: Counter[str] = Counter()

    def _skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def _open_blocks(self) -> list[str]:
        return [b for _, _, b in self.stack if b is not None]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if _VOID.fullmatch(tag):
            if tag == "br":
                self.handle_data(" ")
            return
        inside = bool(self._open_blocks())
        skip = self._skipping() or tag in ("script", "style")
        skip = skip or (inside and "hidden" in a and bool(a.get("class")))
        block = None
        if _BLOCK.fullmatch(tag) and _PAR_ID.match(a.get("id") or "") and not skip:
            self.seen[a["id"]] += 1
            block = f"{a['id']}#{self.seen[a['id']]}"
            self.texts[block] = []
            self.order.append(block)
        elif _BLOCK.fullmatch(tag) or tag == "div":
            self.handle_data(" ")
        self.stack.append((tag, skip, block))

    def handle_endtag(self, tag: str) -> None:
        if _VOID.fullmatch(tag) or all(t != tag for t, _, _ in self.stack):
            return
        while self.stack and self.stack.pop()[0] != tag:
            pass
        if _BLOCK.fullmatch(tag) or tag == "div":
            self.handle_data(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping():
            for b in self._open_blocks():
                self.texts[b].append(data)


def help_paragraphs(html: str) -> dict[str, str]:
    """Map `id#occurrence` → normalised visible text for one help page."""
    p = _HelpParser()
    p.feed(html)
    p.close()
    return {b: normalize_text("".join(p.texts[b])) for b in p.order}


def help_pairs(en_pages: dict[str, str], tr_pages: dict[str, str]) -> list[Pair]:
    """Align paragraphs of pages with the same relative path by element id."""
    pairs = []
    for rel in sorted(set(en_pages) & set(tr_pages)):
        en, tr = help_paragraphs(en_pages[rel]), help_paragraphs(tr_pages[rel])
        for key, text in en.items():
            if key in tr:  # some translated pages keep a stray UI accelerator like (~A)
                pairs.append(Pair(text, normalize_text(_PAREN_MNEMONIC.sub("", tr[key])), "help"))
    return pairs


# --------------------------------------------------------------------------- .deb handling
def _deb_members(path: Path) -> dict[str, bytes]:
    """Split a .deb (an `ar` archive) into its members without needing dpkg."""
    data, members, pos = path.read_bytes(), {}, 8
    if not data.startswith(b"!<arch>\n"):
        raise CorpusError(f"{path.name}: not a .deb (ar) archive")
    while pos + 60 <= len(data):
        name = data[pos : pos + 16].decode().strip().rstrip("/")
        size = int(data[pos + 48 : pos + 58].decode().strip())
        members[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size & 1)
    return members


def _open_tar(members: dict[str, bytes], stem: str, deb: Path, dpkg_flag: str) -> tarfile.TarFile:
    name = next((m for m in members if m.startswith(stem + ".tar")), None)
    if name is None:
        raise CorpusError(f"{deb.name}: no {stem}.tar.* member")
    if name.endswith(".zst"):  # tarfile can't read zstd: let dpkg-deb decompress
        raw = subprocess.run(["dpkg-deb", dpkg_flag, str(deb)], check=True, capture_output=True).stdout
        return tarfile.open(fileobj=io.BytesIO(raw))
    return tarfile.open(fileobj=io.BytesIO(members[name]))


def read_deb(deb: Path, prefixes: tuple[str, ...]) -> tuple[dict[str, str], dict[str, bytes]]:
    """Return (control fields, {path: bytes}) for the files under `prefixes`."""
    members = _deb_members(deb)
    with _open_tar(members, "control", deb, "--ctrl-tarfile") as tf:
        ctl = next(m for m in tf.getmembers() if m.name.lstrip("./") == "control")
        text = tf.extractfile(ctl).read().decode()  # type: ignore[union-attr]
    fields = (ln.partition(":") for ln in text.splitlines() if ln[:1].strip())
    control = {k.strip(): v.strip() for k, _, v in fields}
    files = {}
    with _open_tar(members, "data", deb, "--fsys-tarfile") as tf:
        for m in tf:
            name = m.name.removeprefix("./")
            if m.isfile() and name.startswith(prefixes):
                files[name] = tf.extractfile(m).read()  # type: ignore[union-attr]
    return control, files


def _download(packages: list[str], dest: Path) -> None:
    cmd = ["apt-get", "download", *packages]
    try:
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise CorpusError(f"apt-get download {' '.join(packages)} failed: {getattr(e, 'stderr', e)}") from e


def _lang_dir(files: dict[str, bytes], prefix: str, lang: str) -> str | None:
    dirs = {p[len(prefix) :].split("/")[0] for p in files if p.startswith(prefix)}
    return next((d for d in sorted(dirs) if d.lower() == lang.lower()), None)


def collect_pairs(files: dict[str, bytes], lang: str) -> list[Pair]:
    """Raw (unfiltered) help + UI pairs from the packages' files."""
    help_dir = _lang_dir(files, HELP_PREFIX, lang)
    mo_dir = _lang_dir(files, MO_PREFIX, lang)
    if help_dir is None or mo_dir is None:
        raise CorpusError(f"no LibreOffice help/UI files for language {lang!r} in the packages")

    def pages(d: str) -> dict[str, str]:
        pre = f"{HELP_PREFIX}{d}/"
        return {
            p[len(pre) :]: b.decode("utf-8", "replace")
            for p, b in files.items()
            if p.startswith(pre + "text/") and p.endswith(".html")
        }

    mo_pre = f"{MO_PREFIX}{mo_dir}/LC_MESSAGES/"
    mos = {p: b for p, b in files.items() if p.startswith(mo_pre) and p.endswith(".mo")}
    return help_pairs(pages("en-US"), pages(help_dir)) + ui_pairs(mos)


def build_libreoffice_corpus(
    lang: str,
    out_dir: str | Path,
    debs_dir: str | Path | None = None,
    max_words: int = 80,
    seed: int = 0,
) -> dict:
    """Build train/dev/test TSVs + DATA.md from the LibreOffice .debs (downloaded if no debs_dir)."""
    wanted = ["libreoffice-help-en-us"] + [f"libreoffice-{k}-{lang.lower()}" for k in ("help", "l10n")]
    with tempfile.TemporaryDirectory() as tmp:
        downloaded = debs_dir is None
        if debs_dir is None:
            debs_dir = Path(tmp)
            _download(wanted, debs_dir)
        files: dict[str, bytes] = {}
        versions: dict[str, str] = {}
        for deb in sorted(Path(debs_dir).glob("*.deb")):
            if not any(deb.name.startswith(w + "_") for w in wanted):
                continue  # cheap pre-filter by file name; the control file is authoritative
            control, got = read_deb(deb, (HELP_PREFIX, MO_PREFIX))
            if control.get("Package") in wanted:
                versions[control["Package"]] = control.get("Version", "?")
                files.update(got)
    missing = [w for w in wanted if w not in versions]
    if missing:
        raise CorpusError(f"missing .deb package(s) in {debs_dir}: {', '.join(missing)}")
    raw = collect_pairs(files, lang)
    pairs = filter_pairs(raw, lang, max_words)
    splits = split_pairs(pairs, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, ps in splits.items():
        write_pairs_tsv(ps, out / f"{name}.tsv")
    counts = {k: dict(Counter(p.origin for p in v), total=len(v)) for k, v in splits.items()}
    summary = {"lang": lang, "raw_pairs": len(raw), "pairs": len(pairs)}
    summary |= {"splits": counts, "packages": versions}
    debs = "None (apt-get download)" if downloaded else repr(str(debs_dir))
    call = f"build_libreoffice_corpus({lang!r}, {str(out_dir)!r}, debs_dir={debs}, max_words={max_words}, seed={seed})"
    (out / "DATA.md").write_text(_data_md(summary, call, max_words), encoding="utf-8")
    return summary


def _data_md(s: dict, call: str, max_words: int) -> str:
    rows = "\n".join(
        f"| {k} | {c['total']} | {c.get('help', 0)} | {c.get('ui', 0)} |" for k, c in s["splits"].items()
    )
    pkgs = "\n".join(f"- `{p}` {v}" for p, v in s["packages"].items())
    return f"""# English → {s["lang"]} corpus from LibreOffice

| split | pairs | help | ui |
|---|---|---|---|
{rows}

{s["raw_pairs"]} raw pairs before filtering, {s["pairs"]} after.

## Source
Debian packages:
{pkgs}

Licence: {LICENCE}. Attribution: {ATTRIBUTION}.

## How it was built
Command:
```
{shlex.join(sys.orig_argv)}
```
Python call: `seq2seq.libreoffice.{call}`

1. Help pages `usr/share/libreoffice/help/en-US/text/**.html` and the `{s["lang"]}` pages with the same
   path are aligned by block element id (`par_id…`, `hd_id…`); visible text only, the non-Mac
   alternative of `switchinline` spans.
2. UI strings: msgid → msgstr from the `.mo` catalogues (singular of plurals), mnemonics
   (`~F`, `_F`, `(~F)`, `(_F)`) removed.
3. Unicode NFC, whitespace collapsed. Dropped: empty sides, untranslated targets (script check or
   target == source), sources without ASCII letters, more than {max_words} words or {MAX_CHARS}
   characters on a side, control characters or mojibake, length ratio target/source outside 0.2–
   {MAX_RATIO} for sources of 40+ characters (stale translations), mismatched HTML entities,
   exact duplicates.
4. Split by seeded sha1 of the source, so one source is only ever in one split.
"""
