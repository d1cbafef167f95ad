"""What each speed-up buys, measured on and off on the shipped model (CPU): the "before and after".

Each candidate is switched off by a patch that keeps the maths exact (the outputs are checked equal),
then timed against the code as it is:

- keys U h_j projected once per sentence, against projecting them again at every decoder step;
- packed encoder sequences, against running the GRU over the padding (training step);
- batched decoding of the test split (64 sentences per batch), against one sentence at a time;
- batched beam search without a loop over hypotheses is the only beam search there is: not switchable;
- CPU threads 1 against 2, for one sentence (the app) and for a training step.

The training candidates (`training_rows`: batch size, bf16 autocast, `torch.compile`) are timed by
`python -m bench training`, on the general corpus.

    python -m bench speedups [--sentences 200]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import time
from pathlib import Path

import torch

from seq2seq import load_translator
from seq2seq.data import read_pairs_tsv
from seq2seq.model import AdditiveAttention, Encoder, sequence_loss

CHECKPOINT = Path("checkpoints/enko-software-additive")


@contextlib.contextmanager
def keys_every_step():
    """U h_j recomputed inside every energy computation instead of once per sentence."""
    project, score = AdditiveAttention.project_keys, AdditiveAttention.score
    AdditiveAttention.project_keys = lambda self, annotations: annotations
    AdditiveAttention.score = lambda self, query, keys: self.v(
        torch.tanh(self.W(query).unsqueeze(1) + self.U(keys))
    ).squeeze(-1)
    try:
        yield
    finally:
        AdditiveAttention.project_keys, AdditiveAttention.score = project, score


@contextlib.contextmanager
def unpacked_encoder():
    """The bidirectional GRU run over padded batches: padding enters the backward direction's state."""
    forward = Encoder.forward

    def padded(self, src, lengths, embedded=None):
        x = self.dropout(self.embedding(src) if embedded is None else embedded)
        output, hidden = self.rnn(x)
        return self.dropout(output), torch.cat([hidden[0], hidden[1]], dim=-1)

    Encoder.forward = padded
    try:
        yield
    finally:
        Encoder.forward = forward


def timed(fn, repeats: int) -> float:
    """Median seconds of `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(sentences: int, repeats: int) -> list[dict]:
    translator = load_translator(CHECKPOINT, device="cpu")
    model = translator.model.float()
    pairs = read_pairs_tsv(CHECKPOINT / "test.tsv")[:sentences]
    sources = [p.source for p in pairs]
    long_one = max(sources, key=lambda s: len(s.split()))
    rows = []

    def row(name: str, unit: str, off: float, on: float, note: str = "") -> None:
        rows.append({"candidate": name, "unit": unit, "off": off, "on": on, "note": note})
        print(f"{name}: off {off:.3g} {unit}, on {on:.3g} {unit}")

    torch.set_num_threads(1)
    # decoding: keys once per sentence (beam 5, the test split)
    batch = lambda: translator.translate_batch(sources, beam_size=5, batch_size=64)  # noqa: E731
    expected = [r.text for r in batch()]
    on = timed(batch, repeats)
    with keys_every_step():
        assert [r.text for r in batch()] == expected, "the patch must not change the translations"
        off = timed(batch, repeats)
    row("keys U h_j once per sentence (beam 5)", "sent/s", len(sources) / off, len(sources) / on)

    # decoding: batches of 64 against one sentence at a time
    one_by_one = lambda: [translator.translate(s, beam_size=5) for s in sources]  # noqa: E731
    off = timed(one_by_one, max(1, repeats // 2))
    row("batched decoding, 64 per batch (beam 5)", "sent/s", len(sources) / off, len(sources) / on)

    # one interactive sentence: 1 thread against 2
    single = lambda: translator.translate(long_one, beam_size=5)  # noqa: E731
    one_thread = timed(single, repeats * 3)
    torch.set_num_threads(2)
    two_threads = timed(single, repeats * 3)
    row(
        f"1 thread instead of 2, one {len(long_one.split())}-word sentence (beam 5)",
        "ms",
        two_threads * 1000,
        one_thread * 1000,
        "the app's setting: small matrices gain little from a 2nd thread, and lose a lot when the CPU is busy",
    )

    # training step: packed sequences, and threads
    from seq2seq.batching import collate, encode_pairs, make_batches
    from seq2seq.config import load_train_config

    cfg = load_train_config(Path("configs/enko-software-additive.yaml"))
    examples = encode_pairs(pairs, translator.src_tokenizer, translator.tgt_tokenizer, cfg)
    batches = make_batches(examples, cfg.batch_tokens, seed=0)
    collated = [collate([examples[i] for i in b], torch.device("cpu")) for b in batches]
    tokens = sum(int((c[3] != 0).sum()) for c in collated)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-9)

    def epoch():
        for src, lengths, tgt_in, tgt_out in collated:
            loss, n = sequence_loss(model(src, lengths, tgt_in), tgt_out, 0.1)
            optimizer.zero_grad()
            (loss / n).backward()
            optimizer.step()

    for threads in (2, 1):
        torch.set_num_threads(threads)
        on = timed(epoch, 2)
        with unpacked_encoder():
            off = timed(epoch, 2)
        row(f"packed encoder sequences (training, {threads} thread(s))", "tok/s", tokens / off, tokens / on)
        if threads == 2:
            two = on
    row("2 threads instead of 1 (training)", "tok/s", tokens / on, tokens / two)
    model.eval()
    return rows


def training_rows(data_dir: Path, seconds: float, config: Path) -> list[dict]:
    """Training throughput (target tokens/s, 1 thread) of each candidate against the config as it is
    (fp32, its batch size): this CPU has AVX-512 BF16 but no AMX."""
    from seq2seq.batching import collate, encode_pairs, make_batches
    from seq2seq.config import load_train_config
    from seq2seq.model import Seq2Seq
    from seq2seq.tokenizer import Tokenizer

    torch.set_num_threads(1)
    cfg = load_train_config(config)
    pairs = read_pairs_tsv(data_dir / "train.tsv")
    src_tok = Tokenizer.train((p.source for p in pairs), cfg.src_vocab)
    tgt_tok = Tokenizer.train((p.target for p in pairs), cfg.tgt_vocab, cfg.tgt_coverage)
    examples = encode_pairs(pairs, src_tok, tgt_tok, cfg)
    model_cfg = dataclasses.replace(cfg.model, src_vocab_size=len(src_tok), tgt_vocab_size=len(tgt_tok))

    def rate(batch_tokens: int, autocast: bool = False, compiled: bool = False) -> float:
        torch.manual_seed(0)
        model = Seq2Seq(model_cfg).train()
        if compiled:
            model.decoder.step = torch.compile(model.decoder.step, dynamic=True)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        batches = make_batches(examples, batch_tokens, seed=0)
        tokens, start, warm = 0, None, 3  # the first batches warm up (and compile)
        for i, batch in enumerate(batches):
            src, lengths, tgt_in, tgt_out = collate([examples[k] for k in batch], torch.device("cpu"))
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                logits = model(src, lengths, tgt_in)
            loss, n = sequence_loss(logits, tgt_out, 0.1)
            optimizer.zero_grad()
            (loss / n).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if i + 1 == warm:
                start = time.perf_counter()
            elif start is not None:
                tokens += n
                if time.perf_counter() - start >= seconds:
                    break
        return tokens / (time.perf_counter() - start)

    rows = []
    base = rate(cfg.batch_tokens)
    print(f"batch {cfg.batch_tokens}: {base:,.0f} tok/s")

    def row(name: str, on: float, note: str = "") -> None:
        rows.append({"candidate": name, "unit": "tok/s", "off": base, "on": on, "note": note})
        print(f"{name}: {base:,.0f} -> {on:,.0f} tok/s")

    for size in (2 * cfg.batch_tokens, 3 * cfg.batch_tokens):
        row(f"batch {size:,} padded tokens instead of {cfg.batch_tokens:,} (training, 1 thread)", rate(size))
    row("bf16 autocast (training, 1 thread)", rate(cfg.batch_tokens, autocast=True))
    try:
        row("torch.compile of Decoder.step (training, 1 thread)", rate(cfg.batch_tokens, compiled=True))
    except Exception as exc:  # inductor needs a C++ toolchain; say why it could not be timed
        rows.append({"candidate": "torch.compile of Decoder.step", "unit": "tok/s", "off": base, "on": 0.0,
                     "note": f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"})  # fmt: skip
    return rows


def table(results: dict) -> str:
    rows = results["rows"]
    lines = ["| candidate | without | with | gain | note |", "|---|---|---|---|---|"]
    for r in rows:
        better = r["off"] / r["on"] if r["unit"] == "ms" else r["on"] / r["off"]
        lines.append(
            f"| {r['candidate']} | {r['off']:,.1f} {r['unit']} | {r['on']:,.1f} {r['unit']} | "
            f"{better:.2f}x | {r['note']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = {"rows": run(args.sentences, args.repeats), "sentences": args.sentences}
    print(table(results))
    return results


if __name__ == "__main__":
    main()
