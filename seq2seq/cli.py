"""`python -m seq2seq data | train | average | evaluate | export | agreement | calibrate | card | translate`:
thin argparse."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def _cmd_data(args: argparse.Namespace) -> int:
    from .libreoffice import build_libreoffice_corpus

    summary = build_libreoffice_corpus(args.lang, args.out, debs_dir=args.debs, max_words=args.max_words)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _cmd_data_general(args: argparse.Namespace) -> int:
    from .general import build_general_corpus

    summary = build_general_corpus(
        args.general,
        args.out,
        libreoffice_dir=args.libreoffice,
        max_words=args.max_words,
        commercial_only=args.commercial_only,
        direction=args.direction,
    )
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .config import load_train_config
    from .train import train

    cfg = load_train_config(args.config, args.overrides)
    train(cfg, resume=args.resume, init_from=args.init_from)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .decoding import app_search
    from .evaluate import evaluate_checkpoint

    search = app_search(args.beam)  # the app's search at this beam (1: plain greedy)
    evaluate_checkpoint(
        args.checkpoint, args.test, search, out=args.out, device=args.device, limit=args.limit
    )
    return 0


def _cmd_average(args: argparse.Namespace) -> int:
    from .snapshots import average_snapshots

    report = average_snapshots(args.run_dir, args.last, args.dest, upto=args.upto)
    print(
        f"averaged steps {report['steps'][0]}..{report['steps'][-1]} ({len(report['steps'])} snapshots) "
        f"into {args.dest}: dev chrF {report['dev_chrf']:.2f} (best single checkpoint: "
        f"{report['best_dev_chrf']:.2f})"
    )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .card import export_checkpoint

    export_checkpoint(
        args.run_checkpoint,
        args.dest,
        args.test,
        beam_size=args.beam,
        data_md=args.data_md,
        notes_md=args.notes,
        train_tsv=args.train,
    )
    return 0


def _cmd_card(args: argparse.Namespace) -> int:
    from .card import write_card

    write_card(args.checkpoint, args.data_md, args.notes)
    print(f"wrote {args.checkpoint}/card.md")
    return 0


def _cmd_agreement(args: argparse.Namespace) -> int:
    from .evaluate import attention_agreement

    report = attention_agreement(
        args.checkpoint, {"grad_x_input": args.gxi_per_domain, "integrated_gradients": args.ig_per_domain}
    )
    for row in report["rows"]:
        print(f"{row['method']:>21}  {row['group']:<22} n={row['sentences']:5d}  top match {row['top_match']:.3f}  "
              f"rank corr {row['rank_correlation']:.3f}")  # fmt: skip
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate_checkpoint

    report = calibrate_checkpoint(args.checkpoint, args.dev, args.unseen, per_domain=args.per_domain)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def attention_table(src_tokens: list[str], tgt_tokens: list[str], attention: np.ndarray) -> str:
    """α as aligned text: one row per target token, one column per source token (percent)."""
    width = max(5, *(len(t) for t in src_tokens))
    left = max(len(t) for t in tgt_tokens)
    lines = [" " * left + " " + " ".join(t.rjust(width) for t in src_tokens)]
    for token, row in zip(tgt_tokens, attention):
        lines.append(token.ljust(left) + " " + " ".join(f"{100 * a:{width}.0f}" for a in row))
    return "\n".join(lines)


def _cmd_translate(args: argparse.Namespace) -> int:
    from .decoding import app_search
    from .jsonfiles import weights_to_json
    from .translator import load_translator

    translator = load_translator(args.checkpoint, args.device)
    result = translator.translate(args.text, app_search(args.beam, args.max_len))  # as the app searches
    if args.json:
        print(
            json.dumps(
                {
                    "source": result.source,
                    "text": result.text,
                    "src_tokens": result.src_tokens,
                    "tgt_tokens": result.tgt_tokens,
                    "score": result.score,
                    "warnings": result.warnings,
                    "attention": weights_to_json(result.attention),
                    "nbest": [{"text": c.text, "score": c.score} for c in result.nbest],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(result.text)
    if result.attention is None:
        print("(fixed-context model: no attention weights)")
    else:
        print()
        print(attention_table(result.src_tokens, result.tgt_tokens, result.attention))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seq2seq", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_data_commands, _training_commands, _shipping_commands, _translate_command):
        add(sub)
    return parser


def _data_commands(sub) -> None:
    """`data libreoffice | general | mixed`: build a corpus from its sources."""
    data = sub.add_parser("data", help="build a corpus")
    data_sub = data.add_subparsers(dest="source", required=True)
    lo = data_sub.add_parser("libreoffice", help="LibreOffice help + UI strings from Debian packages")
    lo.add_argument("--lang", default="ko")
    lo.add_argument("--out", required=True)
    lo.add_argument("--debs", default=None, help="folder holding the .deb files (else apt-get download)")
    lo.add_argument("--max-words", type=int, default=80)
    lo.set_defaults(func=_cmd_data)
    for name, what in (
        ("general", "everyday and general English (Tatoeba, KSS, StyleKQC, XPersona, ...), with domains"),
        ("mixed", "the LibreOffice corpus and the general one together, with domains"),
    ):
        general = data_sub.add_parser(name, help=what)
        general.add_argument(
            "--general", required=True, help="the folder of general-enko TSV files (tatoeba-kor-eng.tsv, ...)"
        )
        general.add_argument(
            "--libreoffice",
            required=name == "mixed",
            default=None,
            help="output of `data libreoffice`, e.g. data/enko (its splits are kept as they are)",
        )
        general.add_argument("--out", required=True)
        general.add_argument("--max-words", type=int, default=80)
        general.add_argument(
            "--commercial-only",
            action="store_true",
            help="leave out the sources with non-commercial terms (KSS, XNLI's English)",
        )
        general.add_argument(
            "--direction",
            choices=("enko", "koen"),
            default="enko",
            help="koen: the same splits Korean first, for the Korean→English models",
        )
        general.set_defaults(func=_cmd_data_general)


def _training_commands(sub) -> None:
    """`train`, `evaluate` and `average`: a run and its scores."""
    tr = sub.add_parser("train", help="train a model")
    tr.add_argument("--config", default=None)
    tr.add_argument("--resume", action="store_true", help="continue from <out_dir>/<name>/last")
    tr.add_argument(
        "--init-from",
        default=None,
        help="continue a saved checkpoint (e.g. checkpoints/enko-general-additive) in a new run",
    )
    tr.add_argument("overrides", nargs="*", help="key=value, e.g. model.attention=none max_minutes=30")
    tr.set_defaults(func=_cmd_train)

    ev = sub.add_parser("evaluate", help="score a checkpoint on a TSV test set")
    ev.add_argument("checkpoint")
    ev.add_argument("--test", required=True)
    ev.add_argument(
        "--beam", type=int, default=5, help="with the app's coverage penalty and no-repeat rule; 1: greedy"
    )
    ev.add_argument(
        "--out", default=None, help="folder for eval.jsonl and length buckets (default: checkpoint)"
    )
    ev.add_argument("--device", default=None)
    ev.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    ev.set_defaults(func=_cmd_evaluate)

    av = sub.add_parser("average", help="average a run's last snapshots (keep_snapshots=N) into a checkpoint")
    av.add_argument("run_dir", help="e.g. runs/enko-general-additive")
    av.add_argument("dest", help="e.g. runs/enko-general-additive/averaged")
    av.add_argument("--last", type=int, default=5)
    av.add_argument("--upto", type=int, default=None, help="the last N snapshots at or before this step")
    av.set_defaults(func=_cmd_average)


def _shipping_commands(sub) -> None:
    """`export`, `card`, `agreement`, `calibrate`: what a shipped checkpoint carries beside its weights."""
    ex = sub.add_parser("export", help="ship a run's best checkpoint: eval files, test split, card.md")
    ex.add_argument("run_checkpoint", help="e.g. runs/enko-general-additive/best")
    ex.add_argument("dest", help="e.g. checkpoints/enko-general-additive")
    ex.add_argument("--test", required=True)
    ex.add_argument("--beam", type=int, default=5)
    ex.add_argument("--data-md", default=None, help="the corpus card (data/enko/DATA.md)")
    ex.add_argument("--notes", default=None, help="markdown for the card's 'Training conditions' section")
    ex.add_argument(
        "--train",
        default=None,
        help="ship the training pairs too (train.tsv.xz), e.g. data/enko-mixed/train.tsv",
    )
    ex.set_defaults(func=_cmd_export)

    cd = sub.add_parser("card", help="write card.md again (after agreement and calibrate add their results)")
    cd.add_argument("checkpoint")
    cd.add_argument("--data-md", default=None, help="the corpus card (data/enko-general/DATA.md)")
    cd.add_argument("--notes", default=None, help="markdown for the card's 'Training conditions' section")
    cd.set_defaults(func=_cmd_card)

    ag = sub.add_parser("agreement", help="attention vs gradient attribution on the evaluated test split")
    ag.add_argument("checkpoint")
    ag.add_argument(
        "--ig-per-domain", type=int, default=60, help="sentences per domain for integrated gradients"
    )
    ag.add_argument(
        "--gxi-per-domain", type=int, default=None,
        help="sentences per domain for gradient x input (default: all; each costs a backward pass per output piece)",
    )  # fmt: skip
    ag.set_defaults(func=_cmd_agreement)

    ca = sub.add_parser(
        "calibrate", help="set when a sentence counts as far from the training data (familiarity.json)"
    )
    ca.add_argument("checkpoint", help="a checkpoint folder that ships train.tsv.xz")
    ca.add_argument("--dev", required=True, help="the dev split, e.g. data/enko-mixed/dev.tsv")
    ca.add_argument(
        "--unseen", nargs="+", required=True,
        help="text from domains the model never saw: plain prose, HTML pages, or a .tsv of pairs (its source side)",
    )  # fmt: skip
    ca.add_argument("--per-domain", type=int, default=400)
    ca.set_defaults(func=_cmd_calibrate)


def _translate_command(sub) -> None:
    tl = sub.add_parser("translate", help="translate one sentence")
    tl.add_argument("checkpoint")
    tl.add_argument("text")
    tl.add_argument("--beam", type=int, default=1)
    tl.add_argument("--max-len", type=int, default=None)
    tl.add_argument("--device", default=None)
    tl.add_argument("--json", action="store_true")
    tl.set_defaults(func=_cmd_translate)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, RuntimeError) as exc:  # OSError: a missing file, a full disk, no permission
        message = " ".join(str(exc).split())  # one line, even when torch's message spans many
        print(f"error: {message}", file=sys.stderr)
        return 2
