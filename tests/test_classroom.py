"""The class's features through AppTest: families in the sidebar and Compare, every view opened from a
link, Guess first, and a lesson that a teacher leads and a student follows (the store is real SQLite)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from seq2seq.decoding import APP_SEARCH
from seq2seq.lessons import LessonStore
from seq2seq.words import group_words

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TOY = "the user opens the file now ."
FAMILY_NAMES = {
    "enko-general-additive": "tiny-additive",
    "enko-general-fixed": "tiny-fixed",
    "enko-software-additive": "tiny-additive",
    "enko-software-fixed": "tiny-fixed",
}


@pytest.fixture(scope="module")
def family_dir(checkpoints_dir, tmp_path_factory) -> Path:
    """Both families as the app ships them, made of the tiny models (the names are what matters here)."""
    root = tmp_path_factory.mktemp("families")
    for name, source in FAMILY_NAMES.items():
        shutil.copytree(checkpoints_dir / source, root / name)
    return root


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQ2SEQ_STRICT_I18N", "1")
    monkeypatch.setenv("SEQ2SEQ_CACHE", str(tmp_path / "cache"))  # the lesson store of this test alone
    return tmp_path


def start(root: Path, page: str | None = None, query: dict | None = None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in state.items():
        at.session_state[key] = value
    if query:
        at.query_params.update(query)
    if page:
        at.switch_page(page)
    return at


def ran(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest, kind: str) -> list[dict]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return [s for s in specs if s["layout"].get("meta", {}).get("figure") == kind]


def texts(at: AppTest) -> str:
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error, *at.subheader]
    return "\n".join(str(el.value) for el in parts)


# --------------------------------------------------------------------------- families
def test_the_default_is_the_general_attention_model_and_compare_pairs_each_family(
    family_dir, env, monkeypatch
):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    at = ran(start(family_dir, "pages/compare.py", _sentence=TOY))
    assert at.sidebar.selectbox("checkpoint").value == "enko-general-additive"
    assert "General family" in texts(at.sidebar) if hasattr(at.sidebar, "markdown") else True
    assert (at.selectbox("cmp_a").value, at.selectbox("cmp_b").value) == (
        "enko-general-additive",
        "enko-general-fixed",
    )
    at.sidebar.selectbox("checkpoint").set_value("enko-software-fixed")
    ran(at)
    assert (at.selectbox("cmp_a").value, at.selectbox("cmp_b").value) == (
        "enko-software-additive",
        "enko-software-fixed",
    )
    options = at.sidebar.selectbox("checkpoint").options
    assert options[0].startswith("General · ") and options[-1].startswith("Software · ")


# --------------------------------------------------------------------------- links
SENTENCE_PAGES = [
    None,
    "pages/translate.py",
    "pages/step_through.py",
    "pages/beam_search.py",
    "pages/compare.py",
]
MODEL_PAGES = ["pages/error_analysis.py", "pages/training.py", "pages/model_card.py"]  # no sentence box


@pytest.mark.parametrize("page", SENTENCE_PAGES + MODEL_PAGES)
def test_every_page_opened_from_a_link_shows_that_view_without_a_click(family_dir, env, monkeypatch, page):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    query = {
        "s": "the macro prints the chart .",
        "m": "enko-software-additive",
        "beam": "3",
        "lang": "ko",
        "proj": "1",
    }
    at = ran(start(family_dir, page, query))
    assert at.sidebar.selectbox("checkpoint").value == "enko-software-additive"
    assert at.sidebar.slider("beam_size").value == 3
    assert at.sidebar.toggle("projector").value is True
    assert at.session_state["_lang"] == "ko" and at.title[0].value
    assert at.session_state["_sentence"] == "the macro prints the chart ."
    if page in SENTENCE_PAGES:
        assert at.text_area("sentence").value == "the macro prints the chart ."
        assert at.query_params["s"] == "the macro prints the chart ."  # the address bar keeps saying it
    if page in (None, "pages/translate.py"):
        assert figures(at, "attention_heatmap"), "the translation's heatmap is drawn at once"


def test_translate_opened_at_word_level_shows_words(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    at = ran(start(family_dir, "pages/translate.py", {"s": TOY, "level": "word"}))
    assert at.toggle("tr_words").value is True and at.query_params["level"] == "word"
    assert figures(at, "attention_heatmap")


def test_a_link_with_beam_1_gives_the_greedy_translation(family_dir, env, monkeypatch):
    from seq2seq import load_translator
    from seq2seq.decoding import GREEDY

    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    at = ran(start(family_dir, "pages/translate.py", {"s": TOY, "beam": "1"}))
    assert at.sidebar.slider("beam_size").value == 1 and at.query_params["beam"] == "1"
    greedy = load_translator(family_dir / "enko-general-additive").translate(TOY, GREEDY)
    assert not [d for d in at.dataframe if d.key == "tr_nbest"]  # one path: no n-best list
    heatmap = figures(at, "attention_heatmap")[0]
    assert heatmap["layout"]["meta"]["figure"] == "attention_heatmap"
    assert len(heatmap["data"][0]["y"]) == len(greedy.tgt_tokens)


def test_step_through_opened_at_step_3_shows_step_3(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    at = ran(start(family_dir, "pages/step_through.py", {"s": TOY, "step": "3"}))
    assert any(str(h.value).startswith("Step 3: wrote") for h in at.subheader), [
        h.value for h in at.subheader
    ]
    assert at.query_params["step"] == "3"
    at.button("st_next").click()
    ran(at)
    assert at.query_params["step"] == "4"  # the address bar follows the view


def test_a_bad_link_gets_a_clear_message_and_the_defaults(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    query = {
        "m": "../../etc",
        "beam": "99",
        "step": "x",
        "lesson": "A" * 10_000,
        "s": "<script>alert(1)</script>",
    }
    at = ran(start(family_dir, "pages/step_through.py", query))
    warned = " ".join(str(w.value) for w in at.warning)
    for key in ("`m`", "`beam`", "`step`", "`lesson`"):
        assert key in warned, key
    assert at.sidebar.selectbox("checkpoint").value == "enko-general-additive"
    assert at.sidebar.slider("beam_size").value == APP_SEARCH.beam_size
    assert at.text_area("sentence").value == "<script>alert(1)</script>"  # text, through the same checks


# --------------------------------------------------------------------------- guessing
def test_guess_first_hides_the_step_until_the_guess_then_marks_it(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    at = ran(start(family_dir, "pages/step_through.py", {"s": TOY, "step": "1"}, st_guess=True))
    assert any("Step 1: which English word" in str(h.value) for h in at.subheader)
    assert not figures(at, "step_bars"), "the weights stay hidden until the guess"
    picker = next(p for p in at.get("button_group") if (p.key or "").startswith("guess_pick_"))
    assert picker.format_func(1) == "2·user"  # words by default: pieces grouped as Translate groups them
    picker.set_value(1)
    next(b for b in at.button if (b.key or "").endswith("_go")).click()
    ran(at)
    session = at.session_state["st_session"]
    alpha = sum(session.steps[0].weights[j] for j in group_words(session.src_tokens)[1])
    assert f"Step 1: you picked user, α = {alpha:.2f}" in texts(at) and "Your guesses: **" in texts(at)
    assert figures(at, "step_bars")
    at.button("st_run").click()  # to the end: the guesses drawn on the heatmap
    ran(at)


def test_guess_first_can_ask_for_a_subword_token_instead_of_a_word(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    query = {"s": TOY, "step": "1"}
    at = ran(start(family_dir, "pages/step_through.py", query, st_guess=True, st_guess_unit="piece"))
    assert any("Step 1: which English token" in str(h.value) for h in at.subheader)
    picker = next(p for p in at.get("button_group") if (p.key or "").startswith("guess_pick_"))
    tokens = at.session_state["st_session"].src_tokens
    assert picker.format_func(1) == f"2·{tokens[1]}" and len(picker.options) == len(tokens)


def test_a_fixed_context_model_says_it_has_no_alpha_to_guess(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    at = ran(
        start(
            family_dir,
            "pages/step_through.py",
            {"s": TOY, "m": "enko-general-fixed", "step": "1"},
            st_guess=True,
        )
    )
    assert "no α to guess" in texts(at)


# --------------------------------------------------------------------------- lessons
def test_a_student_follows_the_teacher_and_the_guess_reaches_the_teacher_s_tally(
    family_dir, env, monkeypatch
):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    teacher = ran(start(family_dir, "pages/step_through.py", {"s": TOY, "step": "2"}, st_guess=True))
    teacher.button("lesson_open").click()
    ran(teacher)
    code = teacher.session_state["_lesson"]
    assert f"Lesson code: **{code}**" in texts(teacher)
    lesson = LessonStore(env / "cache" / "lessons.sqlite3").get(code)
    assert (lesson.sentence, lesson.step, lesson.checkpoint) == (TOY, 2, "enko-general-additive")

    student = ran(start(family_dir, "pages/step_through.py", {"lesson": code.lower()}))
    assert student.text_area("sentence").value == TOY and student.session_state["_following"]
    assert "Step 2: which English word" in texts(student)
    picker = next(p for p in student.get("button_group") if (p.key or "").startswith("guess_pick_"))
    picker.set_value(1)
    next(b for b in student.button if (b.key or "").endswith("_go")).click()
    ran(student)
    word = group_words(student.session_state["st_session"].src_tokens)[1]  # "user": a word is guessed whole
    assert LessonStore(env / "cache" / "lessons.sqlite3").tally(code, TOY, "enko-general-additive", 2) == {
        word[0]: 1
    }
    # a following student's page is light (a phone): e and α, α so far; the rest on request
    assert figures(student, "step_bars") and figures(student, "attention_heatmap")
    assert not figures(student, "topk_bar") and not student.get("latex")
    student.toggle("st_everything").set_value(True)
    ran(student)
    assert figures(student, "topk_bar") and figures(student, "context_strip") and student.get("latex")
    ran(teacher)
    tally = figures(teacher, "class_guesses")
    assert (
        tally and tally[0]["layout"]["meta"]["students"] == 1 and not tally[0]["layout"]["meta"]["revealed"]
    )

    student.button("lesson_explore").click()  # a student may leave to explore alone, and rejoin
    ran(student)
    assert not student.session_state["_following"] and student.button("st_next")
    student.button("lesson_rejoin").click()
    ran(student)
    assert student.session_state["_following"]


def test_a_lesson_code_that_does_not_exist_gets_a_clear_message(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    at = ran(start(family_dir, "pages/step_through.py", {"lesson": "ZZZZ"}))
    assert any("There is no lesson with this code" in str(e.value) for e in at.error)
    assert "_lesson" not in at.session_state


def test_a_class_on_one_step_shares_its_figures_yet_each_keeps_its_size_and_language(
    family_dir, env, monkeypatch
):
    """A step's figures are built once for the whole server (`ui.figures.shared_figure`); each session still
    gets them in its own language and size, and drawing them again (a poll, a rerun) does not grow them."""
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    query = {"s": TOY, "step": "2"}
    plain = ran(start(family_dir, "pages/step_through.py", query))
    big = ran(start(family_dir, "pages/step_through.py", {**query, "proj": "1"}))
    korean = ran(start(family_dir, "pages/step_through.py", {**query, "lang": "ko"}))
    ran(big)
    ran(plain)
    height = lambda at: figures(at, "step_bars")[0]["layout"]["height"]  # noqa: E731
    assert height(big) == int(height(plain) * 1.3)
    title = lambda at: figures(at, "attention_heatmap")[0]["layout"]["title"]["text"]  # noqa: E731
    assert title(korean) != title(plain)
    z = lambda at: figures(at, "attention_heatmap")[0]["data"][0]["z"]  # noqa: E731
    assert z(plain) == z(big) == z(korean)


def test_a_token_the_teacher_forces_is_forced_on_every_student_s_page(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    teacher = ran(start(family_dir, "pages/step_through.py", {"s": TOY, "step": "2"}))
    teacher.button("lesson_open").click()
    ran(teacher)
    code = teacher.session_state["_lesson"]
    student = ran(start(family_dir, "pages/step_through.py", {"lesson": code}))
    pick = next(s for s in teacher.selectbox if (s.key or "").startswith("st_force_pick"))
    pick.set_value(pick.options[1])  # the runner-up, as Force offers it
    teacher.button("st_force").click()
    ran(teacher)
    forced = teacher.session_state["st_session"].forced
    assert forced and forced[0][0] == 1
    assert LessonStore(env / "cache" / "lessons.sqlite3").get(code).forced == forced
    ran(student)
    assert student.session_state["st_session"].forced == forced
    assert student.session_state["st_session"].tgt_tokens == teacher.session_state["st_session"].tgt_tokens
    written = teacher.session_state["st_session"].tgt_tokens[-1].lstrip("▁")
    assert any(f"Step 2: which English word will the decoder look at most to write {written}" in str(h.value)
               for h in student.subheader), [h.value for h in student.subheader]  # fmt: skip
