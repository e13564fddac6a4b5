#!/usr/bin/env python
"""Run a training example over several seeds and report mean +- std.

    python examples/run_seeds.py --seeds 1 2 3 4 5 --jobs 2 --out runs/sst5 -- \\
        examples/train_sst.py --mode fine

Everything after ``--`` is the training command; ``--seed``, ``--out`` and
``--no-progress`` are added per run, and ``--threads 1`` unless given (parallel
runs on a small CPU are fastest with one thread each). Each run's last JSON
line is collected into OUT/results.jsonl; the summary is the last line printed.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from treenets.utils.atomic import atomic_write


def run_one(command, seed: int, out: Path) -> dict:
    run_dir = out / f"seed{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, *command, "--seed", str(seed), "--out", str(run_dir), "--no-progress"]
    if "--threads" not in command:
        cmd += ["--threads", "1"]
    start = time.perf_counter()
    # a log is streamed while the run goes on (so it can be followed), not written atomically
    with open(run_dir / "log.txt", "w", encoding="utf-8") as logf:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=logf, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"seed {seed} failed (exit {proc.returncode}); see {run_dir / 'log.txt'}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    result = json.loads(lines[-1])
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result), flush=True)
    return result


def summarize(results) -> dict:
    summary = {"runs": len(results), "seeds": [r["seed"] for r in results]}
    for key in sorted(results[0]):
        values = [r[key] for r in results if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
        if len(values) == len(results) and key not in ("seed", "epochs", "hidden", "test_trees", "test_pairs"):
            summary[key] = {"mean": round(statistics.fmean(values), 4),
                            "std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0}
    for key in ("task", "mode", "binary_scheme", "leaf", "trees", "cell", "hidden", "embeddings", "device", "epochs"):
        if key in results[0]:
            summary[key] = results[0][key]
    return summary


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        raise SystemExit("usage: run_seeds.py [--seeds ...] [--jobs N] --out DIR -- SCRIPT [ARGS ...]")
    split = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv[:split])
    command = argv[split + 1:]
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda s: run_one(command, s, args.out), args.seeds))
    summary = summarize(results)
    summary["total_wall_seconds"] = round(time.perf_counter() - start, 1)
    summary["command"] = " ".join(["python", *command])
    with atomic_write(args.out / "results.jsonl", "w", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in results))
    with atomic_write(args.out / "summary.json", "w", encoding="utf-8") as f:
        f.write(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
