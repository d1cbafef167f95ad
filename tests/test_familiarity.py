"""Saying when a sentence is far from what the model learned: calibrated on dev, checked both ways."""

from __future__ import annotations

import lzma
import shutil

import pytest

from seq2seq import load_translator
from seq2seq.cli import main
from seq2seq.familiarity import FAMILIARITY_FILE, FamiliarityCheck, calibrate, sentences_of, unseen

UNSEEN = """Pharmacokinetic variability of monoclonal antibodies complicates dosing regimens in renal impairment.
Serum creatinine clearance predicts nephrotoxicity after aminoglycoside administration in elderly patients.
Hepatic cytochrome enzymes metabolise most anticonvulsant medications within several hours.
Randomised trials compared intravenous immunoglobulin against plasma exchange for demyelinating neuropathy.
Subcutaneous insulin requirements increase markedly during corticosteroid therapy."""


@pytest.fixture(scope="module")
def calibrated(tiny_checkpoint, toy_corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("familiar") / "tiny-additive"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / "train.tsv.xz").write_bytes(lzma.compress((toy_corpus / "train.tsv").read_bytes()))
    unseen_file = folder.parent / "pharmacology.txt"
    unseen_file.write_text(UNSEEN, encoding="utf-8")
    assert (
        main(["calibrate", str(folder), "--dev", str(toy_corpus / "dev.tsv"), "--unseen", str(unseen_file)])
        == 0
    )
    return folder


def test_calibration_keeps_false_alarms_low_and_catches_the_unseen_domain(calibrated):
    report = __import__("json").loads((calibrated / FAMILIARITY_FILE).read_text(encoding="utf-8"))["report"]
    assert all(rate <= 0.05 for rate in report["false_alarms"].values())
    assert report["detected"] >= 0.8 and report["unfamiliar_sentences"] == 5


def test_the_card_says_when_the_app_warns(calibrated):
    from seq2seq.card import write_card

    card = write_card(calibrated)
    assert (
        "## Far from the training data" in card
        and "pharmacology.txt" in card
        and "False alarms on the dev split" in card
    )


def test_familiar_text_translates_quietly_and_unfamiliar_text_is_flagged(calibrated):
    translator = load_translator(calibrated, device="cpu")
    quiet = translator.translate("the user opens the file now .")
    assert quiet.familiarity is not None and not quiet.familiarity.unfamiliar
    assert not [w for w in quiet.warnings if getattr(w, "code", "") == "unfamiliar"]
    loud = translator.translate(
        "Pharmacokinetic variability of monoclonal antibodies complicates dosing regimens."
    )
    assert loud.familiarity.unfamiliar and "unseen" in loud.familiarity.reasons
    warning = next(w for w in loud.warnings if w.code == "unfamiliar")
    assert "far from what the model learned" in warning and "pharmacokinetic" in warning


def test_a_checkpoint_without_calibration_gives_no_signal(tiny_translator):
    assert tiny_translator.translate("the user opens the file now .").familiarity is None


def test_thresholds_from_samples_and_the_sentence_splitter():
    vocabulary = {"click", "ok", "to", "close", "the", "dialog"}
    familiar = {"software": [("Click OK to close the dialog.", -0.2)] * 19 + [("Close the dialog.", -3.0)]}
    strange = [("Monoclonal antibodies complicate dosing.", -0.4), ("Renal impairment matters.", -2.5)]
    check, report = calibrate(vocabulary, familiar, strange)
    assert report["false_alarms"]["software"] <= 0.05 and report["detected"] == 1.0
    assert unseen("Click OK, 12 times!", vocabulary) == (1 / 3, ["times"])  # numbers do not count
    assert isinstance(check, FamiliarityCheck)
    text = "This licence applies to you.  Each contributor grants\nyou a licence now. Short one."
    assert sentences_of(text) == [
        "This licence applies to you.",
        "Each contributor grants you a licence now.",
    ]
