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

from seq2seq import analysis, load_translator, word_attention
from seq2seq.evaluate import read_eval

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TOY = "the user opens the file now ."
INJECTION = "<script>alert(1)</script> <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def translator(checkpoints_dir):
    return load_translator(checkpoints_dir / "tiny-additive", device="cpu")


@pytest.fixture
def app(checkpoints_dir, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(checkpoints_dir))
    return AppTest.from_file(APP, default_timeout=30)


def open_page(at: AppTest, page: str | None, sentence: str = TOY, **state) -> AppTest:
    """Seed the shared widgets (as if typed on an earlier page), then run the page."""
    at.session_state["_sentence"] = sentence
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
    """Tick labels without viz's own markup (flagged tokens are wrapped in <b><span>); user text is escaped."""
    return [re.sub(r"<[^>]+>", "", text) for text in axis["ticktext"]]


def assert_missing_shown_as_dash(table) -> None:
    """Empty length buckets: the scores stay missing (NaN) and the grid draws them as "–", not "None"."""
    assert table.value.isna().to_numpy().any() and table.proto.placeholder == "–"


def assert_heatmap(spec: dict, attention, src_tokens, tgt_tokens) -> None:
    assert ticks(spec["layout"]["xaxis"]) == labels(src_tokens)
    assert ticks(spec["layout"]["yaxis"]) == labels(tgt_tokens)
    assert np.allclose(array(spec["data"][0]["z"]), attention, atol=1e-6)


def test_home_translates_and_shows_the_heatmap(app, translator):
    at = open_page(app, None, sentence="")
    at.text_area(key="sentence").input(TOY)
    at.button(key="translate").click().run()
    assert not at.exception
    expected = translator.translate(TOY)
    heatmap = figures(at, "attention_heatmap")[0]
    assert_heatmap(heatmap, expected.attention, expected.src_tokens, expected.tgt_tokens)
    assert any(analysis.html_text(expected.text) in m.value for m in at.markdown)
    assert len(at.get("page_link")) >= 6
    assert len(at.latex) >= 3  # the three equations, plus step 5's numbers
    assert figures(at, "length_curve")  # step 4: both tiny models are evaluated
    # the example picker fills the sentence box
    at.selectbox(key="example").select_index(2).run()
    assert at.text_area(key="sentence").value == at.selectbox(key="example").value


def test_translate_beam_nbest_and_downloads(app, translator):
    at = open_page(app, "pages/1_Translate.py", beam_size=3)
    expected = translator.translate(TOY, beam_size=3)
    assert len(at.dataframe[0].value) == len(expected.nbest) > 1
    assert_heatmap(
        figures(at, "attention_heatmap")[0],
        expected.nbest[0].attention,
        expected.src_tokens,
        expected.nbest[0].tgt_tokens,
    )
    at.radio(key="tr_pick").set_value(1).run()
    assert not at.exception
    second = expected.nbest[1]
    assert_heatmap(
        figures(at, "attention_heatmap")[0], second.attention, expected.src_tokens, second.tgt_tokens
    )
    assert any(m.label == "Model time" and m.value.endswith("ms") for m in at.metric)
    assert {b.key for b in at.get("download_button")} >= {"tr_csv", "tr_json"}


def test_translate_word_level(app, translator):
    at = open_page(app, "pages/1_Translate.py")
    at.toggle(key="tr_words").set_value(True).run()
    assert not at.exception
    words = word_attention(translator.translate(TOY))
    assert_heatmap(figures(at, "attention_heatmap")[0], words.matrix, words.src_words, words.tgt_words)


def test_translate_fixed_context_says_why_there_is_no_heatmap(app):
    at = open_page(app, "pages/1_Translate.py", checkpoint="tiny-fixed")
    assert not figures(at, "attention_heatmap")
    assert any("fixed-size context vector" in i.value for i in at.info)


def test_step_through_next_back_force_run(app, translator):
    at = open_page(app, "pages/2_Step_through.py")
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
    other = next(o for o in at.selectbox(key="st_force_pick").options if o != taken)
    at.selectbox(key="st_force_pick").set_value(other)
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
    picker = at.selectbox(key="st_force_pick")
    assert picker.value == picker.options[1] == session.pieces(session.steps[-1].top_ids)[1]
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
    at = open_page(app, "pages/3_Beam_search.py", beam_size=3)
    expected = translator.translate(TOY, beam_size=3)
    tree = figures(at, "beam_tree")[0]
    assert len(tree["layout"]["meta"]["selected_path"]) == len(expected.nbest[0].tgt_tokens)
    at.radio(key="bs_pick").set_value(1).run()
    assert not at.exception
    second = expected.nbest[1]
    assert len(figures(at, "beam_tree")[0]["layout"]["meta"]["selected_path"]) == len(second.tgt_tokens)
    assert_heatmap(
        figures(at, "attention_heatmap")[0], second.attention, expected.src_tokens, second.tgt_tokens
    )


def test_compare_attention_and_fixed(app, checkpoints_dir):
    at = open_page(app, "pages/4_Compare.py")
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
    at = open_page(app, "pages/5_Error_analysis.py")
    table = at.dataframe(key="ea_table").value
    _, _, rows = read_eval(checkpoints_dir / "tiny-additive")
    assert len(table) == len(rows)
    at.session_state["ea_table"] = {"selection": {"rows": [0], "columns": []}}  # a click on the first row
    at.run()
    assert not at.exception
    row = rows[int(table.iloc[0]["id"])]
    heatmap = figures(at, "attention_heatmap")[0]
    assert heatmap["layout"]["meta"]["flagged_src"] == analysis.flagged_src(row)
    assert_heatmap(heatmap, row["attention"], row["src_tokens"], row["tgt_tokens"])
    assert figures(at, "coverage_bars")
    assert any(m.value.startswith("<div") for m in at.markdown)  # the ref-vs-hyp diff
    at.checkbox(key="ea_flagged").check().run()
    assert not at.exception


def test_error_analysis_upload_good_and_bad(app):
    at = open_page(app, "pages/5_Error_analysis.py")
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
    at = open_page(app, "pages/6_Model_card.py")
    assert figures(at, "training_curves") and figures(at, "length_curve")
    assert_missing_shown_as_dash(at.dataframe[0])
    assert at.json and any(m.label == "chrF" for m in at.metric)


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


@pytest.mark.parametrize("page", [None, "pages/1_Translate.py", "pages/2_Step_through.py"])
def test_html_injection_is_shown_as_text(app, page):
    at = open_page(app, page, sentence=INJECTION)
    assert not at.exception
    if page == "pages/2_Step_through.py":
        at.button(key="st_run").click().run()
        assert not at.exception
    for element in [*at.markdown, *at.caption, *at.error, *at.warning, *at.info]:
        assert "<script" not in element.value and "<img" not in element.value, element.value
    if page == "pages/1_Translate.py":
        assert any(t.value == "normalised input: " + INJECTION for t in at.text)
