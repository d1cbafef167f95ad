"""Load in a real browser: 8 sessions at once, then 300 translations in a row, against `streamlit run`.

Each session must get exactly what the library gives for its own sentence (no cross-talk), nothing may
raise, and the model must be loaded once for all of them (the server logs one line per load). Over 300
different sentences (each a real decode, not a cache hit) the server's resident memory must stay within
10% of where it settled after the first 20. The numbers go to test-artifacts/load-rss.json.
"""

from __future__ import annotations

import json
import re
from collections import Counter

from conftest import toy_pairs
from harness import (  # noqa: F401 - fixtures are found by name in this module
    ARTIFACTS,
    HEATMAP_TITLE,
    MODEL,
    RUN_TIMEOUT_MS,
    _no_dialogs_or_js_errors,
    browser,
    chart,
    dialogs,
    expect,
    expect_no_exception,
    expect_ticks,
    expect_translation,
    js_errors,
    main,
    nav,
    new_context,
    open_page,
    pytestmark,
    server,
    settle,
    translate,
    translator,
)

from seq2seq.decoding import APP_SEARCH

SESSIONS = 8
STEPS = 3
TRANSLATIONS = 300
SETTLED_AFTER = 20
RSS_TOLERANCE = 0.10


def distinct_sentences(translator, count: int) -> dict:
    """`count` toy sentences whose translations all differ, so that any cross-talk would show."""
    chosen: dict = {}
    for source, _ in toy_pairs():
        result = translator.translate(source, APP_SEARCH)  # what the page shows by default
        if result.text not in {r.text for r in chosen.values()}:
            chosen[source] = result
        if len(chosen) == count:
            return chosen
    raise AssertionError(f"fewer than {count} distinct translations in the toy corpus")


def loads(server) -> Counter:
    """How often the server loaded each checkpoint folder (app_ui logs one line per load)."""
    return Counter(re.findall(r"seq2seq: loaded model (\S+) on", server.log.read_text(encoding="utf-8")))


def test_eight_sessions_at_once_get_their_own_results(server, new_context, dialogs, js_errors, translator):
    expected = distinct_sentences(translator, SESSIONS)
    pages = [open_page(new_context, dialogs, js_errors) for _ in range(SESSIONS)]
    for page in pages:  # all eight sessions start before any has finished: the first model load races
        page.goto(f"{server.url}/translate", wait_until="commit", timeout=RUN_TIMEOUT_MS)
    for page in pages:
        expect(page.get_by_role("heading", level=1, name="Translate")).to_be_visible(timeout=RUN_TIMEOUT_MS)
        settle(page)

    for page, sentence in zip(pages, expected):  # everyone presses Translate before anyone waits
        translate(page, sentence, wait=False)
    for page, result in zip(pages, expected.values()):
        settle(page)
        expect_translation(page, result.text)
        expect_ticks(chart(page, HEATMAP_TITLE), x=result.src_tokens, y=result.tgt_tokens)
        for (
            other
        ) in expected.values():  # the n-best grid may hold another's text as a runner-up: hidden cells
            if other.text != result.text:
                expect(main(page).get_by_text(other.text, exact=True).filter(visible=True)).to_have_count(0)

    for page, sentence in zip(pages, expected):
        nav(page, "Step through", "Step through")
        translate(page, sentence, wait=False)
    for page in pages:
        settle(page)
        expect(main(page).get_by_text("Nothing decoded yet")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    for n in range(1, STEPS + 1):  # all press Next, then all are checked
        for page in pages:
            main(page).get_by_role("button", name="Next ▶").click()
        for page in pages:
            expect(main(page).get_by_role("heading", name=re.compile(rf"^Step {n}: wrote"))).to_be_visible(
                timeout=RUN_TIMEOUT_MS
            )
            settle(page)

    for page, sentence in zip(pages, expected):  # the library, stepped the same way, says what each shows
        session = translator.start(sentence, 5)
        for _ in range(STEPS):
            session.step()
        taken = session.pieces([session.steps[-1].token])[0]
        expect(main(page).get_by_role("heading", name=f"Step {STEPS}: wrote “{taken}”")).to_be_visible()
        bars = chart(page, f"Step {STEPS}: e and α")
        expect_ticks(bars, x=session.src_tokens, x_axis="x2")
        expect_no_exception(page)

    counts = loads(server)
    assert counts, f"the server never logged a model load: see {server.log}"
    assert [path for path in counts if path.endswith(MODEL)], counts
    assert all(n == 1 for n in counts.values()), f"a model was loaded more than once: {counts}"


def test_memory_settles_over_300_translations(server, new_context, dialogs, js_errors, translator):
    page = open_page(new_context, dialogs, js_errors)
    page.goto(f"{server.url}/translate", wait_until="domcontentloaded", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("heading", level=1, name="Translate")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    sentences = [source for source, _ in toy_pairs()][:TRANSLATIONS]
    assert len(set(sentences)) == TRANSLATIONS  # all different: every one is decoded, none is a cache hit
    rss: dict[int, float] = {0: server.rss_mb()}
    for n, sentence in enumerate(sentences, 1):
        translate(page, sentence)
        if n % SETTLED_AFTER == 0:
            rss[n] = server.rss_mb()
            expect_translation(page, translator.translate(sentence, APP_SEARCH).text)
    expect_no_exception(page)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load-rss.json").write_text(json.dumps({"rss_mb_after_n_translations": rss}, indent=1))

    settled = rss[SETTLED_AFTER]
    drift = {n: round(mb / settled - 1, 3) for n, mb in rss.items() if n >= SETTLED_AFTER}
    assert all(abs(d) <= RSS_TOLERANCE for d in drift.values()), f"RSS drift from {settled:.0f} MB: {drift}"
    counts = loads(server)
    assert counts and all(n == 1 for n in counts.values()), counts
