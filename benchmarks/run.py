"""Speed of treenets against DGL's approach and a per-node PyTorch Tree-LSTM.

One command times, in one process on one machine, three implementations of
the same Tree-LSTM sharing the same weights:

* ``treenets``: :class:`treenets.TreeBatch` + the level-synchronous engine
  (``model.encoder(batch)``: embedding, then ``cell(batch, x)``), eager;
* ``fused``: the same with the fused engine (``engine="fused"``: the level loop as
  one autograd function with a hand-derived backward, :mod:`treenets.cells.fused`);
* ``compiled``: the same with the compiled level step (``engine="compiled"``,
  :mod:`treenets.cells.engine`), compiled in the untimed warm-up, whose time is
  reported as ``warmup_seconds``; skipped, saying why, where it cannot run;
* ``dgl``: DGL's own ``tree_lstm`` example recipe, ``dgl.batch`` of per-tree
  graphs + ``dgl.prop_nodes_topo`` with message/reduce/apply functions
  (:mod:`treenets.testing.dgl_reference`, run only where ``import dgl`` works);
* ``recursive``: one tree at a time, one node at a time
  (:func:`treenets.testing.reference.reference_forward`).

Workloads, over the Stanford Sentiment Treebank (fine-grained labels, a loss
on every node):

* ``train``: a training epoch (batch construction, forward, loss, backward,
  AdaGrad step) of the Constituency Tree-LSTM (``NaryTreeLSTM(300, 150,
  n_ary=2, leaf_input_only=True)``) and of the Child-Sum Tree-LSTM over the
  same trees, at batch sizes 25 and 256;
* ``infer``: a forward pass (``torch.no_grad``, eval mode) over the test set.

The model is the library's :class:`treenets.SentimentModel`
(:func:`benchmarks.common.bench_model`): a random, frozen 300-d embedding
table over the SST vocabulary (only the compute matters), the cell, and
``Linear(150, 5)`` on every node; the loss is the model's, the cross-entropy
summed over labelled nodes and divided by the number of trees in the batch
(``NodeClassifier.loss(..., reduction="tree")``).

What is timed, per epoch (``perf_counter``, CUDA synchronized at both ends):

* ``treenets``: ``model.batch(chunk)`` (``TreeBatch.from_trees`` with the
  vocabulary lookup of every token, and ``.to(device)``), embedding, cell,
  classifier, loss, backward, optimizer step;
* ``dgl``: ``dgl.batch(graphs)`` of per-tree graphs built once before timing
  (as DGL's ``SSTDataset`` does when it loads), ``.to(device)``, then the same;
* ``recursive``: per-tree id tensors built once before timing; for each tree
  of a batch, forward and backward (gradients accumulate), one optimizer step
  per batch. It runs on a size-matched subset of the trees (every k-th tree by
  size), since it is slow; it gives trees/s like the others.

Batch construction is inside the timed loop and also reported on its own
(``build_seconds``). Before timing, all three are checked to give the same
``h`` at every node, the same loss and the same gradients (float64, within
``--tol``, default 1e-5) on a few trees.

The last line printed is one JSON object (ratios are speedups: treenets
trees/s divided by the other's trees/s). The exit status is 1 when the
equivalence check fails.

Run it from the repository root, as a module::

    python -m benchmarks.run --quick                  # about 1-3 min on a 2-core CPU
    python -m benchmarks.run                          # full epochs, test set
    python -m benchmarks.run --device cuda --threads 4
"""
from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from benchmarks.common import (
    CELL_NAMES, IMPLS, CompiledRunner, DGLRunner, FusedRunner, RecursiveRunner, TreenetsRunner, bench_model, build_vocab,
    cpu_line, environment, finish, import_dgl, load_data, make_optimizer, ratio, run_epoch, set_threads, summarize, tree_graphs, tree_tensors,
)
from treenets import Tree, Vocab
from treenets.cells.engine import compile_unavailable_reason
from treenets.data import DATA_DIR_HELP
from treenets.structures.sampler import bucketed_batches


# ------------------------------------------------------------------ batching
def size_matched_subset(trees: Sequence[Tree], k: int, seed: int = 0) -> List[Tree]:
    """``k`` trees whose sizes follow ``trees``' distribution (evenly spaced by size), shuffled."""
    if k >= len(trees):
        return list(trees)
    by_size = sorted(trees, key=len)
    step = len(by_size) / k
    subset = [by_size[int((i + 0.5) * step)] for i in range(k)]
    random.Random(seed).shuffle(subset)
    return subset


def chunks(items: Sequence, size: int) -> List[list]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def batch_groups(trees: Sequence[Tree], size: int, bucket: bool = False, seed: int = 0) -> List[List[int]]:
    """Tree indices per batch: consecutive slices, or (``bucket``) batches of trees of similar
    height from :func:`treenets.structures.sampler.bucketed_batches`, in a seeded random order."""
    if not bucket:
        return chunks(list(range(len(trees))), size)
    return bucketed_batches([t.height for t in trees], size, torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- correctness
def _grads(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def check_equivalence(cell: str, trees: Sequence[Tree], vocab: Vocab, dgl=None, embed: int = 300,
                      hidden: int = 150, dtype=torch.float64, tol: float = 1e-5, seed: int = 0,
                      compiled: bool = False) -> Dict:
    """Run the implementations on the same weights; compare h (every node),
    loss and every gradient to the eager engine's. Uses the very runners that are timed."""
    torch.manual_seed(seed)
    model = bench_model(cell, vocab, embed, hidden).to(dtype)
    device = torch.device("cpu")
    runners = [TreenetsRunner(model, device), FusedRunner(model, device), RecursiveRunner(model, device)]
    inputs = {"treenets": list(trees), "compiled": list(trees), "fused": list(trees),
              "recursive": [tree_tensors(t, vocab, device) for t in trees]}
    if compiled:
        runners.append(CompiledRunner(model, device))
    if dgl is not None:
        runners.append(DGLRunner(model, device, dgl))
        inputs["dgl"] = tree_graphs(trees, vocab)
    out = {}
    for runner in runners:
        model.zero_grad(set_to_none=True)
        model.train()
        h, loss = runner.step(runner.prepare(inputs[runner.name]), train=True)
        if isinstance(h, list):
            h = torch.cat(h)
        out[runner.name] = (h.detach(), float(loss.detach()), _grads(model))
    h_ref, loss_ref, g_ref = out["treenets"]
    result = {"cell": cell, "trees": len(trees), "nodes": int(h_ref.shape[0]),
              "dtype": str(dtype).replace("torch.", ""), "tol": tol}
    ok = True
    for name in ("fused", "compiled", "dgl", "recursive"):
        if name not in out:
            result[name] = None
            continue
        h, loss, g = out[name]
        diffs = {"h": float((h - h_ref).abs().max()), "loss": abs(loss - loss_ref),
                 "grad": max(float((g[k] - g_ref[k]).abs().max()) for k in g_ref)}
        diffs = {k: float(f"{v:.3g}") for k, v in diffs.items()}
        passed = h.shape == h_ref.shape and all(v <= tol for v in diffs.values())
        ok = ok and passed
        result[name] = {"max_abs_diff": diffs, "passed": passed}
    result["passed"] = ok
    return result


# ---------------------------------------------------------------- benchmarks
def bench_config(workload: str, cell: str, batch_size: int, trees: Sequence[Tree], rec_trees: Sequence[Tree],
                 vocab: Vocab, device: torch.device, impls: Sequence[str], dgl=None, repeats: int = 1,
                 embed: int = 300, hidden: int = 150, seed: int = 0, log=print,
                 recursive_result: Optional[Dict] = None, bucket: bool = False) -> Dict:
    """Time ``impls`` on one (workload, cell, batch size). Each implementation
    gets its own copy of the same initial weights and its own optimizer; runs
    are interleaved (treenets, dgl, recursive, treenets, ...) so that a change
    in background load hits them alike. ``recursive_result`` reuses a
    measurement (the per-node baseline does not depend on the batch size).
    ``bucket`` gives treenets and DGL the same batches of trees of similar
    height instead of consecutive slices."""
    train = workload == "train"
    torch.manual_seed(seed)
    base = bench_model(cell, vocab, embed, hidden).to(device)
    setups = {}
    groups = batch_groups(trees, batch_size, bucket, seed)
    if "treenets" in impls:
        model = copy.deepcopy(base)
        setups["treenets"] = (TreenetsRunner(model, device), [[trees[i] for i in g] for g in groups], model)
    if "fused" in impls:
        model = copy.deepcopy(base)
        setups["fused"] = (FusedRunner(model, device), [[trees[i] for i in g] for g in groups], model)
    if "compiled" in impls and compile_unavailable_reason(device) is None:  # else a null column (torch 2.2)
        model = copy.deepcopy(base)
        setups["compiled"] = (CompiledRunner(model, device), [[trees[i] for i in g] for g in groups], model)
    if "dgl" in impls and dgl is not None:
        model = copy.deepcopy(base)
        graphs = tree_graphs(trees, vocab)
        setups["dgl"] = (DGLRunner(model, device, dgl), [[graphs[i] for i in g] for g in groups], model)
    if "recursive" in impls and recursive_result is None:
        model = copy.deepcopy(base)
        items = [tree_tensors(t, vocab, device) for t in rec_trees]
        setups["recursive"] = (RecursiveRunner(model, device), chunks(items, batch_size), model)
    runs: Dict[str, list] = {k: [] for k in setups}
    opts = {k: (make_optimizer(m) if train else None) for k, (_, _, m) in setups.items()}
    warmup = {}
    for name, (runner, batches, _) in setups.items():  # warm-up: one small batch each, untimed (compiles)
        warmup[name] = run_epoch(runner, [batches[0][:min(len(batches[0]), batch_size, 4)]], train,
                                 opts[name])["seconds"]
    for _ in range(repeats):
        for name, (runner, batches, _) in setups.items():
            runs[name].append(run_epoch(runner, batches, train, opts[name]))
    nodes = sum(len(t) for t in trees)
    rec_nodes = sum(len(t) for t in rec_trees)
    heights = [t.height for t in trees]
    res: Dict = {"workload": workload, "cell": cell, "batch_size": batch_size, "bucket_by_height": bucket,
                 "mean_nodes_per_tree": round(nodes / len(trees), 2),
                 # levels a batch takes: its tallest tree's height + 1
                 "mean_levels_per_batch": round(sum(max(heights[i] for i in g) + 1 for g in groups) / len(groups), 2)}
    for name in IMPLS:
        if name in runs:
            res[name] = summarize(runs[name], rec_nodes if name == "recursive" else nodes)
        elif name == "recursive" and recursive_result is not None and "recursive" in impls:
            res[name] = dict(recursive_result, reused=True)
        else:
            res[name] = None
    if res["recursive"] is not None:
        res["recursive"]["mean_nodes_per_tree"] = round(rec_nodes / len(rec_trees), 2)
    if res.get("compiled") is not None:
        res["compiled"]["warmup_seconds"] = round(warmup["compiled"], 2)  # includes compiling (or loading it)
    res["ratio_vs_dgl"] = ratio(res["treenets"], res["dgl"])
    res["ratio_vs_recursive"] = ratio(res["treenets"], res["recursive"])
    res["ratio_fused_vs_eager"] = ratio(res["fused"], res["treenets"])
    res["ratio_fused_vs_dgl"] = ratio(res["fused"], res["dgl"])
    res["ratio_compiled_vs_eager"] = ratio(res["compiled"], res["treenets"])
    res["ratio_compiled_vs_dgl"] = ratio(res["compiled"], res["dgl"])
    parts = []
    for name in IMPLS:
        r = res[name]
        parts.append(f"{name} {r['trees_per_s']:9.1f} trees/s (build {r['build_seconds']:.2f}s of {r['seconds']:.2f}s)"
                     if r else f"{name} {'n/a':>9}")
    log(f"{workload:5} {cell:8} bs={batch_size:<4} n={len(trees):<5} " + " | ".join(parts)
        + f" | a/b={res['ratio_vs_dgl']} a/c={res['ratio_vs_recursive']}"
        + f" fused/eager={res['ratio_fused_vs_eager']} fused/b={res['ratio_fused_vs_dgl']}"
        + f" compiled/eager={res['ratio_compiled_vs_eager']} compiled/b={res['ratio_compiled_vs_dgl']}")
    return res


def run_suite(train_trees: Sequence[Tree], test_trees: Sequence[Tree], vocab: Vocab, device: torch.device,
              cells: Sequence[str] = CELL_NAMES, batch_sizes: Sequence[int] = (25, 256),
              impls: Sequence[str] = IMPLS, dgl=None, recursive_trees: int = 100, repeats: int = 1,
              embed: int = 300, hidden: int = 150, check_trees: int = 8, tol: float = 1e-5,
              log=print, bucket: bool = False) -> Dict:
    """Checks, then every (workload, cell, batch size). Returns the checks, the
    per-config results and the headline ratios."""
    checks = []
    if check_trees:
        check_set = size_matched_subset(train_trees, check_trees, seed=3)
        for cell in cells:
            c = check_equivalence(cell, check_set, vocab, dgl if "dgl" in impls else None, embed, hidden, tol=tol,
                                  compiled="compiled" in impls and compile_unavailable_reason(device) is None)
            checks.append(c)
            log(f"check {cell:8} ({c['trees']} trees, {c['nodes']} nodes, {c['dtype']}): "
                + ", ".join(f"{k} {c[k]['max_abs_diff']}" if c[k] else f"{k} n/a"
                            for k in ("fused", "compiled", "dgl", "recursive"))
                + f" -> {'OK' if c['passed'] else 'FAILED'}")
    rec_train = size_matched_subset(train_trees, recursive_trees, seed=1)
    rec_test = size_matched_subset(test_trees, recursive_trees, seed=2)
    configs = []
    for workload, trees, rec in (("train", train_trees, rec_train), ("infer", test_trees, rec_test)):
        for cell in cells:
            reuse = None
            for bs in batch_sizes:
                res = bench_config(workload, cell, bs, trees, rec, vocab, device, impls, dgl, repeats,
                                   embed, hidden, log=log, recursive_result=reuse, bucket=bucket)
                if res["recursive"] is not None and reuse is None:
                    reuse = {k: v for k, v in res["recursive"].items() if k != "reused"}
                    reuse["measured_at_batch_size"] = bs
                configs.append(res)
    return {"checks": checks, "configs": configs}


def headline(configs: List[Dict], workload: str, key: str, cell: str, batch_size: int) -> Optional[float]:
    for c in configs:
        if c["workload"] == workload and c["cell"] == cell and c["batch_size"] == batch_size:
            return c[key]
    return None


# ----------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="subsets: --train-trees 1000 --test-trees 1000 --recursive-trees 50 --repeats 2 "
                        "(unless given); finishes in a few minutes on a CPU")
    p.add_argument("--data-dir", type=Path, default=None,
                   help=f"folder holding sst/{{train,test}}.txt (default: {DATA_DIR_HELP})")
    p.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="use N random binary trees instead of SST (for smoke tests)")
    p.add_argument("--device", default=None, help="cpu or cuda[:k] (default: cuda when available)")
    p.add_argument("--threads", type=int, default=1, help="torch (and DGL) intra-op threads (default 1)")
    p.add_argument("--cells", default=",".join(CELL_NAMES), help="comma list of nary, childsum")
    p.add_argument("--batch-sizes", default="25,256", help="comma list (default 25,256)")
    p.add_argument("--impls", default=",".join(IMPLS), help=f"comma list of {', '.join(IMPLS)} (treenets: the eager "
                                                            f"engine)")
    p.add_argument("--train-trees", type=int, default=None,
                   help="trees per training epoch (default: all 8,544; 1000 with --quick)")
    p.add_argument("--test-trees", type=int, default=None,
                   help="trees for inference (default: all 2,210; 1000 with --quick)")
    p.add_argument("--recursive-trees", type=int, default=None,
                   help="size-matched subset for the per-node baseline (default 150; 50 with --quick)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed epochs per implementation and config; the fastest counts (default 2, also with --quick)")
    p.add_argument("--check-trees", type=int, default=8, help="trees for the equivalence check (0: skip)")
    p.add_argument("--tol", type=float, default=1e-5, help="tolerance of the equivalence check (float64)")
    p.add_argument("--embed", type=int, default=300)
    p.add_argument("--hidden", type=int, default=150)
    p.add_argument("--seed", type=int, default=0, help="order of the training trees")
    p.add_argument("--bucket-by-height", action="store_true",
                   help="batch trees of similar height together (the same batches for treenets and DGL; "
                        "default: consecutive slices of the shuffled trees)")
    p.add_argument("--json-out", type=Path, default=None, help="also write the final JSON object here")
    args = p.parse_args(argv)
    quick = {"train_trees": 1000, "test_trees": 1000, "recursive_trees": 50, "repeats": 2}
    full = {"train_trees": None, "test_trees": None, "recursive_trees": 150, "repeats": 2}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.cells = [c for c in args.cells.split(",") if c]
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    args.impls = [i for i in args.impls.split(",") if i]
    if "compiled" in args.impls:
        reason = compile_unavailable_reason(torch.device(args.device or ("cuda" if torch.cuda.is_available()
                                                                          else "cpu")))
        if reason:  # torch 2.2 (the DGL venv), no compiler: the others still run
            print(f"# compiled engine skipped: {reason}", flush=True)
            args.impls = [i for i in args.impls if i != "compiled"]
    for impl in args.impls:
        if impl not in IMPLS:
            p.error(f"unknown implementation {impl!r}; choose from {IMPLS}")
    return args



def main(argv=None) -> Dict:
    args = parse_args(argv)
    t_start = time.perf_counter()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dgl, dgl_error = (None, "not requested") if "dgl" not in args.impls else import_dgl()
    set_threads(args.threads, dgl)
    env = environment(device, args.threads, dgl, dgl_error)
    if dgl is not None and device.type == "cuda":
        try:
            dgl.graph(([0], [1])).to(device)
        except Exception as err:  # a CPU-only DGL build
            dgl, env["dgl_error"] = None, f"DGL cannot use {device}: {err}"
    print(f"# treenets benchmark | commit {env['git_commit']}{' (treenets/ modified)' if env['treenets_modified'] else ''}"
          f" | torch {env['torch']} | dgl {env['dgl'] or 'n/a (' + str(env['dgl_error']) + ')'}"
          f" | device {env['device']} ({env['device_name']}) | threads {args.threads}"
          f" | cpus {env['cpu_count']} | load {env.get('loadavg_start')}", flush=True)
    print(f"# {cpu_line()}", flush=True)

    train, test, source = load_data(args.data_dir, args.synthetic)
    vocab = build_vocab(list(train) + list(test))
    rng = random.Random(args.seed)
    train = list(train)
    rng.shuffle(train)  # one fixed order, the same for every implementation
    train = train[:args.train_trees] if args.train_trees else train
    test = list(test)[:args.test_trees] if args.test_trees else list(test)
    mode = "QUICK: subsets of SST" if args.quick else "full"
    print(f"# data {source} ({mode}): train {len(train)} trees, test {len(test)} trees, "
          f"recursive subsets {min(args.recursive_trees, len(train))}/{min(args.recursive_trees, len(test))} "
          f"(size-matched), vocab {len(vocab)}, repeats {args.repeats} (fastest counts)"
          f"{', batches bucketed by tree height' if args.bucket_by_height else ''}", flush=True)

    suite = run_suite(train, test, vocab, device, args.cells, args.batch_sizes, args.impls, dgl,
                      args.recursive_trees, args.repeats, args.embed, args.hidden, args.check_trees, args.tol,
                      log=lambda msg: print(msg, flush=True), bucket=args.bucket_by_height)
    configs = suite["configs"]
    head_cell = "nary" if "nary" in args.cells else args.cells[0]
    head_train_bs = 25 if 25 in args.batch_sizes else args.batch_sizes[0]
    head_infer_bs = 256 if 256 in args.batch_sizes else args.batch_sizes[-1]
    result = {
        "benchmark": "treenets.benchmarks.run",
        "train_ratio_vs_dgl": headline(configs, "train", "ratio_vs_dgl", head_cell, head_train_bs),
        "train_ratio_vs_recursive": headline(configs, "train", "ratio_vs_recursive", head_cell, head_train_bs),
        "infer_ratio_vs_dgl": headline(configs, "infer", "ratio_vs_dgl", head_cell, head_infer_bs),
        "infer_ratio_vs_recursive": headline(configs, "infer", "ratio_vs_recursive", head_cell, head_infer_bs),
        "train_ratio_fused_vs_eager": headline(configs, "train", "ratio_fused_vs_eager", head_cell, head_train_bs),
        "train_ratio_fused_vs_dgl": headline(configs, "train", "ratio_fused_vs_dgl", head_cell, head_train_bs),
        "infer_ratio_fused_vs_eager": headline(configs, "infer", "ratio_fused_vs_eager", head_cell, head_infer_bs),
        "infer_ratio_fused_vs_dgl": headline(configs, "infer", "ratio_fused_vs_dgl", head_cell, head_infer_bs),
        "train_ratio_compiled_vs_eager": headline(configs, "train", "ratio_compiled_vs_eager", head_cell,
                                                  head_train_bs),
        "train_ratio_compiled_vs_dgl": headline(configs, "train", "ratio_compiled_vs_dgl", head_cell, head_train_bs),
        "infer_ratio_compiled_vs_eager": headline(configs, "infer", "ratio_compiled_vs_eager", head_cell,
                                                  head_infer_bs),
        "headline": {"cell": head_cell, "train_batch_size": head_train_bs, "infer_batch_size": head_infer_bs,
                     "ratio": "treenets trees/s divided by the other's trees/s (both include batch construction)"},
        "checks_passed": all(c["passed"] for c in suite["checks"]) if suite["checks"] else None,
        "quick": args.quick,
        "data": {"source": source, "train_trees": len(train), "test_trees": len(test),
                 "recursive_trees": args.recursive_trees, "vocab": len(vocab), "embed": args.embed,
                 "hidden": args.hidden, "embedding": "random, frozen", "repeats": args.repeats,
                 "bucket_by_height": args.bucket_by_height},
        **env,
        "checks": suite["checks"],
        "configs": configs,
    }
    return finish(result, args.json_out, t_start)



if __name__ == "__main__":
    sys.exit(1 if main()["checks_passed"] is False else 0)
