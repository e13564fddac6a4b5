"""Memory and time per word of the stanza parsers, on one long sentence (no final punctuation).

    python -m benchmarks.parser_memory [--words 50 100 200 400 800] [--kinds dependency constituency]

Each measurement runs in a fresh process (``python -m benchmarks.parser_memory --one KIND N``):
the parser is loaded and warmed on a short sentence, then one sentence of N words is parsed; the
process reports its peak resident memory (``ru_maxrss``) before and after that parse, and the
parse's wall time. The words are drawn (seeded) from the SST vocabulary, so stanza's tokenizer
keeps them as N words in one sentence. This sets :class:`treenets.parsers.TextLimits`' default
``max_words`` (see the docs' limits page).
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time

from .common import cpu_name

WORDS = ("the movie is a and of to it film that with as for its this but his an be on more than story "
         "one all characters about like so just good into too funny out has comedy most up what even time "
         "way much only director life could some new work make well little any while action enough").split()


def sentence(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def one(kind: str, n: int) -> dict:
    import torch

    from treenets.parsers import StanzaParser, TextLimits

    torch.set_num_threads(1)
    parser = StanzaParser(dependency=kind == "dependency", constituency=kind == "constituency",
                          binarize="right" if kind == "constituency" else None,
                          limits=TextLimits(max_words=None))
    parser.parse(["A short warm-up sentence."])
    before = _peak_mb()
    t0 = time.perf_counter()
    out = parser.parse([sentence(n)])[0]
    seconds = time.perf_counter() - t0
    return {"kind": kind, "words": n, "sentences": len(out), "parsed_words": sum(len(s.words) for s in out),
            "seconds": round(seconds, 3), "peak_mb_before": round(before), "peak_mb_after": round(_peak_mb())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=[50, 100, 200, 400, 800])
    parser.add_argument("--kinds", nargs="+", default=["dependency", "constituency"],
                        choices=["dependency", "constituency"])
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per measurement")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return 0
    print(f"# machine: {cpu_name()}; one torch thread; peak RSS of a fresh process per row", flush=True)
    print("kind          words  seconds  s/word   peak MB before  after  MB/word over the warm parser")
    for kind in args.kinds:
        for n in args.words:
            try:
                done = subprocess.run([sys.executable, "-m", "benchmarks.parser_memory", "--one", kind, str(n)],
                                      capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"{kind:12s} {n:6d}  over {args.timeout:.0f} s")
                continue
            if done.returncode != 0:
                print(f"{kind:12s} {n:6d}  failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            grown = r["peak_mb_after"] - r["peak_mb_before"]
            print(f"{kind:12s} {n:6d} {r['seconds']:8.2f} {r['seconds'] / n:7.4f} {r['peak_mb_before']:10d} "
                  f"{r['peak_mb_after']:7d}  {grown / n:6.2f}   ({r['sentences']} sentence(s), "
                  f"{r['parsed_words']} words)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
