"""Parsing speed of treenets.parsers.StanzaParser: sentences per second on raw SST text.

Takes the first ``--n`` trees of an SST split, rebuilds the raw sentence from
their leaves (``Tree.words``, PTB escapes such as ``-LRB-`` undone), and times
``StanzaParser.parse`` on the list of texts (one bulk call) for

* ``dependency``: tokenize, mwt, pos, lemma, depparse;
* ``both``: the same plus constituency.

Pipeline loading is timed separately and not counted in the speed. One small
warm-up call precedes every timed run. The last line printed is a JSON object
with all numbers, and the load average before and after.

``--workers 1,2`` times :func:`treenets.api.parse_sentences` instead (cache
off, texts in chunks of ``--batch-size``): in this process for 1, and with a
:class:`treenets.parsers.ParserPool` of N processes (``--threads`` torch threads
each, default 1) for N > 1. Starting the pool (spawning the processes and
loading a pipeline in each) is timed separately, as ``start_s``, and a warm-up
call reaches every worker before timing.

Run it from the repository root, as a module:
    python -m benchmarks.parse_speed --n 200 --device cpu
    python -m benchmarks.parse_speed --n 400 --threads 1 --workers 1,2 --modes dependency
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from treenets.data import DATA_DIR_HELP, default_data_dir
from treenets.formats import ptb_unescape
from treenets.formats import read_bracket_lines
from treenets.parsers import resolve_stanza_dir



def sst_sentences(path: Path, n: int) -> list:
    """Raw text of the first ``n`` trees of an SST file.

    Args:
        path: an SST split (one bracketed tree per line).
        n: how many sentences.

    Returns:
        The sentences, words joined by single spaces, PTB escapes undone.
    """
    with open(path, encoding="utf-8") as fin:
        lines = []
        for line in fin:
            if line.strip():
                lines.append(line)
            if len(lines) >= n:
                break
    trees = read_bracket_lines(lines, str(path))
    return [" ".join(ptb_unescape(w) for w in t.words) for t in trees]


def default_sst() -> Path:
    """``sst/dev.txt`` in :func:`treenets.data.default_data_dir`."""
    return default_data_dir() / "sst" / "dev.txt"


def run_mode(mode: str, texts: list, args) -> dict:
    """Load a parser for ``mode`` and time ``--repeat`` bulk parses of ``texts``.

    Args:
        mode: ``"dependency"`` or ``"both"``.
        texts: the raw sentences.
        args: the parsed command line.

    Returns:
        Timing numbers for this mode.
    """
    from treenets.parsers import StanzaParser

    t0 = time.perf_counter()
    parser = StanzaParser(dir=args.stanza_dir, device=args.device, use_gpu=args.device != "cpu",
                          dependency=True, constituency=(mode == "both"), binarize=args.binarize,
                          tokenize_pretokenized=args.pretokenized)
    load_s = time.perf_counter() - t0
    parser.parse(texts[:8])  # warm-up
    times, n_sent, n_words = [], 0, 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = parser.parse(texts)
        times.append(time.perf_counter() - t0)
        n_sent = sum(len(doc) for doc in out)
        n_words = sum(len(s.words) for doc in out for s in doc)
    best = min(times)
    result = {
        "mode": mode,
        "processors": ",".join(parser.processors),
        "load_s": round(load_s, 3),
        "texts": len(texts),
        "sentences": n_sent,
        "words": n_words,
        "seconds": [round(t, 3) for t in times],
        "sentences_per_s": round(n_sent / best, 2),
        "words_per_s": round(n_words / best, 1),
    }
    print(f"{mode:>10}: {result['sentences_per_s']:7.2f} sentences/s, {result['words_per_s']:8.1f} words/s "
          f"({n_sent} sentences in {best:.2f} s, best of {args.repeat}; load {load_s:.2f} s)", flush=True)
    return result


def run_workers(mode: str, texts: list, n_workers: int, args) -> dict:
    """Time ``parse_sentences(texts, parser, workers=...)`` (cache off) for ``mode`` with ``n_workers`` processes."""
    from treenets.api import parse_sentences
    from treenets.parsers import ParserPool, StanzaParser

    parser = StanzaParser(dir=args.stanza_dir, device=args.device, use_gpu=args.device != "cpu",
                          dependency=True, constituency=(mode == "both"), binarize=args.binarize,
                          tokenize_pretokenized=args.pretokenized, lazy=True)
    t0 = time.perf_counter()
    if n_workers == 1:
        target = parser.load()
        target.parse(texts[:8])  # warm-up
    else:
        target = ParserPool(parser, n_workers, torch_threads=args.threads or 1)
        target.parse(texts[:4 * n_workers], batch_size=1)  # spawns every worker, each loads its pipeline
    start_s = time.perf_counter() - t0
    times, n_sent = [], 0
    try:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = parse_sentences(texts, target, cache=False, batch_size=args.batch_size)
            times.append(time.perf_counter() - t0)
            n_sent = sum(len(doc) for doc in out)
    finally:
        if n_workers > 1:
            target.close()
    best = min(times)
    result = {"workers": n_workers, "start_s": round(start_s, 2), "sentences": n_sent,
              "seconds": [round(t, 3) for t in times], "sentences_per_s": round(n_sent / best, 2)}
    print(f"{mode:>10}, {n_workers} worker(s): {result['sentences_per_s']:7.2f} sentences/s "
          f"({n_sent} sentences in {best:.2f} s, best of {args.repeat}; start {start_s:.2f} s)", flush=True)
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_sst(),
                    help=f"SST split to take sentences from (default: sst/dev.txt in {DATA_DIR_HELP})")
    ap.add_argument("--n", type=int, default=200, help="number of sentences (default 200)")
    ap.add_argument("--stanza-dir", default=None,
                    help="stanza resources directory (default: $STANZA_RESOURCES_DIR, then stanza's ~/stanza_resources)")
    ap.add_argument("--device", default="cpu", help="torch device for stanza: cpu, cuda, cuda:0 (default cpu)")
    ap.add_argument("--modes", default="dependency,both", help="comma-separated: dependency, both")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs per mode; the best is reported")
    ap.add_argument("--binarize", choices=["left", "right"], default=None, help="binarize constituency trees")
    ap.add_argument("--pretokenized", action="store_true",
                    help="keep SST's own tokens (tokenize_pretokenized=True, no mwt) instead of re-tokenizing raw text")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads, here and in each worker (default: torch's choice here, 1 per worker)")
    ap.add_argument("--workers", default="",
                    help="comma-separated process counts, e.g. 1,2: time parse_sentences(workers=N) instead")
    ap.add_argument("--batch-size", type=int, default=32, help="with --workers: texts per parser call (default 32)")
    args = ap.parse_args(argv)

    if args.stanza_dir is None:
        args.stanza_dir = resolve_stanza_dir()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in ("dependency", "both"):
            ap.error(f"unknown mode {m!r}: use dependency and/or both")
    if not args.data.is_file():
        ap.error(f"SST file not found: {args.data} (set TREENETS_DATA_DIR or pass --data)")

    import stanza
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = sst_sentences(args.data, args.n)
    print(f"{len(texts)} SST sentences from {args.data}{' (pretokenized)' if args.pretokenized else ''}, "
          f"device {args.device}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), stanza {stanza.__version__}", flush=True)
    load_start = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    try:
        workers = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        ap.error(f"--workers takes comma-separated integers, not {args.workers!r}")
    if workers:
        results = [{"mode": m, "workers": [run_workers(m, texts, n, args) for n in workers]} for m in modes]
    else:
        results = [run_mode(m, texts, args) for m in modes]
    from benchmarks.common import cpu_info

    summary = {
        "benchmark": "parse_speed",
        "data": str(args.data),
        "n_texts": len(texts),
        "pretokenized": args.pretokenized,
        "device": args.device,
        "device_name": (torch.cuda.get_device_name(0) if args.device.startswith("cuda") and torch.cuda.is_available()
                        else platform.processor() or platform.machine()),
        **cpu_info(),
        "torch_threads": torch.get_num_threads(),
        "stanza": stanza.__version__,
        "torch": torch.__version__,
        "batch_size": args.batch_size if workers else None,
        "loadavg_start": load_start,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "results": {r["mode"]: r for r in results},
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
