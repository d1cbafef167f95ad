"""What the class sees of a lesson, as one JSON-ready dict: the step, the question, and α once the
teacher has revealed it. The broadcaster builds it once per change of the lesson for the whole class;
before Reveal it holds no α, e, rank or chart (nor the Korean token, when the teacher hides it), so a
student's page cannot show what it was never sent.

The model is loaded here once per process and checkpoint (read-only, like the explorer's own loader);
the steps are replayed on the teacher's path (the forced tokens) with `TranslationSession.go_to`.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from seq2seq.checkpoint import MODEL_FILE
from seq2seq.session import TranslationSession
from seq2seq.translator import Translator, load_translator
from seq2seq.words import group_sums, group_words, word_text

from .store import Lesson

APP_DIR = Path(__file__).resolve().parents[1]
TOP_K = 5  # the top-k a session is started with; the class never sees it
_lock = threading.Lock()  # one session at a time per process: the model is shared


def checkpoints_root() -> Path:
    """The explorer's checkpoint folder (ui.models.checkpoints_root reads the same variable)."""
    return Path(os.environ.get("SEQ2SEQ_CHECKPOINTS") or APP_DIR / "checkpoints")


def translator(name: str) -> Translator:
    """The lesson's model by its folder name; ValueError when there is no such checkpoint."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"no model {name!r}")
    folder = checkpoints_root() / name
    try:
        stamp = (folder / MODEL_FILE).stat().st_mtime
    except OSError as exc:
        raise ValueError(f"no model {name!r}") from exc
    return _load(str(folder), stamp)


@lru_cache(maxsize=4)
def _load(path: str, stamp: float) -> Translator:
    torch.set_num_threads(max(1, int(os.environ.get("SEQ2SEQ_THREADS") or 1)))  # as ui.models._load
    return load_translator(path)


def units(src_tokens: list[str], unit: str) -> tuple[list[str], list[list[int]]]:
    """What the class guesses among: (labels, pieces of each), as ui.guessing.Units groups them."""
    if unit == "piece":
        return list(src_tokens), [[j] for j in range(len(src_tokens))]
    groups = group_words(src_tokens)
    return [word_text(src_tokens, g) for g in groups], groups


def session_at(lesson: Lesson) -> TranslationSession:
    """The lesson's sentence stepped to the teacher's step, on the teacher's path."""
    session = translator(lesson.checkpoint).start(lesson.sentence, TOP_K)
    session.go_to(lesson.step, dict(lesson.forced))
    return session


def state(lesson: Lesson) -> dict:
    """The class's view of the lesson now. `revealed` says whether α may be shown (the teacher revealed
    the step, or the lesson is not Guess first); only then are `weights` (α per unit) and `top` sent."""
    view = {
        "code": lesson.code,
        "version": lesson.version,
        "round": lesson.cleared,
        "ended": lesson.ended,
        "step": lesson.step if lesson.sentence else 0,
        "sentence": lesson.sentence,
        "model": lesson.checkpoint,
        "guess_first": lesson.guess_first,
        "unit": lesson.unit,
        "hidden": lesson.hidden,
    }
    if lesson.ended or not lesson.sentence or lesson.step < 1:
        return view
    with _lock:
        try:
            session = session_at(lesson)
        except (ValueError, OSError) as exc:  # the lesson's model is not on this server (several machines)
            view["problem"] = f"model: {exc}"
            return view
        if not session.steps:
            return view
        step = session.steps[-1]
        labels, groups = units(session.src_tokens, lesson.unit)
        view["step"] = i = step.index + 1
        view["labels"], view["starts"] = labels, [g[0] for g in groups]
        view["revealed"] = revealed = not lesson.guess_first or i in lesson.revealed
        view["attention"] = step.weights is not None
        if not lesson.hidden or revealed:
            written = session.pieces([step.token])[0]
            view["written"] = written.lstrip("▁")  # "" is the bare ▁: a space, the word boundary
            view["so_far"] = "".join(session.tgt_tokens[:-1]).replace("▁", " ").strip()
        if revealed and step.weights is not None:
            # α_ij summed over the pieces of each unit: a row still sums to 1
            weights = group_sums(step.weights, groups)
            view["weights"] = [round(float(w), 4) for w in weights]
            view["top"] = int(np.argmax(weights))
    return view
