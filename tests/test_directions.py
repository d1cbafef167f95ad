"""Both directions: a Korean→English model loads, translates, steps and searches like an English→Korean
one; each translation goes back through the other; the reverse model's noisy-channel score is the
formula; the app switches direction by its sidebar and by a `dir=` link, and every page opens both ways."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from seq2seq import load_translator
from seq2seq.checkpoint import CONFIG_FILE
from seq2seq.decoding import Search
from seq2seq.families import default_name, direction_of
from seq2seq.links import View, parse_query
from seq2seq.reranking import ChannelScore, channel_scores, forward_logprob, rerank, reverse_logprobs
from seq2seq.tokenizer import BOS_ID, EOS_ID, UNK_ID

APP = str(Path(__file__).resolve().parents[1] / "app.py")
KO = "사용자가 파일을 엽니다."
EN = "the user opens the file ."


@pytest.fixture(scope="module")
def enko(tiny_checkpoint):
    return load_translator(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def koen(tiny_koen_checkpoint):
    return load_translator(tiny_koen_checkpoint, device="cpu")


# ------------------------------------------------------------------ the library, both ways
def test_a_korean_to_english_model_translates_steps_and_searches(koen):
    assert koen.direction == "koen" and koen.languages == ("ko", "en")
    greedy = koen.translate(KO)
    assert greedy.text == EN.replace(" .", ".") or greedy.text.startswith("the user opens")
    assert greedy.attention.shape == (len(greedy.tgt_tokens), len(greedy.src_tokens))
    session = koen.start(KO)
    session.run()
    assert session.text == greedy.text  # stepping equals translating
    beam = koen.translate(KO, Search(beam_size=3))
    assert len(beam.nbest) >= 2 and beam.tree


def test_word_level_attention_groups_korean_pieces_into_eojeol(koen):
    from seq2seq import word_attention

    words = word_attention(koen.translate(KO))
    assert words.src_words == [*KO.split(), "</s>"]  # 사용자가 / 파일을 / 엽니다. : each with its particle
    assert np.allclose(words.matrix.sum(axis=1), 1.0, atol=1e-5)


def test_a_checkpoint_made_before_directions_is_english_to_korean_and_loads_unchanged(
    tiny_checkpoint, tmp_path
):
    old = tmp_path / "old"
    shutil.copytree(tiny_checkpoint, old)
    config = json.loads((old / CONFIG_FILE).read_text(encoding="utf-8"))
    config["train"].pop("direction")  # as every checkpoint shipped before issue 36 was written
    (old / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    before, after = load_translator(tiny_checkpoint, device="cpu"), load_translator(old, device="cpu")
    assert after.direction == "enko" and direction_of(config) == "enko"
    assert after.translate(EN).text == before.translate(EN).text
    assert direction_of({"train": {"direction": "xx"}}) == direction_of({}) == "enko"


def test_the_round_trip_comes_back_to_the_source(enko, koen):
    korean = enko.translate(EN).text
    assert any("가" <= ch <= "힣" for ch in korean)
    assert koen.translate(korean).text.rstrip(" .") == EN.rstrip(" .")


@pytest.mark.parametrize("text", ["ㅋㅋㅋ", "사용자가 file을 2번 엽니다 😀", "😀😀", "파일을 엽니다 ㅠㅠ"])
def test_korean_input_with_latin_numbers_emoji_or_bare_jamo_translates_or_says_why(koen, text):
    result = koen.translate(text)  # a translation, never a traceback; unknown pieces come with a notice
    assert isinstance(result.text, str)
    unknown = UNK_ID in koen.src_tokenizer.encode(text)
    assert unknown == any(getattr(w, "code", "") == "unknown_pieces" for w in result.warnings)
    assert unknown or text == "사용자가 file을 2번 엽니다 😀"


def test_the_default_model_is_the_direction_s_own():
    names = ["enko-general-additive", "enko-general-fixed", "koen-general-additive", "koen-general-fixed"]
    assert default_name(names) == "enko-general-additive"
    assert default_name(names, "koen") == "koen-general-additive"
    assert default_name(["enko-general-additive"], "koen") == "enko-general-additive"  # none of its own


def test_a_link_says_its_direction_and_a_bad_one_is_refused():
    view, refused = parse_query({"dir": "koen", "s": KO}, [])
    assert view == View(text=KO, direction="koen") and not refused
    view, refused = parse_query({"dir": "jaen"}, [])
    assert view.direction is None and [(r.key, r.reason) for r in refused] == [("dir", "unknown_value")]


# ------------------------------------------------------------------ the noisy channel, by hand
def by_hand_reverse(koen, source: str, output: str) -> float:
    """log p(x | y) / |x|, one decoder step at a time (not the batched teacher-forced pass)."""
    model = koen.model.eval()
    y = koen.src_tokenizer.encode(output) + [EOS_ID]
    x = koen.tgt_tokenizer.encode(source) + [EOS_ID]
    with torch.inference_mode():
        memory = model.encode(torch.tensor([y]), torch.tensor([len(y)]))
        state, feed = model.decoder.start(memory)
        previous, total = BOS_ID, 0.0
        for token in x:
            out = model.decoder.step(torch.tensor([previous]), state, feed, memory)
            state, feed = out.state, out.feed
            total += float(F.log_softmax(model.decoder.logits(feed)[0].float(), -1)[token])
            previous = token
    return total / len(x)


def test_the_reverse_score_is_log_p_of_the_source_given_the_output_per_source_piece(enko, koen):
    result = enko.translate(EN, Search(beam_size=3))
    outputs = [c.text for c in result.nbest]
    batched = reverse_logprobs(koen, result.source, outputs)
    one_by_one = [by_hand_reverse(koen, result.source, y) for y in outputs]
    assert np.allclose(batched, one_by_one, atol=1e-4)  # padding in the batch changes nothing
    assert all(r < 0 for r in batched)
    # a hypothesis that says something else explains the source worse than the right one
    wrong = reverse_logprobs(koen, result.source, ["매크로가 차트를 삭제합니다."])[0]
    assert batched[0] > wrong


def test_the_channel_score_is_the_formula_with_its_numbers(enko, koen):
    result = enko.translate(EN, Search(beam_size=3))
    weight = 0.7
    scores = channel_scores(result, koen, weight)
    best = result.nbest[0]
    forward = best.logprob / len(best.tgt_tokens)  # log p(y|x) / |y|, </s> counted
    reverse = by_hand_reverse(koen, result.source, best.text)
    assert forward_logprob(best) == pytest.approx(forward)
    assert scores[0].forward == pytest.approx(forward) and scores[0].reverse == pytest.approx(
        reverse, abs=1e-4
    )
    assert scores[0].total == pytest.approx(forward + weight * reverse, abs=1e-4)
    # the formula on round numbers: -0.5 per output piece, -2.0 per source piece, λ = 0.25
    assert ChannelScore(-0.5, -2.0, 0.25).total == pytest.approx(-1.0)
    order = rerank(result, koen, weight)
    assert sorted(order) == list(range(len(result.nbest)))
    totals = [scores[i].total for i in order]
    assert totals == sorted(totals, reverse=True)
    assert not math.isnan(sum(totals))


# ------------------------------------------------------------------ the app, both ways
@pytest.fixture
def app(both_directions_dir, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(both_directions_dir))
    monkeypatch.setenv("SEQ2SEQ_STRICT_I18N", "1")
    return AppTest.from_file(APP, default_timeout=60)


PAGES = [
    None,
    "pages/translate.py",
    "pages/step_through.py",
    "pages/beam_search.py",
    "pages/compare.py",
    "pages/error_analysis.py",
    "pages/training.py",
    "pages/model_card.py",
]


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def selected_model(at: AppTest) -> str:
    return next(s for s in at.selectbox if s.key == "checkpoint").value


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("direction", ["enko", "koen"])
def test_every_page_opens_in_both_directions(app, page, direction):
    app.query_params["dir"] = direction
    if page:
        app.switch_page(page)
    run(app)
    assert selected_model(app).startswith("koen-") == (direction == "koen")
    notes = [i.value for i in app.info if i.value.startswith("Korean → English:")]
    assert bool(notes) == (direction == "koen"), notes  # each page says where its lecture point differs
    if direction == "koen" and page in (None, "pages/translate.py"):
        box = next(t for t in app.text_area if t.key == "sentence")
        assert box.label == "Korean sentence" and any("가" <= ch <= "힣" for ch in box.value)


def test_the_switch_changes_the_models_the_sentence_and_the_link(app):
    app.session_state["_sentence"] = EN
    run(app)
    assert selected_model(app) == "tiny-additive" and "dir" not in app.query_params
    app.radio(key="dir_switch").set_value("koen")
    run(app)
    assert selected_model(app) == "koen-tiny-additive"
    assert list(app.query_params["dir"]) in (["koen"], list("koen"))
    box = next(t for t in app.text_area if t.key == "sentence")
    assert box.label == "Korean sentence" and box.value == "잘 지내?"  # the lecture's first, in Korean
    app.text_area(key="sentence").input(KO)
    app.button(key="translate").click()
    run(app)
    app.radio(key="dir_switch").set_value("enko")
    run(app)
    assert selected_model(app) == "tiny-additive"
    assert next(t for t in app.text_area if t.key == "sentence").value == EN  # each direction keeps its own
    app.radio(key="dir_switch").set_value("koen")
    run(app)
    assert next(t for t in app.text_area if t.key == "sentence").value == KO


def test_a_koen_link_translates_korean_and_back_translation_shows_on_translate(app):
    app.query_params["s"] = KO
    app.query_params["dir"] = "koen"
    app.switch_page("pages/translate.py")
    run(app)
    shown = " ".join(m.value for m in app.markdown)
    assert "the user opens" in shown  # the Korean→English translation
    # English→Korean: the Korean comes back to English through the reverse model
    app.query_params.clear()  # a new link: its model is the direction's default
    app.query_params["s"] = EN
    app.query_params["dir"] = "enko"
    run(app)
    captions = " ".join(c.value for c in app.caption)
    assert "Back to English" in captions and "koen-tiny-additive" in captions
    assert "the user " in " ".join(m.value for m in app.markdown)  # what the Korean says, in English


def test_a_bad_direction_in_a_link_falls_back_and_says_so(app):
    app.query_params["dir"] = "jaen"
    run(app)
    assert selected_model(app) == "tiny-additive"
    assert any("dir" in w.value for w in app.warning)


def test_beam_search_shows_each_hypothesis_reverse_score_and_back_translation(app):
    app.session_state["_sentence"] = EN
    app.switch_page("pages/beam_search.py")
    run(app)
    table = next(d for d in app.dataframe if "reverse log p(x|y)/|x|" in d.value.columns)
    assert (table.value["reverse log p(x|y)/|x|"] < 0).all()
    assert table.value["back-translation"].str.contains("the user").any()


def test_an_untranslated_reference_is_one_in_the_source_s_own_script():
    from seq2seq.diagnostics import broken_reference

    assert broken_reference("Click OK", "Click OK.") and not broken_reference("확인을 누르세요", "Click OK.")
    assert broken_reference("확인을 누르세요", "확인을 누르세요.") and not broken_reference(
        "Click OK", "확인을 누르세요."
    )
    assert broken_reference("Click OK")  # no source said: a Korean reference is expected, as before


def test_a_korean_to_english_card_names_its_direction_and_lists_the_lecture_s_ten_in_korean(
    tiny_koen_checkpoint, toy_corpus_koen, tmp_path
):
    from seq2seq.card import write_card
    from seq2seq.evaluate import evaluate_checkpoint
    from seq2seq.lecture import LECTURE_SENTENCES_KO

    folder = tmp_path / "koen"
    shutil.copytree(tiny_koen_checkpoint, folder)
    evaluate_checkpoint(
        folder, toy_corpus_koen / "test.tsv", Search(beam_size=2), device="cpu", show_progress=False
    )
    summary = json.loads((folder / "eval_summary.json").read_text(encoding="utf-8"))
    assert summary["bleu_tokenize"] == "13a"  # English output: words, not characters
    card = write_card(folder)
    assert card.startswith("# koen: Korean → English") and "Korean, " in card and "English pieces" in card
    assert all(f"| {s} |" in card for s in LECTURE_SENTENCES_KO)


def test_calibration_reads_the_unseen_text_in_the_model_s_source_language(tmp_path):
    from seq2seq.calibration import unseen_sentences

    enko = tmp_path / "software.tsv"
    enko.write_text("Click OK.\t확인을 누릅니다.\nSave the file.\t파일을 저장합니다.\n", encoding="utf-8")
    koen = tmp_path / "reversed.tsv"
    koen.write_text("확인을 누릅니다.\tClick OK.\n", encoding="utf-8")
    assert unseen_sentences(enko) == ["Click OK.", "Save the file."]
    assert unseen_sentences(enko, "ko") == ["확인을 누릅니다.", "파일을 저장합니다."]
    assert unseen_sentences(koen, "ko") == ["확인을 누릅니다."] and unseen_sentences(koen) == ["Click OK."]


def test_a_link_to_the_other_direction_s_model_keeps_its_sentence_and_switches_direction(app):
    app.session_state["_sentence"] = EN
    run(app)
    app.query_params.clear()
    app.query_params["m"] = "koen-tiny-fixed"  # no dir=: the model says its direction
    app.query_params["s"] = KO
    run(app)
    assert selected_model(app) == "koen-tiny-fixed"
    assert next(t for t in app.text_area if t.key == "sentence").value == KO
    app.query_params.clear()
    app.query_params["dir"] = "enko"  # no sentence: the direction's own comes back
    run(app)
    assert selected_model(app) == "tiny-additive"
    assert next(t for t in app.text_area if t.key == "sentence").value == EN
