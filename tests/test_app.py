"""Every page through Streamlit's AppTest: start from app.py, switch_page, drive widgets by key, and read the
Plotly spec back (tick labels are the model's tokens, z is its attention)."""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from seq2seq import diagnostics, load_translator, word_attention
from seq2seq.decoding import APP_SEARCH, GREEDY, Search
from seq2seq.evaluate import read_eval
from seq2seq.viz.style import ZERO_WIDTH
from ui import stepper
from ui.text import html_text, markdown_text

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TOY = "the user opens the file now ."
INJECTION = "<script>alert(1)</script> <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def translator(checkpoints_dir):
    return load_translator(checkpoints_dir / "tiny-additive", device="cpu")


@pytest.fixture
def app(checkpoints_dir, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(checkpoints_dir))
    monkeypatch.setenv("SEQ2SEQ_STRICT_I18N", "1")  # a string missing from a catalogue fails the page
    return AppTest.from_file(APP, default_timeout=30)


def by_prefix(widgets, prefix: str):
    """A widget whose key starts with `prefix`: picks are keyed by what they pick from (sentence, model, beam)."""
    found = [w for w in widgets if (w.key or "").startswith(prefix + "_")]
    assert len(found) == 1, [w.key for w in widgets]
    return found[0]


def open_page(
    at: AppTest, page: str | None, sentence: str = TOY, lang: str | None = None, **state
) -> AppTest:
    """Seed the shared widgets (as if typed on an earlier page), then run the page."""
    at.session_state["_sentence"] = sentence
    if lang is not None:
        at.session_state["_lang"] = lang
    for key, value in state.items():
        at.session_state["_" + key] = value
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def array(value) -> np.ndarray:
    """A Plotly JSON array: a plain list, or Plotly's base64 typed array {dtype, bdata, shape}."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            out = out.reshape([int(n) for n in str(value["shape"]).split(",")])
        return out
    return np.asarray(value, dtype=float)


def figures(at: AppTest, kind: str) -> list[dict]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return [s for s in specs if s["layout"].get("meta", {}).get("figure") == kind]


def labels(tokens: list[str]) -> list[str]:
    return [html.escape(t, quote=False) for t in tokens]


def ticks(axis: dict) -> list[str]:
    """Token labels without viz's own markup (flagged tokens are wrapped in <b><span>, repeats carry
    zero-width spaces): a source axis's categories, a target axis's tick text. User text is escaped."""
    texts = axis["categoryarray"] if axis.get("type") == "category" else axis["ticktext"]
    return [re.sub(r"<[^>]+>", "", text).replace(ZERO_WIDTH, "") for text in texts]


def assert_missing_shown_as_dash(table) -> None:
    """Empty length buckets: the scores stay missing (NaN) and the grid draws them as "–", not "None"."""
    assert table.value.isna().to_numpy().any() and table.proto.placeholder == "–"


def assert_heatmap(spec: dict, attention, src_tokens, tgt_tokens) -> None:
    assert ticks(spec["layout"]["xaxis"]) == labels(src_tokens)
    assert ticks(spec["layout"]["yaxis"]) == labels(tgt_tokens)
    assert np.allclose(array(spec["data"][0]["z"]), attention, atol=1e-6)


def test_home_translates_and_shows_the_heatmap(app, translator):
    at = open_page(app, None, sentence="the macro prints the chart .")
    at.text_area(key="sentence").input(TOY)
    at.button(key="translate").click().run()
    assert not at.exception
    expected = translator.translate(TOY, APP_SEARCH)  # the app's default: the beam
    heatmap = figures(at, "attention_heatmap")[0]
    assert_heatmap(heatmap, expected.attention, expected.src_tokens, expected.tgt_tokens)
    assert any(html_text(expected.text) in m.value for m in at.markdown)
    # what the loaded model learned from, read from its config (the tiny models know one domain)
    assert any("**tiny-additive** learned from LibreOffice" in m.value for m in at.markdown)
    assert len(at.get("page_link")) >= 7
    assert len(at.latex) >= 3  # the three equations, plus step 5's numbers
    assert translator.attention_kind.formula in at.latex[0].value  # the model's own score function
    assert figures(at, "length_curve")  # step 4: both tiny models are evaluated
    # the example picker fills the sentence box
    at.selectbox(key="example").select_index(2).run()
    assert at.text_area(key="sentence").value == at.selectbox(key="example").value.split(" · ", 1)[1]


def test_translate_beam_nbest_and_downloads(app, translator):
    at = open_page(app, "pages/translate.py", beam_size=3)
    expected = translator.translate(TOY, Search.of(APP_SEARCH, beam_size=3))
    assert len(at.dataframe[0].value) == len(expected.nbest) > 1
    assert_heatmap(
        figures(at, "attention_heatmap")[0],
        expected.nbest[0].attention,
        expected.src_tokens,
        expected.nbest[0].tgt_tokens,
    )
    by_prefix(at.radio, "tr_pick").set_value(1).run()
    assert not at.exception
    second = expected.nbest[1]
    assert_heatmap(
        figures(at, "attention_heatmap")[0], second.attention, expected.src_tokens, second.tgt_tokens
    )
    assert any(m.label == "Model time" and m.value.endswith("ms") for m in at.metric)
    assert {b.key for b in at.get("download_button")} >= {"tr_csv", "tr_json"}
    # a new sentence starts again on the best hypothesis, with a pick that means something
    at.text_area(key="sentence").input("the macro prints the chart .")
    at.button(key="translate").click().run()
    assert by_prefix(at.radio, "tr_pick").value == 0 and at.subheader[1].value == "Translation"


def test_the_default_search_is_the_beam_and_beam_1_is_the_greedy_path(app, translator):
    """Issue 27: a class's first sentences come back from the beam; a link or slider at 1 is greedy."""
    at = open_page(app, "pages/translate.py")
    assert at.sidebar.slider("beam_size").value == APP_SEARCH.beam_size == 5
    beam = translator.translate(TOY, APP_SEARCH)
    assert len(at.dataframe[0].value) == len(beam.nbest) > 1
    assert_heatmap(figures(at, "attention_heatmap")[0], beam.attention, beam.src_tokens, beam.tgt_tokens)
    at.sidebar.slider("beam_size").set_value(1).run()
    greedy = translator.translate(TOY, GREEDY)
    assert not [d for d in at.dataframe if d.key == "tr_nbest"]  # one path: no n-best list
    assert_heatmap(
        figures(at, "attention_heatmap")[0], greedy.attention, greedy.src_tokens, greedy.tgt_tokens
    )


def test_translate_word_level(app, translator):
    at = open_page(app, "pages/translate.py")
    at.toggle(key="tr_words").set_value(True).run()
    assert not at.exception
    words = word_attention(translator.translate(TOY, APP_SEARCH))
    assert_heatmap(figures(at, "attention_heatmap")[0], words.matrix, words.src_words, words.tgt_words)


def test_translate_fixed_context_says_why_there_is_no_heatmap(app):
    at = open_page(app, "pages/translate.py", checkpoint="tiny-fixed")
    assert not figures(at, "attention_heatmap")
    assert any("fixed-size context vector" in i.value for i in at.info)


def test_step_through_next_back_force_run(app, translator):
    at = open_page(app, "pages/step_through.py")
    for _ in range(3):
        at.button(key="st_next").click().run()
    session = at.session_state["st_session"]
    assert len(session.steps) == 3
    heatmap = figures(at, "attention_heatmap")[0]
    assert heatmap["layout"]["meta"]["highlight_row"] == 2
    assert_heatmap(heatmap, session.attention, session.src_tokens, session.tgt_tokens)
    assert figures(at, "step_bars") and figures(at, "context_strip") and figures(at, "topk_bar")
    assert any("e_{3," in latex.value for latex in at.latex)  # the formulas carry step 3's numbers

    at.button(key="st_back").click().run()
    session = at.session_state["st_session"]
    assert len(session.steps) == 2

    taken = session.tgt_tokens[-1]
    picker = at.selectbox(key=stepper.force_pick_key(session))
    other = next(o for o in picker.options if o != taken)
    picker.set_value(other)
    at.button(key="st_force").click().run()
    assert not at.exception
    whatif = at.session_state["st_whatif"]
    assert whatif.original.text == translator.translate(TOY).text
    assert whatif.forced.tgt_tokens[1] == other != whatif.original.tgt_tokens[1]
    assert len(figures(at, "attention_heatmap")) == 3  # so far, original, forced
    # the view stays on the forced step (step 2, the forced token taken), not on the last one
    session = at.session_state["st_session"]
    assert session.tgt_tokens == whatif.forced.tgt_tokens[:2] and session.steps[-1].forced
    assert at.subheader[0].value.startswith("Step 2: wrote") and "(forced)" in at.subheader[0].value
    assert figures(at, "topk_bar")[0]["layout"]["meta"]["chosen"] == other
    assert figures(at, "step_bars")[0]["layout"]["title"]["text"].startswith("Step 2:")

    # Next goes on along the forced path, and the picker starts again on this step's runner-up
    at.button(key="st_next").click().run()
    session = at.session_state["st_session"]
    assert session.tgt_tokens == whatif.forced.tgt_tokens[:3]
    picker = at.selectbox(key=stepper.force_pick_key(session))
    assert picker.value == picker.options[1] == session.pieces(session.steps[-1].top_ids)[1]
    assert (
        sum(str(k).startswith(stepper.PICK) for k in at.session_state) == 1
    )  # the last step's picker is gone
    at.button(key="st_back").click().run()
    at.button(key="st_back").click().run()  # back past the forced step: the what-if is gone with it
    assert "st_whatif" not in at.session_state and len(at.session_state["st_session"].steps) == 1
    at.button(key="st_next").click().run()

    at.text_input(key="st_force_text").input("no-such-token-ÿ").run()
    at.button(key="st_force").click().run()
    assert not at.exception

    at.button(key="st_reset").click().run()
    assert at.session_state["st_session"].steps == []
    at.button(key="st_run").click().run()
    session = at.session_state["st_session"]
    assert session.finished and session.text == translator.translate(TOY).text


def test_beam_search_tree_and_selection(app, translator):
    at = open_page(app, "pages/beam_search.py", beam_size=3)
    expected = translator.translate(TOY, Search.of(APP_SEARCH, beam_size=3))
    tree = figures(at, "beam_tree")[0]
    assert len(tree["layout"]["meta"]["selected_path"]) == len(expected.nbest[0].tgt_tokens)
    assert tree["layout"]["meta"]["show_pruned"] is False
    by_prefix(at.radio, "bs_pick").set_value(1).run()
    assert not at.exception
    second = expected.nbest[1]
    assert len(figures(at, "beam_tree")[0]["layout"]["meta"]["selected_path"]) == len(second.tgt_tokens)
    assert_heatmap(
        figures(at, "attention_heatmap")[0], second.attention, expected.src_tokens, second.tgt_tokens
    )


def test_beam_search_shows_each_hypothesis_score_parts_and_its_options_change_them(app, translator):
    at = open_page(app, "pages/beam_search.py", beam_size=3)
    at.slider(key="bs_coverage").set_value(1.0).run()
    at.selectbox(key="bs_no_repeat").set_value(0).run()
    assert not at.exception
    expected = translator.translate(TOY, Search(beam_size=3, coverage=1.0))
    best = expected.nbest[0]
    parts = next(m.value for m in at.markdown if m.value.startswith("**Score"))
    assert f"**Score {best.score:.3f}**" in parts and f"cp **{best.coverage:.3f}**" in parts
    assert best.score == pytest.approx(best.logprob / best.length_norm + best.coverage)
    unread = [
        c.value for c in at.caption if "Left nearly unread" in c.value or "Every source token" in c.value
    ]
    assert len(unread) == 1 and ("Left nearly unread" in unread[0]) == bool(best.uncovered)
    at.slider(key="bs_coverage").set_value(0.0).run()
    parts = next(m.value for m in at.markdown if m.value.startswith("**Score"))
    assert "cp **0.000**" in parts


def test_compare_attention_and_fixed(app, checkpoints_dir):
    at = open_page(app, "pages/compare.py")
    assert at.selectbox(key="cmp_a").value == "tiny-additive"
    assert at.selectbox(key="cmp_b").value == "tiny-fixed"
    assert len(figures(at, "attention_heatmap")) == 1  # only the attention model has one
    curve = figures(at, "length_curve")[0]
    assert {trace["name"] for trace in curve["data"]} == {"tiny-additive", "tiny-fixed"}
    assert len(at.dataframe[0].value) >= 1
    assert_missing_shown_as_dash(at.dataframe[0])
    at.radio(key="cmp_metric").set_value("bleu").run()
    assert figures(at, "length_curve")[0]["layout"]["meta"]["metric"] == "bleu"


def test_error_analysis_table_and_selection(app, checkpoints_dir):
    at = open_page(app, "pages/error_analysis.py")
    table = at.dataframe(key="ea_table").value
    _, _, rows = read_eval(checkpoints_dir / "tiny-additive")
    assert len(table) == len(rows)
    assert "domain" not in table.columns  # the toy test split names no domain: no empty column
    at.session_state["ea_table"] = {"selection": {"rows": [0], "columns": []}}  # a click on the first row
    at.run()
    assert not at.exception
    row = rows[int(table.iloc[0]["id"])]
    heatmap = figures(at, "attention_heatmap")[0]
    assert heatmap["layout"]["meta"]["flagged_src"] == diagnostics.flagged_src(row)
    assert_heatmap(heatmap, row["attention"], row["src_tokens"], row["tgt_tokens"])
    assert figures(at, "coverage_bars")
    assert any(m.value.startswith("<div") for m in at.markdown)  # the ref-vs-hyp diff
    at.checkbox(key="ea_flagged").check().run()
    assert not at.exception


def test_error_analysis_upload_good_and_bad(app):
    at = open_page(app, "pages/error_analysis.py")
    good = "the user opens the file .\t사용자가 파일을 엽니다.\nno tab on this line\nthe macro prints the chart .\t매크로가 차트를 인쇄합니다.\n"
    at.file_uploader(key="eu_file").set_value(("mine.tsv", good.encode(), "text/tab-separated-values")).run()
    assert not at.exception
    assert len(at.dataframe(key="eu_table").value) == 2
    assert any("1 line(s) skipped" in w.value for w in at.warning)
    assert any("line 2" in t.value for t in at.text)
    for name, data in (("garbage.tsv", os.urandom(2048) + b"\x00"), ("empty.tsv", b"")):
        at.file_uploader(key="eu_file").set_value((name, data, "text/tab-separated-values")).run()
        assert not at.exception
        assert any("Cannot use" in e.value for e in at.error)


def test_model_card(app):
    at = open_page(app, "pages/model_card.py")
    assert figures(at, "training_curves") and figures(at, "length_curve")
    assert_missing_shown_as_dash(at.dataframe[0])
    assert at.json and any(m.label == "chrF" for m in at.metric)


def test_model_card_shows_attention_vs_attribution_in_the_interface_language(app, checkpoints_dir):
    from seq2seq.evaluate import attention_agreement

    report = attention_agreement(
        checkpoints_dir / "tiny-additive", {"grad_x_input": 4, "integrated_gradients": 2}, show_progress=False
    )
    at = open_page(app, "pages/model_card.py", lang="ko")
    table = next(d.value for d in at.dataframe if "방법" in d.value.columns)
    assert len(table) == len(report["rows"])
    assert set(table["방법"]) == {"적분 기울기", "기울기 × 입력"} and "전체" in set(table["문장 묶음"])
    assert all(g == "전체" or g.endswith("단어") for g in table["문장 묶음"])  # the toy split has no domains
    assert all(round(v, 2) == v for v in table["최상위 토큰 일치"])


def test_skipped_folders_are_listed(checkpoints_dir, tmp_path, monkeypatch):
    (tmp_path / "tiny-additive").symlink_to(checkpoints_dir / "tiny-additive")
    (tmp_path / "notes").mkdir()
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert any(e.label == "Skipped folders (1)" for e in at.expander)
    assert any(t.value.startswith("notes:") for t in at.text)
    assert at.selectbox(key="checkpoint").options == ["tiny-additive"]


def test_no_checkpoint_shows_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception and at.error


@pytest.mark.parametrize("page", [None, "pages/translate.py", "pages/step_through.py"])
def test_html_injection_is_shown_as_text(app, page):
    at = open_page(app, page, sentence=INJECTION)
    assert not at.exception
    if page == "pages/step_through.py":
        at.button(key="st_run").click().run()
        assert not at.exception
    for element in [*at.markdown, *at.caption, *at.error, *at.warning, *at.info]:
        assert "<script" not in element.value and "<img" not in element.value, element.value
    if page == "pages/translate.py":
        assert any(t.value == "normalised input: " + INJECTION for t in at.text)


PAGES = [None, "pages/translate.py", "pages/step_through.py", "pages/beam_search.py", "pages/compare.py",
         "pages/error_analysis.py", "pages/training.py", "pages/model_card.py"]  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_in_both_languages(app, page, lang):
    """Strict catalogue lookups: a string missing from either language fails the page."""
    at = open_page(app, page, lang=lang)
    title = at.title[0].value
    assert not re.search("[\uac00-\ud7a3]", title) if lang == "en" else re.search("[\uac00-\ud7a3]", title), (
        title
    )
    if page == "pages/step_through.py":
        at.button(key="st_run").click().run()
        assert not at.exception and figures(at, "step_bars")


def test_the_url_language_opens_the_app_in_korean_and_the_switch_changes_it(app):
    app.query_params["lang"] = "ko"
    at = open_page(app, None)
    assert at.title[0].value.endswith("어텐션 탐색기") and at.button(key="translate").label == "번역"
    assert any(
        markdown_text("Bahdanau(가산) 어텐션") in m.value for m in at.sidebar.markdown
    )  # the model's, too
    at.segmented_control(key="lang_switch").set_value("en").run()
    assert at.title[0].value.endswith("Attention Explorer") and at.query_params["lang"] in ("en", ["en"])
    assert any(markdown_text("Bahdanau (additive) attention") in m.value for m in at.sidebar.markdown)


def test_stepping_forces_a_word_of_several_pieces_and_says_what_was_forced(app, translator):
    at = open_page(app, "pages/step_through.py")
    at.button(key="st_next").click().run()
    at.text_input(key="st_force_text").input("사용자가").run()
    at.button(key="st_force").click().run()
    assert not at.exception
    whatif = at.session_state["st_whatif"]
    session = at.session_state["st_session"]
    pieces = session.pieces(session.token_ids("사용자가"))
    assert len(pieces) > 1 and whatif.forced_token == " ".join(pieces)
    assert whatif.forced.tgt_tokens[: len(pieces)] == pieces  # the whole word, not its first piece
    assert any(" ".join(pieces) in m.value.replace("\\", "") for m in at.markdown)


def test_moving_the_attention_redoes_the_step_and_shows_both_continuations(app, translator):
    at = open_page(app, "pages/step_through.py")
    at.button(key="st_next").click().run()
    at.button(key="st_next").click().run()
    at.pills(key="st_edit_token").set_value(0).run()
    at.button(key="st_edit_go").click().run()
    assert not at.exception
    session = at.session_state["st_session"]
    step = session.steps[-1]
    assert step.edited and step.weights[0] == pytest.approx(1.0)
    whatif = at.session_state["st_whatif"]
    assert whatif.original.text == translator.translate(TOY).text
    assert len(figures(at, "attention_heatmap")) == 3


def test_a_dot_attention_checkpoint_shows_its_own_equation(
    checkpoints_dir, tiny_dot_checkpoint, tmp_path, monkeypatch
):
    import shutil

    from seq2seq.model import AdditiveAttention, DotAttention

    root = tmp_path / "checkpoints"
    shutil.copytree(checkpoints_dir, root)
    shutil.copytree(tiny_dot_checkpoint, root / "tiny-dot")
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(root))
    at = AppTest.from_file(APP, default_timeout=30)
    home = open_page(AppTest.from_file(APP, default_timeout=30), None, checkpoint="tiny-dot")
    assert any(DotAttention.formula in latex.value for latex in home.latex)
    at = open_page(at, "pages/step_through.py", checkpoint="tiny-dot")
    at.button(key="st_next").click().run()
    formulas = [latex.value for latex in at.latex]
    assert any(DotAttention.formula in f for f in formulas)  # the step's energies under its own score
    assert not any(AdditiveAttention.formula in f for f in formulas)


def test_the_training_page_replays_the_timeline(app, checkpoints_dir):
    at = open_page(app, "pages/training.py")
    fig = figures(at, "timeline")[0]
    assert len(fig["frames"]) == len(
        json.loads((checkpoints_dir / "tiny-additive" / "timeline.json").read_text())["snapshots"]
    )
    fixed = open_page(app, "pages/training.py", checkpoint="tiny-fixed")
    assert not figures(fixed, "timeline") and fixed.info  # no timeline: said plainly, the curves instead


def test_attention_beside_attribution_on_translate(app, translator):
    at = open_page(app, "pages/translate.py")
    at.toggle(key="tr_saliency").set_value(True).run()
    assert not at.exception
    maps = figures(at, "attention_heatmap")
    assert len(maps) == 2
    scores = array(maps[1]["data"][0]["z"])
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    assert any(m.label == "Same top source token" for m in at.metric)
