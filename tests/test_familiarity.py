"""Saying when a sentence is far from what the model learned: calibrated on dev, checked both ways."""

from __future__ import annotations

import lzma
import math
import shutil
from collections import Counter

import pytest

from seq2seq import load_translator
from seq2seq.calibration import calibrate, sentences_of, unseen_sentences
from seq2seq.cli import main
from seq2seq.familiarity import (
    FAMILIARITY_FILE,
    FAMILY_MARGIN,
    FEATURES,
    FamiliarityCheck,
    PairSet,
    SourceLM,
    knows_better,
    unseen,
)

UNSEEN = """Pharmacokinetic variability of monoclonal antibodies complicates dosing regimens in renal impairment.
Serum creatinine clearance predicts nephrotoxicity after aminoglycoside administration in elderly patients.
Hepatic cytochrome enzymes metabolise most anticonvulsant medications within several hours.
Randomised trials compared intravenous immunoglobulin against plasma exchange for demyelinating neuropathy.
Subcutaneous insulin requirements increase markedly during corticosteroid therapy.
Thrombolytic agents dissolve occlusive clots when administered promptly after ischaemic stroke.
Bronchodilators relieve acute asthmatic exacerbations in most paediatric emergency presentations.
Chronic hyperglycaemia damages retinal capillaries and eventually impairs peripheral vision.
Antiretroviral regimens suppress viral replication but rarely eradicate latent reservoirs.
Vaccination campaigns reduced measles incidence dramatically across several continents."""


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
    assert all(rate <= 0.05 for rate in report["calibration"]["false_alarms"].values()), report
    assert report["calibration"]["detected"] >= 0.8 and report["held_out"]["detected"] >= 0.8, report
    # the held-out halves were used neither to fit nor to set the threshold: 15 toy sentences, so noisier
    assert all(rate <= 0.15 for rate in report["held_out"]["false_alarms"].values()), report
    assert report["unfamiliar_sentences"] == 10 and set(report["weights"]) == set(FEATURES)


def test_the_card_says_when_the_app_warns(calibrated):
    from seq2seq.card import write_card

    card = write_card(calibrated)
    assert (
        "## Far from the training data" in card
        and "pharmacology.txt" in card
        and "false alarms on the dev split" in card
    )
    from seq2seq.card import _familiarity_lines

    two = {"weights": {"confidence": -1.0}, "unseen_domain": "test.tsv, faq/*.html"}
    two["held_out"] = {"false_alarms": {"news": 0.02}, "detected": 0.31}
    two["held_out"]["detected_by_source"] = {"test.tsv": 0.417, "faq/*.html": 0.205}
    assert "the unseen domains test.tsv 41.7%, faq/*.html 20.5% (31.0% together)" in "".join(
        _familiarity_lines({"report": two})
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


def test_the_score_separates_what_it_was_shown_and_the_sentence_splitter():
    rng = __import__("numpy").random.default_rng(0)

    def sample(confidence: float, unseen_share: float, n: int) -> list[dict]:
        return [
            {"confidence": confidence + rng.normal(0, 0.2), "unseen_share": max(0.0, unseen_share + rng.normal(0, 0.05)),
             "rare_share": 0.0, "unseen_pairs": unseen_share, "pieces_per_word": 1.2, "attention_spread": 0.5,
             "log_words": 2.0}
            for _ in range(n)
        ]  # fmt: skip

    pairs = PairSet.of(["Click OK."])
    assert pairs.unseen_share("Click OK.") == 0 and pairs.unseen_share("How are you?") == 1
    assert PairSet.from_text(pairs.to_text()).bits == pairs.bits
    check, report = calibrate(
        Counter({"click": 5}), pairs, {"software": sample(-0.4, 0.0, 200)}, sample(-2.0, 0.4, 100)
    )
    assert report["held_out"]["false_alarms"]["software"] <= 0.08 and report["held_out"]["detected"] >= 0.95
    assert (
        report["weights"]["confidence"] < 0 < report["weights"]["unseen_share"]
    )  # less sure, more unseen: stranger
    assert unseen("Click OK, 12 times!", {"click", "ok"}) == (1 / 3, ["times"])  # numbers do not count
    assert isinstance(check, FamiliarityCheck)
    text = "This licence applies to you.  Each contributor grants\nyou a licence now. Short one."
    assert sentences_of(text) == [
        "This licence applies to you.",
        "Each contributor grants you a licence now.",
    ]
    korean = "패키지를 설치하려면 apt를 쓰십시오. 짧은 문장.\n다른 배포판과 무엇이 다른가요? 네."
    assert sentences_of(korean, lang="ko") == [
        "패키지를 설치하려면 apt를 쓰십시오.",
        "다른 배포판과 무엇이 다른가요?",
    ]


def test_a_help_page_gives_its_paragraphs_sentences_without_its_code(tmp_path):
    page = tmp_path / "faq.ko.html"
    page.write_text(
        "<html><head><title>데비안 FAQ</title><style>p { x: y }</style></head><body>"
        "<h2>1.1 데비안이란 무엇인가요</h2><p>데비안은 자유 운영체제를 만드는 <b>사람들의</b> 모임입니다. "
        "패키지는 <tt>apt install 이름</tt> 명령으로 쉽게 설치합니다.</p>"
        "<pre>apt-get install 패키지 이름 여기 씁니다.</pre><p>그 다음 단락도 문장이 됩니다 .</p></body></html>",
        encoding="utf-8",
    )
    assert unseen_sentences(page, "ko") == [
        "데비안은 자유 운영체제를 만드는 사람들의 모임입니다.",
        "패키지는 명령으로 쉽게 설치합니다.",
        "그 다음 단락도 문장이 됩니다 .",
    ]  # not the title, the short heading or the preformatted command; no sentence across two paragraphs


def test_a_domain_too_small_to_measure_five_percent_does_not_set_the_threshold_alone():
    rng = __import__("numpy").random.default_rng(1)

    def rows(confidence: float, n: int) -> list[dict]:
        return [
            {"confidence": confidence + rng.normal(0, 0.3), "unseen_share": 0.1, "rare_share": 0.1,
             "unseen_pairs": 0.4, "pieces_per_word": 2.0, "attention_spread": 0.8, "log_words": 2.0}
            for _ in range(n)
        ]  # fmt: skip

    big = {"news": rows(-1.0, 400), "chat": rows(-1.0, 400)}
    unfamiliar = rows(-2.0, 400)
    alone, _ = calibrate(Counter(), PairSet(), big, unfamiliar)
    odd = rows(-1.0, 33)
    for row in odd[:4]:
        row["confidence"] = -9.0  # a few strange stories: with 17 in its half, one would be the threshold
    pooled, report = calibrate(Counter(), PairSet(), {**big, "stories": odd}, unfamiliar)
    assert abs(pooled.threshold - alone.threshold) < 0.5
    assert report["held_out"]["detected"] > 0.5
    assert set(report["held_out"]["false_alarms"]) == {"news", "chat", "stories"}
    _, by_source = calibrate(Counter(), PairSet(), big, {"help": unfamiliar, "faq": rows(-1.0, 100)})
    found = by_source["held_out"]["detected_by_source"]
    assert (
        found["help"] > 0.5 > 0.2 > found["faq"]
    )  # the faq looks like the dev text: it is reported, not hidden


EVERYDAY = [
    "how are you today ?",
    "i am fine , thank you .",
    "the weather is nice today .",
    "where is the train station ?",
    "i love my family .",
    "we are going to the park .",
]
SOFTWARE = [
    "click ok to close the dialog .",
    "choose format - cells and click the borders tab .",
    "select the cell range and press enter .",
    "click the save button to save the document .",
    "choose insert - table to open the dialog .",
    "right-click the sheet tab and choose rename .",
]


def test_a_bigram_model_of_the_training_english_finds_its_own_kind_of_sentence_less_surprising():
    everyday, software = SourceLM(EVERYDAY), SourceLM(SOFTWARE)
    assert everyday.surprise("How are you?") < software.surprise("How are you?")
    assert software.surprise("Click OK to close the dialog.") < everyday.surprise(
        "Click OK to close the dialog."
    )
    unknown = everyday.surprise("Zyxwv qwertz plonk.")  # words never seen: large, but finite
    assert math.isfinite(unknown) and unknown > everyday.surprise("The weather is nice today.")
    total = sum(everyday.probability("the", w) for w in everyday.preceded)  # a distribution over next words
    assert 0.95 < total <= 1.0


def test_the_other_family_knows_a_sentence_better_only_by_a_clear_margin():
    everyday, software = SourceLM(EVERYDAY), SourceLM(SOFTWARE)
    gain = knows_better("Click the Save button.", everyday, software)
    assert gain is not None and gain >= FAMILY_MARGIN
    assert knows_better("Click the Save button.", software, everyday) is None
    assert knows_better("How are you today?", everyday, software) is None
    assert knows_better("How are you today?", software, everyday) is not None
    assert knows_better("the .", everyday, everyday) is None  # the same model never knows better than itself


def test_the_source_model_comes_from_the_shipped_pairs_once_and_a_bad_file_gives_none(tmp_path):
    twins = [tmp_path / "x-general-additive", tmp_path / "x-general-fixed"]
    lines = "".join(f"{s}\t번역\tdomain\t\n" for s in EVERYDAY).encode("utf-8")
    for folder in twins:
        folder.mkdir()
        (folder / "train.tsv.xz").write_bytes(lzma.compress(lines))
    first, second = (SourceLM.of_checkpoint(f) for f in twins)
    assert first is second  # the same pairs: built once
    assert first.surprise("How are you today?") < first.surprise("Click OK to close the dialog.")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "train.tsv.xz").write_bytes(b"not xz at all")
    assert SourceLM.of_checkpoint(tmp_path / "broken") is None
    assert SourceLM.of_checkpoint(tmp_path / "missing") is None
