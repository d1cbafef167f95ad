"""General-domain English→Korean text beside the LibreOffice corpus, merged into one corpus whose
every pair names its domain: the model should also know "How are you?", not only "Click OK".

The sources are files a person downloads once (see `GENERAL_SOURCES`); the build reads them from a
folder named on the command line and never from a fixed path.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .data import CorpusError, Pair, filter_pairs, read_pairs_tsv, split_by_source, write_pairs_tsv

SPLITS = ("train", "dev", "test")
LIBREOFFICE = "libreoffice"


@dataclass(frozen=True)
class Source:
    file: str
    domain: str
    what: str
    licence: str
    origin: str


GENERAL_SOURCES = (
    Source(
        "tatoeba-kor-eng.tsv",
        "tatoeba",
        "short everyday sentences",
        "CC BY 2.0 FR (per-pair attribution kept)",
        "Tatoeba, as published by manythings.org/anki (kor-eng, 2023-02-20)",
    ),
    Source(
        "news-koen-dev.tsv",
        "news",
        "news, long sentences",
        "CC BY-SA 3.0",
        "Korean–English news v1, dev part (Park, Hong and Cha 2016, PACLIC 30), "
        "github.com/jungyeul/korean-parallel-corpora",
    ),
    Source(
        "news-koen-test.tsv",
        "news",
        "news, long sentences",
        "CC BY-SA 3.0",
        "Korean–English news v1, test part (same corpus)",
    ),
    Source(
        "jhe-koen-dev.tsv",
        "jhe",
        "general prose: stories, school texts",
        "CC BY-SA 3.0",
        "JHE evaluation data, dev part, github.com/jungyeul/korean-parallel-corpora",
    ),
)
LICENCES = {
    LIBREOFFICE: "MPL-2.0, © The Document Foundation and LibreOffice contributors",
    "tatoeba": "CC BY 2.0 FR, Tatoeba contributors (each pair's sentence ids and authors in column 4)",
    "news": "CC BY-SA 3.0, Korean–English news v1 (Park, Hong and Cha 2016)",
    "jhe": "CC BY-SA 3.0, JHE evaluation data (jungyeul/korean-parallel-corpora)",
}
# Held-out pairs (dev, test) per general domain. Tatoeba: about 400 each, grouped by English sentence.
# News and JHE are small: a slice of each is held out so that every domain is scored, the rest trains.
HELD_OUT = {"tatoeba": (400, 400), "news": (200, 400), "jhe": (100, 150)}


def read_general_sources(folder: str | Path, max_words: int = 80) -> dict[str, list[Pair]]:
    """The general-domain files of `folder`, filtered like the LibreOffice pairs, by domain."""
    folder = Path(folder)
    missing = [s.file for s in GENERAL_SOURCES if not (folder / s.file).is_file()]
    if missing:
        raise CorpusError(f"{folder}: missing {', '.join(missing)} (see DATA.md for where they come from)")
    raw: dict[str, list[Pair]] = {}
    for source in GENERAL_SOURCES:
        pairs = read_pairs_tsv(folder / source.file)
        raw.setdefault(source.domain, []).extend(
            dataclasses.replace(p, domain=source.domain, origin=source.file) for p in pairs
        )
    return {domain: filter_pairs(pairs, "ko", max_words) for domain, pairs in raw.items()}


def build_mixed_corpus(
    libreoffice_dir: str | Path,
    general_dir: str | Path,
    out_dir: str | Path,
    seed: int = 0,
    max_words: int = 80,
    held_out: dict[str, tuple[int, int]] | None = None,
) -> dict:
    """LibreOffice's train/dev/test exactly as they are, plus each general domain split by source.

    A general pair whose English also occurs in the LibreOffice corpus joins train when that English
    is a LibreOffice training source and is dropped when it is held out there, so no held-out source is
    ever trained on.
    """
    lo = Path(libreoffice_dir)
    splits = {
        name: [dataclasses.replace(p, domain=LIBREOFFICE) for p in read_pairs_tsv(lo / f"{name}.tsv")]
        for name in SPLITS
    }
    lo_train = {p.source for p in splits["train"]}
    lo_held = {p.source for name in ("dev", "test") for p in splits[name]}
    held_out = held_out or HELD_OUT
    dropped = Counter()
    for domain, pairs in read_general_sources(general_dir, max_words).items():
        dev, test = held_out[domain]
        seen = [p for p in pairs if p.source in lo_train]
        dropped[domain] = sum(p.source in lo_held for p in pairs)
        fresh = [p for p in pairs if p.source not in lo_train and p.source not in lo_held]
        parts = split_by_source(fresh, test=test, dev=dev, seed=seed)
        parts["train"] = parts["train"] + seen
        for name in SPLITS:
            splits[name].extend(parts[name])
    out = Path(out_dir)
    for name in SPLITS:
        write_pairs_tsv(splits[name], out / f"{name}.tsv")
    counts = {name: dict(Counter(p.domain for p in splits[name])) for name in SPLITS}
    summary = {"splits": counts, "dropped_held_out_overlap": dict(dropped)}
    call = (
        f"build_mixed_corpus({str(libreoffice_dir)!r}, {str(general_dir)!r}, {str(out_dir)!r}, "
        f"seed={seed}, max_words={max_words})"
    )
    (out / "DATA.md").write_text(_data_md(counts, dropped, call, max_words, held_out), encoding="utf-8")
    return summary


def _data_md(
    counts: dict[str, dict[str, int]], dropped: Counter, call: str, max_words: int, held_out: dict
) -> str:
    domains = [LIBREOFFICE, *held_out]
    header = "| split | " + " | ".join(domains) + " | all |\n|---|" + "---|" * (len(domains) + 1)
    rows = "\n".join(
        f"| {name} | "
        + " | ".join(f"{counts[name].get(d, 0):,}" for d in domains)
        + f" | {sum(counts[name].values()):,} |"
        for name in SPLITS
    )
    sources = "\n".join(
        f"| `{s.file}` | `{s.domain}` | {s.what} | {s.licence} | {s.origin} |" for s in GENERAL_SOURCES
    )
    licences = "\n".join(f"- `{d}`: {text}" for d, text in LICENCES.items())
    held = ", ".join(f"{d} {dev}/{test}" for d, (dev, test) in held_out.items())
    overlap = ", ".join(f"{d} {n}" for d, n in dropped.items() if n) or "none"
    return f"""# English → Korean corpus, mixed domains

Every line is `English<TAB>Korean<TAB>domain<TAB>attribution` (the attribution column is filled for
Tatoeba pairs, whose licence asks for it per sentence).

{header}
{rows}

## Sources
| file | domain | what | licence | where it comes from |
|---|---|---|---|---|
| `libreoffice/{{train,dev,test}}.tsv` | `libreoffice` | software help and UI strings | MPL-2.0 | `python -m seq2seq data libreoffice` from Debian's `libreoffice-help-en-us`, `libreoffice-help-ko`, `libreoffice-l10n-ko` |
{sources}

Licences:
{licences}

## How it was built
Command:
```
{shlex.join(sys.orig_argv)}
```
Python call: `seq2seq.general.{call}`

1. The LibreOffice train/dev/test splits are copied as they are (the same pairs as before), domain
   `libreoffice`.
2. The general files are read as UTF-8 TSV and filtered like the LibreOffice pairs: whitespace
   collapsed, NFC, no Hangul in the Korean side or more than {max_words} words dropped, exact duplicates
   dropped.
3. Each general domain is split by a seeded sha1 of its English sentence, so every translation of one
   English sentence lands on one side (dev/test pairs: {held}). The rest trains.
4. An English sentence that is also a LibreOffice source trains when it trains there, and is dropped
   when LibreOffice holds it out (dropped: {overlap}).
"""
