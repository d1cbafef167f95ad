"""The class's features through AppTest: families in the sidebar and Compare, every view opened from a
link, Guess first, and a lesson that a teacher leads and a student follows (the store is real SQLite)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from classroom import question
from classroom.store import LessonStore
from seq2seq.decoding import APP_SEARCH
from seq2seq.words import group_sums, group_words, word_text

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
        "teach": "<script>" * 1_000,  # a forged teacher's link: no key, no lesson, gone from the address bar
    }
    at = ran(start(family_dir, "pages/step_through.py", query))
    warned = " ".join(str(w.value) for w in at.warning)
    for key in ("`m`", "`beam`", "`step`", "`lesson`"):
        assert key in warned, key
    assert at.sidebar.selectbox("checkpoint").value == "enko-general-additive"
    assert at.sidebar.slider("beam_size").value == APP_SEARCH.beam_size
    assert at.text_area("sentence").value == "<script>alert(1)</script>"  # text, through the same checks
    assert "teach" not in at.query_params and "_lesson" not in at.session_state


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


def test_the_korean_question_reads_naturally(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    at = ran(start(family_dir, "pages/step_through.py", {"s": TOY, "step": "1", "lang": "ko"}, st_guess=True))
    question = next(str(h.value) for h in at.subheader if "단계: 디코더가" in str(h.value))
    assert question.endswith("영어 단어는?") and "(는)" not in question and "▁" not in question, question
    written = at.session_state["st_session"].tgt_tokens[-1].lstrip("▁") or "띄어쓰기"  # the bare ▁: a space
    assert classroom_particle(written, "eul") in question
    query = {"s": TOY, "step": "1", "lang": "ko"}
    pieces = ran(start(family_dir, "pages/step_through.py", query, st_guess=True, st_guess_unit="piece"))
    assert any(str(h.value).endswith("영어 토큰은?") for h in pieces.subheader)


def classroom_particle(word: str, kind: str) -> str:
    """The particle as a Korean reader expects it after `word` (을/를 by the last syllable's final consonant)."""
    last = word[-1]
    final = "가" <= last <= "힣" and (ord(last) - ord("가")) % 28 != 0
    if not "가" <= last <= "힣":
        return word + "을(를)"
    return word + ("을" if final else "를")


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
STORE = ("cache", "lessons.sqlite3")


def lesson_store(env: Path) -> LessonStore:
    return LessonStore(env.joinpath(*STORE))


def opened_lesson(family_dir: Path, query: dict, **state) -> tuple[AppTest, str]:
    teacher = ran(start(family_dir, "pages/step_through.py", query, **state))
    teacher.button("lesson_open").click()
    ran(teacher)
    return teacher, teacher.session_state["_lesson"]


def pick_and_guess(at: AppTest, unit: int) -> AppTest:
    picker = next(p for p in at.get("button_group") if (p.key or "").startswith("guess_pick_"))
    picker.set_value(unit)
    next(b for b in at.button if (b.key or "").endswith("_go")).click()
    return ran(at)


def test_the_class_s_guesses_reach_the_teacher_s_tally_and_a_student_explores_alone(
    family_dir, env, monkeypatch
):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    teacher, code = opened_lesson(family_dir, {"s": TOY, "step": "2"}, st_guess=True)
    assert f"Lesson code: **{code}**" in texts(teacher)
    lesson = lesson_store(env).get(code)
    assert (lesson.sentence, lesson.step, lesson.checkpoint, lesson.guess_first) == (
        TOY, 2, "enko-general-additive", True,
    )  # fmt: skip
    assert "Step 2: which English word" in texts(teacher)  # the projector asks what the class answers
    link = teacher.code[0].value  # the students' light page: the code and the language, nothing else
    assert link.endswith(f"/class/{code}?lang=en") and "teach" not in link
    assert "Guesses in: 0" in texts(teacher) and "Students connected now: 0" in texts(teacher)

    # two browsers guess (as the light page's route stores them); one changes its mind: still one vote
    words = group_words(teacher.session_state["st_session"].src_tokens)
    first, second = "a" * 32, "b" * 32
    for student, word in ((first, 1), (second, 2), (first, 2)):
        lesson_store(env).guess(code, student, TOY, "enko-general-additive", 2, words[word][0])
    ran(teacher)
    tally = figures(teacher, "class_guesses")
    assert (
        tally and tally[0]["layout"]["meta"]["students"] == 2 and not tally[0]["layout"]["meta"]["revealed"]
    )
    assert "Guesses in: 2" in texts(teacher)
    next(b for b in teacher.button if (b.key or "").startswith("reveal")).click()
    ran(teacher)
    assert figures(teacher, "class_guesses")[0]["layout"]["meta"]["revealed"]
    assert lesson_store(env).get(code).revealed == {2}

    # Explore alone: a student's browser opens the explorer with the lesson's code; the page is theirs,
    # with the way back to the light page
    student = ran(start(family_dir, "pages/step_through.py", {"lesson": code.lower(), "s": TOY, "step": "2"}))
    assert not student.session_state["_teacher"] and student.text_area("sentence").value == TOY
    assert len(student.session_state["st_session"].steps) == 2 and student.button("st_next")
    assert f"lesson **{code}** goes on without you" in texts(student)
    assert not [b for b in student.button if b.key == "lesson_clear"]  # no co-teacher


def test_clear_lets_everyone_guess_again_and_the_end_is_stored(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    teacher, code = opened_lesson(family_dir, {"s": TOY, "step": "1"}, st_guess=True, st_guess_mode="hidden")
    lesson = lesson_store(env).get(code)
    assert lesson.hidden and lesson.cleared == 0
    lesson_store(env).guess(code, "c" * 32, TOY, "enko-general-additive", 1, 0)
    teacher.button("lesson_clear").click()
    ran(teacher)
    assert lesson_store(env).tally(code, TOY, "enko-general-additive", 1) == {}
    assert lesson_store(env).get(code).cleared == 1  # the light pages drop their guesses
    teacher.button("lesson_end").click()
    ran(teacher)
    assert "_lesson" not in teacher.session_state and lesson_store(env).get(code).ended
    assert f"You ended lesson {code}" in texts(teacher)


def test_the_teacher_s_key_is_in_no_link_and_another_device_takes_it_once(family_dir, env, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    teacher, code = opened_lesson(family_dir, {"s": TOY, "step": "1"})
    key = teacher.session_state["_browser"]
    assert "teach" not in teacher.query_params and key not in str(dict(teacher.query_params))
    assert key not in texts(teacher) and not [c for c in teacher.code if key in c.value]
    assert lesson_store(env).is_teacher(code, key)  # the store knows the teacher by the browser id's hash
    teacher.button("lesson_handoff").click()
    ran(teacher)
    token = teacher.session_state["_lesson_handoff"]
    assert "a teacher's key, not the students' link" in texts(teacher)
    assert not [c for c in teacher.code if token in c.value] and token not in texts(teacher)

    phone = ran(start(family_dir, "pages/step_through.py", {"lesson": code, "teach": token}))
    assert phone.session_state["_teacher"] and "teach" not in phone.query_params
    assert f"This device now teaches lesson {code} too" in texts(phone)
    phone.button("st_next").click()  # the phone moves the lesson: the projector's page follows, and says so
    ran(phone)
    assert lesson_store(env).get(code).step == 2
    ran(teacher)
    assert teacher.session_state["st_session"].steps and len(teacher.session_state["st_session"].steps) == 2
    assert "was moved on another page" in texts(teacher)
    again = ran(start(family_dir, "pages/step_through.py", {"lesson": code, "teach": token}))  # used once
    assert not again.session_state.get("_teacher") and again.session_state["_lesson"] == code
    assert "used already or is too old" in texts(again)


def test_a_restarted_teacher_page_comes_back_to_the_stored_step_path_and_reveal(family_dir, env, monkeypatch):
    """A restart of the server (or the teacher's browser): a new session in the same browser (the same
    id, from its cookie) on the lesson's link takes the stored view, with the forced path and the reveal."""
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    teacher, code = opened_lesson(family_dir, {"s": TOY, "step": "2"}, st_guess=True)
    next(b for b in teacher.button if (b.key or "").startswith("reveal")).click()
    ran(teacher)
    pick = next(s for s in teacher.selectbox if (s.key or "").startswith("st_force_pick"))
    pick.set_value(pick.options[1])
    teacher.button("st_force").click()
    ran(teacher)
    forced, steps = teacher.session_state["st_session"].forced, len(teacher.session_state["st_session"].steps)
    assert forced and lesson_store(env).get(code).forced == forced
    query = dict(teacher.query_params)
    assert "teach" not in query and query["lesson"] == code
    browser = teacher.session_state["_browser"]
    back = ran(start(family_dir, "pages/step_through.py", {"lesson": code, "step": "1"}, _browser=browser,
                     _browser_kept=True))  # fmt: skip
    assert back.session_state["_teacher"] and back.session_state["st_session"].forced == forced
    assert len(back.session_state["st_session"].steps) == steps and back.session_state["st_guess"] is True
    assert f"Back in lesson {code}" in texts(back)


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


def test_a_token_the_teacher_forces_is_forced_in_the_class_s_view(family_dir, env, monkeypatch):
    """The view the light page is pushed (classroom.question) replays the teacher's forced path; before
    Reveal it holds no α (nor the Korean token, when hidden), after Reveal the step's α per word."""
    monkeypatch.setenv("SEQ2SEQ_CHECKPOINTS", str(family_dir))
    teacher, code = opened_lesson(family_dir, {"s": TOY, "step": "2"})
    pick = next(s for s in teacher.selectbox if (s.key or "").startswith("st_force_pick"))
    pick.set_value(pick.options[1])  # the runner-up, as Force offers it
    teacher.button("st_force").click()
    ran(teacher)
    forced = teacher.session_state["st_session"].forced
    assert forced and forced[0][0] == 1
    assert lesson_store(env).get(code).forced == forced
    teacher.toggle("st_guess").set_value(True)  # Guess first is the teacher's to switch on, for the class
    ran(teacher)
    session = teacher.session_state["st_session"]
    view = question.state(lesson_store(env).get(code))
    assert view["step"] == 2 and view["written"] == session.tgt_tokens[-1].lstrip("▁")
    assert view["labels"] == [word_text(session.src_tokens, g) for g in group_words(session.src_tokens)]
    assert not view["revealed"] and "weights" not in view and "top" not in view
    next(b for b in teacher.button if (b.key or "").startswith("reveal")).click()
    ran(teacher)
    view = question.state(lesson_store(env).get(code))
    alpha = group_sums(session.steps[-1].weights, group_words(session.src_tokens))
    assert view["revealed"] and view["weights"] == pytest.approx(alpha.tolist(), abs=1e-4)
    assert view["top"] == int(alpha.argmax())
    teacher.segmented_control("st_guess_mode").set_value("hidden")  # the class no longer sees the token
    ran(teacher)
    next(b for b in teacher.button if b.key == "st_next").click()
    ran(teacher)
    view = question.state(lesson_store(env).get(code))
    assert view["step"] == 3 and "written" not in view and "so_far" not in view and "weights" not in view
