"""Read the SST dev trees, encode them with every cell, and print what came out.

    python -m treenets.cli.demo [--data-dir DIR]

The data folder is ``--data-dir``, else ``$TREENETS_DATA_DIR``, else
``~/.cache/treenets/data`` (where ``python -m treenets.data`` puts SST).

The cells are freshly initialised (seeded), not trained: the demo shows the
pipeline (trees -> batch -> cell -> a state per node), not predictions. Train
with ``examples/train_sst.py`` for a model that means something.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ..cells import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, SequentialLSTM
from ..nn import TreeEncoder, Vocab
from ..structures import TreeBatch
from ..data import DATA_DIR_HELP, default_data_dir, load_sst


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"folder holding sst/dev.txt (default: {DATA_DIR_HELP})")
    parser.add_argument("--limit", type=int, default=None, help="encode only the first N trees")
    parser.add_argument("--hidden", type=int, default=150)
    parser.add_argument("--embed", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    data_dir = args.data_dir or default_data_dir()
    trees = load_sst(data_dir / "sst", "dev")
    if args.limit is not None:
        trees = trees[:args.limit]
    vocab = Vocab.build(t.words for t in trees)
    print(f"read {len(trees)} SST dev trees from {data_dir / 'sst' / 'dev.txt'}: "
          f"{sum(len(t) for t in trees)} nodes, {len(vocab)} word types, "
          f"height up to {max(t.height for t in trees)}")
    print("first tree:", trees[0])

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    embedding = torch.nn.Embedding(len(vocab), args.embed)
    cells = {
        "childsum": ChildSumTreeLSTM(args.embed, args.hidden),
        "nary": NaryTreeLSTM(args.embed, args.hidden, n_ary=2, leaf_input_only=True),
        "slstm": SLSTM(args.embed, args.hidden),
        "sequential": SequentialLSTM(args.embed, args.hidden),
    }
    summary = {}
    for name, cell in cells.items():
        encoder = TreeEncoder(embedding, cell).to(device).eval()
        source = SequentialLSTM.chains(trees) if name == "sequential" else trees
        roots, n_nodes = [], 0
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(source), args.batch_size):
                batch = TreeBatch.from_trees(source[i:i + args.batch_size], vocab).to(device)
                h, _ = encoder(batch)
                roots.append(h[batch.roots].cpu())
                n_nodes += batch.num_nodes
        seconds = time.perf_counter() - start
        roots = torch.cat(roots)
        summary[name] = {"trees": len(source), "nodes": n_nodes, "root_states": list(roots.shape),
                         "root_norm_mean": round(float(roots.norm(dim=1).mean()), 4), "seconds": round(seconds, 3)}
        print(f"{name:>10}: {len(source)} trees, {n_nodes} nodes -> root states {tuple(roots.shape)}, "
              f"mean |h_root| {roots.norm(dim=1).mean():.4f}, {seconds:.2f}s on {device}; "
              f"tree 0 h_root[:4] = {[round(v, 4) for v in roots[0, :4].tolist()]}")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
