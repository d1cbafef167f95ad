"""Tests for seq2seq.links: a view to a URL query and back, and every bad value refused with a reason."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from seq2seq.links import View, link, parse_query, to_query
from seq2seq.notices import MAX_INPUT_CHARS

MODELS = ["enko-general-additive", "enko-general-fixed", "enko-software-additive"]


@pytest.mark.parametrize(
    "view",
    [
        View(),
        View(
            text="How are you?",
            checkpoint="enko-general-additive",
            beam=5,
            step=3,
            level="word",
            lang="ko",
            projector=True,
            lesson="K7QP",
        ),  # fmt: skip
        View(text='Click <b>OK</b> & "save" 100%?', checkpoint="enko-software-additive", projector=False),
        View(text="학생 입니다 ✓", step=0, level="subword", lang="en"),
    ],
)
def test_a_view_survives_the_round_trip_through_a_real_link(view):
    url = link("http://192.168.1.20:8501", "step_through", view)
    parts = urlsplit(url)
    assert parts.path == "/step_through"
    back, refused = parse_query(dict(parse_qsl(parts.query)), MODELS)
    assert back == view and refused == []
    assert parse_query(to_query(view), MODELS) == (view, [])


@pytest.mark.parametrize(
    "query, key, reason",
    [
        ({"s": "x" * (MAX_INPUT_CHARS + 1)}, "s", "too_long"),
        ({"s": "   "}, "s", "not_text"),
        ({"s": "bad\x00byte"}, "s", "not_text"),
        ({"m": "../../etc/passwd"}, "m", "unknown_model"),
        ({"m": "enko-general-additive'; DROP TABLE lessons;--"}, "m", "unknown_model"),
        ({"beam": "0"}, "beam", "out_of_range"),
        ({"beam": "11"}, "beam", "out_of_range"),
        ({"beam": "five"}, "beam", "not_a_number"),
        ({"beam": "-1"}, "beam", "not_a_number"),
        ({"step": "9" * 40}, "step", "not_a_number"),
        ({"step": "401"}, "step", "out_of_range"),
        ({"level": "<script>"}, "level", "unknown_value"),
        ({"lang": "fr"}, "lang", "unknown_value"),
        ({"proj": "yes"}, "proj", "unknown_value"),
        ({"lesson": "A" * 10_000}, "lesson", "bad_code"),
        ({"lesson": "K7Q"}, "lesson", "bad_code"),
        ({"lesson": "K7Q0"}, "lesson", "bad_code"),  # no 0 in the alphabet: it reads as O
    ],
)
def test_a_bad_value_is_refused_by_name_and_the_rest_is_kept(query, key, reason):
    view, refused = parse_query(
        {**query, "lang": query.get("lang", "ko")} if key != "lang" else query, MODELS
    )
    assert [(r.key, r.reason) for r in refused] == [(key, reason)]
    assert getattr(view, {"s": "text", "m": "checkpoint", "proj": "projector"}.get(key, key)) is None
    if key != "lang":
        assert view.lang == "ko"


def test_text_is_normalised_like_the_sentence_box_and_codes_are_case_free():
    view, refused = parse_query({"s": "  How\n are   you? ", "lesson": " k7qp ", "extra": "ignored"}, MODELS)
    assert view == View(text="How are you?", lesson="K7QP") and refused == []


def test_a_repeated_key_takes_its_last_value_as_streamlit_does():
    view, _ = parse_query({"beam": ["2", "4"]}, MODELS)
    assert view.beam == 4
