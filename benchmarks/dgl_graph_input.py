"""Forward time of a cell given a DGL graph, against the same cell given a TreeBatch.

Three ways to run one forward pass over the same trees, timed side by side
(interleaved, median of ``--repeats``), in one process:

* ``tree_batch``: ``cell(batch, x)``, the batch built once beforehand;
* ``dgl_cached``: ``cell(g, x)``, the DGL graph converted once and reused
  (what cells do now: the conversion is cached while the graph is unchanged);
* ``dgl_uncached``: ``cell(TreeBatch.from_dgl(g), x)``, a conversion on every
  forward (what cells did before the cache).

Random binary trees of 5 to 40 words (SST-like), the Constituency Tree-LSTM
(N-ary, N=2, words at the leaves), float32, no gradient. Needs DGL.

    python -m benchmarks.dgl_graph_input --batch 25 256 --threads 1
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import torch

from treenets import NaryTreeLSTM, Tree, TreeBatch


def random_binary_tree(n_words: int, rng: random.Random) -> Tree:
    """A random binary bracketing of ``n_words`` words."""
    nodes = [f"(2 w{k})" for k in range(n_words)]
    while len(nodes) > 1:
        k = rng.randrange(len(nodes) - 1)
        nodes[k:k + 2] = [f"(2 {nodes[k]} {nodes[k + 1]})"]
    return Tree.from_brackets(nodes[0])


def time_once(fn, device: str) -> float:
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def measure(batch_size: int, repeats: int, in_size: int = 300, hidden: int = 150, seed: int = 0,
            device: str = "cpu") -> dict:
    import dgl

    rng = random.Random(seed)
    trees = [random_binary_tree(rng.randint(5, 40), rng) for _ in range(batch_size)]
    batch = TreeBatch.from_trees(trees).to(device)
    g = dgl.batch([TreeBatch.from_trees([t]).to_dgl() for t in trees]).to(device)
    torch.manual_seed(seed)
    cell = NaryTreeLSTM(in_size, hidden, n_ary=2, leaf_input_only=True).to(device).eval()
    x = torch.randn(batch.num_nodes, in_size, device=device)
    runs = {
        "tree_batch": lambda: cell(batch, x),
        "dgl_cached": lambda: cell(g, x),
        "dgl_uncached": lambda: cell(TreeBatch.from_dgl(g), x),
    }
    with torch.no_grad():
        reference = runs["tree_batch"]()[0]
        for name, run in runs.items():  # the same states every way (and a warm-up)
            assert torch.equal(run()[0], reference), name
        times = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                times[name].append(time_once(run, device))
    median_ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    return {
        "batch": batch_size, "nodes": batch.num_nodes, "repeats": repeats,
        "median_ms": {k: round(v, 3) for k, v in median_ms.items()},
        "cached_vs_tree_batch": round(median_ms["dgl_cached"] / median_ms["tree_batch"], 3),
        "uncached_vs_tree_batch": round(median_ms["dgl_uncached"] / median_ms["tree_batch"], 3),
    }


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[25, 256])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = [measure(b, args.repeats, device=args.device) for b in args.batch]
    for res in results:
        print(json.dumps(res))
    return results


if __name__ == "__main__":
    main()
