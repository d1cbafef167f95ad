"""Step through in class: *Guess first* (a student picks the source token the decoder will look at most,
then sees α and how close the guess was) and *lessons* (the whole class on the teacher's sentence, model
and step; each guess into the shared store; the class's guesses on the teacher's screen as they come).

Who is who: this browser's random id (`browser_id`) lives in a cookie the app sets, so a reload, a new
tab or a server restart is the same student, and the same teacher: the store knows a teacher by the hash
of the id of the browser that opened the lesson (or that scanned *Teach from another device*). Nothing
secret is ever in the address bar, the page text or a link.

State per browser session: `_lesson` (the code), `_teacher` (this page teaches it), `_following` (a
student follows the teacher), `_lesson_seen` (the lesson's version this page has taken in: a waiting page
reruns once when it changes, never again for the same version) and `_lesson_shown` (the view this page
last wrote or took from the store). Everything the class shares (the view, the rules, each guess, the
reveals, the end) is in the store (`seq2seq.lessons`), one SQLite file that outlives the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from seq2seq.lessons import Lesson, LessonError, LessonStore, default_path, is_browser_id, new_student_id
from seq2seq.session import TranslationSession
from seq2seq.viz.alignment import attention_heatmap
from seq2seq.viz.decoder_step import class_guesses
from seq2seq.words import group_sums, group_words, word_text

from . import links
from .figures import chart, figure_labels
from .i18n import t
from .models import Settings
from .sidebar import FRAMED, projector
from .text import markdown_text
from .widgets import pick_key, row

LESSON, TEACHER, FOLLOWING = "_lesson", "_teacher", "_following"
SEEN, SHOWN, TAKE_STEP = "_lesson_seen", "_lesson_shown", "_lesson_take_step"
GUESSES, PROBLEM, NOTICE, HANDOFF = "_guesses", "_lesson_problem", "_lesson_notice", "_lesson_handoff"
BROWSER, BROWSER_KEPT = "_browser", "_browser_kept"
TALLY = "_tally_figure"  # (what it shows, the figure): the teacher's tally, drawn again as it is when nothing changed
POLL_S = 1.5  # how often a page in a lesson looks for the lesson's next change, and the tally refreshes
BROWSER_COOKIE = "s2s_browser"
COOKIE_DAYS = 365
TALLY_HEIGHT = 280  # the tally's figure, so that the question, Reveal and the tally fit one projector screen
TOP_K = 5  # the top-k a following student's page asks for (the slider is the teacher's)


def store() -> LessonStore:
    """One store for every session of this server (the SQLite file outlives it)."""
    return _store(str(default_path()))


@st.cache_resource(show_spinner=False)
def _store(path: str) -> LessonStore:
    return LessonStore(path)


# --------------------------------------------------------------------------- this browser
def browser_id() -> str:
    """This browser's random id: from its cookie when it has one (a reload, a new tab, a restarted
    server), else a new one that `keep_browser_id` writes into the cookie."""
    state = st.session_state
    if BROWSER not in state:
        try:
            kept = st.context.cookies.get(BROWSER_COOKIE)
        except Exception:  # noqa: BLE001 - no request to read cookies from (a test harness): a new id
            kept = None
        state[BROWSER], state[BROWSER_KEPT] = (
            (kept, True) if is_browser_id(kept) else (new_student_id(), False)
        )
    return state[BROWSER]


# The id is 32 hex characters (checked): nothing else goes into the script. If another tab of this
# browser wrote its own id first, this tab reloads once to take that one (the server reads the cookie of
# a new connection); the script then removes itself, so the id is not left in the page.
KEEP_ID_JS = """<script>(() => {{
  const id = "{id}", kept = (document.cookie.match(/(?:^|;\\s*){name}=([0-9a-f]{{32}})/) || [])[1];
  if (!kept) document.cookie = "{name}=" + id + "; Path=/; Max-Age={age}; SameSite=Lax";
  else if (kept !== id && !sessionStorage.getItem("{name}_reloaded")) {{
    sessionStorage.setItem("{name}_reloaded", "1"); location.reload();
  }}
  if (document.currentScript) document.currentScript.remove();
}})();</script>"""


def keep_browser_id() -> None:
    """Write this session's new browser id into the browser's cookie (once a session: a cookie the server
    already read needs nothing). The cookie is the app's own: SameSite, this server's path, a year."""
    if BROWSER not in st.session_state or st.session_state.get(BROWSER_KEPT):
        return
    browser = st.session_state[BROWSER]
    if not is_browser_id(browser):
        return
    script = KEEP_ID_JS.format(id=browser, name=BROWSER_COOKIE, age=COOKIE_DAYS * 24 * 3600)
    st.sidebar.html(script, unsafe_allow_javascript=True)


# --------------------------------------------------------------------------- joining and following
LESSON_ERRORS = (
    "no_lesson",
    "bad_code",
    "not_current",
    "bad_step",
    "bad_token",
    "not_teacher",
    "ended",
    "revealed",
    "bad_handoff",
)  # worded in ui/


def _say_problem(exc: LessonError) -> None:
    """Shown once, at the top of the page, on the next run."""
    st.session_state[PROBLEM] = t("lesson.err." + exc.code) if exc.code in LESSON_ERRORS else str(exc)


def _enter(code: str, teacher: bool) -> None:
    state = st.session_state
    state[LESSON] = code
    state[TEACHER], state[FOLLOWING] = teacher, not teacher
    for key in (SEEN, SHOWN, HANDOFF):
        state.pop(key, None)


def join(code: str) -> None:
    """Into a lesson by its code: as its teacher when this browser is one, else as a student."""
    try:
        lesson = store().get(code)
        if lesson.ended:
            raise LessonError("ended", "the lesson has ended")
        teacher = store().is_teacher(lesson.code, browser_id())
    except LessonError as exc:
        _say_problem(exc)
        return
    _enter(lesson.code, teacher)


def rejoin() -> None:
    """*Follow the teacher again*: the next run takes the lesson's current step."""
    st.session_state[FOLLOWING] = True
    st.session_state.pop(SEEN, None)


def explore() -> None:
    """*Explore alone*: the page is this student's own (the sentence box, the stepper) until they follow again."""
    st.session_state[FOLLOWING] = False


def leave() -> None:
    for key in (LESSON, TEACHER, FOLLOWING, SHOWN, SEEN, HANDOFF):
        st.session_state.pop(key, None)
    links.write(lesson=None, teach=None)


def open_lesson() -> None:
    try:
        code, _ = store().open(teacher=browser_id())
    except LessonError as exc:
        _say_problem(exc)
        return
    _enter(code, teacher=True)


def _as_teacher(action, *args) -> int | None:
    """Run a teacher's store action; the lesson's new version is what this page has seen."""
    try:
        version = action(st.session_state[LESSON], browser_id(), *args)
    except (LessonError, KeyError) as exc:
        _say_problem(exc if isinstance(exc, LessonError) else LessonError("not_teacher", str(exc)))
        return None
    st.session_state[SEEN] = version
    return version


def clear_lesson() -> None:
    _as_teacher(store().clear)


def end_lesson() -> None:
    code = st.session_state.get(LESSON)
    if _as_teacher(store().end) is not None:
        st.session_state[NOTICE] = t("lesson.you_ended", code=code)
        leave()


def reveal(sentence: str, checkpoint: str, step: int) -> None:
    _as_teacher(store().reveal, sentence, checkpoint, step)


def show_handoff() -> None:
    """*Teach from another device*: a one-time token, shown as a QR code only, on request."""
    try:
        st.session_state[HANDOFF] = store().handoff(st.session_state[LESSON], browser_id())
    except (LessonError, KeyError) as exc:
        _say_problem(exc if isinstance(exc, LessonError) else LessonError("not_teacher", str(exc)))


def teaching() -> bool:
    return bool(st.session_state.get(LESSON) and st.session_state.get(TEACHER))


def following() -> bool:
    return bool(st.session_state.get(LESSON) and st.session_state.get(FOLLOWING))


def _take_handoff(code: str | None, token: str) -> None:
    """A teacher's own other device opened the *Teach from another device* link: the token works once,
    and it leaves the address bar at once (a projector shows the address bar)."""
    links.write(teach=None)
    if not code:
        return
    try:
        store().take_handoff(code, token, browser_id())
    except LessonError as exc:
        _say_problem(exc)
        return
    _enter(code.strip().upper(), teacher=True)
    st.session_state[NOTICE] = t("lesson.now_teaching", code=code.strip().upper())


def follow() -> Lesson | None:
    """Before the sidebar: a link's `?lesson=` joins (as the teacher, when this browser is one), and a page
    in a lesson takes the lesson's view from the store when it changed since this page last saw it: a
    student's page always, a teacher's page when another page (another tab, the teacher's phone) or a
    restart left it behind, and then it says so. Returns the lesson, while this page follows or leads it."""
    state = st.session_state
    if not state.get(FRAMED):  # a first run that began at the page: the sidebar reruns it through app.py,
        return None  # which reads the link first
    code = state.pop("_lesson_join", None)
    token = st.query_params.get("teach")
    if token is not None:
        _take_handoff(code, token)
        if teaching():
            code = None
    if code and state.get(LESSON) != code:
        join(code)
    if not state.get(LESSON):
        return None
    try:
        lesson = store().get(state[LESSON])
    except LessonError as exc:
        _say_problem(exc)
        leave()
        return None
    if lesson.ended:  # (a teacher's page that ended it said so already; another of its pages says it here)
        state[NOTICE] = t("lesson.ended" if not teaching() else "lesson.ended_elsewhere", code=lesson.code)
        leave()  # the page is this student's own again, where it stands
        return None
    if not (teaching() or following()):
        return None  # exploring alone
    _take_in(lesson)
    return lesson


def _take_in(lesson: Lesson) -> None:
    """Take the stored view into this page's state: what the sentence box, the model picker and Guess
    first's switches will show, and the step the stepper goes to (`lesson_step`)."""
    state = st.session_state
    behind = state.get(SEEN) != lesson.version
    state[SEEN] = lesson.version
    if not lesson.sentence:
        return
    if teaching():
        if not behind or state.get(SHOWN) == lesson.view():
            return
        said = t(
            "lesson.resumed" if SHOWN not in state else "lesson.moved", code=lesson.code, step=lesson.step
        )
        state.setdefault(NOTICE, said)  # "this device now teaches" says more
    state["_sentence"] = state["sentence"] = lesson.sentence
    state["_checkpoint"] = lesson.checkpoint
    state["st_guess"], state["st_guess_unit"] = lesson.guess_first, lesson.unit
    state["st_guess_mode"] = "hidden" if lesson.hidden else "shown"
    state[SHOWN] = lesson.view()
    state[TAKE_STEP] = (lesson.sentence, lesson.checkpoint, lesson.step, dict(lesson.forced))


def lesson_step(session: TranslationSession, settings: Settings) -> tuple[int, dict[int, int]] | None:
    """The step (and the forced tokens on the way) the stepper goes to: the lesson's, when this page just
    took it in (a student's page on every run) and the session is on the lesson's sentence and model."""
    taken = st.session_state.get(TAKE_STEP)
    if not following():
        st.session_state.pop(TAKE_STEP, None)
    if taken is None or taken[:2] != (session.source, settings.folder.name):
        return None
    return taken[2], taken[3]


def notices() -> None:
    """What happened to the lesson since the last run (an error, the end, a page that followed the store),
    at the top of the page: on a phone it is the first thing seen."""
    if PROBLEM in st.session_state:
        st.error(st.session_state.pop(PROBLEM))
    if NOTICE in st.session_state:
        st.info(st.session_state.pop(NOTICE), icon="🧑\u200d🏫")


def followed_sentence(lesson: Lesson | None) -> str:
    """A following student's top of the page, instead of the sentence box: the lesson, its sentence, and
    *Explore alone* (typing one's own sentence means leaving the lesson, in one click)."""
    code = st.session_state.get(LESSON)
    text = (
        lesson.sentence if lesson is not None and lesson.sentence else st.session_state.get("_sentence", "")
    )
    with st.container(border=True):
        st.markdown(t("lesson.student", code=code))
        st.markdown(f"**{markdown_text(text)}**" if text else "…")
        with row():
            st.button(
                t("lesson.explore"), key="lesson_explore", on_click=explore, help=t("lesson.explore_help")
            )
            st.button(t("lesson.leave"), key="lesson_leave", on_click=leave)
    links.write(s=text or None)
    st.html(PHONE_CSS)
    return text


# A phone: the charts' toolbar sits over their titles; a following student has no use for it
PHONE_CSS = """<style>
@media (max-width: 640px) { [data-testid="stMain"] .modebar-container { display: none !important; } }
</style>"""


def lesson_panel(settings: Settings) -> None:
    """The lesson's controls: open or join one; the teacher's code, link and QR code; leave or rejoin."""
    code = st.session_state.get(LESSON)
    with st.expander(t("lesson.title", code=code) if code else t("lesson.title_none"), expanded=bool(code)):
        if not code:
            st.caption(t("lesson.intro"))
            with row():
                st.button(t("lesson.open"), key="lesson_open", on_click=open_lesson, type="primary")
                st.text_input(t("lesson.code"), key="lesson_code_input", max_chars=8, placeholder="K7QP",
                              width=160)  # fmt: skip
                st.button(t("lesson.join"), key="lesson_join",
                          on_click=lambda: join(st.session_state.get("lesson_code_input") or ""))  # fmt: skip
            return
        if teaching():
            _teacher_panel(code)
            return
        st.markdown(t("lesson.exploring", code=code))
        with row():
            st.button(t("lesson.rejoin"), key="lesson_rejoin", on_click=rejoin, type="primary")
            st.button(t("lesson.leave"), key="lesson_leave", on_click=leave)


def _teacher_panel(code: str) -> None:
    """The code to read aloud, the students' link and its QR code side by side (one projector screen),
    then the teacher's buttons. The link carries the lesson's code and language only: never a key."""
    view = links.View(lesson=code, lang=st.session_state.get("_lang"))
    url = links.link(links.base_url(), "step_through", view)
    text_col, qr_col = st.columns([3, 2], vertical_alignment="center")
    with text_col:
        st.markdown(t("share.lesson_code", code=code))
        st.code(url, language=None, wrap_lines=True)
        st.caption(t("lesson.teacher_help"))
    with qr_col:
        links.qr_image(url, "25vh" if projector() else "200px")
    with row():
        st.button(t("lesson.clear"), key="lesson_clear", on_click=clear_lesson)
        st.button(t("lesson.end"), key="lesson_end", on_click=end_lesson)
        if HANDOFF in st.session_state:
            st.button(t("lesson.handoff_hide"), key="lesson_handoff_hide",
                      on_click=lambda: st.session_state.pop(HANDOFF, None))  # fmt: skip
        else:
            st.button(
                t("lesson.handoff"),
                key="lesson_handoff",
                on_click=show_handoff,
                help=t("lesson.handoff_help"),
            )
    token = st.session_state.get(HANDOFF)
    if token:
        with st.container(border=True):
            st.warning(t("lesson.handoff_what"), icon="🔑")
            # the token is inside the PNG only; the address it makes is never written as text
            links.qr_image(
                links.base_url() + "/step_through?" + urlencode({"lesson": code, "teach": token}), "200px"
            )


def publish(settings: Settings, session: TranslationSession) -> None:
    """The teacher's view (and Guess first's rules) into the store, when it changed: the class follows it."""
    if not teaching():
        return
    state = st.session_state
    rules = (
        bool(state.get("st_guess")),
        state.get("st_guess_unit") or "word",
        state.get("st_guess_mode") == "hidden",
    )
    view = (session.source, settings.folder.name, len(session.steps), session.forced, *rules)
    if state.get(SHOWN) == view:
        return
    try:
        state[SEEN] = store().show(
            state[LESSON], browser_id(), session.source, settings.folder.name, len(session.steps),
            settings.beam_size, source_tokens=len(session.src_tokens), steps=len(session.steps), forced=session.forced,
            guess_first=rules[0], unit=rules[1], hidden=rules[2],
        )  # fmt: skip
    except LessonError as exc:
        _say_problem(exc)
        return
    state[SHOWN] = view
    links.write(lesson=state[LESSON])


def watch() -> None:
    """A page in a lesson (a student's, and the teacher's too: another tab or device may move it) reads
    the lesson's version every `POLL_S` and reruns once when it changed: one row read, and no rerun at
    all while nothing changes, whatever the student clicked or typed."""
    if not (following() or teaching()):
        return

    @st.fragment(run_every=POLL_S)
    def look() -> None:
        code = st.session_state.get(LESSON)
        if not code or not (following() or teaching()):
            return
        try:
            version = store().version(code)
        except LessonError:
            return
        if version is not None and version != st.session_state.get(SEEN):
            st.rerun(scope="app")

    look()


# --------------------------------------------------------------------------- guessing
def guesses(session: TranslationSession, settings: Settings) -> dict[int, int]:
    """This student's guesses for this sentence and model: {step i (1-based): source index j}; in a
    lesson, the store's (they outlive a reload and a restart, and Clear removes them)."""
    if following():
        try:
            return store().mine(st.session_state[LESSON], browser_id(), session.source, settings.folder.name)
        except LessonError:
            return {}
    key = pick_key("g", settings.folder.name, session.source)
    return st.session_state.setdefault(GUESSES, {}).setdefault(key, {})


def guess_controls() -> None:
    """Guess first's switches; a following student's are the teacher's, shown, not switchable."""
    state = st.session_state
    if following():
        if state.get("st_guess"):
            st.caption(
                t(
                    "guess.by_teacher",
                    unit=_noun(),
                    mode=t("guess.mode." + (state.get("st_guess_mode") or "shown")),
                )
            )
        return
    state.setdefault("st_guess_unit", "word")
    state.setdefault("st_guess_mode", "shown")
    with row():
        st.toggle(t("guess.toggle"), key="st_guess", help=t("guess.toggle_help"))
        if state.get("st_guess"):
            st.segmented_control(
                t("guess.unit"), ["word", "piece"], format_func=lambda v: t("guess.unit." + v),
                key="st_guess_unit", required=True,
            )  # fmt: skip
            st.segmented_control(
                t("guess.mode"), ["shown", "hidden"], format_func=lambda v: t("guess.mode." + v),
                key="st_guess_mode", required=True,
            )  # fmt: skip


def _record(session: TranslationSession, settings: Settings, step: int, key: str, unit: Units) -> None:
    picked = st.session_state.get(key)
    if picked is None or not 0 <= int(picked) < len(unit.groups):
        st.session_state[PROBLEM] = t("guess.pick_first")
        return
    token = unit.groups[int(picked)][0]  # a word is stored as its first piece
    if following():
        try:
            store().guess(st.session_state[LESSON], browser_id(), session.source, settings.folder.name,
                          step, int(token))  # fmt: skip
        except LessonError as exc:
            _say_problem(exc)
        return
    guesses(session, settings)[step] = token


@dataclass(frozen=True)
class Units:
    """What a class guesses among: source words (pieces grouped as Translate's word level groups them) or
    the pieces themselves. A guess is stored as its unit's first piece, so a teacher's tally can count
    either way whatever each student picked."""

    labels: list[str]
    groups: list[list[int]]

    def of(self, j: int) -> int:
        """The unit that source piece `j` belongs to."""
        return next(u for u, group in enumerate(self.groups) if j in group)

    def weights(self, alpha) -> np.ndarray:
        """A unit's α: the sum over its pieces (a row still sums to 1)."""
        return group_sums(alpha, self.groups)

    def counts(self, per_piece: Mapping[int, int]) -> list[int]:
        return [sum(per_piece.get(j, 0) for j in group) for group in self.groups]


def units(session: TranslationSession) -> Units:
    if st.session_state.get("st_guess_unit", "word") == "piece":
        return Units(list(session.src_tokens), [[j] for j in range(len(session.src_tokens))])
    groups = group_words(session.src_tokens)
    return Units([word_text(session.src_tokens, g) for g in groups], groups)


def _noun() -> str:
    return t("guess.noun." + ("piece" if st.session_state.get("st_guess_unit") == "piece" else "word"))


def rank_of(weights: np.ndarray, j: int) -> int:
    """1 for the source token with the largest α; ties share the better rank."""
    return int((np.asarray(weights) > weights[j]).sum()) + 1


def has_final_consonant(word: str) -> bool | None:
    """Whether a Korean word ends in a consonant (받침), which picks its particle (은/는, 을/를); None when
    its last letter is not a Hangul syllable (a Latin token, a digit)."""
    last = word.strip()[-1:] if word.strip() else ""
    if not "가" <= last <= "힣":
        return None
    return (ord(last) - ord("가")) % 28 != 0


def particle(word: str, kind: str) -> str:
    """`word` with the Korean particle that fits its last syllable when the interface speaks Korean
    ("단어" + 은/는 is "단어는", "토큰" is "토큰은"), both spelled out where its end does not say (a Latin
    token); in English, `word` as it is."""
    if st.session_state.get("_lang") != "ko":
        return word
    final = has_final_consonant(word)
    pair = {"eun": ("은", "는"), "eul": ("을", "를")}[kind]
    return word + (f"{pair[0]}({pair[1]})" if final is None else pair[0] if final else pair[1])


def _written(session: TranslationSession) -> str:
    """What the current step wrote, as a person reads it: no ▁ word marker (the bare ▁ is a space)."""
    piece = session.pieces([session.steps[-1].token])[0]
    return piece.lstrip("▁") or t("guess.boundary")


def _question(session: TranslationSession, i: int) -> None:
    """The question the class answers at step `i`, as the students see it (and the projector)."""
    unit = particle(_noun(), "eun")
    if st.session_state.get("st_guess_mode") == "hidden":
        st.subheader(t("guess.ask_hidden", i=i, unit=unit))
        return
    written = _written(session)
    st.subheader(t("guess.ask", i=i, unit=unit, token=markdown_text(particle(written, "eul"))))
    so_far = "".join(session.tgt_tokens[:-1]).replace("▁", " ").strip()  # pieces as the text reads
    st.caption(t("guess.so_far") + " " + markdown_text(so_far or "…"))


def _revealed(session: TranslationSession, settings: Settings, i: int) -> bool:
    try:
        return store().is_revealed(st.session_state[LESSON], session.source, settings.folder.name, i)
    except (LessonError, KeyError):
        return False


def gate(settings: Settings, session: TranslationSession) -> bool:
    """Guess first: False (and the question) until this step has a guess; then its mark, and True.

    In a lesson the teacher reveals instead of guessing while the class's guesses come in, and a following
    student's page shows nothing of the step (no α, e, rank or chart) until the teacher has revealed it.
    """
    if not session.steps or not st.session_state.get("st_guess"):
        return True
    step = session.steps[-1]
    i = step.index + 1
    if step.weights is None:
        st.info(t("guess.no_attention"))
        return True
    if teaching():
        _question(session, i)
        if _revealed(session, settings, i):
            return True
        st.button(t("guess.reveal", i=i), key=pick_key("reveal", session.source, settings.folder.name, i),
                  type="primary", on_click=reveal, args=(session.source, settings.folder.name, i))  # fmt: skip
        return False
    mine, unit = guesses(session, settings), units(session)
    waiting = following() and not _revealed(session, settings, i)
    if i in mine and not waiting:
        u = unit.of(mine[i])
        weights = unit.weights(step.weights)
        rank = rank_of(weights, u)
        verdict = t("guess.top") if rank == 1 else t("guess.not_top", rank=rank, n=len(weights))
        st.success(t("guess.result", i=i, token=markdown_text(unit.labels[u]), alpha=f"{weights[u]:.2f}",
                     verdict=verdict))  # fmt: skip
        return True
    if following() and not waiting:  # revealed before this student guessed: the answer, without a mark
        st.info(t("guess.missed", i=i))
        return True
    _question(session, i)
    if i in mine:  # a following student's guess, waiting for the reveal: it can still change
        st.info(t("guess.waiting", i=i, token=markdown_text(unit.labels[unit.of(mine[i])])))
    # in a lesson, a new picker for each version of it: after Clear it is empty again (a pill clicked
    # twice is off), and it starts on the guess this browser made (a reload, a restart)
    version = (st.session_state.get(SEEN),) if following() else ()
    key = pick_key("guess_pick", settings.folder.name, session.source, i, len(unit.labels), *version)
    st.pills(t("guess.pick"), list(range(len(unit.labels))), key=key, default=unit.of(mine[i]) if i in mine else None,
             format_func=lambda u: f"{u + 1}·{unit.labels[u]}")  # fmt: skip
    st.button(
        t("guess.change") if i in mine else t("guess.go"),
        key=key + "_go",
        type="primary",
        on_click=_record,
        args=(session, settings, i, key, unit),
    )
    return False


def score(settings: Settings, session: TranslationSession) -> None:
    """The running score, and at the end the guesses drawn on the attention heatmap."""
    mine = guesses(session, settings)
    if not st.session_state.get("st_guess") or not mine or session.attention is None:
        return
    steps, unit = {s.index + 1: s for s in session.steps}, units(session)
    ranks = [rank_of(unit.weights(steps[i].weights), unit.of(j)) for i, j in mine.items() if i in steps]
    if not ranks:
        return
    st.markdown(t("guess.score", top=sum(r == 1 for r in ranks), n=len(ranks), mean=f"{np.mean(ranks):.1f}"))
    if session.finished:
        marks = {i - 1: j for i, j in mine.items() if i in steps}
        chart(
            attention_heatmap(
                session.attention,
                session.src_tokens,
                session.tgt_tokens,
                marks=marks,
                title=t("guess.heatmap_title"),
                labels=figure_labels(),
            ),
            "st_guess_heatmap",
        )


def tally(settings: Settings, session: TranslationSession) -> None:
    """The teacher's screen: the class's guesses at the current step beside α, refreshed every `POLL_S`."""
    if not teaching() or not session.steps:
        return
    step = session.steps[-1]
    if step.weights is None:
        return
    i = step.index + 1
    ident = (session.source, settings.folder.name, i)
    guessing, unit = bool(st.session_state.get("st_guess")), units(session)

    @st.fragment(run_every=POLL_S)
    def live() -> None:
        code = st.session_state.get(LESSON)
        if not code:
            return
        counts = store().tally(code, session.source, settings.folder.name, i)
        revealed = not guessing or _revealed(session, settings, i)
        values = unit.counts(counts)
        st.caption(t("lesson.guesses_in", n=sum(values)))
        # built again only when a count or the reveal changed: most polls change nothing, and building a
        # Plotly figure every 1.5 s was a third of the server's CPU in a lesson of 10 (bench/notes/classroom.md)
        drawn = (
            ident,
            tuple(values),
            revealed,
            projector(),
            st.session_state.get("_lang"),
            tuple(unit.labels),
        )
        if st.session_state.get(TALLY, (None,))[0] != drawn:
            figure = class_guesses(values, unit.weights(step.weights) if revealed else None, unit.labels,
                                   step=i, labels=figure_labels())  # fmt: skip
            figure.update_layout(height=TALLY_HEIGHT)
            st.session_state[TALLY] = (drawn, figure)
        chart(st.session_state[TALLY][1], "st_class_guesses")

    live()
