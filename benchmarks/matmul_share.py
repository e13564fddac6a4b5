#!/usr/bin/env python
"""How much of a treenets training step is matrix multiplication, and at what FLOP rate.

Profiles training epochs of the Constituency Tree-LSTM (``NaryTreeLSTM(300,
150, leaf_input_only=True)`` plus a ``Linear(150, 5)`` on every node, frozen
random embeddings, AdaGrad: the model of ``run.py``,
:func:`benchmarks.common.bench_model`) with ``torch.profiler``. It
counts the FLOPs of every matrix product the step must do:

* U at every node with children: forward, and in backward the children's
  gradient and U's weight gradient (3 products of ``2 * 2H * 5H`` per node);
* the leaves' input projection (3H gates) and its weight gradient (the
  embeddings are frozen, so no input gradient);
* the classifier at every node (forward and two backward products);

and divides them by the profiled time of ``aten::mm`` and ``aten::addmm``. It
also times one large and one level-sized product alone, for the core's rate.
If the step's products already run at that rate, only the rest of the step
(the share printed) can still be made faster, and any other implementation
doing the same products (DGL, the per-node port) spends at least that time.

    python -m benchmarks.matmul_share --threads 1
    python -m benchmarks.matmul_share --synthetic 200   # no data needed

(from the repository root).

The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from benchmarks.common import bench_model, build_vocab, cpu_info, git_state, load_data, make_optimizer, set_threads
from treenets.data import DATA_DIR_HELP

MATMUL_OPS = ("aten::mm", "aten::addmm")


def step_flops(batches, embed: int, hidden: int, n_classes: int = 5) -> int:
    """Multiply-add FLOPs (2 per multiply-add) of one training epoch's matrix products."""
    n_inner = sum(int(b.internal_order.numel()) for b in batches)
    n_leaf = sum(int(b.leaf_order.numel()) for b in batches)
    H = hidden
    return (3 * 2 * n_inner * (2 * H) * (5 * H)          # U: forward, dX, dU
            + 2 * 2 * n_leaf * embed * (3 * H)           # leaf W: forward, dW
            + 3 * 2 * (n_inner + n_leaf) * H * n_classes)  # classifier


def matmul_rate(rows: int, inner: int, out: int, seconds: float = 0.3) -> float:
    """GFLOP/s of ``[rows, inner] x [inner, out]`` products repeated for about ``seconds``."""
    a, w = torch.randn(rows, inner), torch.randn(out, inner)
    for _ in range(3):
        a @ w.t()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ w.t()
        n += 1
    return 2 * rows * inner * out * n / (time.perf_counter() - start) / 1e9


def profile_epoch(trees, vocab, batch_size: int, embed: int, hidden: int) -> dict:
    torch.manual_seed(0)
    model = bench_model("nary", vocab, embed, hidden)
    opt = make_optimizer(model)
    # built before profiling: only the step is profiled
    batches = [model.batch(trees[i:i + batch_size]) for i in range(0, len(trees), batch_size)]

    def epoch():
        for b in batches:
            loss = model.loss(b)
            opt.zero_grad()
            loss.backward()
            opt.step()

    epoch()  # warm-up
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        epoch()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) / 1e6
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS) / 1e6
    flops = step_flops(batches, embed, hidden)
    return {"batch_size": batch_size, "batches": len(batches), "profiled_seconds": round(total, 4),
            "matmul_seconds": round(matmul, 4), "matmul_share": round(matmul / total, 3),
            "flop": flops, "gflop": round(flops / 1e9, 3), "matmul_gflop_per_s": round(flops / matmul / 1e9, 1),
            "max_speedup_without_other_work": round(total / matmul, 2)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=None,
                   help=f"folder with sst/train.txt (default: {DATA_DIR_HELP})")
    p.add_argument("--synthetic", type=int, default=0, metavar="N", help="N random binary trees instead of SST")
    p.add_argument("--trees", type=int, default=1000, help="training trees per epoch")
    p.add_argument("--batch-sizes", default="25,256")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--embed", type=int, default=300)
    p.add_argument("--hidden", type=int, default=150)
    args = p.parse_args(argv)
    set_threads(args.threads)
    train, _, source = load_data(args.data_dir, args.synthetic)
    train = list(train)
    random.Random(0).shuffle(train)
    train = train[:args.trees]
    vocab = build_vocab(train)
    rows = []
    for bs in [int(b) for b in args.batch_sizes.split(",") if b]:
        r = profile_epoch(train, vocab, bs, args.embed, args.hidden)
        rows.append(r)
        print(f"batch {bs:4}: {r['gflop']} GFLOP of products in {r['matmul_seconds']:.3f} s of "
              f"{r['profiled_seconds']:.3f} s ({100 * r['matmul_share']:.0f}%): {r['matmul_gflop_per_s']} GFLOP/s",
              flush=True)
    H = args.hidden
    alone = {"large_8192x300x750": round(matmul_rate(8192, 2 * H, 5 * H), 1),
             "level_24x300x750": round(matmul_rate(24, 2 * H, 5 * H), 1)}
    print(f"products alone: [8192, {2 * H}] x [{2 * H}, {5 * H}] {alone['large_8192x300x750']} GFLOP/s, "
          f"[24, {2 * H}] x [{2 * H}, {5 * H}] {alone['level_24x300x750']} GFLOP/s", flush=True)
    result = {"benchmark": "treenets.benchmarks.matmul_share", "data": source, "trees": len(train),
              "threads": args.threads, "torch": torch.__version__, "configs": rows, "matmul_alone_gflop_per_s": alone,
              **cpu_info(), "git_commit": git_state().get("git_commit")}
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
