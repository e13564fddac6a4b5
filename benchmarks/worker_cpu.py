"""How busy ``treenets predict|encode --input F --workers N`` keeps its parser workers: CPU seconds per worker.

Runs the command line in a subprocess (cache off, no progress bar), polls
``/proc`` every 0.2 s for its child processes (the parser workers) and records
each one's CPU time (user + system) until it ends; prints one line per worker
and a JSON object last. ``--pythonpath`` runs another checkout's code, so two
versions can be compared side by side in one run (Linux only: it reads
``/proc``).

The input is the first ``--n`` distinct ``sentence_A`` texts of SICK's test
file, one per line.

Run it from the repository root, as a module:
    python -m benchmarks.worker_cpu --n 500 --workers 2 --command predict
    python -m benchmarks.worker_cpu --n 500 --workers 2 --pythonpath /path/to/other/checkout
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
from typing import Dict, List

from treenets.data import DATA_DIR_HELP, default_data_dir

TICK = os.sysconf("SC_CLK_TCK")


def sick_lines(data_dir: Path, n: int) -> List[str]:
    seen: Dict[str, None] = {}
    with open(data_dir / "sick" / "SICK_test_annotated.txt", encoding="utf-8") as f:
        next(f)  # the header
        for row in f:
            seen.setdefault(row.split("\t")[1].strip(), None)
            if len(seen) == n:
                break
    return list(seen)


def children(pid: int) -> List[int]:
    out: List[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def measure(argv: List[str], env: Dict[str, str], cwd: str) -> Dict:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    cpu: Dict[int, float] = {}
    while proc.poll() is None:
        for pid in children(proc.pid):
            try:  # the workers run `multiprocessing.spawn`'s main; the resource tracker is no worker
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    cpu[pid] = cpu_seconds(pid)
            except OSError:
                pass
        time.sleep(0.2)
    err = proc.stderr.read()
    wall = time.perf_counter() - start
    return {"exit": proc.returncode, "wall_s": round(wall, 1),
            "worker_cpu_s": sorted((round(s, 1) for s in cpu.values()), reverse=True),
            "stderr_tail": err.strip().splitlines()[-1:] if err.strip() else []}


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500, help="input lines")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--command", choices=["predict", "encode"], default="predict")
    parser.add_argument("--pythonpath", action="append", default=None,
                        help="checkouts to run (repeatable; default: this one)")
    parser.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    args = parser.parse_args(argv)
    lines = sick_lines(args.data_dir or default_data_dir(), args.n)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for checkout in args.pythonpath or [str(Path(__file__).resolve().parents[1])]:
            env = {**os.environ, "PYTHONPATH": checkout}
            cmd = [sys.executable, "-m", "treenets", args.command, "--input", str(path), "--workers",
                   str(args.workers), "--no-cache", "--quiet"] + (["--format", "json"] if args.command == "predict"
                                                                   else [])
            result = measure(cmd, env, checkout)  # `-m` imports from the working folder first
            results[checkout] = result
            print(f"{checkout}: exit {result['exit']}, {result['wall_s']} s wall, worker CPU seconds "
                  f"{result['worker_cpu_s']}", flush=True)
    out = {"n": len(lines), "workers": args.workers, "command": args.command, "results": results}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
