"""Raw text to predictions against stanza's own pipeline: how close ``predict`` runs to the parser.

In one process, on the same raw sentences (SST dev, then test, unescaped from
the treebank's tokens), one after the other:

* ``stanza_pipeline``: the floor, stanza's own ``Pipeline.process`` with the processors
  the model's parser uses (``model.parser().processors``), in bulk, on the
  already loaded pipeline of that parser;
* with ``--chunked K``: the same pipeline called on chunks of ``K`` texts
  (``predict`` hands the parser ``batch_size`` texts at a time, 64 by default);
* ``predict_cold``: ``model.predict(texts, cache=<empty cache file>)``:
  parsing, tree conversion, cache writes, batching, the model;
* ``predict_warm``: the same call again (every parse a cache hit);
* for each ``W`` > 1 in ``--workers``: ``stanza_pipeline_threadsW``, the floor
  again with torch at ``W`` threads (what stanza itself does with ``W`` cores);
  ``predict_cold_workersW``, ``predict(..., workers=W)`` with its own empty
  cache, the pool's start (``W`` processes, each loading stanza) included; and
  ``predict_cold_workersW_started``, the same through a
  :class:`~treenets.parsers.ParserPool` started (and its workers loaded)
  before timing, passed as ``parser=``. The start alone is ``pool_start_W_s``.

Everything is imported and loaded before timing: the pipeline (and a warm-up
call on 8 texts), and ``predict`` once on one text outside the set with the
cache off (the modules a first call imports; its time is ``first_predict_s``).
With ``--repeats R`` the whole round runs ``R`` times, alternating, and the
fastest of each counts. ``--profile`` adds the top functions of a cProfile of
``predict_cold`` (round 1) by own time, and treenets' and stanza's pipeline
functions by cumulative time; ``--gc-stats`` the garbage collector's
runs in each timing; ``--encode`` times ``parse_and_encode`` cold and warm;
``--constituency-batch 10,50`` stanza's chunked pipeline at those constituency
batch sizes.

    python -m benchmarks.raw_text --n 1000 --workers 1,2 --repeats 3
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path


def raw_sentences(n: int) -> list:
    from treenets.data import default_data_dir
    from treenets.formats import ptb_unescape, read_bracket_lines

    texts = []
    for split in ("dev", "test"):
        path = default_data_dir() / "sst" / f"{split}.txt"
        for tree in read_bracket_lines(path.read_text(encoding="utf-8").splitlines()):
            texts.append(ptb_unescape(" ".join(tree.words)))
            if len(texts) == n:
                return texts
    return texts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="sentences (SST dev, then test)")
    ap.add_argument("--model", default="sst2")
    ap.add_argument("--workers", default="1", help="comma list of worker counts for predict (1 = in process)")
    ap.add_argument("--repeats", type=int, default=1, help="alternating rounds; the fastest of each counts")
    ap.add_argument("--threads", type=int, default=1, help="torch threads in this process")
    ap.add_argument("--profile", action="store_true", help="cProfile predict_cold (1 worker)")
    ap.add_argument("--chunked", type=int, default=0, metavar="K",
                    help="also time stanza's pipeline on chunks of K texts (predict's batch_size is 64)")
    ap.add_argument("--encode", action="store_true",
                    help="also time parse_and_encode(texts, encoder=model), cold and warm cache")
    ap.add_argument("--gc-stats", action="store_true",
                    help="count the garbage collector's runs (and their seconds) per generation in each timing")
    ap.add_argument("--constituency-batch", default="", metavar="B,...",
                    help="also time stanza's pipeline on chunks of --chunked texts (64 if unset) with each "
                         "constituency batch size B (stanza's default: 50)")
    args = ap.parse_args(argv)

    import stanza
    import torch
    from stanza import Document

    import treenets
    from benchmarks.common import cpu_info, git_state

    torch.set_num_threads(args.threads)
    texts = raw_sentences(args.n)
    model = treenets.load(args.model)
    parser = model.parser()
    t0 = time.perf_counter()
    parser.load()
    load_s = time.perf_counter() - t0
    pipeline = parser.pipeline
    out = {"benchmark": "raw_text", "n": len(texts), "model": args.model, "processors": parser.processors,
           "pipeline_processors": list(getattr(pipeline, "processors", {}).keys()),
           "pipeline_load_s": round(load_s, 2), "stanza": stanza.__version__, "torch": torch.__version__,
           "threads": args.threads, **cpu_info(), **git_state(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    print(f"# {len(texts)} sentences, processors {out['pipeline_processors']}, {out['cpu']} {out['cpu_flags']}",
          flush=True)
    pipeline.process([Document([], text=t) for t in texts[:8]])  # warm-up
    t0 = time.perf_counter()
    model.predict(["One warm-up sentence, which is not in the set."], cache=False)  # the first call's imports
    out["first_predict_s"] = round(time.perf_counter() - t0, 2)
    workers = sorted({int(x) for x in args.workers.split(",") if x and int(x) > 1})

    collections: dict = {}  # generation -> [runs, seconds] during the timing under way
    started = [0.0]

    def count_collections(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            seen = collections.setdefault(info["generation"], [0, 0.0])
            seen[0] += 1
            seen[1] += time.perf_counter() - started[0]

    if args.gc_stats:
        gc.callbacks.append(count_collections)
        out["gc_tracked_objects"] = len(gc.get_objects())  # what one full collection walks
        print(f"# {out['gc_tracked_objects']} objects tracked by the garbage collector", flush=True)

    def timed(name, fn):
        collections.clear()
        t = time.perf_counter()
        result = fn()
        s = time.perf_counter() - t
        runs = out.setdefault(name, {"runs_seconds": []})["runs_seconds"]
        runs.append(round(s, 2))
        best = min(runs)  # the fastest of the repeats counts
        out[name].update(seconds=best, sentences_per_s=round(len(texts) / best, 1))
        seen = ""
        if args.gc_stats:
            gens = {f"gen{g}": [c, round(x, 2)] for g, (c, x) in sorted(collections.items())}
            out[name].setdefault("gc_runs_seconds", []).append(gens)
            seen = "  collections " + ", ".join(f"{g}: {c} in {x:.2f} s" for g, (c, x) in gens.items())
        print(f"{name:32} {s:7.2f} s  {len(texts) / s:7.1f} sentences/s{seen}", flush=True)
        return result

    def floor():
        return pipeline.process([Document([], text=t) for t in texts])

    def started_pool(w):
        from treenets.parsers import ParserPool

        t = time.perf_counter()
        pool = ParserPool(parser, w, torch_threads=1)
        warm = [pool.submit([f"Worker {k} starts."], [1]) for k in range(w)]  # one task each: all load
        for f in warm:
            pool.result(f, [1])
        out.setdefault(f"pool_start_{w}_s", []).append(round(time.perf_counter() - t, 2))
        return pool

    with tempfile.TemporaryDirectory() as tmp:
        # the floor and the cold predict alternate, so that a change in the machine's load hits both
        for r in range(args.repeats):
            timed("stanza_pipeline", floor)
            if args.chunked:
                timed(f"stanza_pipeline_chunks{args.chunked}",
                      lambda: [pipeline.process([Document([], text=t) for t in texts[i:i + args.chunked]])
                               for i in range(0, len(texts), args.chunked)])
            cache = Path(tmp) / f"cold{r}.sqlite"
            if args.profile and r == 0:
                prof = cProfile.Profile()
                prof.enable()
            timed("predict_cold", lambda: model.predict(texts, cache=cache))
            if args.profile and r == 0:
                prof.disable()
                buf = io.StringIO()
                stats = pstats.Stats(prof, stream=buf)
                stats.sort_stats("tottime").print_stats(25)
                stats.sort_stats("cumulative").print_stats(r"treenets|stanza/pipeline", 30)
                out["profile_top"] = buf.getvalue().splitlines()[:120]
                print(buf.getvalue()[:12000])
            timed("predict_warm", lambda: model.predict(texts, cache=cache))
            if args.encode:
                encoded = Path(tmp) / f"encode{r}.sqlite"
                timed("encode_cold", lambda: treenets.parse_and_encode(texts, encoder=model, cache=encoded))
                timed("encode_warm", lambda: treenets.parse_and_encode(texts, encoder=model, cache=encoded))
            for size in [int(x) for x in args.constituency_batch.split(",") if x]:
                constituency = pipeline.processors["constituency"]
                default, constituency._batch_size = constituency._batch_size, size  # stanza's own attribute
                k = args.chunked or 64
                try:
                    timed(f"stanza_pipeline_chunks{k}_constituency_batch{size}",
                          lambda: [pipeline.process([Document([], text=t) for t in texts[i:i + k]])
                                   for i in range(0, len(texts), k)])
                finally:
                    constituency._batch_size = default
            for w in workers:
                torch.set_num_threads(w)
                try:
                    timed(f"stanza_pipeline_threads{w}", floor)
                finally:
                    torch.set_num_threads(args.threads)
                timed(f"predict_cold_workers{w}",
                      lambda: model.predict(texts, cache=Path(tmp) / f"cold{r}_{w}.sqlite", workers=w))
                pool = started_pool(w)
                try:
                    timed(f"predict_cold_workers{w}_started",
                          lambda: model.predict(texts, cache=Path(tmp) / f"cold{r}_{w}s.sqlite", parser=pool))
                finally:
                    pool.close()
    floor_s = out["stanza_pipeline"]["seconds"]
    out["cold_over_stanza"] = round(out["predict_cold"]["seconds"] / floor_s, 3)
    if args.encode:
        out["encode_cold_over_stanza"] = round(out["encode_cold"]["seconds"] / floor_s, 3)
    for w in workers:
        out[f"pool_start_{w}_s"] = min(out[f"pool_start_{w}_s"])
        for name in (f"predict_cold_workers{w}", f"predict_cold_workers{w}_started"):
            out[f"{name[len('predict_'):]}_over_stanza"] = round(out[name]["seconds"] / floor_s, 3)
            out[f"{name[len('predict_'):]}_over_stanza_threads{w}"] = round(
                out[name]["seconds"] / out[f"stanza_pipeline_threads{w}"]["seconds"], 3)
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
