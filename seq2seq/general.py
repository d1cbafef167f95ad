"""General-domain English→Korean text beside the LibreOffice corpus, merged into one corpus whose
every pair names its domain: the model should also know "How are you?", not only "Click OK".

The sources are files a person downloads once (see `GENERAL_SOURCES`); the build reads them from a
folder named on the command line and never from a fixed path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shlex
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .config import DIRECTIONS
from .data import CorpusError, Pair, filter_pairs, read_pairs_tsv, write_pairs_tsv

SPLITS = ("train", "dev", "test")
LIBREOFFICE = "libreoffice"


@dataclass(frozen=True)
class Source:
    file: str
    domain: str
    what: str
    licence: str
    origin: str
    block: int = 1  # consecutive lines that belong together (a paraphrase group, a dialogue): one split
    noncommercial: bool = False  # its terms forbid commercial use; `--commercial-only` leaves it out


GENERAL_SOURCES = (
    Source(
        "tatoeba-kor-eng.tsv",
        "tatoeba",
        "short everyday sentences",
        "CC BY 2.0 FR (per-pair attribution kept)",
        "Tatoeba, as published by manythings.org/anki (kor-eng, 2023-02-20)",
    ),
    Source(
        "kss-en-ko.tsv",
        "kss",
        "everyday textbook sentences",
        "CC BY-NC-SA 4.0 (non-commercial)",
        "KSS transcript v1.3 (Kyubyong Park), columns 2 and 6",
        noncommercial=True,
    ),
    Source(
        "stylekqc-en-ko.tsv",
        "stylekqc",
        "requests and questions to an assistant, 10 paraphrases each",
        "CC BY-SA 4.0",
        "StyleKQC (cynthia/stylekqc) Korean with the English of warnikchow/kosp2e",
        block=10,
    ),
    Source(
        "xpersona-en-ko.tsv",
        "xpersona",
        "casual chat (dialogues are consecutive lines)",
        "MIT",
        "XPersona (HLTCHKUST/Xpersona), human-revised Korean, PersonaChat English",
        block=50,
    ),
    Source(
        "kornli-xnli-en-ko.tsv",
        "kornli",
        "speech, fiction, travel, government (a premise, then its hypotheses)",
        "English CC BY-NC 4.0 (XNLI, non-commercial); Korean CC BY-SA 4.0 (KorNLI)",
        "KorNLI dev/test (kakaobrain/kor-nlu-datasets) with the XNLI English",
        block=4,
        noncommercial=True,
    ),
    Source(
        "korsts-en-ko.tsv",
        "korsts",
        "image captions, headlines, forum posts (sentence pairs)",
        "Korean CC BY-SA 4.0 (KorSTS); English from STS-B, whose parts carry their own terms",
        "KorSTS dev/test with the STS-B English",
        block=2,
    ),
    Source(
        "pawsx-en-ko.tsv",
        "pawsx",
        "Wikipedia sentences (paraphrase pairs)",
        '"may be freely used for any purpose" (Google)',
        "PAWS-X Korean dev/test with the PAWS English",
        block=2,
    ),
    Source(
        "xrisawoz-en-ko.tsv",
        "xrisawoz",
        "hotel, restaurant and travel dialogue turns",
        "BSD-3-Clause (repository licence)",
        "X-RiSAWOZ few-shot, stanford-oval/dialogues",
        block=20,
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
    Source(
        "iwslt23-formality-en-ko.tsv",
        "iwslt",
        "phone and chat conversation, each English line with a formal and an informal Korean",
        "CDLA-Sharing-1.0",
        "IWSLT 2023 formality-control task, en-ko train and test (amazon-science/contrastive-controlled-mt)",
    ),
    Source(
        "storybooks-en-ko.tsv",
        "storybooks",
        "children's stories, one pair per page",
        "CC BY 4.0 (each story's footer names its authors, illustrators and translator)",
        "Global African Storybook Project (global-asp/global-asp ko/, global-asp/asp-source en/)",
        block=12,
    ),
    Source(
        "storybooks-nc-en-ko.tsv",
        "storybooks",
        "children's stories, one pair per page (twelve stories)",
        "CC BY-NC 4.0 (non-commercial)",
        "Global African Storybook Project (the same repositories)",
        block=12,
        noncommercial=True,
    ),
)
LICENCES = {
    LIBREOFFICE: "MPL-2.0, © The Document Foundation and LibreOffice contributors",
    "tatoeba": "CC BY 2.0 FR, Tatoeba contributors (each pair's sentence ids and authors in column 4)",
    "kss": "CC BY-NC-SA 4.0, KSS (Kyubyong Park): non-commercial use only",
    "stylekqc": "CC BY-SA 4.0, StyleKQC (Cho et al. 2022) and kosp2e's English",
    "xpersona": "MIT, XPersona (Lin et al. 2021) and PersonaChat",
    "kornli": "Korean CC BY-SA 4.0 (KorNLI, Kakao Brain); English CC BY-NC 4.0 (XNLI): non-commercial use only",
    "korsts": "Korean CC BY-SA 4.0 (KorSTS, Kakao Brain); English from STS-B under its parts' own terms",
    "pawsx": "PAWS-X (Google): may be freely used for any purpose",
    "xrisawoz": "BSD-3-Clause, X-RiSAWOZ (stanford-oval/dialogues)",
    "news": "CC BY-SA 3.0, Korean–English news v1 (Park, Hong and Cha 2016)",
    "jhe": "CC BY-SA 3.0, JHE evaluation data (jungyeul/korean-parallel-corpora)",
    "iwslt": "CDLA-Sharing-1.0, IWSLT 2023 formality-control data (amazon-science/contrastive-controlled-mt)",
    "storybooks": "CC BY 4.0, Global African Storybook Project (authors, illustrators and translators in each "
    "story's footer); twelve stories CC BY-NC 4.0: non-commercial use only",
}
NONCOMMERCIAL = tuple(sorted({s.domain for s in GENERAL_SOURCES if s.noncommercial}))
# Held-out pairs (dev, test) per general domain, cut whole groups at a time (see `split_grouped`).
# News and JHE are small: a slice of each is held out so that every domain is scored, the rest trains.
HELD_OUT = {
    "tatoeba": (400, 400),
    "kss": (400, 400),
    "stylekqc": (400, 400),
    "xpersona": (400, 400),
    "kornli": (300, 300),
    "korsts": (300, 300),
    "pawsx": (300, 300),
    "xrisawoz": (100, 100),
    "news": (200, 400),
    "jhe": (100, 150),
    "iwslt": (100, 200),  # pairs: about 50 and 100 English lines, each with its formal and informal Korean
    "storybooks": (30, 60),
}


def read_general_sources(
    folder: str | Path, max_words: int = 80, commercial_only: bool = False
) -> dict[str, list[Pair]]:
    """The general-domain files of `folder`, filtered like the LibreOffice pairs, by domain.

    Each pair's `origin` names its file and block (`stylekqc-en-ko.tsv#12`), which `split_grouped` keeps
    on one side of the split.
    """
    folder = Path(folder)
    sources = [s for s in GENERAL_SOURCES if not (commercial_only and s.noncommercial)]
    missing = [s.file for s in sources if not (folder / s.file).is_file()]
    if missing:
        raise CorpusError(f"{folder}: missing {', '.join(missing)} (see DATA.md for where they come from)")
    raw: dict[str, list[Pair]] = {}
    for source in sources:
        pairs = read_pairs_tsv(folder / source.file)
        raw.setdefault(source.domain, []).extend(
            dataclasses.replace(p, domain=source.domain, origin=f"{source.file}#{i // source.block}")
            for i, p in enumerate(pairs)
        )
    return {domain: filter_pairs(pairs, "ko", max_words) for domain, pairs in raw.items()}


def groups_of(pairs: list[Pair]) -> list[list[Pair]]:
    """Pairs that must stay together: one block of a file, joined with every block that shares an English
    sentence with it (union-find), so no sentence, paraphrase group or dialogue straddles two splits."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[find("block\t" + p.origin)] = find("source\t" + p.source)
    members: dict[str, list[Pair]] = {}
    for p in pairs:
        members.setdefault(find("source\t" + p.source), []).append(p)
    return list(members.values())


def split_grouped(
    pairs: list[Pair], held_out: dict[str, tuple[int, int]], seed: int = 0
) -> dict[str, list[Pair]]:
    """Train/dev/test over all domains at once: groups (`groups_of`) in a seeded sha1 order fill each
    domain's test, then dev quota (by the domain of their first pair); the rest trains. A split may run
    over its size by the rest of its last group."""
    groups = groups_of(pairs)
    key = {id(g): hashlib.sha1(f"{seed}\t{min(p.source for p in g)}".encode()).hexdigest() for g in groups}
    groups.sort(key=lambda g: key[id(g)])
    filled = {name: Counter() for name in SPLITS}
    splits: dict[str, list[Pair]] = {name: [] for name in SPLITS}
    for group in groups:
        domain = group[0].domain
        dev, test = held_out.get(domain, (0, 0))
        name = "test" if filled["test"][domain] < test else "dev" if filled["dev"][domain] < dev else "train"
        splits[name].extend(group)
        filled[name].update(p.domain for p in group)
    return splits


def build_general_corpus(
    general_dir: str | Path,
    out_dir: str | Path,
    libreoffice_dir: str | Path | None = None,
    seed: int = 0,
    max_words: int = 80,
    held_out: dict[str, tuple[int, int]] | None = None,
    commercial_only: bool = False,
    direction: str = "enko",
) -> dict:
    """Every general domain split by group (`split_grouped`); with `libreoffice_dir`, LibreOffice's
    train/dev/test exactly as they are beside them (the mixed corpus).

    A general pair whose English also occurs in the LibreOffice corpus joins train when that English
    is a LibreOffice training source and is dropped when it is held out there, so no held-out source is
    ever trained on.

    `direction="koen"` writes the same splits Korean first. A Korean sentence can translate several
    English ones ("고마워요."), so a training pair whose Korean is held out in dev or test is dropped:
    the Korean→English model never trains on a source it is scored on.
    """
    if direction not in DIRECTIONS:
        raise CorpusError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    held_out = held_out or HELD_OUT
    general = [p for ps in read_general_sources(general_dir, max_words, commercial_only).values() for p in ps]
    splits: dict[str, list[Pair]] = {name: [] for name in SPLITS}
    dropped = Counter()
    seen: list[Pair] = []
    if libreoffice_dir is not None:
        lo = Path(libreoffice_dir)
        for name in SPLITS:
            splits[name] = [
                dataclasses.replace(p, domain=LIBREOFFICE) for p in read_pairs_tsv(lo / f"{name}.tsv")
            ]
        lo_train = {p.source for p in splits["train"]}
        lo_held = {p.source for name in ("dev", "test") for p in splits[name]}
        dropped.update(p.domain for p in general if p.source in lo_held)
        seen = [p for p in general if p.source in lo_train]
        general = [p for p in general if p.source not in lo_train and p.source not in lo_held]
    parts = split_grouped(general, held_out, seed)
    parts["train"] += seen
    for name in SPLITS:
        splits[name].extend(parts[name])
    korean_dropped = Counter()
    if direction == "koen":
        splits, korean_dropped = korean_first(splits)
    out = Path(out_dir)
    for name in SPLITS:
        write_pairs_tsv(splits[name], out / f"{name}.tsv")
    counts = {name: dict(Counter(p.domain for p in splits[name])) for name in SPLITS}
    summary = {
        "splits": counts,
        "dropped_held_out_overlap": dict(dropped),
        "left_out_noncommercial": list(NONCOMMERCIAL) if commercial_only else [],
        "direction": direction,
        "dropped_held_out_korean": dict(korean_dropped),
    }
    lo_arg = f", libreoffice_dir={str(libreoffice_dir)!r}" if libreoffice_dir is not None else ""
    call = (
        f"build_general_corpus({str(general_dir)!r}, {str(out_dir)!r}{lo_arg}, "
        f"seed={seed}, max_words={max_words}, commercial_only={commercial_only}, direction={direction!r})"
    )
    domains = ([LIBREOFFICE] if libreoffice_dir is not None else []) + [
        d for d in held_out if counts["train"].get(d) or counts["test"].get(d)
    ]
    (out / "DATA.md").write_text(
        _data_md(
            counts, dropped, call, max_words, held_out, domains, commercial_only, korean_dropped, direction
        ),
        encoding="utf-8",
    )
    return summary


def korean_first(splits: dict[str, list[Pair]]) -> tuple[dict[str, list[Pair]], Counter]:
    """Every pair reversed (Korean source, English target); training pairs whose Korean is held out are
    dropped, counted by domain."""
    held = {p.target for name in ("dev", "test") for p in splits[name]}
    dropped = Counter(p.domain for p in splits["train"] if p.target in held)
    out = {
        name: [
            dataclasses.replace(p, source=p.target, target=p.source)
            for p in pairs
            if name != "train" or p.target not in held
        ]
        for name, pairs in splits.items()
    }
    return out, dropped


def build_mixed_corpus(libreoffice_dir, general_dir, out_dir, **options) -> dict:
    """The LibreOffice corpus and the general one together (`build_general_corpus` with LibreOffice)."""
    return build_general_corpus(general_dir, out_dir, libreoffice_dir=libreoffice_dir, **options)


def _sources_rows(used: list, domains: list[str]) -> str:
    """The DATA.md sources table's rows: each general file used, and the LibreOffice splits when mixed in."""
    sources = "\n".join(f"| `{s.file}` | `{s.domain}` | {s.what} | {s.licence} | {s.origin} |" for s in used)
    if LIBREOFFICE in domains:
        sources = (
            "| `libreoffice/{train,dev,test}.tsv` | `libreoffice` | software help and UI strings | MPL-2.0 | "
            "`python -m seq2seq data libreoffice` from Debian's `libreoffice-help-en-us`, `libreoffice-help-ko`, "
            "`libreoffice-l10n-ko` |\n" + sources
        )
    return sources


def _terms(commercial_only: bool) -> str:
    if commercial_only:
        return (
            f"Built with `--commercial-only`: the non-commercial sources ({', '.join(NONCOMMERCIAL)}) are left "
            "out, so what is trained on this corpus carries none of their limits."
        )
    return (
        f"**Non-commercial terms:** {', '.join(NONCOMMERCIAL)} allow teaching, study and research only, "
        "and so does a model trained on this corpus. `--commercial-only` rebuilds it without them."
    )


def _data_md(
    counts: dict[str, dict[str, int]],
    dropped: Counter,
    call: str,
    max_words: int,
    held_out: dict,
    domains: list[str],
    commercial_only: bool,
    korean_dropped: Counter,
    direction: str,
) -> str:
    header = "| split | " + " | ".join(domains) + " | all |\n|---|" + "---|" * (len(domains) + 1)
    rows = "\n".join(
        f"| {name} | "
        + " | ".join(f"{counts[name].get(d, 0):,}" for d in domains)
        + f" | {sum(counts[name].values()):,} |"
        for name in SPLITS
    )
    used = [s for s in GENERAL_SOURCES if s.domain in domains]
    sources = _sources_rows(used, domains)
    licences = "\n".join(f"- `{d}`: {text}" for d, text in LICENCES.items() if d in domains)
    held = ", ".join(f"{d} {dev}/{test}" for d, (dev, test) in held_out.items() if d in domains)
    blocks = ", ".join(dict.fromkeys(f"`{s.domain}` {s.block}" for s in used if s.block > 1))
    overlap = ", ".join(f"{d} {n}" for d, n in dropped.items() if n) or "none"
    terms = _terms(commercial_only)
    title, columns = "English → Korean", "`English<TAB>Korean<TAB>domain<TAB>attribution`"
    reverse_step = ""
    if direction == "koen":
        title, columns = "Korean → English", "`Korean<TAB>English<TAB>domain<TAB>attribution`"
        lost = ", ".join(f"{d} {n}" for d, n in korean_dropped.items() if n) or "none"
        reverse_step = (
            "\n- Korean → English: the same splits with each pair reversed. A training pair whose Korean is also "
            f"a dev or test Korean is dropped, so no scored source is trained on (dropped: {lost})."
        )
    lo_steps = (
        """
- The LibreOffice train/dev/test splits are copied as they are (the same pairs as before), domain
  `libreoffice`. An English sentence that is also a LibreOffice source trains when it trains there,
  and is dropped when LibreOffice holds it out (dropped: """
        + overlap
        + ")."
        if LIBREOFFICE in domains
        else ""
    )
    return f"""# {title} corpus by domain

Every line is {columns} (the attribution column is filled for
Tatoeba pairs, whose licence asks for it per sentence).

{header}
{rows}

## Sources
| file | domain | what | licence | where it comes from |
|---|---|---|---|---|
{sources}

Licences:
{licences}

{terms}

## How it was built
Command:
```
{shlex.join(sys.orig_argv)}
```
Python call: `seq2seq.general.{call}`

- The general files are read as UTF-8 TSV and filtered like the LibreOffice pairs: whitespace
  collapsed, NFC, no Hangul in the Korean side or more than {max_words} words dropped, exact duplicates
  dropped.
- Pairs are grouped so that nothing that belongs together straddles two splits: consecutive lines of a
  file in blocks ({blocks}: a StyleKQC paraphrase group, an XPersona dialogue stretch, a KorNLI
  premise with its hypotheses), joined with every other pair that has the same English sentence.
- Groups are ordered by a seeded sha1 and fill each domain's test, then dev split (dev/test pairs:
  {held}). The rest trains.{lo_steps}{reverse_step}
"""
