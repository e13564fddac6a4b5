#!/usr/bin/env python
"""Train a Tree-LSTM sentiment classifier on the Stanford Sentiment Treebank.

The default is the paper's Constituency Tree-LSTM (Tai et al. 2015): a binary
N-ary Tree-LSTM with words at the leaves, hidden 150, AdaGrad lr 0.05, batch 25,
L2 1e-4, dropout 0.5 before the softmax, the loss summed over every labelled
node (divided by the number of trees), word vectors tuned by SGD with lr 0.1,
and the checkpoint with the best dev root accuracy kept.

    python examples/train_sst.py --data-dir ../shared/data --mode fine --seed 1
    python examples/train_sst.py --mode binary --cell childsum

The last line printed is one JSON object with the test metrics.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from treenets import TreeBatch, Vocab
from treenets.data import default_data_dir, glove_forms, load_sst
from treenets.embeddings import build_embedding_matrix
from treenets.models import SentimentModel, load_checkpoint, save_checkpoint
from treenets.training import evaluate_sentiment, minibatches, progress, seed_everything


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with sst/ and embeddings/ (default: $TREENETS_DATA_DIR)")
    p.add_argument("--embeddings", type=Path, default=None,
                   help="GloVe/word2vec text file (default: DATA_DIR/embeddings/glove.6B.50d.100k.txt)")
    p.add_argument("--lowercase", choices=["auto", "yes", "no"], default="auto",
                   help="lowercase words before lookup; auto = yes for uncased GloVe (6B)")
    p.add_argument("--mode", choices=["fine", "binary"], default="fine")
    p.add_argument("--cell", choices=["nary", "childsum", "slstm"], default="nary")
    p.add_argument("--hidden", type=int, default=150)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=25)
    p.add_argument("--lr", type=float, default=0.05, help="AdaGrad learning rate of the model")
    p.add_argument("--emb-lr", type=float, default=0.1, help="SGD learning rate of the word vectors (0 freezes them)")
    p.add_argument("--l2", type=float, default=1e-4)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for torch (0: torch's default); 1 is fastest when several runs share the CPU")
    p.add_argument("--limit", type=int, default=None, help="use only the first N trees of each split (smoke tests)")
    p.add_argument("--out", type=Path, default=Path("runs/sst"), help="where checkpoints and metrics go")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> dict:
    args = parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    emb_path = args.embeddings or data_dir / "embeddings" / "glove.6B.50d.100k.txt"
    lower = args.lowercase == "yes" or (args.lowercase == "auto" and "6B" in emb_path.name)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    generator = seed_everything(args.seed)

    splits = {s: load_sst(data_dir / "sst", s, mode=args.mode) for s in ("train", "dev", "test")}
    if args.limit:
        splits = {s: trees[:args.limit] for s, trees in splits.items()}
    log(" ".join(f"{s}: {len(t)} trees" for s, t in splits.items()) + f" ({args.mode})")

    # The vocabulary covers every split, as in the paper's code; unseen words
    # keep their random U(-0.05, 0.05) vectors.
    vocab = Vocab.build((t.words for trees in splits.values() for t in trees), lower=lower)
    vectors, coverage = build_embedding_matrix(vocab, emb_path, candidates=glove_forms, seed=args.seed,
                                               specials=[vocab.unk])
    log(f"embeddings {emb_path.name}: {coverage.found_types}/{coverage.num_types} word types covered "
        f"({100 * coverage.type_coverage:.1f}%)")

    n_classes = 5 if args.mode == "fine" else 2
    model = SentimentModel(len(vocab), vectors.shape[1], args.hidden, n_classes, cell=args.cell,
                           cell_options={"leaf_input_only": True}, dropout=args.dropout,
                           freeze_embeddings=args.emb_lr == 0)
    model.load_embeddings(vectors)
    model.to(device)
    optimizer = torch.optim.Adagrad(model.model_parameters(), lr=args.lr, weight_decay=args.l2)
    emb_optimizer = (torch.optim.SGD([model.encoder.embedding.weight], lr=args.emb_lr)
                     if args.emb_lr > 0 else None)

    args.out.mkdir(parents=True, exist_ok=True)
    best_path = args.out / "best.pt"
    best = {"dev_root_acc": -1.0, "epoch": 0}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        total_loss, n_trees = 0.0, 0
        batches = minibatches(splits["train"], args.batch_size, generator)
        n_batches = -(-len(splits["train"]) // args.batch_size)
        for chunk in progress(batches, n_batches, f"epoch {epoch}", not args.no_progress):
            batch = TreeBatch.from_trees(chunk, vocab).to(device)
            logits = model(batch)
            # the paper's objective: NLL summed over a tree's nodes, averaged over trees
            loss = model.classifier.loss(logits, batch.labels, reduction="sum") / batch.num_trees
            optimizer.zero_grad()
            if emb_optimizer is not None:
                emb_optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if emb_optimizer is not None:
                emb_optimizer.step()
            total_loss += loss.item() * batch.num_trees
            n_trees += batch.num_trees
        dev = evaluate_sentiment(model, splits["dev"], vocab, device)
        log(f"epoch {epoch}: train loss {total_loss / n_trees:.4f}, dev root {dev['root_acc']:.2f} "
            f"node {dev['node_acc']:.2f} ({time.perf_counter() - start:.0f}s)")
        if dev["root_acc"] > best["dev_root_acc"]:
            best = {"dev_root_acc": dev["root_acc"], "epoch": epoch}
            save_checkpoint(best_path, model, vocab, mode=args.mode, epoch=epoch, dev=dev, args=vars(args) | {
                "data_dir": str(data_dir), "embeddings": str(emb_path), "out": str(args.out)})
    train_seconds = time.perf_counter() - start

    model, vocab, _ = load_checkpoint(best_path, map_location=device)
    model.to(device)
    test = evaluate_sentiment(model, splits["test"], vocab, device)
    result = {
        "task": "sst", "mode": args.mode, "cell": args.cell, "seed": args.seed, "epochs": args.epochs,
        "best_epoch": best["epoch"], "dev_root_acc": round(best["dev_root_acc"], 2),
        "test_root_acc": round(test["root_acc"], 2), "test_node_acc": round(test["node_acc"], 2),
        "test_trees": test["roots"], "train_seconds": round(train_seconds, 1), "device": str(device),
        "embeddings": emb_path.name, "type_coverage": round(coverage.type_coverage, 4),
        "checkpoint": str(best_path),
    }
    (args.out / "metrics.json").write_text(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
