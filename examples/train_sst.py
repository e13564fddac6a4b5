#!/usr/bin/env python
"""Train a Tree-LSTM sentiment classifier on the Stanford Sentiment Treebank.

The default is the paper's Constituency Tree-LSTM (Tai et al. 2015): a binary
N-ary Tree-LSTM with words at the leaves, hidden 150, AdaGrad lr 0.05, batch 25,
L2 1e-4, dropout 0.5 before the softmax, the loss summed over every labelled
node (divided by the number of trees), word vectors tuned by SGD with lr 0.1,
and the checkpoint with the best dev root accuracy kept.

    python examples/train_sst.py --mode fine --seed 1
    python examples/train_sst.py --mode binary --cell childsum

With ``--parsed-dir DIR`` (the output of ``examples/prepare_parses.py``) it
trains the paper's Dependency Tree-LSTM instead: SST parsed into dependency
trees, every node labelled with the SST phrase of the same span (or no label),
a Child-Sum cell with hidden 168 and words at every node:

    python examples/train_sst.py --parsed-dir runs/parses --mode fine

With ``--contextual MODEL`` the words are a transformer's token features
(frozen and cached; ``--finetune`` trains the transformer too), and
``--no-tree`` is the same run without the tree (every node the mean of its
span's token vectors; see examples/contextual_common.py):

    python examples/train_sst.py --mode fine --contextual all-MiniLM-L6-v2
    python examples/train_sst.py --mode fine --contextual all-MiniLM-L6-v2 --no-tree

The data folder is ``--data-dir``, else ``$TREENETS_DATA_DIR``, else
``~/.cache/treenets/data`` (where ``python -m treenets.data`` puts SST, SICK
and GloVe).

Training is :func:`treenets.training.fit`. After every epoch the run's state
goes to ``OUT/last`` and its metrics to ``OUT/metrics.jsonl`` (and
``OUT/tensorboard/`` when tensorboard is installed); ``--resume OUT``
continues a killed run. ``torchrun --nproc_per_node N examples/train_sst.py``
trains on N processes (gloo on CPU, nccl with ``--device cuda``).

The last line printed is one JSON object with the test metrics.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from common import (
    add_data_dir_argument, add_embeddings_argument, add_training_arguments, add_vocab_arguments, build_vocab,
    download_command, find_word_vectors, finish_run, fit_options, load_word_vectors, log, plain_args, require_files,
    resolve_data_dir, run, start_run,
)
from contextual_common import (
    add_contextual_arguments, check_contextual_arguments, contextual_embedding, contextual_optimizers,
    contextual_result, tree_cell,
)
from treenets.data import load_sst
from treenets.formats import glove_forms
from treenets.data.parsed import load_parsed_sst, parsed_sst_path
from treenets.models import SentimentModel, load
from treenets.training import fit


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_dir_argument(p, "sst/ and embeddings/")
    add_embeddings_argument(p, "glove.6B.50d.txt")
    p.add_argument("--lowercase", choices=["auto", "yes", "no"], default="auto",
                   help="lowercase words before lookup; auto = yes for uncased GloVe (6B)")
    p.add_argument("--mode", choices=["fine", "binary"], default="fine")
    p.add_argument("--binary-scheme", choices=["paper", "two-class"], default="paper",
                   help="binary: 'paper' trains negative/neutral/positive on every node and predicts "
                        "negative vs positive (the paper's code); 'two-class' ignores neutral nodes")
    p.add_argument("--parsed-dir", type=Path, default=None,
                   help="train on the dependency trees in DIR/sst/{train,dev,test}.conllu (from "
                        "examples/prepare_parses.py) instead of SST's constituency trees")
    p.add_argument("--cell", choices=["nary", "childsum", "slstm"], default=None,
                   help="tree cell (default: nary for constituency trees, childsum with --parsed-dir)")
    p.add_argument("--hidden", type=int, default=None,
                   help="hidden size (default: 150 for constituency trees, 168 with --parsed-dir, as in the paper)")
    p.add_argument("--emb-lr", type=float, default=0.1, help="SGD learning rate of the word vectors (0 freezes them)")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--leaf", choices=["lstm", "linear"], default="lstm",
                   help="nary cell's leaves: 'lstm' follows the equations (c = i*u); 'linear' is the "
                        "paper code's leaf module (c = W x + b)")
    add_vocab_arguments(p)
    add_training_arguments(p, out="runs/sst", items="trees")
    add_contextual_arguments(p)
    args = p.parse_args(argv)
    check_contextual_arguments(p, args)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    data_dir = resolve_data_dir(args)
    device, generator = start_run(args)
    dependency = args.parsed_dir is not None
    if dependency:
        parsed = [parsed_sst_path(args.parsed_dir, s) for s in ("train", "dev", "test")]
        require_files([p if p.is_file() else args.parsed_dir / "sst" / p.name for p in parsed],
                      "SST parsed into dependency trees",
                      f"python examples/prepare_parses.py --data-dir {data_dir} --only sst --out {args.parsed_dir}")
    else:
        require_files([data_dir / "sst" / f"{s}.txt" for s in ("train", "dev", "test")], "the SST trees",
                      download_command(data_dir, "sst"))
    source = None if args.contextual else find_word_vectors(args, data_dir, "glove.6B.50d.txt")
    cell = args.cell or ("childsum" if dependency else "nary")
    # constituency trees: words at the leaves only; dependency trees: a word at every node
    cell_options = {"leaf_input_only": not dependency, **({"leaf": args.leaf} if cell == "nary" else {})}
    args.cell, cell_options = tree_cell(args, cell, cell_options)  # --no-tree: the span-mean baseline
    if args.hidden is None:
        args.hidden = 168 if dependency else 150

    # binary the paper code's way: negative/neutral/positive, neutral never predicted
    data_mode = "binary3" if args.mode == "binary" and args.binary_scheme == "paper" else args.mode
    if dependency:
        splits = {s: load_parsed_sst(args.parsed_dir, s, mode=data_mode) for s in ("train", "dev", "test")}
    else:
        splits = {s: load_sst(data_dir / "sst", s, mode=data_mode) for s in ("train", "dev", "test")}
    if args.limit:
        splits = {s: trees[:args.limit] for s, trees in splits.items()}
    log(" ".join(f"{s}: {len(t)} trees" for s, t in splits.items())
        + f" ({args.mode}, {'dependency' if dependency else 'constituency'} trees)")

    embedding = vectors = None
    if args.contextual:
        embedding = contextual_embedding(args, [t.words for trees in splits.values() for t in trees], device)
        vocab, data_words = None, 0  # the transformer's tokenizer reads the words
        features = contextual_result(args, embedding)
    else:
        # The vocabulary covers every split, as in the paper's code; unseen words
        # keep their random U(-0.05, 0.05) vectors. PTB escapes are undone on the
        # way in (-LRB- -> "(", `` and '' -> "), so raw text parsed by stanza,
        # which writes ( and ", meets the same entries.
        lower = args.lowercase == "yes" or (args.lowercase == "auto" and "6B" in source.name)
        vocab, data_words = build_vocab((t.words for trees in splits.values() for t in trees), source,
                                        args.vocab_extra_words, lower=lower, normalize="ptb")
        vectors, coverage = load_word_vectors(vocab, source, candidates=glove_forms, seed=args.seed,
                                              specials=[vocab.unk])
        features = {"embeddings": source.name, "type_coverage": round(coverage.type_coverage, 4),
                    "vocab_size": len(vocab), "vocab_extra_words": args.vocab_extra_words}

    n_classes, masked = {"fine": (5, ()), "binary": (2, ()), "binary3": (3, (1,))}[data_mode]
    model = SentimentModel(vocab, None if vectors is None else vectors.shape[1], args.hidden, n_classes,
                           cell=args.cell, cell_options=cell_options, dropout=args.dropout,
                           freeze_embeddings=args.emb_lr == 0, masked_classes=masked, embedding=embedding,
                           tree="dependency" if dependency else "constituency", binarize="right")
    if vectors is not None:
        model.load_embeddings(vectors)
    model.to(device)
    # the paper: AdaGrad on the model, plain SGD on the word vectors; a fine-tuned transformer: AdamW
    optimizers = [torch.optim.Adagrad(model.model_parameters(), lr=args.lr, weight_decay=args.l2)]
    if args.contextual:
        optimizers += contextual_optimizers(model, args)
    elif args.emb_lr > 0:
        optimizers.append(torch.optim.SGD(model.embedding_parameters(), lr=args.emb_lr))

    extra = {"mode": data_mode, "vocab_data_words": data_words,
             "args": plain_args(args, data_dir=data_dir, embeddings=None if source is None else str(source))}
    best = fit(model, splits["train"], splits["dev"], optimizers, score="root_acc", metadata=extra,
               describe=lambda loss, dev: f"train loss {loss:.4f}, dev root {dev['root_acc']:.2f} "
                                          f"node {dev['node_acc']:.2f}",
               **fit_options(args, generator, extra["args"], bucket_by=lambda t: t.height))
    if best is None:  # not process 0 of a distributed run
        return None

    test = load(best.path, device=device).evaluate(splits["test"])
    result = {
        "task": "sst", "mode": args.mode, "trees": "dependency" if dependency else "constituency",
        "binary_scheme": args.binary_scheme if args.mode == "binary" else None, "leaf": args.leaf,
        "cell": args.cell, "hidden": args.hidden, "seed": args.seed, "epochs": args.epochs,
        "bucket_by_height": args.bucket_by_height,
        "best_epoch": best.epoch, "dev_root_acc": round(best.score, 2),
        "test_root_acc": round(test["root_acc"], 2), "test_node_acc": round(test["node_acc"], 2),
        "test_trees": test["roots"], "train_seconds": round(best.train_seconds, 1), "device": str(device),
        **features, "model_dir": str(best.path), "checkpoint": str(best.checkpoint),
    }
    return finish_run(args.out, result)


if __name__ == "__main__":
    run(main)
