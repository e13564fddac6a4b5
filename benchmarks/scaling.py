"""How time and memory per tree grow with tree size and with batch size.

Two sweeps, each a training step (batch construction, forward, per-node loss,
backward, AdaGrad step) of the benchmark model of ``run.py``
(:func:`benchmarks.common.bench_model`: a :class:`treenets.SentimentModel`
with a frozen random 300-d embedding, a tree cell with hidden size 150,
``Linear(150, 5)``), for
treenets, DGL's ``prop_nodes_topo`` approach (where DGL imports) and the
per-node recursive baseline:

* **tree size**: one tree per batch, chains (depth = size) and balanced
  binary trees (depth = log2 size) of 16 .. 4,096 nodes (balanced: 15 ..
  4,095). An implementation stops growing a shape once one step takes longer
  than ``--budget`` seconds (reported as ``null`` with a reason).
* **batch size**: SST training trees (random trees with ``--synthetic``),
  batches of 1 .. 1,024 trees; time and memory per tree.

Memory: the bytes of all tensors that autograd saves for backward during the
forward pass, counted once per storage (``torch.autograd.graph.saved_tensors_hooks``),
parameters excluded. This is the activation memory that training must hold,
and it is comparable across implementations on any device. DGL's autograd
functions save their feature tensors with ``save_for_backward`` too, so they
are counted; graph structures they keep on ``ctx`` are not. On CUDA the peak
of ``torch.cuda.max_memory_allocated`` during the step (minus what was
allocated before it) is reported as well. CPU RSS is not used: it only
grows, and is shared with the allocator's caches.

The last line printed is one JSON object.

Run it from the repository root, as a module::

    python -m benchmarks.scaling --quick
    python -m benchmarks.scaling --cell childsum --device cuda
"""
from __future__ import annotations

import argparse
import copy
import random
import statistics
import time
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from benchmarks.common import (
    IMPLS, N_CLASSES, CompiledRunner, DGLRunner, RecursiveRunner, TreenetsRunner, bench_model, build_vocab, environment, finish,
    import_dgl, load_data, make_optimizer, run_epoch, set_threads, sync, tree_graphs, tree_tensors,
)
from treenets import SentimentModel, Tree
from treenets.cells.engine import compile_unavailable_reason
from treenets.data import DATA_DIR_HELP


# ---------------------------------------------------------------------- trees
def chain_tree(n: int, seed: int = 0) -> Tree:
    """``n`` nodes, each the only child of the next; a word at every node."""
    rng = random.Random(seed)
    return Tree.chain([f"w{rng.randrange(500)}" for _ in range(n)],
                      [rng.randrange(N_CLASSES) for _ in range(n)])


def balanced_tree(depth: int, seed: int = 0) -> Tree:
    """A complete binary tree of ``2**depth - 1`` nodes (heap numbering: the
    children of ``k`` are ``2k+1``, ``2k+2``); words at the leaves."""
    rng = random.Random(seed)
    n = 2 ** depth - 1
    parents = [-1] + [(k - 1) // 2 for k in range(1, n)]
    first_leaf = 2 ** (depth - 1) - 1
    tokens = [None] * first_leaf + [f"w{rng.randrange(500)}" for _ in range(n - first_leaf)]
    return Tree(parents, tokens, [rng.randrange(N_CLASSES) for _ in range(n)])


# --------------------------------------------------------------------- memory
def saved_tensor_bytes(fn, exclude: Sequence[torch.Tensor] = ()) -> int:
    """Run ``fn()`` and return the bytes of the distinct storages autograd saved
    for backward while it ran, ignoring the storages of ``exclude`` (parameters)."""
    skip = {p.untyped_storage().data_ptr() for p in exclude}
    seen: Dict[int, int] = {}

    def pack(t):
        st = t.untyped_storage()
        ptr = st.data_ptr()
        if ptr and ptr not in skip:
            seen[ptr] = max(seen.get(ptr, 0), st.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def measure(runner, items, opt, device, min_time: float, max_reps: int) -> Dict:
    """Median seconds of a training step on ``items`` (one batch), plus memory."""
    model = runner.model
    run_epoch(runner, [items], True, opt)  # warm-up
    times: List[float] = []
    total = 0.0
    while len(times) < max_reps and (total < min_time or not times):
        t = run_epoch(runner, [items], True, opt)["seconds"]
        times.append(t)
        total += t
    model.train()

    def forward():
        with torch.enable_grad():
            runner.step(runner.prepare(items), train=False)  # forward only: nothing freed by backward yet

    # train=False in step skips loss/backward but autograd still records (grad enabled)
    saved = saved_tensor_bytes(forward, exclude=list(model.parameters()))
    out = {"seconds": round(statistics.median(times), 5), "reps": len(times), "saved_mb": round(saved / 2**20, 3)}
    if device.type == "cuda":
        sync(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        run_epoch(runner, [items], True, opt)
        out["cuda_peak_mb"] = round((torch.cuda.max_memory_allocated(device) - base) / 2**20, 3)
    model.zero_grad(set_to_none=True)
    return out


def make_runner(name: str, base: SentimentModel, device, dgl):
    model = copy.deepcopy(base)
    if name == "treenets":
        return TreenetsRunner(model, device), make_optimizer(model)
    if name == "compiled":
        return CompiledRunner(model, device), make_optimizer(model)
    if name == "dgl":
        return DGLRunner(model, device, dgl), make_optimizer(model)
    return RecursiveRunner(model, device), make_optimizer(model)


def items_for(name: str, trees: Sequence[Tree], vocab, device):
    if name in ("treenets", "compiled"):
        return list(trees)
    if name == "dgl":
        return tree_graphs(trees, vocab)
    return [tree_tensors(t, vocab, device) for t in trees]


# --------------------------------------------------------------------- sweeps
def size_sweep(cell: str, impls: Sequence[str], device, dgl, max_nodes: int = 4096, budget: float = 20.0,
               min_time: float = 0.3, max_reps: int = 5, embed: int = 300, hidden: int = 150, log=print) -> List[Dict]:
    shapes = {
        "chain": [(n, chain_tree(n)) for n in (16, 64, 256, 1024, 4096) if n <= max_nodes],
        "balanced": [(2 ** d - 1, balanced_tree(d)) for d in (4, 6, 8, 10, 12) if 2 ** d - 1 <= max_nodes],
    }
    all_trees = [t for sizes in shapes.values() for _, t in sizes]
    vocab = build_vocab(all_trees)
    torch.manual_seed(0)
    base = bench_model(cell, vocab, embed, hidden).to(device)
    compiled_ok = compile_unavailable_reason(device) is None  # torch 2.2 (the DGL venv), no compiler: a null column
    rows = []
    for shape, sizes in shapes.items():
        stopped: Dict[str, str] = {}
        for n, tree in sizes:
            row: Dict = {"shape": shape, "nodes": n, "depth": tree.height + 1}
            for name in impls:
                if (name == "dgl" and dgl is None) or (name == "compiled" and not compiled_ok):
                    row[name] = None
                    continue
                if name in stopped:
                    row[name] = {"skipped": stopped[name]}
                    continue
                runner, opt = make_runner(name, base, device, dgl)
                res = measure(runner, items_for(name, [tree], vocab, device), opt, device, min_time, max_reps)
                res["ms_per_tree"] = round(res["seconds"] * 1e3, 3)
                res["us_per_node"] = round(res["seconds"] * 1e6 / n, 2)
                row[name] = res
                if res["seconds"] > budget:
                    stopped[name] = f"a {n}-node {shape} took {res['seconds']:.1f}s > budget {budget}s"
            rows.append(row)
            log(f"size  {shape:8} n={n:<5} depth={row['depth']:<5} " + " | ".join(
                f"{k} " + (f"{row[k]['ms_per_tree']:9.2f} ms/tree {row[k]['saved_mb']:8.2f} MB saved"
                           if row[k] and "ms_per_tree" in row[k] else ("skipped" if row[k] else "n/a"))
                for k in impls))
    return rows


def batch_sweep(cell: str, trees: Sequence[Tree], vocab, impls: Sequence[str], device, dgl,
                batch_sizes: Sequence[int] = (1, 4, 16, 64, 256, 1024), recursive_max: int = 16,
                min_time: float = 0.3, max_reps: int = 5, embed: int = 300, hidden: int = 150,
                log=print) -> List[Dict]:
    torch.manual_seed(0)
    base = bench_model(cell, vocab, embed, hidden).to(device)
    compiled_ok = compile_unavailable_reason(device) is None
    rows = []
    for bs in batch_sizes:
        if bs > len(trees):
            break
        batch = list(trees[:bs])
        row: Dict = {"batch_size": bs, "nodes": sum(len(t) for t in batch),
                     "max_depth": max(t.height for t in batch) + 1}
        for name in impls:
            if ((name == "dgl" and dgl is None) or (name == "recursive" and bs > recursive_max)
                    or (name == "compiled" and not compiled_ok)):
                row[name] = None
                continue
            runner, opt = make_runner(name, base, device, dgl)
            res = measure(runner, items_for(name, batch, vocab, device), opt, device, min_time, max_reps)
            res["ms_per_tree"] = round(res["seconds"] * 1e3 / bs, 3)
            res["saved_kb_per_tree"] = round(res["saved_mb"] * 1024 / bs, 1)
            row[name] = res
        rows.append(row)
        log(f"batch bs={bs:<5} nodes={row['nodes']:<6} levels={row['max_depth']:<3} " + " | ".join(
            f"{k} " + (f"{row[k]['ms_per_tree']:8.3f} ms/tree {row[k]['saved_kb_per_tree']:8.1f} KB/tree"
                       if row[k] else "n/a") for k in impls))
    return rows


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="batch sizes up to 256, --budget 3, --min-time 0.1")
    p.add_argument("--cell", default="nary", choices=["nary", "childsum"])
    p.add_argument("--impls", default="treenets,dgl,recursive", help=f"comma list of {', '.join(IMPLS)}")
    p.add_argument("--device", default=None, help="cpu or cuda[:k] (default: cuda when available)")
    p.add_argument("--threads", type=int, default=1, help="torch (and DGL) intra-op threads (default 1)")
    p.add_argument("--max-nodes", type=int, default=4096)
    p.add_argument("--budget", type=float, default=None,
                   help="seconds: an implementation stops growing a shape after a step this slow (default 20; 3 quick)")
    p.add_argument("--min-time", type=float, default=None, help="time each point for at least this long (default 0.5)")
    p.add_argument("--batch-sizes", default=None, help="default 1,4,16,64,256,1024 (quick: up to 256)")
    p.add_argument("--recursive-max-batch", type=int, default=16, help="largest batch for the per-node baseline")
    p.add_argument("--data-dir", type=Path, default=None,
                   help=f"folder holding sst/train.txt (default: {DATA_DIR_HELP})")
    p.add_argument("--synthetic", type=int, default=0, metavar="N", help="random trees instead of SST")
    p.add_argument("--skip-size", action="store_true")
    p.add_argument("--skip-batch", action="store_true")
    p.add_argument("--json-out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.budget is None:
        args.budget = 3.0 if args.quick else 20.0
    if args.min_time is None:
        args.min_time = 0.1 if args.quick else 0.5
    if args.batch_sizes is None:
        args.batch_sizes = "1,4,16,64,256" if args.quick else "1,4,16,64,256,1024"
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    args.impls = [i for i in args.impls.split(",") if i]
    return args


def main(argv=None) -> Dict:
    args = parse_args(argv)
    t0 = time.perf_counter()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dgl, dgl_error = (None, "not requested") if "dgl" not in args.impls else import_dgl()
    set_threads(args.threads, dgl)
    env = environment(device, args.threads, dgl, dgl_error)
    print(f"# treenets scaling | commit {env['git_commit']} | cell {args.cell} | torch {env['torch']} | dgl {env['dgl']} | device {device} "
          f"| threads {args.threads} | load {env.get('loadavg_start')}", flush=True)
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    result: Dict = {"benchmark": "treenets.benchmarks.scaling", "cell": args.cell, "quick": args.quick,
                    "memory": "MB of distinct storages saved for backward during the forward pass, parameters "
                              "excluded (saved_tensors_hooks); cuda_peak_mb on CUDA",
                    "time": "median seconds of a training step (batch construction, forward, loss, "
                            "backward, AdaGrad step)", **env}
    if not args.skip_size:
        result["size_sweep"] = size_sweep(args.cell, args.impls, device, dgl, args.max_nodes, args.budget,
                                          args.min_time, log=log)
    if not args.skip_batch:
        train, _, source = load_data(args.data_dir, args.synthetic)
        train = list(train)
        random.Random(0).shuffle(train)
        vocab = build_vocab(train)
        result["batch_source"] = source
        result["batch_sweep"] = batch_sweep(args.cell, train, vocab, args.impls, device, dgl, args.batch_sizes,
                                            args.recursive_max_batch, args.min_time, log=log)
    return finish(result, args.json_out, t0)


if __name__ == "__main__":
    main()
