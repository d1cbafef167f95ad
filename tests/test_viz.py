"""Figure builders: values read back from the Plotly spec, tokens kept apart and escaped, trees faded right."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import pytest

from seq2seq.diagnostics import DROPPED_BELOW, REPEATED_ABOVE
from seq2seq.viz.alignment import attention_heatmap, coverage_bars
from seq2seq.viz.beam import beam_tree, path_to
from seq2seq.viz.curves import length_curve, training_curves
from seq2seq.viz.decoder_step import class_guesses, context_strip, step_bars, topk_bar
from seq2seq.viz.style import ZERO_WIDTH, token_categories

SRC = ["▁open", "▁the", "▁file", "▁the", "</s>"]  # "▁the" twice: must stay two columns
TGT = ["파일", "을", "▁열", "<unk>"]


def attention() -> np.ndarray:
    rng = np.random.default_rng(0)
    raw = rng.random((len(TGT), len(SRC)))
    return raw / raw.sum(axis=1, keepdims=True)  # (Ty, Tx), rows sum to 1


def trace_of(fig: go.Figure, kind: str):
    return next(t for t in fig.data if t.type == kind)


def serialisable(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


@dataclass
class Node:
    id: int
    parent: int
    step: int
    token: int
    logprob: float
    finished: bool
    piece: str


# root -> 0 "파일" -> 2 "을" -> 4 "</s>"   (n-best)
#      -> 1 "문서" -> 3 "를"               (pruned)
TREE = [
    Node(0, -1, 0, 10, -0.2, False, "파일"),
    Node(1, -1, 0, 11, -1.5, False, "문서"),
    Node(2, 0, 1, 12, -0.4, False, "을"),
    Node(3, 1, 1, 13, -2.0, False, "를"),
    Node(4, 2, 2, 2, -0.6, True, "</s>"),
]


def test_heatmap_values_axes_and_hover():
    alpha = attention()
    fig = attention_heatmap(alpha, SRC, TGT)
    heat = trace_of(fig, "heatmap")
    np.testing.assert_allclose(np.asarray(heat.z), alpha)
    assert (heat.zmin, heat.zmax) == (0, 1)
    columns = fig.layout.xaxis.categoryarray
    assert list(heat.x) == list(columns) and len(set(columns)) == len(SRC)  # duplicates keep their own column
    assert [c.replace(ZERO_WIDTH, "") for c in columns] == [html.escape(t, quote=False) for t in SRC]
    assert fig.layout.yaxis.tickvals == tuple(range(len(TGT)))
    assert fig.layout.yaxis.autorange == "reversed"  # first target token on top
    assert "α" in heat.hovertemplate and "%{z" in heat.hovertemplate
    assert list(heat.customdata[0][2]) == ["▁file", "파일"]
    assert fig.layout.meta["figure"] == "attention_heatmap"
    serialisable(fig)


def test_every_source_token_keeps_its_own_column_even_with_zero_width_spaces_typed():
    tokens = ["▁a", "▁a" + ZERO_WIDTH, "▁a", "▁a"]  # a typed zero-width space must not merge two columns
    columns = token_categories(tokens)
    assert len(set(columns)) == len(tokens) and columns[:2] == tokens[:2]


def test_heatmap_escapes_tokens():
    fig = attention_heatmap(np.full((1, 3), 1 / 3), ["<script>", "<b>x</b>", "a&b"], ["</s>"])
    assert fig.layout.xaxis.categoryarray == (
        "&lt;script&gt;",
        "&lt;b&gt;x&lt;/b&gt;",
        "a&amp;b",
    )
    assert fig.layout.yaxis.ticktext == ("&lt;/s&gt;",)
    text = fig.to_json()
    assert "<script>" not in text and "<b>x" not in text and "</s>" not in text


def test_heatmap_highlight_flags_and_shape_check():
    plain = attention_heatmap(attention(), SRC, TGT)
    fig = attention_heatmap(attention(), SRC, TGT, highlight_row=2, flagged_src=[1, 99])
    assert len(plain.layout.shapes) == 0
    row = next(s for s in fig.layout.shapes if s.name == "highlight")
    assert (row.y0, row.y1) == (1.5, 2.5)
    assert [s.x0 for s in fig.layout.shapes if s.name == "flagged"] == [0.5]  # 99 is out of range: ignored
    columns = fig.layout.xaxis.categoryarray
    assert "color" in columns[1] and "color" not in columns[0] and list(fig.data[0].x) == list(columns)
    assert fig.layout.height > attention_heatmap(attention()[:1], SRC, TGT[:1]).layout.height
    with pytest.raises(ValueError, match="shape"):
        attention_heatmap(attention().T, SRC, TGT)


def test_step_bars_values_and_fixed_context():
    energies, weights = (
        np.array([1.0, -2.0, 0.5, 0.0, 3.0]),
        np.array([0.1, 0.0, 0.2, 0.1, 0.6]),
    )
    fig = step_bars(energies, weights, SRC)
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 2
    np.testing.assert_allclose(np.asarray(bars[0].y), energies)
    np.testing.assert_allclose(np.asarray(bars[1].y), weights)
    assert list(bars[0].customdata) == SRC[:4] + ["&lt;/s&gt;"]
    titles = [a.text for a in fig.layout.annotations]
    assert any("e_ij" in t for t in titles) and any("softmax" in t for t in titles)
    serialisable(fig)

    empty = step_bars(None, None, SRC)
    assert not empty.data and "No attention" in empty.layout.annotations[0].text
    serialisable(empty)
    with pytest.raises(ValueError):
        step_bars(energies[:3], weights, SRC)


def test_context_strip_and_topk():
    context = np.array([-1.0, 0.0, 2.5])
    strip = context_strip(context)
    np.testing.assert_allclose(np.asarray(strip.data[0].z), [context])
    assert strip.data[0].zmid == 0 and strip.layout.height <= 150
    serialisable(strip)

    top = topk_bar(["을", "<unk>", "를"], [0.2, 0.1, 0.7], chosen="을")
    bar = top.data[0]
    np.testing.assert_allclose(np.asarray(bar.x), [0.7, 0.2, 0.1])  # most likely first = top
    assert top.layout.yaxis.ticktext == ("를", "을", "&lt;unk&gt;")
    colours = list(bar.marker.color)
    assert colours[1] != colours[0] == colours[2]  # the chosen one stands out
    serialisable(top)


def test_path_to():
    assert path_to(TREE, 4) == [0, 2, 4]
    assert path_to(TREE, 1) == [1]
    with pytest.raises(ValueError):
        path_to(TREE, 42)


def test_beam_tree_fades_pruned_and_marks_selected():
    best = path_to(TREE, 4)
    fig = beam_tree(TREE, selected_path=best, nbest_paths=[best], show_pruned=True)
    nodes = next(t for t in fig.data if t.name == "nodes")
    opacity = list(nodes.marker.opacity)
    assert [opacity[i] for i in best] == [1.0] * 3
    assert opacity[1] < 0.5 and opacity[3] < 0.5
    widths = list(nodes.marker.line.width)
    assert widths[4] > widths[1]
    symbols = list(nodes.marker.symbol)
    assert symbols[4] != symbols[0]  # finished gets its own symbol
    assert list(nodes.text)[4] == "&lt;/s&gt;" and list(nodes.text)[1] == ""  # pruned: hover only
    assert list(nodes.x) == [0, 0, 1, 1, 2]
    assert "log p" in nodes.hovertemplate
    assert "<s>" not in fig.to_json()

    unfaded = next(t for t in beam_tree(TREE).data if t.name == "nodes")
    assert set(unfaded.marker.opacity) == {1.0}  # no n-best given: nothing is called pruned


def test_beam_tree_shows_the_nbest_paths_alone_by_default():
    first, second = path_to(TREE, 4), path_to(TREE, 3)
    fig = beam_tree(TREE, selected_path=second, nbest_paths=[first, second])
    nodes = next(t for t in fig.data if t.name == "nodes")
    assert len(nodes.x) == 5 and fig.layout.meta["show_pruned"] is False
    rows = dict(zip([n.id for n in TREE], nodes.y))
    assert rows[0] == rows[2] == rows[4] == 0 and rows[1] == rows[3] == 1  # one row per hypothesis
    only_best = beam_tree(TREE, nbest_paths=[first])
    assert len(next(t for t in only_best.data if t.name == "nodes").x) == 3  # pruned branches hidden
    assert fig.layout.yaxis.range[1] < 0 < fig.layout.yaxis.range[0]  # room above the top row's labels
    long = [Node(0, -1, 0, 1, -0.1, False, "▁Verlängerungskabel"), Node(1, 0, 1, 2, -0.2, True, "▁")]
    text = list(next(t for t in beam_tree(long, nbest_paths=[[0, 1]]).data if t.name == "nodes").text)
    assert text[0].endswith("…") and len(text[0]) <= 8 and text[1] == "▁"
    hover = list(next(t for t in beam_tree(long, nbest_paths=[[0, 1]]).data if t.name == "nodes").customdata)
    assert hover[1][0] == "▁ (word boundary)"  # hover names the bare piece


def test_length_curve_skips_none_and_keeps_order():
    buckets = {
        "attention": [
            {"bucket": "1-5", "n": 10, "chrf": 60.0, "bleu": 30.0},
            {"bucket": "6-10", "n": 8, "chrf": 55.0, "bleu": None},
            {"bucket": "31+", "n": 0, "chrf": None, "bleu": None},
        ],
        "fixed": [
            {"bucket": "1-5", "n": 10, "chrf": 50.0, "bleu": 20.0},
            {"bucket": "6-10", "n": 8, "chrf": 35.0, "bleu": 10.0},
            {"bucket": "31+", "n": 0, "chrf": None, "bleu": None},
        ],
    }
    fig = length_curve(buckets)
    assert [t.name for t in fig.data] == ["attention", "fixed"]
    assert list(fig.data[0].x) == ["1-5", "6-10"] and list(fig.data[0].y) == [
        60.0,
        55.0,
    ]
    assert list(fig.data[0].customdata) == [10, 8]
    assert fig.layout.xaxis.categoryarray == ("1-5", "6-10", "31+")
    assert list(length_curve(buckets, metric="bleu").data[0].x) == ["1-5"]
    serialisable(fig)
    assert length_curve({}).layout.meta["empty"]


def test_training_curves():
    rows = [
        {
            "step": 200,
            "train_loss": 3.0,
            "dev_loss": 3.2,
            "dev_chrf": 20.0,
            "lr": 1e-3,
            "elapsed_s": 60.0,
        },
        {
            "step": 100,
            "train_loss": 4.0,
            "dev_loss": 4.1,
            "dev_chrf": 10.0,
            "lr": 1e-3,
            "elapsed_s": 30.0,
        },
    ]
    fig = training_curves(rows)
    chrf = next(t for t in fig.data if t.name == "dev chrF")
    assert list(chrf.x) == [100, 200] and list(chrf.y) == [10.0, 20.0]
    assert {t.name for t in fig.data} == {"train loss", "dev loss", "dev chrF"}
    assert (
        fig.layout.legend.x > 1 and fig.layout.legend.xanchor == "left"
    )  # right of the plots, off the title
    serialisable(fig)
    assert training_curves([]).layout.meta["empty"]


def test_coverage_bars_flags_outside_thresholds():
    fig = coverage_bars([0.1, 1.0, 2.5, 1.0, 0.9], SRC, low=DROPPED_BELOW, high=REPEATED_ABOVE)
    colours = list(fig.data[0].marker.color)
    assert colours[0] == colours[2] != colours[1]
    assert fig.layout.meta["flagged_src"] == [0, 2]
    assert {s.y0 for s in fig.layout.shapes} == {0.3, 2.0}
    assert all(s.line.dash == "dash" for s in fig.layout.shapes)
    labels = {a.y: a for a in fig.layout.annotations}  # threshold labels in the right margin, off the bars
    assert set(labels) == {0.3, 2.0}
    assert all(a.xref == "paper" and a.x == 1 and a.xanchor == "left" for a in labels.values())
    serialisable(fig)


def test_long_sentences_get_upright_labels_of_legible_size_and_plotly_thins_them():
    short = attention_heatmap(attention(), SRC, TGT)
    assert short.layout.xaxis.tickangle is None and short.layout.xaxis.tickfont.size >= 12
    words = [f"▁word{k}" for k in range(60)] + ["</s>"]
    alpha = np.full((3, len(words)), 1 / len(words))
    long = attention_heatmap(alpha, words, TGT[:3])
    assert long.layout.xaxis.tickangle == -90 and long.layout.yaxis.tickfont.size >= 12
    # a category axis without fixed ticks: Plotly labels as many as fit in the plot as drawn
    assert long.layout.xaxis.type == "category" and long.layout.xaxis.tickmode is None
    auto = attention_heatmap(np.array([[0.1, 0.05, 0.05, 0.05, 0.05]] * 4) * 2, SRC, TGT, colour_range="auto")
    assert auto.data[0].zmax == pytest.approx(0.2) and "auto" in auto.data[0].colorbar.title.text


def test_class_guesses_shows_the_share_per_token_and_hides_alpha_until_revealed():
    tokens = ["▁How", "▁are", "▁you", "?", "</s>"]
    hidden = class_guesses([2, 0, 1, 0, 0], None, tokens, step=1)
    assert [t.name for t in hidden.data] == ["share of the class"] and list(hidden.data[0].y) == [
        2 / 3,
        0,
        1 / 3,
        0,
        0,
    ]
    assert hidden.layout.meta["students"] == 3 and not hidden.layout.meta["revealed"]
    shown = class_guesses([2, 0, 1, 0, 0], np.array([0.1, 0.2, 0.6, 0.05, 0.05]), tokens, step=1)
    assert len(shown.data) == 2 and shown.layout.meta["revealed"] and list(shown.data[1].y)[2] == 0.6
    assert (
        list(class_guesses([0] * 5, None, tokens, step=2).data[0].y) == [0] * 5
    )  # nobody yet: no division by 0
    with pytest.raises(ValueError):
        class_guesses([1, 2], None, tokens, step=1)


def test_the_heatmap_marks_a_student_s_guesses_in_their_cells():
    attention = np.full((2, 3), 1 / 3)
    fig = attention_heatmap(
        attention, ["a", "b", "c"], ["x", "y"], marks={0: 2, 1: 0, 5: 1}
    )  # row 5 is not there
    (marker,) = [t for t in fig.data if t.type == "scatter"]
    assert list(marker.y) == [0, 1] and [str(x).replace(ZERO_WIDTH, "") for x in marker.x] == ["c", "a"]
