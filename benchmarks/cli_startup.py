"""How fast the ``treenets`` command answers: wall time of ``--version``, ``--help``, ``predict --help`` and
``models``, beside ``python -c pass`` and ``python -c "import torch"`` (what a command that imported torch
would cost at least).

Each command line runs in a fresh process, ``--repeats`` times (default 10), one run of each per round so that
the machine's load falls on all alike; the median, minimum and maximum are printed. ``--before DIR`` adds
``treenets --version`` run with ``PYTHONPATH=DIR`` (a checkout of an older commit, e.g.
``git archive d7f03ec treenets | tar -x -C /tmp/old``), for a ratio measured in the same run. The commands
run through this Python (``python -m treenets``) from an empty folder, with the repository root (or
``--before``) as ``PYTHONPATH``.

The last line printed is a JSON object with all numbers and the environment.

Run it from the repository root, as a module:
    python -m benchmarks.cli_startup
    python -m benchmarks.cli_startup --repeats 10 --before /tmp/old
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]


def cases(before: Optional[Path]) -> Dict[str, tuple]:
    """``{label: (argv, PYTHONPATH root)}``."""
    tn = [sys.executable, "-m", "treenets"]
    out = {
        "treenets --version": (tn + ["--version"], REPO),
        "treenets --help": (tn + ["--help"], REPO),
        "treenets predict --help": (tn + ["predict", "--help"], REPO),
        "treenets models": (tn + ["models"], REPO),
        "python -c pass": ([sys.executable, "-c", "pass"], REPO),
        "python -c 'import torch'": ([sys.executable, "-c", "import torch"], REPO),
    }
    if before is not None:
        out[f"treenets --version @{before}"] = (tn + ["--version"], before)
    return out


def measure(repeats: int, before: Optional[Path]) -> Dict[str, Dict[str, float]]:
    runs = cases(before)
    # from an empty folder: `python -m` imports from the working folder first, before PYTHONPATH
    cwd = tempfile.mkdtemp(prefix="cli_startup-")
    times: Dict[str, List[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (argv, root) in runs.items():
            env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
            start = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                           cwd=cwd)
            times[name].append(time.perf_counter() - start)
    return {name: {"median_s": round(statistics.median(ts), 4), "min_s": round(min(ts), 4),
                   "max_s": round(max(ts), 4)} for name, ts in times.items()}


def main(argv: Optional[List[str]] = None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="runs of each command line (default 10)")
    parser.add_argument("--before", type=Path, default=None,
                        help="a folder holding an older treenets package, timed with --version too")
    args = parser.parse_args(argv)
    import torch

    from .common import environment

    env = environment(torch.device("cpu"), 1, None, None)
    results = measure(args.repeats, args.before)
    for name, r in results.items():
        print(f"{name:40s} median {r['median_s']:.3f} s  (min {r['min_s']:.3f}, max {r['max_s']:.3f})")
    version = results["treenets --version"]["median_s"]
    ratios = {"import_torch_over_version": round(results["python -c 'import torch'"]["median_s"] / version, 2)}
    if args.before is not None:
        ratios["before_over_now"] = round(results[f"treenets --version @{args.before}"]["median_s"] / version, 2)
    print(" ".join(f"{k}={v}" for k, v in ratios.items()))
    if hasattr(os, "getloadavg"):
        env["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {"benchmark": "cli_startup", "repeats": args.repeats, "results": results, "ratios": ratios, **env}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
