"""The app in a real browser: Chromium (Playwright) against `streamlit run app.py` on loopback.

What AppTest cannot see is checked here: the heatmap's tick labels as the browser draws them (Hangul
included), the Step-through buttons and the what-if force, every page of the sidebar without an exception
box, two browser sessions that keep their own state, and user text that must stay text (no script runs,
no element is injected). The expected tokens and translations come from the library itself, loaded from
the same tiny checkpoint the server reads. Screenshots go to test-artifacts/ (ignored by git). The server,
the browser and the helpers are in `harness.py`.
"""

from __future__ import annotations

import re

from harness import (  # noqa: F401 - fixtures are found by name in this module
    CUT_OFF,
    EVIL,
    HEATMAP_TITLE,
    MODEL,
    PAGES,
    PLOT_TEXT_CUT,
    RUN_TIMEOUT_MS,
    SENTENCE_A,
    SENTENCE_B,
    _no_dialogs_or_js_errors,
    app_url,
    browser,
    chart,
    click_in_view,
    dialogs,
    expect,
    expect_no_exception,
    expect_ticks,
    expect_translation,
    expected,
    goto,
    js_errors,
    main,
    nav,
    new_context,
    open_page,
    press_next,
    pytestmark,
    select_first_row,
    sentence_box,
    server,
    settle,
    shot,
    translate,
    translator,
)


# --------------------------------------------------------------------------- tests
def test_home_heatmap_ticks_are_the_model_tokens(app_url, new_context, dialogs, js_errors, expected):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, app_url)
    expect(
        page.get_by_role("heading", level=1, name=re.compile("Seq2Seq Attention Explorer"))
    ).to_be_visible()
    translate(page, SENTENCE_A)
    result = expected[SENTENCE_A]
    expect_translation(page, result.text)
    expect(main(page)).to_contain_text(f"{MODEL} · model time")  # the default (first) checkpoint
    heatmap = chart(page, "the source each token drew on")
    expect(heatmap).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    expect_ticks(heatmap, x=result.src_tokens, y=result.tgt_tokens)
    assert any(
        "\uac00" <= ch <= "\ud7a3" for ch in "".join(heatmap.locator(".ytick text").all_text_contents())
    )
    expect_no_exception(page)
    shot(page, "e2e-home-translated")


def test_step_through_next_and_force(app_url, new_context, dialogs, js_errors, translator):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, f"{app_url}/step_through")
    expect(page.get_by_role("heading", level=1, name=re.compile("Step through"))).to_be_visible()
    translate(page, SENTENCE_A)
    expect(main(page).get_by_text("Nothing decoded yet")).to_be_visible(timeout=RUN_TIMEOUT_MS)

    steps = 3
    press_next(page, steps)
    expect(main(page).get_by_text(f"{steps} tokens so far", exact=False)).to_be_visible()

    # the library, stepped the same way, says what the page must show
    session = translator.start(SENTENCE_A, 5)
    for _ in range(steps):
        session.step()
    step = session.steps[-1]
    taken = session.pieces([step.token])[0]
    bars = chart(page, f"Step {steps}: e and α")
    expect(bars).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    expect(bars).to_contain_text("energies e_ij")
    expect(bars).to_contain_text("weights α_ij")
    expect(bars.locator(".bars .point").first).to_be_attached()
    expect_ticks(bars, x=session.src_tokens, x_axis="x2")  # the lower (α) subplot
    expect(chart(page, "p(next token)")).to_have_count(1)
    expect(main(page).get_by_role("heading", name=f"Step {steps}: wrote “{taken}”")).to_be_visible()
    shot(page, "e2e-step-through-step3")

    # force a different top-k token: the first one whose greedy continuation differs
    options = session.pieces(step.top_ids)
    whatif = None
    for token in options:
        if token == taken or token == "</s>":
            continue
        trial = translator.start(SENTENCE_A, 5)
        for _ in range(steps):
            trial.step()
        candidate = trial.force_at(steps - 1, token, None)
        if candidate.forced.text != candidate.original.text:
            whatif = candidate
            break
    assert whatif is not None, f"no top-k token changes the continuation: {options}"

    picker = main(page).locator('[data-testid="stSelectbox"]').filter(has_text="Force one of the top-k")
    expect(picker).to_have_count(1)
    click_in_view(picker.get_by_role("button", name="Open"))
    expect(page.get_by_role("option")).to_have_text(options)  # the top-k of this step, likeliest first
    page.get_by_role("option", name=whatif.forced_token, exact=True).click()
    expect(picker.get_by_role("combobox")).to_have_value(whatif.forced_token)
    settle(page)
    main(page).get_by_role("button", name="Force", exact=True).click()
    expect(main(page).get_by_text(f"At step {steps}:", exact=False)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    expect(
        main(page).get_by_text(f"At step {steps}: {whatif.original_token} → {whatif.forced_token}")
    ).to_be_visible()
    expect_translation(page, whatif.original.text)
    expect_translation(page, whatif.forced.text)
    assert whatif.forced.text != whatif.original.text
    forced_map = chart(page, "Attention, Changed")
    expect(forced_map).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    expect_ticks(forced_map, y=whatif.forced.tgt_tokens)
    expect_ticks(chart(page, "Original (greedy)"), y=whatif.original.tgt_tokens)
    expect_no_exception(page)
    shot(page, "e2e-step-through-forced")


def test_every_page_renders_without_exception(app_url, new_context, dialogs, js_errors, expected):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, app_url)
    translate(page, SENTENCE_A)
    expect_translation(page, expected[SENTENCE_A].text)
    expect_no_exception(page)
    shot(page, "e2e-page-home")

    for label, (title, charts) in PAGES.items():
        nav(page, label, title)
        expect_no_exception(page)
        expect(main(page).get_by_role("heading").first).to_be_visible()
        box = sentence_box(page)
        if box.count():  # the sentence is shared by every page that has the box
            expect(box).to_have_value(SENTENCE_A)
        if charts:
            expect(main(page).locator(".js-plotly-plot").nth(charts - 1)).to_be_attached(
                timeout=RUN_TIMEOUT_MS
            )
        if label in ("Translate", "Beam search", "Compare"):
            expect_translation(page, expected[SENTENCE_A].text)
        if label == "Error analysis":  # pick the worst test sentence: its heatmap and coverage appear
            select_first_row(main(page).locator('[data-testid="stDataFrame"]').first)
            expect(main(page).get_by_role("heading", name="Selected sentence")).to_be_visible(
                timeout=RUN_TIMEOUT_MS
            )
            settle(page)
            expect(chart(page, "flagged source tokens")).to_have_count(1, timeout=RUN_TIMEOUT_MS)
            expect(main(page).locator(".js-plotly-plot")).to_have_count(2)
        expect_no_exception(page)
        shot(page, f"e2e-page-{label.lower().replace(' ', '-')}")


def test_two_browser_sessions_keep_their_own_state(app_url, new_context, dialogs, js_errors, expected):
    first, second = (open_page(new_context, dialogs, js_errors) for _ in range(2))
    for page in (first, second):
        goto(page, f"{app_url}/translate")
    # both act before either waits: the two sessions' runs interleave on the server
    translate(first, SENTENCE_A, wait=False)
    translate(second, SENTENCE_B, wait=False)
    for page, sentence in ((first, SENTENCE_A), (second, SENTENCE_B)):
        settle(page)
        result = expected[sentence]
        expect_translation(page, result.text)
        expect_ticks(chart(page, HEATMAP_TITLE), x=result.src_tokens, y=result.tgt_tokens)

    # each session reruns after the other acted, and still has its own sentence and translation
    translate(second, SENTENCE_B)
    translate(first, SENTENCE_A)
    for page, sentence, other in ((first, SENTENCE_A, SENTENCE_B), (second, SENTENCE_B, SENTENCE_A)):
        click_in_view(
            main(page).get_by_text("Word level", exact=True)
        )  # a rerun that reads the session's state only
        settle(page)
        expect(page.get_by_text("Attention α_ij (word level)")).to_be_visible(timeout=RUN_TIMEOUT_MS)
        expect(sentence_box(page)).to_have_value(sentence)
        expect_translation(page, expected[sentence].text)
        expect(main(page).get_by_text(expected[other].text, exact=True).filter(visible=True)).to_have_count(0)
        expect_no_exception(page)
    shot(first, "e2e-session-1")
    shot(second, "e2e-session-2")


def test_html_in_the_sentence_stays_text(app_url, new_context, dialogs, js_errors, expected):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, f"{app_url}/translate")
    translate(page, EVIL)
    result = expected[EVIL]
    expect_translation(page, result.text)
    heatmap = chart(page, HEATMAP_TITLE)
    expect_ticks(heatmap, x=result.src_tokens, y=result.tgt_tokens)  # `<unk>` and `</s>` drawn literally
    main(page).get_by_text("Subword pieces", exact=True).click()
    expect(main(page).get_by_text(f"normalised input: {EVIL}", exact=True)).to_be_visible()
    shot(page, "e2e-html-injection-translate")

    for label, (title, _) in PAGES.items():  # every page shows the shared sentence in its own way
        nav(page, label, title)
        expect_no_exception(page)
    nav(page, "Step through", "Step through")
    main(page).get_by_role("button", name=re.compile("Run to end")).click()
    expect(main(page).get_by_role("heading", name=re.compile(r"^Step \d+: wrote"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    settle(page)
    shot(page, "e2e-html-injection-step-through")

    expect(page.locator("img[src='x']")).to_have_count(0)
    expect(page.locator("[data-testid='stMain'] script")).to_have_count(0)
    expect_no_exception(page)
    assert dialogs == []


def test_korean_interface_from_the_url_with_home_first(app_url, new_context, dialogs, js_errors, expected):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, f"{app_url}/?lang=ko")
    expect(page.get_by_role("heading", level=1, name=re.compile("어텐션 탐색기"))).to_be_visible()
    links = page.locator('[data-testid="stSidebarNav"] a')
    expect(links.first).to_contain_text("홈")  # the first entry is Home, not "app"
    translate(page, SENTENCE_A, label="영어 문장", button="번역")
    expect_translation(page, expected[SENTENCE_A].text)
    heatmap = chart(page, "번역 토큰마다 쓴 원문 토큰")  # the figure speaks Korean too
    expect(heatmap).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    expect(heatmap).to_contain_text("원문 j")
    nav(page, "단계별 디코딩", "단계별 디코딩")  # the language stays on the next page
    expect(main(page).get_by_role("button", name="다음 ▶")).to_be_visible()
    expect_no_exception(page)
    shot(page, "e2e-korean-step-through")


def test_the_first_sidebar_click_after_typing_is_not_swallowed(app_url, new_context, dialogs, js_errors):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, app_url)
    sentence_box(page).fill("I want to learn Korean.")  # typed, not submitted
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Beam search", exact=True).click()
    expect(page.get_by_role("heading", level=1, name=re.compile("Beam search"))).to_be_visible(timeout=10_000)
    expect_no_exception(page)


def test_force_with_the_default_pick_forces_this_steps_runner_up(
    app_url, new_context, dialogs, js_errors, translator
):
    """The picker's options change with every step; the browser must not send back a choice from an earlier
    step (Streamlit then hands its label back, and "▁ (word boundary)" was forced as a word)."""
    page = open_page(new_context, dialogs, js_errors)
    goto(page, f"{app_url}/step_through")
    translate(page, SENTENCE_A)
    steps = 3
    press_next(page, steps)
    session = translator.start(SENTENCE_A, 5)
    for _ in range(steps):
        session.step()
    step = session.steps[-1]
    taken, runner_up = session.pieces([step.token])[0], session.pieces(step.top_ids)[1]
    main(page).get_by_role("button", name="Force", exact=True).click()
    settle(page)
    expect(main(page).get_by_text(f"At step {steps}: {taken} → {runner_up}", exact=True)).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    expect_no_exception(page)


def test_a_new_sentence_resets_a_stale_pick_and_a_word_is_forced_whole(
    app_url, new_context, dialogs, js_errors, translator
):
    page = open_page(new_context, dialogs, js_errors)
    goto(page, f"{app_url}/beam_search")
    translate(page, SENTENCE_A)
    radios = main(page).locator('[data-testid="stRadio"]').first
    radios.get_by_text(re.compile(r"^3\. ")).click()
    settle(page)
    expect(main(page).get_by_role("heading", name="Hypothesis 3")).to_be_visible()
    translate(page, SENTENCE_B)
    expect(main(page).get_by_role("heading", name="Hypothesis 1")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(radios.locator("input").first).to_be_checked()  # the pick starts again on the best one

    nav(page, "Step through", "Step through")
    main(page).get_by_role("button", name="Next ▶").click()
    settle(page)
    main(page).get_by_role("textbox", name="…or type a word (overrides the pick)").fill("사용자가")
    main(page).get_by_role("button", name="Force", exact=True).click()
    settle(page)
    session = translator.start(SENTENCE_B)
    pieces = " ".join(session.pieces(session.token_ids("사용자가")))
    assert len(pieces.split()) > 1  # a word of several pieces: all of them are forced, and the page says so
    expect(main(page).get_by_text(re.compile(rf"^At step 1: .+ → {re.escape(pieces)}$"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    expect_no_exception(page)


def test_nothing_is_cut_off_on_a_tablet(app_url, new_context, dialogs, js_errors, expected):
    page = open_page(new_context, dialogs, js_errors, viewport={"width": 800, "height": 1000})
    goto(page, app_url)
    translate(page, SENTENCE_A)
    for label, (title, _) in [("Home", ("Seq2Seq", 0)), *PAGES.items()]:
        if label != "Home":
            nav(page, label, title)
        if label == "Step through":
            main(page).get_by_role("button", name=re.compile("Run to end")).click()
            settle(page)
        assert page.evaluate(CUT_OFF) == [], label
        assert page.evaluate(PLOT_TEXT_CUT) == [], label
    shot(page, "e2e-tablet-model-card")
