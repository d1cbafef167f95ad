"""Robustness: fuzzed text into the translator, fuzzed bytes into the TSV readers, broken checkpoint
folders, and a disk that fills up while saving. tests/ROBUSTNESS.md lists every case with its outcome.

The contract under test: every input gives a valid result or a ValueError with a clear message, and
soon (a hard alarm turns a hang into a failure). Hypothesis runs few examples per test so the file
stays quick on a busy machine, and keeps no example database in the repository.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import signal
import string
import tempfile
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_OVERRIDES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from seq2seq import diagnostics, load_translator
from seq2seq.checkpoint import (
    CONFIG_FILE,
    MODEL_FILE,
    REQUIRED_FILES,
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from seq2seq.config import load_train_config
from seq2seq.data import CorpusError, Pair, parse_pairs_tsv, read_pairs_tsv
from seq2seq.decoding import max_output_length
from seq2seq.model import Seq2Seq
from seq2seq.notices import MAX_INPUT_CHARS, SCAN_CHARS, clean_input
from seq2seq.snapshots import METRICS_FILE
from seq2seq.tokenizer import EOS
from seq2seq.train import STATE_FILE, TrainingError, train
from seq2seq.translator import MAX_INPUT_TOKENS

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TOY = "the user opens the file ."
SLOW_S = 20.0  # a generous bound for one call on a busy 2-core machine
HANG_S = 60  # past this the alarm fails the test instead of letting it hang
FUZZ = settings(
    max_examples=int(os.environ.get("ROBUSTNESS_EXAMPLES", 100)),  # raise it on a quiet machine
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn")


# --------------------------------------------------------------------------- helpers
@contextmanager
def alarm(seconds: int = HANG_S):
    """Raise TimeoutError in the test if the body runs past `seconds` (a hang becomes a failure)."""

    def ring(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def attempt(call):
    """Run `call`: its result, or the ValueError it raised. Any other exception fails the test."""
    started = time.perf_counter()
    with alarm():
        try:
            outcome = call()
        except ValueError as exc:
            assert not isinstance(exc, UnicodeError), f"an unclear error leaked out: {exc!r}"
            assert str(exc).strip(), "a ValueError without a message"
            outcome = exc
    elapsed = time.perf_counter() - started
    assert elapsed < SLOW_S, f"one call took {elapsed:.1f} s"
    return outcome


def refused(call, match: str, kind: type[ValueError] = ValueError) -> ValueError:
    """`call` must raise `kind` (in time) with a message that matches `match`."""
    outcome = attempt(call)
    assert isinstance(outcome, kind), f"expected {kind.__name__}, got {outcome!r}"
    assert re.search(match, str(outcome)), str(outcome)
    return outcome


def has_text(text: str) -> bool:
    """What clean_input keeps: anything but blanks and invisible characters, within the scan."""
    return any(
        not (ch.isspace() or unicodedata.category(ch) in INVISIBLE + ("Zl", "Zp")) for ch in text[:SCAN_CHARS]
    )


def assert_attention(attention, tgt_tokens, src_tokens) -> None:
    assert attention.shape == (len(tgt_tokens), len(src_tokens))
    assert np.isfinite(attention).all() and (attention >= 0).all()
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, atol=1e-4)


def assert_translation(result, beam_size: int = 1) -> None:
    assert isinstance(result.text, str) and isinstance(result.source, str)
    assert 0 < len(result.source) <= MAX_INPUT_CHARS
    assert result.src_tokens[-1] == EOS and len(result.src_tokens) <= MAX_INPUT_TOKENS
    assert result.tgt_tokens and 1 <= len(result.nbest) <= beam_size
    assert_attention(result.attention, result.tgt_tokens, result.src_tokens)
    for candidate in result.nbest:
        assert_attention(candidate.attention, candidate.tgt_tokens, result.src_tokens)
    assert all(isinstance(w, str) and w for w in result.warnings)
    if not result.nbest[0].finished:
        assert any("length limit" in w for w in result.warnings), result.warnings
    unknown = any("unknown to the model" in w for w in result.warnings)
    assert unknown == ("<unk>" in result.src_tokens), result.warnings


# Characters that break naive text handling: controls, blanks, zero-width and direction marks, BOM,
# noncharacters, private use, lone surrogates, emoji sequences, combining marks, compatibility forms.
NASTY = list(
    "\x00\x01\x1b\x7f\t\n\r\x0b\x0c\x85\xa0\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069"
    "\u2028\u2029\u3000\ufeff\ufffd\ufffe\ue000\U0010ffff\ud800\udfff\u0301\u1160\u3164ﬁ①Ａ"
) + ["😀", "👩\u200d💻", "🇰🇷", "e\u0301"]
WORDS = (  # the toy vocabulary, Korean typed into the English box, and the special pieces typed as text
    "the user program dialog macro opens saves closes deletes prints file document table chart cell page "
    "now again . 사용자가 파일을 엽니다. <s> </s> <unk> <pad> ▁ ▁the"
).split()
any_char = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])
texts = st.one_of(
    st.text(any_char, max_size=120),
    st.lists(st.sampled_from(NASTY + list(string.punctuation)), max_size=40).map("".join),
    st.lists(
        st.sampled_from(WORDS) | st.sampled_from(NASTY) | st.text(any_char, max_size=3), max_size=25
    ).map(" ".join),
    st.lists(st.sampled_from(WORDS) | st.sampled_from(NASTY), max_size=25).map("".join),
)


# --------------------------------------------------------------------------- translator fuzzing
@FUZZ
@given(text=texts, beam=st.sampled_from([1, 3]))
def test_translate_gives_a_translation_or_a_clear_error(tiny_translator, text, beam):
    outcome = attempt(lambda: tiny_translator.translate(text, beam_size=beam))
    if isinstance(outcome, ValueError):
        assert not has_text(text) and "input is empty" in str(outcome)
    else:
        assert has_text(text)
        assert_translation(outcome, beam)


@FUZZ
@given(batch=st.lists(st.tuples(texts, st.sampled_from(WORDS)).map(" ".join), min_size=1, max_size=5))
def test_translate_batch_of_fuzzed_texts(tiny_translator, batch):
    results = attempt(lambda: tiny_translator.translate_batch(batch, beam_size=2))
    assert not isinstance(results, ValueError), results
    assert len(results) == len(batch)
    for text, result in zip(batch, results):
        assert result.source == clean_input(text)[0]
        assert_translation(result, 2)


@FUZZ
@given(
    text=texts, force=st.none() | st.integers(-3, 80) | st.text(any_char, max_size=6) | st.sampled_from(WORDS)
)
def test_stepping_session_on_fuzzed_text_and_forced_tokens(tiny_translator, text, force):
    session = attempt(lambda: tiny_translator.start(text))
    if isinstance(session, ValueError):
        assert not has_text(text) and "input is empty" in str(session)
        return
    step = attempt(session.step)
    assert step.weights.shape == (len(session.src_tokens),)
    np.testing.assert_allclose(step.weights.sum(), 1.0, atol=1e-4)
    assert np.isfinite(step.context).all() and 0.0 <= step.prob <= 1.0
    assert step.top_probs == sorted(step.top_probs, reverse=True)
    if force is not None and not session.finished:
        forced = attempt(lambda: session.step(force))
        if isinstance(forced, ValueError):
            assert len(session.steps) == 1  # a refused token takes no step
        else:
            assert forced.index == 1 and len(session.steps) == 2
    steps = attempt(session.run)
    cap = max_output_length(len(session.src_tokens))
    assert session.finished or len(steps) == cap
    assert_attention(session.attention, session.tgt_tokens, session.src_tokens)


# --------------------------------------------------------------------------- very long and odd inputs
LONG_INPUTS = {
    "100k emoji": "😀" * 100_000,
    "100k RTL and zero-width marks between words": "\u202ethe\u200f user\u200e opens\u200b " * 25_000,
    "100k Korean typed into the English box": "사용자가 파일을 엽니다. " * 8_000,
    "100k characters of one word": "a" * 100_000,
    "10 million characters": TOY * 400_000,
}


@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize("name", list(LONG_INPUTS))
def test_long_input_is_cut_with_a_warning_in_time(tiny_translator, name, beam):
    text = LONG_INPUTS[name]
    result = attempt(lambda: tiny_translator.translate(text, beam_size=beam))
    assert_translation(result, beam)
    assert any(f"input was {len(text):,} characters" in w for w in result.warnings), result.warnings
    if len(result.src_tokens) == MAX_INPUT_TOKENS:
        assert any("subword tokens" in w for w in result.warnings), result.warnings


@pytest.mark.parametrize(
    "padding",
    [" " * 100_000, "\x00" * 100_000, "\u200b" * 100_000, "\ud800" * 100_000, "\n\t" * 50_000],
    ids=["spaces", "NULs", "zero-width spaces", "lone surrogates", "newlines and tabs"],
)
def test_text_after_a_long_invisible_run_is_still_found(tiny_translator, padding):
    """The cut that bounds the work used to come first, so these were refused as empty input."""
    result = attempt(lambda: tiny_translator.translate(padding + TOY))
    assert result.source == TOY and not result.warnings
    assert result.text == tiny_translator.translate(TOY).text


@pytest.mark.parametrize(
    "text",
    ["\x00" * 100_000, " " * 100_000, "\u202e\u200b" * 50_000],
    ids=["NULs", "spaces", "RTL and zero-width"],
)
def test_long_invisible_input_is_empty(tiny_translator, text):
    refused(lambda: tiny_translator.translate(text), "input is empty")


def test_text_beyond_the_scan_limit_is_named_in_the_error(tiny_translator):
    refused(
        lambda: tiny_translator.translate(" " * (SCAN_CHARS + 5) + TOY),
        f"input is empty: its first {SCAN_CHARS:,} characters",
    )


# --------------------------------------------------------------------------- beam size and max_len edges
@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize("max_len", [1, 2])
def test_tiny_max_len_gives_a_short_translation_with_a_warning(tiny_translator, beam, max_len):
    result = tiny_translator.translate(TOY, beam_size=beam, max_len=max_len)
    assert_translation(result, beam)
    assert len(result.tgt_tokens) <= max_len
    assert any("length limit" in w for w in result.warnings)
    session = tiny_translator.start(TOY)
    assert len(session.run(max_len)) == max_len


@pytest.mark.parametrize("beam", [1, 3])
def test_max_len_zero_or_none_means_automatic(tiny_translator, beam):
    automatic = tiny_translator.translate(TOY, beam_size=beam)
    assert tiny_translator.translate(TOY, beam_size=beam, max_len=0).text == automatic.text
    assert tiny_translator.translate_batch([TOY], beam_size=beam, max_len=0)[0].text == automatic.text
    assert len(tiny_translator.start(TOY).run(0)) == len(automatic.tgt_tokens)


@pytest.mark.parametrize("max_len", [-1, -100, 2.5, "5", True])
def test_bad_max_len_is_a_clear_error(tiny_translator, max_len):
    """Negative values used to crash deep in search (RuntimeError: stack expects a non-empty TensorList)."""
    for beam in (1, 3):
        with pytest.raises(ValueError, match="max_len must be a whole number"):
            tiny_translator.translate(TOY, beam_size=beam, max_len=max_len)
        with pytest.raises(ValueError, match="max_len must be a whole number"):
            tiny_translator.translate_batch([TOY, TOY], beam_size=beam, max_len=max_len)
    session = tiny_translator.start(TOY)
    session.step()
    with pytest.raises(ValueError, match="max_len must be a whole number"):
        session.run(max_len)
    with pytest.raises(ValueError, match="max_len must be a whole number"):
        session.force_at(0, "▁파일을", max_len)
    assert len(session.steps) == 1  # a refused what-if leaves the session as it was


@pytest.mark.parametrize("beam", [0, -1, 2.5, "3", True, None])
def test_bad_beam_size_is_a_clear_error(tiny_translator, beam):
    with pytest.raises(ValueError, match="beam_size must be a whole number"):
        tiny_translator.translate(TOY, beam_size=beam)


@pytest.mark.parametrize("beam", [10, 100])  # the app's largest, and more than the vocabulary holds
def test_large_beams_work(tiny_translator, beam):
    result = attempt(lambda: tiny_translator.translate(TOY, beam_size=beam))
    assert_translation(result, beam)


def test_empty_batch_gives_no_results(tiny_translator):
    assert tiny_translator.translate_batch([]) == []


# --------------------------------------------------------------------------- TSV parsing fuzzing
LINE = re.compile(r"^line (\d+): \S")
tsv_text = st.text(st.sampled_from(list("\t\n\r ab가.\x00\ufeff\u2028\x85é\u200b")) | any_char, max_size=300)


def assert_parsed(pairs, problems, data: bytes, max_lines: int | None = None) -> None:
    """Pairs are clean one-line fields; each problem names its line, in order, within the file."""
    lines = data.count(b"\n") + 1
    for pair in pairs:
        assert isinstance(pair, Pair)
        for side in (pair.source, pair.target):
            assert side and side == side.strip() and not re.search(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]", side)
    numbers = []
    for problem in problems:
        if problem == "the file is empty":
            assert not pairs
            continue
        if max_lines is not None and problem.startswith("only the first"):
            continue
        match = LINE.match(problem)
        assert match, f"no line number in {problem!r}"
        numbers.append(int(match.group(1)))
    assert numbers == sorted(set(numbers)) and all(1 <= n <= min(lines, max_lines or lines) for n in numbers)
    assert len(pairs) + len(numbers) <= lines


@FUZZ
@given(data=st.binary(max_size=2000))
def test_parse_pairs_tsv_on_random_bytes(data):
    pairs, problems = attempt(lambda: parse_pairs_tsv(data))
    assert_parsed(pairs, problems, data)


@FUZZ
@given(text=tsv_text)
def test_parse_pairs_tsv_on_random_text_with_tabs_and_newlines(text):
    """A str with a lone surrogate used to raise UnicodeEncodeError; now its line is reported."""
    data = text.encode("utf-8", "surrogatepass")
    pairs, problems = attempt(lambda: parse_pairs_tsv(text))
    assert_parsed(pairs, problems, data)
    assert (pairs, problems) == parse_pairs_tsv(data)


@pytest.mark.parametrize("bad", [None, 42, ["a\tb"]])
def test_parse_pairs_tsv_of_a_non_text_is_a_corpus_error(bad):
    with pytest.raises(CorpusError, match="must be text or bytes"):
        parse_pairs_tsv(bad)


@FUZZ
@given(
    data=st.binary(max_size=2000) | tsv_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    max_bytes=st.integers(1, 2500),
    max_lines=st.integers(1, 30),
)
def test_read_upload_gives_pairs_or_a_clear_error(data, max_bytes, max_lines):
    outcome = attempt(lambda: diagnostics.read_upload(data, max_bytes=max_bytes, max_lines=max_lines))
    if isinstance(outcome, ValueError):
        assert isinstance(outcome, CorpusError)
        if len(data) > max_bytes:
            assert f"the limit is {max_bytes:,} bytes" in str(outcome)
        return
    pairs, problems = outcome
    assert 1 <= len(pairs) <= max_lines
    assert_parsed(pairs, problems, data, max_lines)


def test_read_upload_over_the_size_cap_is_refused_before_parsing():
    data = b"a\tb\n" * (diagnostics.MAX_UPLOAD_BYTES // 4 + 1)
    refused(
        lambda: diagnostics.read_upload(data),
        f"the limit is {diagnostics.MAX_UPLOAD_BYTES:,} bytes",
        CorpusError,
    )


def test_read_upload_over_the_line_cap_reads_the_first_lines():
    lines = diagnostics.MAX_UPLOAD_LINES + 1_000
    pairs, problems = attempt(lambda: diagnostics.read_upload(b"a\tb\n" * lines))
    assert len(pairs) == diagnostics.MAX_UPLOAD_LINES
    assert problems == [f"only the first {diagnostics.MAX_UPLOAD_LINES:,} of {lines:,} lines were read"]


def test_read_upload_of_only_blank_lines_over_the_cap():
    refused(
        lambda: diagnostics.read_upload(b"\n" * 300_000),
        "no usable line.*the file is empty.*only the first 2,000 of",
        CorpusError,
    )


def test_read_upload_of_one_huge_line():
    refused(
        lambda: diagnostics.read_upload(b"x" * diagnostics.MAX_UPLOAD_BYTES), "line 1: no tab", CorpusError
    )


def test_upload_of_one_huge_pair_is_translated_cut_with_a_warning(tiny_translator):
    """The whole upload path: a 1.5 MB source reaches the translator, which cuts it and says so."""
    data = (TOY + " ") * 50_000 + "\t사용자가 파일을 엽니다.\n"
    pairs, problems = attempt(lambda: diagnostics.read_upload(data.encode()))
    assert len(pairs) == 1 and not problems
    rows = attempt(lambda: diagnostics.analyse_pairs(tiny_translator, pairs))
    assert len(rows) == 1 and rows[0]["hyp"]
    result = tiny_translator.translate(pairs[0].source)
    assert any("only the first" in w for w in result.warnings)


# --------------------------------------------------------------------------- TSV files on disk
@pytest.mark.parametrize(
    "data,match",
    [
        (b"\x89PNG\r\n\x1a\n" + random.Random(0).randbytes(5_000), r"line \d+: not valid UTF-8"),
        ("café\tcafé\n".encode("latin-1"), r"line 1: not valid UTF-8 \(byte 0xe9 at byte offset 3\)"),
        ("a\tb\n".encode("utf-16"), r"line 1: not valid UTF-8 \(byte 0xff at byte offset 0\)"),
        (b"x" * 5_000_000, "line 1: no tab"),
    ],
    ids=["binary", "latin-1", "utf-16", "huge line without tab"],
)
def test_read_pairs_tsv_of_a_bad_file_names_the_line(tmp_path, data, match):
    path = tmp_path / "bad.tsv"
    path.write_bytes(data)
    refused(lambda: read_pairs_tsv(path), match, CorpusError)


def test_read_pairs_tsv_of_one_huge_good_line(tmp_path):
    path = tmp_path / "huge.tsv"
    path.write_bytes(b"a " * 2_500_000 + b"\t" + "가 ".encode() * 1_000_000 + b"\n")
    (pair,) = attempt(lambda: read_pairs_tsv(path))
    assert len(pair.source) == 4_999_999 and pair.target.startswith("가 가")


# --------------------------------------------------------------------------- broken checkpoint folders
@pytest.fixture()
def folder(tiny_checkpoint, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_checkpoint, tmp_path / "ckpt"))


def random_files(folder: Path, names: list[str], seed: int = 0) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(rng.randbytes(rng.randrange(0, 3000)))


def test_folders_of_random_files_are_skipped_with_a_reason(tiny_checkpoint, tmp_path):
    root = tmp_path / "checkpoints"
    shutil.copytree(tiny_checkpoint, root / "good")
    random_files(root / "junk", ["notes.txt", "weights.bin", "model.pt.bak", "README"])
    random_files(root / "junk-named", list(REQUIRED_FILES), seed=1)
    random_files(root / "junk-nested" / "inner", ["x"])
    valid, skipped = list_checkpoints(root)
    assert valid == [root / "good"]
    reasons = {path.name: reason for path, reason in skipped}
    assert set(reasons) == {"junk", "junk-named", "junk-nested"}
    assert reasons["junk"].endswith("missing model.pt, config.json, src.model, tgt.model")
    assert "config.json: not valid JSON" in reasons["junk-named"]
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(root / "junk-nested")


@pytest.mark.parametrize(
    "name,match",
    [(MODEL_FILE, r"cannot be read \(the file is empty, 0 bytes\)"), (CONFIG_FILE, "not valid JSON")],
    ids=[MODEL_FILE, CONFIG_FILE],
)
def test_zero_byte_file_is_named(folder, name, match):
    (folder / name).write_bytes(b"")
    with pytest.raises(CheckpointError, match=re.escape(name) + ".*" + match):
        load_checkpoint(folder)


def test_future_format_version_says_which_versions_are_read(folder):
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "format_version": 2}), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"format_version 2 is not supported \(this code reads 1\)"):
        load_checkpoint(folder)


def test_training_state_copied_over_the_weights_is_refused(folder, tiny_checkpoint):
    shutil.copy(tiny_checkpoint.parent / "last" / STATE_FILE, folder / MODEL_FILE)
    with pytest.raises(CheckpointError, match="model.pt: is not a state_dict"):
        load_checkpoint(folder)


def test_app_lists_junk_as_skipped_and_shows_an_error_for_unreadable_weights(
    tiny_checkpoint, tmp_path, monkeypatch
):
    root = tmp_path / "checkpoints"
    shutil.copytree(tiny_checkpoint, root / "a-zero-weights")  # first by name: the app opens it
    (root / "a-zero-weights" / MODEL_FILE).write_bytes(b"")
    shutil.copytree(tiny_checkpoint, root / "good")
    random_files(root / "junk", ["notes.txt", "weights.bin"])
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(root))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.label == "Skipped folders (1)" for e in at.expander)
    assert any(t.value.startswith("junk:") and "missing" in t.value for t in at.text)
    shown = [e.value.replace("\\", "") for e in at.error]  # markdown escapes: model\.pt
    assert any(
        "Cannot load the checkpoint" in e and "model.pt: cannot be read (the file is empty" in e
        for e in shown
    )
    at.selectbox(key="checkpoint").select("good").run()
    assert not at.exception and not at.error


# --------------------------------------------------------------------------- a full disk
def disk_full(monkeypatch, where: str, after: int) -> None:
    """`where` (os.fsync or tempfile.mkstemp) works `after` times, then fails as a full disk does."""
    module, name = (os, "fsync") if where == "fsync" else (tempfile, "mkstemp")
    real, calls = getattr(module, name), {"n": 0}

    def fail(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, fail)


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("where", ["fsync", "mkstemp"])
@pytest.mark.parametrize("after", [0, 1, 3])  # model.pt, src.model, config.json fails
def test_a_full_disk_mid_save_leaves_the_previous_checkpoint_whole(
    tiny_translator, folder, monkeypatch, where, after
):
    """Before the fix a failure after model.pt left new weights under the old config (it translated garbage)."""
    before, expected = contents(folder), tiny_translator.translate(TOY, beam_size=2)
    torch.manual_seed(5)
    other = Seq2Seq(tiny_translator.model.cfg)  # different weights: a half-written save would show
    disk_full(monkeypatch, where, after)
    with pytest.raises(OSError) as info:
        save_checkpoint(folder, other, tiny_translator.src_tokenizer, tiny_translator.tgt_tokenizer)
    monkeypatch.undo()
    failed = [MODEL_FILE, "src.model", "tgt.model", CONFIG_FILE][after]
    assert info.value.errno == errno.ENOSPC and "No space left on device" in str(info.value)
    assert str(folder / failed) in str(info.value)
    assert contents(folder) == before  # no file replaced, no temp file left
    result = load_translator(folder, device="cpu").translate(TOY, beam_size=2)
    assert result.text == expected.text
    np.testing.assert_array_equal(result.attention, expected.attention)


def test_a_full_disk_during_training_stops_clearly_and_resume_completes(toy_corpus, tmp_path, monkeypatch):
    import seq2seq.train as train_module

    overrides = [*TINY_OVERRIDES, "max_steps=150", "eval_every=50", f"data_dir={toy_corpus}"]
    cfg = load_train_config(None, [*overrides, f"out_dir={tmp_path}", "name=full"])
    run = tmp_path / "full"
    saved: dict[str, dict[str, bytes]] = {}
    real_chrf, evaluations = train_module.dev_chrf, {"n": 0}

    def second_evaluation_fills_the_disk(*args, **kwargs):
        evaluations["n"] += 1
        if evaluations["n"] == 2:  # what the first evaluation saved, then no more room
            saved.update({name: contents(run / name) for name in ("best", "last")})
            disk_full(monkeypatch, "fsync", 0)
        return real_chrf(*args, **kwargs)

    monkeypatch.setattr(train_module, "dev_chrf", second_evaluation_fills_the_disk)
    with alarm(240), pytest.raises(TrainingError) as info:
        train(cfg, show_progress=False)
    monkeypatch.undo()
    message = str(info.value)
    assert message.startswith("could not save the checkpoint at step 100: No space left on device")
    assert f"the last good checkpoint is in {run / 'last'}" in message and "--resume" in message
    for name in ("best", "last"):
        assert contents(run / name) == saved[name], name  # untouched, no temp files
    state = torch.load(run / "last" / STATE_FILE, map_location="cpu", weights_only=True)
    assert state["progress"]["step"] == 50
    assert_translation(load_translator(run / "last", device="cpu").translate(TOY))

    with alarm(240):
        train(cfg, resume=True, show_progress=False)
    state = torch.load(run / "last" / STATE_FILE, map_location="cpu", weights_only=True)
    assert state["progress"]["step"] == 150
    steps = [json.loads(line)["step"] for line in (run / METRICS_FILE).read_text().splitlines()]
    assert steps == [50, 100, 150], "the step logged before the failed save is logged once, not twice"
    assert_translation(load_translator(run / "best", device="cpu").translate(TOY))


def test_cli_evaluate_on_a_full_disk_says_so_in_one_line(tiny_checkpoint, toy_corpus, monkeypatch, capsys):
    """Was a traceback: the CLI turned ValueError and RuntimeError into one line, but not OSError."""
    from seq2seq import cli

    out = Path(tempfile.mkdtemp())
    disk_full(monkeypatch, "fsync", 0)
    code = cli.main(["evaluate", str(tiny_checkpoint), "--test", str(toy_corpus / "test.tsv"),
                     "--beam", "1", "--limit", "3", "--out", str(out)])  # fmt: skip
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()  # the progress bar, then one line
    last = err.splitlines()[-1]
    assert code == 2 and last.startswith("error: ") and "No space left on device" in last
    assert "Traceback" not in err
    assert not [
        p for p in out.iterdir() if p.suffix == ".tmp" or p.name.startswith(".")
    ]  # nothing half-written
