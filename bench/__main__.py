"""`python -m bench [latency|app|peer|all] [options]`: print each table, save it, rebuild bench/RESULTS.md.

python -m bench                 # latency and app (a few minutes)
python -m bench peer            # the Joey NMT side by side (about 75 minutes: two 30-minute budgets)
python -m bench all             # everything
python -m bench latency --repeats 5 --checkpoint checkpoints/enko-software-fixed
python -m bench explain         # attribution of a 30-word sentence, nearest-example index and queries
python -m bench classroom       # click-to-visible on Step through and Translate, 30 sessions at once, a lesson
python -m bench hall --students 30,100,200   # a lecture hall on the light page: join, push, guesses, CPU
python -m bench training        # training throughput: batch size, bf16 autocast, torch.compile (general corpus)
python -m bench families        # which family knows a sentence better: how often each test split is sent across
python -m bench search          # greedy, beam, length and coverage penalties, no-repeat: dev chrF by domain and length
python -m bench rerank          # noisy-channel reranking by the Korean→English model: list size and λ on dev
python -m bench recipes RUN...  # training recipes side by side: dev chrF by domain, dev loss, sharpness, tokens/s
"""

import sys

from . import (
    app,
    classroom,
    explain,
    families,
    hall,
    latency,
    peer,
    recipes,
    report,
    rerank,
    search,
    speedups,
    training,
)

BENCHMARKS = {
    "latency": latency,
    "explain": explain,
    "app": app,
    "speedups": speedups,
    "training": training,
    "classroom": classroom,
    "hall": hall,
    "families": families,
    "search": search,
    "rerank": rerank,
    "recipes": recipes,
    "peer": peer,
}


def main(argv: list[str]) -> None:
    name, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else ("default", argv)
    if name in ("-h", "--help", "help"):
        print(__doc__)
        return
    names = {
        "default": ["latency", "app", "speedups"],
        "all": [
            "latency",
            "explain",
            "app",
            "speedups",
            "training",
            "classroom",
            "families",
            "search",
            "peer",
        ],
    }.get(name, [name])
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)} or all")
    for n in names:
        results = BENCHMARKS[n].main(rest if len(names) == 1 else [])
        print(f"saved {report.save(n, results, rest if len(names) == 1 else [])}")
    print(f"wrote {report.write_markdown()}")


main(sys.argv[1:])
