"""A lesson in a real browser: a teacher and three students, each in their own Chromium context.

The teacher opens a lesson on Step through in projector mode; the students open the share link read
from the teacher's page (the QR code decodes to the same link), one of them on a 400 px phone. Then what
a lesson is for, in one run: a reload and a second guess stay one vote; Clear lets everyone guess again;
no α on a student's page before Reveal; no secret in the teacher's URL or page; a student who types
leaves the lesson and can follow again; a restart of the server on the same store comes back to the same
step, path, reveal and votes; the end is said. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
import re
import time

import zxingcpp
from harness import (  # noqa: F401 - fixtures are found by name in this module
    RUN_TIMEOUT_MS,
    SENTENCE_A,
    SENTENCE_B,
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
NO_CHART = 'e => e.querySelectorAll(".js-plotly-plot").length'


def question(page, step: int):
    return main(page).get_by_role("heading", name=re.compile(rf"^Step {step}: which English word"))


def guess(page, step: int, token_index: int) -> None:
    """Pick a source word (a pill "j·word") and press Guess (or Change my guess), as a student would."""
    expect(question(page, step)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    pill = (
        main(page)
        .locator('[data-testid="stButtonGroup"] button')
        .filter(has_text=re.compile(rf"^{token_index + 1}·"))
    )
    pill.first.click()
    settle(page)
    main(page).get_by_role("button", name=re.compile(r"^(Guess|Change my guess)$")).click()
    expect(main(page).get_by_text(re.compile(rf"^Step {step}: you picked .*The answer comes"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )


def expect_count(teacher, n: int) -> None:
    """The tally, once: like a heading (below), it can stand twice for a moment while the page reruns."""
    tally = main(teacher).get_by_text(f"Guesses in: {n}", exact=True)
    expect(tally).to_have_count(1, timeout=20_000)
    expect(tally).to_be_visible()


def expect_heading(page, name: str, timeout: int) -> None:
    """One heading `name` on the page, visible: during a rerun Streamlit keeps the last run's elements
    (faded) until the new ones replace them, so for a moment a step's heading can stand twice."""
    heading = main(page).get_by_role("heading", name=name)
    expect(heading).to_have_count(1, timeout=timeout)
    expect(heading).to_be_visible()


def expect_no_answer(page) -> None:
    """Nothing of the current step before Reveal: no α, no rank, no chart."""
    text = main(page).inner_text()
    assert "α =" not in text and "rank " not in text, text[-400:]
    assert main(page).evaluate(NO_CHART) == 0


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
    assert link.startswith(app_url) and f"lesson={code}" in link and "teach=" not in link
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
    # the second student opens the teacher's own address, as if copied off the projector: a student
    for viewport, url in ((None, link), (None, teacher.url), (PHONE, link)):
        student = open_page(new_context, dialogs, js_errors, viewport)
        student.goto(url, wait_until="domcontentloaded")
        students.append(student)
    for student in students:
        expect(main(student).get_by_text(re.compile(rf"lesson \*?\*?{code}|lesson {code}"))).to_be_visible(
            timeout=RUN_TIMEOUT_MS
        )
        expect(main(student).get_by_text(re.compile("^Wait for your teacher"))).to_be_visible()
        assert sentence_box(student).count() == 0  # following: no box to type in, Explore alone instead
        expect(main(student).get_by_role("button", name="Explore alone")).to_be_visible()
        assert main(student).get_by_role("button", name="Clear the guesses").count() == 0  # no co-teacher
    phone = students[2]

    main(teacher).get_by_role("button", name="Next ▶").click()
    reveal = main(teacher).get_by_role("button", name="Reveal the model's α at step 1")
    expect(reveal).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(teacher)
    tally = main(teacher).locator(".js-plotly-plot").filter(has_text="where the class guessed")
    on_one_screen(teacher, [question(teacher, 1), reveal, main(teacher).get_by_text("Guesses in: 0"), tally])
    no_secret()

    for k, student in enumerate(students):
        guess(student, 1, k % 2)
    for student in students:
        expect_no_answer(student)
    box = question(phone, 1).bounding_box()  # on the phone, the question is on the first screen
    assert box and box["y"] + box["height"] <= PHONE["height"], box
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the phone page scrolls sideways ({width} px)"
    shot(phone, "lesson-student-phone")
    expect_count(teacher, 3)

    # one browser, one vote: a reload (the same id, from the cookie) keeps the guess; a second replaces it
    students[0].reload(wait_until="domcontentloaded")
    expect(
        main(students[0]).get_by_text(re.compile(r"^Step 1: you picked .*The answer comes"))
    ).to_be_visible(timeout=RUN_TIMEOUT_MS)
    guess(students[0], 1, 2)
    settle(teacher)
    expect_count(teacher, 3)

    # Clear: everyone guesses again, and the old "you picked" is gone
    main(teacher).get_by_role("button", name="Clear the guesses").click()
    expect_count(teacher, 0)
    for k, student in enumerate(students):
        expect(main(student).get_by_text(re.compile(r"^Step 1: you picked"))).to_have_count(0, timeout=20_000)
        guess(student, 1, k % 2)
    expect_count(teacher, 3)
    shot(teacher, "lesson-teacher-tally")
    reveal.click()
    for student in students:  # each sees their own mark, and the step
        expect(main(student).get_by_text(re.compile(r"^Step 1: you picked .*α = "))).to_be_visible(
            timeout=20_000
        )
    expect(main(phone).locator(".js-plotly-plot").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(main(phone).locator(".modebar-container").first).to_be_hidden()  # no toolbar over a chart's title
    shot(phone, "lesson-student-phone-revealed")

    # a student who types leaves the lesson (one click), and can follow again
    typist = students[1]
    main(typist).get_by_role("button", name="Explore alone").click()
    expect(sentence_box(typist)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    sentence_box(typist).fill(SENTENCE_B)
    main(typist).get_by_role("button", name="Translate", exact=True).click()
    settle(typist)
    settle(teacher)
    main(teacher).get_by_role("button", name="Next ▶").click()
    expect(question(teacher, 2)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    for student in (students[0], phone):
        expect(question(student, 2)).to_be_visible(timeout=20_000)
    assert sentence_box(typist).input_value() == SENTENCE_B and question(typist, 2).count() == 0
    main(typist).get_by_role("button", name="Follow the teacher again").click()
    expect(question(typist, 2)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    guess(phone, 2, 1)
    expect_count(teacher, 1)
    main(teacher).get_by_role("button", name="Reveal the model's α at step 2").click()
    force = main(teacher).get_by_role("button", name="Force", exact=True)  # the runner-up, as Force offers it
    force.click()
    forced = main(teacher).get_by_role("heading", name=re.compile(r"^Step 2: wrote .*\(forced\)"))
    expect(forced).to_be_visible(timeout=RUN_TIMEOUT_MS)
    heading = forced.inner_text()
    settle(teacher)
    for student in students:
        expect_heading(student, heading, 20_000)

    # a restart of the server, the same store: every page comes back to the same step, path, reveal, votes
    server.restart()
    expect(main(teacher).get_by_text(re.compile(rf"^Back in lesson {code}"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    expect_heading(teacher, heading, RUN_TIMEOUT_MS)
    expect_count(teacher, 1)
    expect(main(teacher).get_by_role("button", name=re.compile("^Reveal"))).to_have_count(0)
    for student in students:
        expect_heading(student, heading, RUN_TIMEOUT_MS)
    expect(main(phone).get_by_text(re.compile(r"^Step 2: you picked .*α = "))).to_be_visible()
    no_secret()

    # the end is said, and each student's page becomes their own
    main(teacher).get_by_role("button", name="End the lesson here").click()
    for student in students:
        expect(main(student).get_by_text(re.compile(rf"^Your teacher ended lesson {code}"))).to_be_visible(
            timeout=20_000
        )
        expect(sentence_box(student)).to_be_visible()
        expect_no_exception(student)
    expect_no_exception(teacher)
    print(f"a lesson, teacher and three students, restart included: {time.monotonic() - started:.0f} s")


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
