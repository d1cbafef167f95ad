"""A lesson in a real browser: a teacher on Step through (Streamlit) and three students on the light page
(classroom/static), each in their own Chromium context.

The teacher opens a lesson in projector mode; the students open the share link read from the teacher's
page (the QR code decodes to the same link), one of them on a 400 px phone. Then what a lesson is for, in
one run: the class follows each step as it is pushed; a reload and a second guess stay one vote; Clear
lets everyone guess again; no α on a student's page before Reveal; no secret in the teacher's URL or
page; Explore alone opens the explorer and Follow the teacher again comes back; a forced token reaches the
class; a restart of the server on the same store brings every page back to the same step, reveal and
votes; the end is said. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
import re
import time

import zxingcpp
from harness import (  # noqa: F401 - fixtures are found by name in this module
    ARTIFACTS,
    RUN_TIMEOUT_MS,
    SENTENCE_A,
    _no_dialogs_or_js_errors,
    app_url,
    browser,
    dialogs,
    expect,
    expect_no_exception,
    goto,
    js_errors,
    main,
    new_context,
    open_page,
    pytestmark,
    sentence_box,
    server,
    settle,
    shot,
)
from PIL import Image

PHONE = {"width": 400, "height": 860}
PROJECTOR = {"width": 1400, "height": 900}
HEADER_PX = 60  # Streamlit's header bar, over the top of the page
PUSH_MS = 20_000  # a change on the students' pages: pushed within a second; generous on a loaded machine


def question(page, step: int):
    return page.locator("#ask").filter(has_text=re.compile(rf"^Step {step}: which English word"))


def teacher_question(page, step: int):
    return main(page).get_by_role("heading", name=re.compile(rf"^Step {step}: which English word"))


def guess(page, step: int, unit: int) -> None:
    """Pick a source word (a pill "j·word") and press Guess (or Change my guess), as a student would."""
    expect(question(page, step)).to_be_visible(timeout=PUSH_MS)
    page.locator("#choices button").nth(unit).click()
    page.locator("#go").click()
    expect(page.locator("#mine")).to_have_text(re.compile(rf"^Step {step}: you picked .*The answer comes"),
                                               timeout=PUSH_MS)  # fmt: skip


def expect_count(teacher, n: int) -> None:
    """The tally, once: like a heading, it can stand twice for a moment while the page reruns."""
    tally = main(teacher).get_by_text(f"Guesses in: {n}", exact=True)
    expect(tally).to_have_count(1, timeout=PUSH_MS)
    expect(tally.last).to_be_visible()  # another rerun may already have started: a second copy, for a moment


def expect_one(heading, timeout: int) -> None:
    """One such heading, visible: during a rerun Streamlit keeps the last run's elements (faded) until the
    new ones replace them, so for a moment a step's heading can stand twice (a restart's first run)."""
    expect(heading).to_have_count(1, timeout=timeout)
    # another rerun may already have started: a second copy, for a moment
    expect(heading.last).to_be_visible()


def expect_no_answer(page) -> None:
    """Nothing of the current step before Reveal: no α, no rank, no bars."""
    text = page.locator("body").inner_text()
    assert "α =" not in text and "rank " not in text, text[-400:]
    assert page.locator("#bars li").count() == 0 and page.locator("#answer").is_hidden()


def on_one_screen(page, locators) -> None:
    """The elements fit one screen together: from the top of the first to the bottom of the last is no
    more than the viewport under Streamlit's header."""
    boxes = [loc.bounding_box() for loc in locators]
    assert all(boxes), boxes
    span = max(b["y"] + b["height"] for b in boxes) - min(b["y"] for b in boxes)
    assert span <= page.viewport_size["height"] - HEADER_PX, (span, boxes)


def test_a_lesson_a_teacher_can_trust(server, new_context, dialogs, js_errors):
    started = time.monotonic()
    app_url = server.url
    teacher = open_page(new_context, dialogs, js_errors, PROJECTOR)
    goto(teacher, f"{app_url}/step_through?s={SENTENCE_A.replace(' ', '+')}")
    main(teacher).get_by_text(re.compile("Lesson: the whole class")).click()  # the panel opens
    main(teacher).get_by_role("button", name="Open a lesson").click()
    code_line = main(teacher).get_by_text(re.compile(r"^Lesson code: [A-Z2-9]{4}$"))
    expect(code_line).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(teacher)
    code = code_line.inner_text().rsplit(" ", 1)[-1]
    main(teacher).get_by_role("paragraph").filter(has_text=re.compile(r"^Guess first$")).click()
    settle(teacher)
    teacher.locator('[data-testid="stSidebar"]').get_by_text("Projector mode").click()
    settle(teacher)
    link = main(teacher).locator('[data-testid="stCode"]').first.inner_text().strip()
    assert link == f"{app_url}/class/{code}?lang=en", link  # the light page: the code and the language
    qr = main(teacher).locator('img[alt="QR"]')
    on_one_screen(teacher, [code_line, main(teacher).locator('[data-testid="stCode"]').first, qr])
    assert qr.bounding_box()["height"] >= 0.24 * PROJECTOR["height"]  # a quarter of the screen
    qr.evaluate("e => e.scrollIntoView({block: 'center', behavior: 'instant'})")
    assert [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))] == [link]
    shot(teacher, "lesson-teacher-projector")

    # the teacher's key: the browser's id, in the app's cookie, nowhere on screen or in a link
    key = next(c["value"] for c in teacher.context.cookies() if c["name"] == "s2s_browser")
    assert re.fullmatch(r"[0-9a-f]{32}", key)

    def no_secret() -> None:
        assert "teach=" not in teacher.url and key not in teacher.url
        assert key not in teacher.locator("body").inner_text() and key not in teacher.content()

    no_secret()

    students = []
    for viewport in (None, None, PHONE):
        student = open_page(new_context, dialogs, js_errors, viewport)
        student.goto(link, wait_until="domcontentloaded")
        students.append(student)
    for student in students:
        expect(student.locator("#title")).to_have_text(f"Lesson {code}", timeout=RUN_TIMEOUT_MS)
        expect(student.locator("#wait")).to_have_text(re.compile("^Wait for your teacher"), timeout=PUSH_MS)
        assert key not in student.content() and "Clear the guesses" not in student.content()
    phone = students[2]

    main(teacher).get_by_role("button", name="Next ▶").click()
    reveal = main(teacher).get_by_role("button", name="Reveal the model's α at step 1")
    expect(reveal).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(teacher)
    expect(main(teacher).get_by_text("Students connected now: 3", exact=True)).to_be_visible(timeout=PUSH_MS)
    tally = main(teacher).locator(".js-plotly-plot").filter(has_text="where the class guessed")
    on_one_screen(
        teacher, [teacher_question(teacher, 1), reveal, main(teacher).get_by_text("Guesses in: 0"), tally]
    )
    no_secret()

    for k, student in enumerate(students):
        guess(student, 1, k % 2)
    for student in students:
        expect_no_answer(student)
    box = question(phone, 1).bounding_box()  # on the phone, the question is on the first screen
    assert box and box["y"] + box["height"] <= PHONE["height"], box
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the phone page scrolls sideways ({width} px)"
    phone.screenshot(path=str(shot_path("lesson-student-phone")), full_page=True)
    expect_count(teacher, 3)

    # one browser, one vote: a reload (the same id, from the cookie) keeps the guess; a second replaces it
    students[0].reload(wait_until="domcontentloaded")
    expect(students[0].locator("#mine")).to_have_text(re.compile(r"^Step 1: you picked .*The answer comes"),
                                                      timeout=PUSH_MS)  # fmt: skip
    guess(students[0], 1, 2)
    expect_count(teacher, 3)

    # Clear: everyone guesses again, and the old "you picked" is gone
    main(teacher).get_by_role("button", name="Clear the guesses").click()
    expect_count(teacher, 0)
    for k, student in enumerate(students):
        expect(student.locator("#mine")).to_be_hidden(timeout=PUSH_MS)
        guess(student, 1, k % 2)
    expect_count(teacher, 3)
    shot(teacher, "lesson-teacher-tally")
    reveal.click()
    for student in students:  # each sees their own mark, and the step's α as bars
        expect(student.locator("#mark")).to_have_text(
            re.compile(r"^Step 1: you picked .*α = "), timeout=PUSH_MS
        )
        assert student.locator("#bars li").count() == student.locator("#choices button").count()
    phone.screenshot(path=str(shot_path("lesson-student-phone-revealed")), full_page=True)

    # Explore alone: the explorer at the teacher's sentence and step, theirs; Follow the teacher again
    explorer = students[1]
    explorer.locator("#explore").click()
    expect(sentence_box(explorer)).to_have_value(SENTENCE_A, timeout=RUN_TIMEOUT_MS)
    expect_one(main(explorer).get_by_role("heading", name=re.compile(r"^Step 1: wrote")), RUN_TIMEOUT_MS)
    with explorer.context.expect_page() as opened:  # (Streamlit opens a link button in a tab of its own)
        main(explorer).get_by_role("link", name="Follow the teacher again").click()
    students[1] = explorer = opened.value
    explorer.on("pageerror", lambda exc: js_errors.append(str(exc)))
    expect(explorer.locator("#title")).to_have_text(f"Lesson {code}", timeout=RUN_TIMEOUT_MS)
    assert explorer.url.startswith(f"{app_url}/class/{code}")
    expect(explorer.locator("#mark")).to_have_text(re.compile(r"^Step 1: you picked .*α = "), timeout=PUSH_MS)

    settle(teacher)
    main(teacher).get_by_role("button", name="Next ▶").click()
    expect_one(teacher_question(teacher, 2), RUN_TIMEOUT_MS)
    for student in students:
        expect(question(student, 2)).to_be_visible(timeout=PUSH_MS)
    guess(phone, 2, 1)
    expect_count(teacher, 1)
    asked = phone.locator("#ask").inner_text()
    main(teacher).get_by_role("button", name="Reveal the model's α at step 2").click()
    force = main(teacher).get_by_role("button", name="Force", exact=True)  # the runner-up, as Force offers it
    force.click()
    forced = main(teacher).get_by_role("heading", name=re.compile(r"^Step 2: wrote .*\(forced\)"))
    expect_one(forced, RUN_TIMEOUT_MS)
    settle(teacher)
    for student in students:  # the forced token is the class's: the question names it
        expect(student.locator("#ask")).not_to_have_text(asked, timeout=PUSH_MS)
    asked = phone.locator("#ask").inner_text()
    assert all(student.locator("#ask").inner_text() == asked for student in students)

    # a restart of the server, the same store: every page comes back to the same step, path, reveal, votes
    server.restart()
    expect(main(teacher).get_by_text(re.compile(rf"^Back in lesson {code}"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    expect_one(forced, RUN_TIMEOUT_MS)
    expect_count(teacher, 1)
    for student in students:
        expect(student.locator("#status")).to_have_text(re.compile("^This page follows"), timeout=PUSH_MS)
        expect(student.locator("#ask")).to_have_text(asked)
    expect(phone.locator("#mark")).to_have_text(re.compile(r"^Step 2: you picked .*α = "), timeout=PUSH_MS)
    no_secret()

    # the end is said, and each student can explore on their own
    main(teacher).get_by_role("button", name="End the lesson here").click()
    for student in students:
        expect(student.locator("#ended")).to_have_text(re.compile(rf"^Your teacher ended lesson {code}"),
                                                       timeout=PUSH_MS)  # fmt: skip
        expect(student.locator("#explore")).to_be_visible()
    expect_no_exception(teacher)
    print(f"a lesson, teacher and three students, restart included: {time.monotonic() - started:.0f} s")


def shot_path(name: str):
    """A light page's screenshot: the whole document (the harness's `shot` measures Streamlit's column)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_the_address_bar_follows_the_view_and_back_steps_back(app_url, new_context, dialogs, js_errors):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, f"{app_url}/step_through?s={SENTENCE_A.replace(' ', '+')}")
    for n in (1, 2):
        main(page).get_by_role("button", name="Next ▶").click()
        expect(main(page).get_by_role("heading", name=re.compile(rf"^Step {n}: wrote"))).to_be_visible(
            timeout=RUN_TIMEOUT_MS
        )
        settle(page)
        assert f"step={n}" in page.url and "s=the+user+opens" in page.url
    fresh = open_page(new_context, dialogs, js_errors)  # the copied address, in another browser
    goto(fresh, page.url)
    expect(main(fresh).get_by_role("heading", name=re.compile(r"^Step 2: wrote"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    page.go_back()
    expect(main(page).get_by_role("heading", name=re.compile(r"^Step 1: wrote"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    assert "step=1" in page.url
    expect_no_exception(page)
