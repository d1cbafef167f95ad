"""The shipped checkpoints: complete, small, self-describing, and they really translate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seq2seq import load_translator
from seq2seq.checkpoint import list_checkpoints
from seq2seq.evaluate import read_eval

ROOT = Path(__file__).resolve().parents[1] / "checkpoints"
SOFTWARE = ("enko-software-additive", "enko-software-fixed")
GENERAL = ("enko-general-additive", "enko-general-fixed")
KOEN = ("koen-general-additive", "koen-general-fixed")  # issue 36: the general corpus, Korean first
SHIPPED = GENERAL + SOFTWARE + KOEN
SENTENCE = {
    "enko-general": "Where is the train station?",
    "enko-software": "Click the Save button to save the document.",
    "koen-general": "기차역이 어디예요?",
}
HANGUL = re.compile("[\uac00-\ud7a3]")
LATIN = re.compile("[A-Za-z]")


def shipped_app(monkeypatch, page: str, timeout: int = 90, **state):
    """The app on the shipped checkpoints, `page` opened with `state` in the session, run once, no exception."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(ROOT))
    at = AppTest.from_file(str(ROOT.parent / "app.py"), default_timeout=timeout)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_all_shipped_checkpoints_are_valid():
    valid, skipped = list_checkpoints(ROOT)
    assert {p.name for p in valid} >= set(SHIPPED), skipped


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_is_small_and_documented(name):
    folder = ROOT / name
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 25 * 1024 * 1024  # the whole folder
    for needed in ("card.md", "metrics.jsonl", "eval.jsonl.gz", "test.tsv", "train.tsv.xz", "ATTRIBUTION.md",
                   "familiarity.json"):  # fmt: skip
        assert (folder / needed).is_file(), needed
    attribution = (folder / "ATTRIBUTION.md").read_text(encoding="utf-8")
    if name in SOFTWARE:
        assert "MPL" in attribution
    else:  # the non-commercial terms travel with what was trained on them
        assert "non-commercial" in attribution and "teaching, study and research" in attribution
        assert "teaching, study and research" in (folder / "card.md").read_text(encoding="utf-8")
    summary, buckets, rows = read_eval(folder)
    assert summary["beam_size"] == 5 and summary["sentences"] == len(rows) >= 1000
    assert [b["bucket"] for b in buckets] == ["1-5", "6-10", "11-20", "21-30", "31+"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_translates_into_its_target_language_on_cpu(name):
    translator = load_translator(ROOT / name, device="cpu")
    result = translator.translate(SENTENCE[name.rsplit("-", 1)[0]], beam_size=3)
    if name in KOEN:
        assert translator.direction == "koen" and LATIN.search(result.text) and not HANGUL.search(result.text)
    else:
        assert translator.direction == "enko" and HANGUL.search(result.text), result.text
    assert (result.attention is None) == name.endswith("-fixed")


@pytest.mark.parametrize("name", KOEN)
def test_the_korean_to_english_pair_ships_its_timeline_and_the_lecture_s_ten_in_korean(name):
    """Issue 36: each twin's card lists the lecture's ten Korean sentences with what it makes of them."""
    import json

    from seq2seq.lecture import LECTURE_SENTENCES_KO

    card = (ROOT / name / "card.md").read_text(encoding="utf-8")
    assert "Korean → English" in card.splitlines()[0]
    for sentence in LECTURE_SENTENCES_KO:
        (row,) = [line for line in card.splitlines() if line.startswith(f"| {sentence} |")]
        assert LATIN.search(row.split("|")[2]), row  # its English output beside it
    timeline = json.loads((ROOT / name / "timeline.json").read_text(encoding="utf-8"))
    assert len(timeline["snapshots"]) >= 20 and timeline["snapshots"][0]["step"] == 0
    assert (ROOT / name / "familiarity.json").is_file()


def test_the_app_goes_both_ways_on_the_shipped_models_and_says_the_korean_back_in_english(monkeypatch):
    at = shipped_app(monkeypatch, "pages/translate.py", _sentence="Where is the train station?")
    assert at.sidebar.selectbox("checkpoint").value == "enko-general-additive"
    captions = " ".join(c.value for c in at.caption)
    assert "Back to English" in captions and "koen-general-additive" in captions
    at.radio(key="dir_switch").set_value("koen").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.selectbox("checkpoint").value == "koen-general-additive"


def test_translate_names_the_hypothesis_the_reverse_model_prefers_when_it_is_not_the_first(monkeypatch):
    """Issue 36's own example: the app's search says 아내 (wife) for "phone"; the second opinion points at
    the hypothesis the noisy channel ranks first, whichever that is for the shipped pair."""
    from seq2seq.decoding import APP_SEARCH
    from seq2seq.reranking import channel_scores, preferred
    from ui.reverse import CHANNEL_WEIGHT
    from ui.text import markdown_text

    sentence = "I lost my phone yesterday."
    result = load_translator(ROOT / GENERAL[0], device="cpu").translate(sentence, APP_SEARCH)
    best = preferred(channel_scores(result, load_translator(ROOT / KOEN[0], device="cpu"), CHANNEL_WEIGHT))
    at = shipped_app(monkeypatch, "pages/translate.py", _sentence=sentence)
    hints = [box.value for box in at.info if "Second opinion" in box.value]
    if best == 0:
        assert hints == []
    else:
        (hint,) = hints
        assert hint.startswith("Second opinion") and f"hypothesis {best + 1} " in hint
        assert hint.endswith(": " + markdown_text(result.nbest[best].text))  # as text, not as markdown
    at.radio(key="dir_switch").set_value("koen").run()  # measured English→Korean only: none the other way
    assert not [box.value for box in at.info if "Second opinion" in box.value]


@pytest.mark.parametrize("family", [GENERAL, SOFTWARE, KOEN], ids=["general", "software", "koen-general"])
def test_attention_beats_the_fixed_context_on_long_sentences(family):
    """The lecture's point 4, as measured on the held-out split and shipped with the models."""
    long_scores = {}
    for name in family:
        _, _, rows = read_eval(ROOT / name)
        long = [r["chrf"] for r in rows if r["src_words"] >= 21]
        long_scores[name] = sum(long) / len(long)
    assert long_scores[family[0]] > long_scores[family[1]]


def test_the_readme_python_example_runs_on_the_shipped_model(monkeypatch):
    """The README's library example is code a newcomer will paste: it must keep working."""
    readme = (ROOT.parent / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", readme, re.S)
    monkeypatch.chdir(ROOT.parent)
    names: dict = {}
    exec(compile(example, "README.md", "exec"), names)
    assert HANGUL.search(names["r"].text)
    assert names["r"].attention.shape == (len(names["r"].tgt_tokens), len(names["r"].src_tokens))
    session = names["s"]
    assert (
        session.tgt_tokens[0] == "▁저장" and len(session.steps) == 2
    )  # rewound, forced, then one edited step
    assert session.steps[1].edited and session.steps[1].weights[0] == 1.0


def test_the_shipped_model_says_when_a_sentence_is_far_from_its_training_data():
    translator = load_translator(ROOT / "enko-software-additive", device="cpu")
    near = translator.translate("Click OK to close the dialog.")
    far = translator.translate(
        "Pharmacokinetic variability of monoclonal antibodies complicates dosing regimens in renal impairment."
    )
    assert not near.familiarity.unfamiliar and near.familiarity.score < far.familiarity.score
    assert far.familiarity.unfamiliar and any(getattr(w, "code", "") == "unfamiliar" for w in far.warnings)


@pytest.mark.parametrize("name", SOFTWARE)
def test_the_renamed_software_pair_translates_as_it_did_under_its_old_name(name):
    """enko-additive and enko-fixed became enko-software-*: same weights, so the test outputs stored when
    they were evaluated under the old names (eval.jsonl.gz, beam 5) come out again."""
    summary, _, rows = read_eval(ROOT / name)
    assert summary["checkpoint"] == name.replace("software-", "")  # evaluated under the old name
    translator = load_translator(ROOT / name, device="cpu")
    subset = rows[:: len(rows) // 12][:12]  # short and long sentences alike
    results = translator.translate_batch([r["src"] for r in subset], beam_size=5)
    assert [r.text for r in results] == [r["hyp"] for r in subset]


def test_the_training_page_animates_the_shipped_default_model(monkeypatch):
    """The general model ships its timeline.json: the Training page's slider has every snapshot, from step 0."""
    import json

    at = shipped_app(monkeypatch, "pages/training.py", 60)
    assert at.sidebar.selectbox("checkpoint").value == "enko-general-additive"  # the app's default
    timeline = json.loads((ROOT / "enko-general-additive" / "timeline.json").read_text(encoding="utf-8"))
    steps = [s["step"] for s in timeline["snapshots"]]
    assert steps[0] == 0 and steps == sorted(steps) and len(steps) >= 20  # the issue asks for 20+
    sources = [p["source"] for p in timeline["probes"]]
    assert "How are you?" in sources and max(len(s.split()) for s in sources) >= 25
    (figure,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if '"timeline"' in c.proto.spec]
    assert len(figure["frames"]) == len(steps)
    assert len(figure["layout"]["sliders"][0]["steps"]) == len(steps)
    # the words under the figure are its frames' numbers (issue 27: they said "sharpens" while it blurred)
    from seq2seq.timeline import sharpening

    said, words = sharpening(timeline), " ".join(m.value for m in at.markdown)
    assert f"{said['sharpest'][1]:.2f} at its sharpest (step {said['sharpest'][0]})" in words
    assert ("has blurred since" in words) == (said["verdict"] == "blurred_early")
    assert ("does not keep sharpening" in words) == (said["verdict"] == "blurred_late")


@pytest.mark.parametrize(
    "chosen, sentence, better",
    [
        ("enko-general-additive", "Click OK to close the dialog.", "enko-software-additive"),
        ("enko-software-additive", "How are you?", "enko-general-additive"),
        ("enko-general-additive", "How are you?", None),
    ],
)
def test_translate_says_which_family_knows_a_sentence_better_and_switches_in_one_click(
    monkeypatch, chosen, sentence, better
):

    at = shipped_app(monkeypatch, "pages/translate.py", 60, _sentence=sentence, _checkpoint=chosen)
    switches = [b for b in at.button if (b.key or "").startswith("family_switch_")]
    if better is None:
        assert not switches
        return
    (switch,) = switches
    assert better in switch.label and any(better in i.value for i in at.info)
    switch.click().run()
    assert not at.exception and at.sidebar.selectbox("checkpoint").value == better


def test_compare_says_what_its_length_chart_shows_and_offers_the_pair_that_shows_the_bottleneck(monkeypatch):
    """Issue 27: the general pair's lead shrinks with length (4.4 on 1-5 words, 0.7 on 31+), so Compare
    must say so with those numbers, not that it widens; one click opens the software pair, whose lead
    grows, and there it says that."""
    import json

    from seq2seq.lecture import length_gap

    def gap(family):
        buckets = [
            json.loads((ROOT / f"enko-{family}-{m}" / "eval_buckets.json").read_text())
            for m in ("additive", "fixed")
        ]
        return length_gap(*buckets)

    general, software = gap("general"), gap("software")
    assert not general.widens and general.small_on_long and software.widens and not software.small_on_long
    at = shipped_app(monkeypatch, "pages/compare.py", _sentence="How are you?")
    said = " ".join(m.value for m in at.markdown)
    assert "does **not** grow with length" in said and "usually widens" not in said
    assert (
        f"{general.gaps['1-5']:+.1f} on 1–5 words" in said
        and f"{general.gaps['31+']:+.1f} on 31+ words" in said
    )
    assert "translated 3 ways" in said  # "How are you?" has three test references
    (switch,) = [b for b in at.button if (b.key or "").startswith("cmp_gap_switch_")]
    switch.click().run()
    assert not at.exception and at.sidebar.selectbox("checkpoint").value == "enko-software-additive"
    said = " ".join(m.value for m in at.markdown)
    assert "grows with length" in said and f"{software.gaps['21-30']:+.1f} on 21–30 words" in said
