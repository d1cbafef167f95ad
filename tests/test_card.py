"""export: a run's best checkpoint becomes a shippable folder with its test split, scores and card."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np

from seq2seq import load_translator
from seq2seq.cli import main
from seq2seq.evaluate import read_eval
from seq2seq.jsonfiles import EVAL_DECIMALS


def test_export_writes_a_complete_documented_checkpoint(tiny_checkpoint, toy_corpus, tmp_path):
    dest = tmp_path / "tiny-shipped"
    notes = tmp_path / "notes.md"
    notes.write_text("Trained beside another run on a shared 2-core CPU.\n", encoding="utf-8")
    test_tsv = str(toy_corpus / "test.tsv")
    assert (
        main(
            [
                "export",
                str(tiny_checkpoint),
                str(dest),
                "--test",
                test_tsv,
                "--beam",
                "2",
                "--notes",
                str(notes),
            ]
        )
        == 0
    )
    for name in (
        "model.pt",
        "config.json",
        "src.model",
        "tgt.model",
        "metrics.jsonl",
        "test.tsv",
        "ATTRIBUTION.md",
        "eval.jsonl.gz",
        "eval_buckets.json",
        "eval_summary.json",
        "card.md",
    ):
        assert (dest / name).is_file(), name
    summary, buckets, rows = read_eval(dest)
    card = (dest / "card.md").read_text(encoding="utf-8")
    assert f"chrF **{summary['chrf']:.2f}**" in card  # the card quotes the measured score
    assert "Bahdanau (additive) attention" in card and "Hardware:" in card and "| 6-10 | 30 |" in card
    assert re.search(r"\| 6-10 \| 30 \| [0-9.]+ \| [0-9.]+ \| 0\.0% \|", card)  # the toy model never loops
    assert "## Training conditions\n\nTrained beside another run on a shared 2-core CPU." in card
    assert "MPL" in (dest / "ATTRIBUTION.md").read_text(encoding="utf-8")
    shipped, trained = (json.loads((d / "timeline.json").read_text()) for d in (dest, tiny_checkpoint))
    step = json.loads((tiny_checkpoint / "config.json").read_text())["progress"]["step"]
    upto = [snap for snap in trained["snapshots"] if snap["step"] <= step]  # none after these weights
    assert [snap["step"] for snap in shipped["snapshots"]] == [snap["step"] for snap in upto]
    alphas = np.asarray(shipped["snapshots"][-1]["outputs"][0]["weights"])
    np.testing.assert_allclose(
        alphas, np.asarray(upto[-1]["outputs"][0]["weights"]), atol=0.5 * 10**-EVAL_DECIMALS
    )
    assert np.allclose(alphas, np.round(alphas, EVAL_DECIMALS))  # α rounded: 20+ snapshots fit 25 MB
    original = load_translator(tiny_checkpoint).translate("the user opens the file .")
    assert load_translator(dest).translate("the user opens the file .").text == original.text


def test_export_ships_the_log_only_up_to_the_weights(tiny_checkpoint, toy_corpus, tmp_path):
    """best/ gets the whole run's log at every evaluation; its twin may ship at this step while it trains on."""
    from seq2seq.card import export_checkpoint

    best = tmp_path / "best"
    shutil.copytree(tiny_checkpoint, best)
    step = json.loads((best / "config.json").read_text())["progress"]["step"]
    with open(best / "metrics.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps({"step": step + 100, "dev_chrf": 1.0}) + "\n")
    timeline = json.loads((best / "timeline.json").read_text())
    timeline["snapshots"].append({**timeline["snapshots"][-1], "step": step + 100})
    (best / "timeline.json").write_text(json.dumps(timeline))
    dest = export_checkpoint(best, tmp_path / "shipped", toy_corpus / "test.tsv", beam_size=2)
    logged = [json.loads(line)["step"] for line in (dest / "metrics.jsonl").read_text().splitlines()]
    assert logged and max(logged) == step
    assert max(s["step"] for s in json.loads((dest / "timeline.json").read_text())["snapshots"]) == step


def test_export_with_a_missing_notes_file_stops_before_touching_dest(
    tiny_checkpoint, toy_corpus, tmp_path, capsys
):
    dest = tmp_path / "shipped"
    args = ["export", str(tiny_checkpoint), str(dest), "--test", str(toy_corpus / "test.tsv")]
    assert main([*args, "--notes", str(tmp_path / "missing.md")]) == 2
    assert "missing.md: no such file" in capsys.readouterr().err
    assert not dest.exists()


def test_a_dot_model_card_shows_its_own_equation(tiny_dot_checkpoint, tmp_path):
    import shutil

    from seq2seq.card import write_card
    from seq2seq.model import AdditiveAttention, DotAttention

    folder = tmp_path / "tiny-dot"
    shutil.copytree(tiny_dot_checkpoint, folder)
    card = write_card(folder)
    assert card.startswith("# tiny-dot: English → Korean, Luong dot attention")
    assert f"${DotAttention.formula}$" in card and AdditiveAttention.formula not in card


def test_a_card_says_when_its_weights_are_not_the_best_on_dev(tiny_checkpoint, tmp_path):
    """Twins shipped at an equal step: one of them may not be at its best dev evaluation, and says so."""
    import shutil

    from seq2seq.card import write_card

    folder = tmp_path / "tiny"
    shutil.copytree(tiny_checkpoint, folder)
    config = json.loads((folder / "config.json").read_text())
    config["progress"]["step"] = 100  # the first evaluation; the best came later
    (folder / "config.json").write_text(json.dumps(config))
    write_card(folder)
    card = (folder / "card.md").read_text(encoding="utf-8")
    first = json.loads((folder / "metrics.jsonl").read_text().splitlines()[0])
    assert "- Steps: 100 (the checkpoint of that step's evaluation, not the best on dev)" in card
    assert f"these weights {first['dev_chrf']:.2f} at step 100" in card
    assert "snapshots from step 0, at every evaluation and every 50 steps between them" in card


def test_a_card_lists_the_lecture_sentences_and_how_sharp_the_attention_is(
    tiny_checkpoint, tiny_fixed_checkpoint, toy_corpus, tmp_path
):
    """Issue 27: every card says what the model makes of the ten sentences a class types first (at the
    app's default search) and how sharp its α is, by length; a fixed-context card has no α columns."""
    from seq2seq.card import write_card
    from seq2seq.evaluate import evaluate_checkpoint
    from seq2seq.lecture import LECTURE_SENTENCES

    cards = {}
    for name, source in (("tiny-additive", tiny_checkpoint), ("tiny-fixed", tiny_fixed_checkpoint)):
        folder = tmp_path / name
        shutil.copytree(source, folder)
        evaluate_checkpoint(folder, toy_corpus / "test.tsv", show_progress=False)
        cards[name] = write_card(folder)
    additive, fixed = cards["tiny-additive"], cards["tiny-fixed"]
    assert "## The lecture's sentences (the app's default search: beam 5)" in additive
    # the test scores are those of the app's search, and the card says how it searched
    assert "held-out pairs, beam 5, coverage penalty β = 0.2, no repeated piece 3-gram)" in additive
    assert all(f"| {s} |" in additive and f"| {s} |" in fixed for s in LECTURE_SENTENCES)
    assert "| output loops | mean largest α | mean entropy |" in additive and "*Sharpness*" in additive
    assert "mean largest α" not in fixed
    row = next(line for line in additive.splitlines() if line.startswith("| How are you? |"))
    peak, entropy = (float(c) for c in row.strip("|").split("|")[-2:])
    assert 0 < peak <= 1 and entropy >= 0
