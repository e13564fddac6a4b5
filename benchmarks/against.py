"""This checkout against an earlier one: ``benchmarks.run`` in both, alternately, on one machine.

A speed-up "against the engine of today" needs today's code measured beside
the new one, under the same load. This script runs :mod:`benchmarks.run` in
a baseline checkout (for instance a ``git worktree`` of the previous release)
and in this one, alternately, ``--rounds`` times each, every run in a fresh
process with the same arguments, and reports for every configuration the
fastest run of each column and the ratios to the baseline's eager engine::

    git worktree add --detach ../treenets-base <commit>
    python -m benchmarks.against --baseline ../treenets-base --rounds 2 -- --quick --threads 1

Arguments after ``--`` go to both runs of :mod:`benchmarks.run`; ``--impls``
is set by this script (``--baseline-impls``, default ``treenets``: the
baseline's eager engine; ``--impls``, default ``treenets,fused``). The last
line printed is one JSON object; ``--json-out`` also writes it to a file.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks.common import cpu_line

REPO = Path(__file__).resolve().parent.parent


def run_once(checkout: Path, impls: str, run_args: List[str]) -> Dict:
    """One ``python -m benchmarks.run`` in ``checkout`` (its own code imported), its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        env = dict(os.environ, PYTHONPATH=str(checkout))
        cmd = [sys.executable, "-m", "benchmarks.run", *run_args, "--impls", impls, "--json-out", str(out)]
        proc = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not out.is_file():
            raise SystemExit(f"benchmarks.run failed in {checkout} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        return json.loads(out.read_text())


def best_rates(runs: List[Dict]) -> Dict[tuple, Dict[str, float]]:
    """``{(workload, cell, batch_size): {impl: fastest trees/s over the runs}}``."""
    best: Dict[tuple, Dict[str, float]] = {}
    for run in runs:
        for cfg in run["configs"]:
            key = (cfg["workload"], cfg["cell"], cfg["batch_size"])
            for impl in ("treenets", "fused", "compiled", "dgl", "recursive"):
                if cfg.get(impl):
                    rate = cfg[impl]["trees_per_s"]
                    best.setdefault(key, {})[impl] = max(rate, best.get(key, {}).get(impl, 0.0))
    return best


def main(argv: Optional[List[str]] = None) -> Dict:
    argv = sys.argv[1:] if argv is None else argv
    run_args: List[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, run_args = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", type=Path, required=True, help="the earlier checkout (a git worktree)")
    p.add_argument("--rounds", type=int, default=2, help="runs of each checkout, alternating (default 2)")
    p.add_argument("--baseline-impls", default="treenets", help="implementations run in the baseline")
    p.add_argument("--impls", default="treenets,fused", help="implementations run in this checkout")
    p.add_argument("--json-out", type=Path, default=None)
    args = p.parse_args(argv)
    if not (args.baseline / "benchmarks" / "run.py").is_file():
        p.error(f"{args.baseline} has no benchmarks/run.py: pass a checkout of this repository")
    start = time.perf_counter()
    print(f"# {cpu_line()}", flush=True)
    base_runs, new_runs = [], []
    for r in range(args.rounds):
        for name, checkout, impls, runs in (("baseline", args.baseline.resolve(), args.baseline_impls, base_runs),
                                            ("this", REPO, args.impls, new_runs)):
            res = run_once(checkout, impls, run_args)
            runs.append(res)
            print(f"# round {r + 1} {name}: commit {res.get('git_commit')}, load {res.get('loadavg_start')} "
                  f"-> {res.get('loadavg_end')}", flush=True)
    base, new = best_rates(base_runs), best_rates(new_runs)
    rows = []
    for key in sorted(new):
        ref = base.get(key, {}).get("treenets")
        row = {"workload": key[0], "cell": key[1], "batch_size": key[2], "baseline_eager": ref,
               **{impl: rate for impl, rate in new[key].items()}}
        for impl, rate in new[key].items():
            row[f"{impl}_vs_baseline_eager"] = round(rate / ref, 2) if ref else None
        rows.append(row)
        print(f"{key[0]:5} {key[1]:8} bs={key[2]:<4} baseline eager {ref} trees/s | "
              + " | ".join(f"{impl} {rate} ({row[f'{impl}_vs_baseline_eager']}x)" for impl, rate in new[key].items()),
              flush=True)
    result = {"benchmark": "treenets.benchmarks.against", "rounds": args.rounds, "run_args": run_args,
              "baseline_commit": base_runs[0].get("git_commit") if base_runs else None,
              "commit": new_runs[0].get("git_commit") if new_runs else None,
              "cpu": new_runs[0].get("cpu") if new_runs else None, "rows": rows,
              "seconds": round(time.perf_counter() - start, 1)}
    line = json.dumps(result)
    if args.json_out:
        args.json_out.write_text(line + "\n")
    print(line)
    return result


if __name__ == "__main__":
    main()
