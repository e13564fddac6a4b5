#!/usr/bin/env python
"""Train a Tree-LSTM for semantic relatedness on SICK (SemEval 2014 task 1).

The default is the paper's Dependency Tree-LSTM (Tai et al. 2015): a Child-Sum
Tree-LSTM over the given Stanford dependency parses, hidden 150, no output gate
(the paper code's SICK setting), frozen 300d GloVe 840B vectors, similarity
hidden 50, AdaGrad lr 0.05, batch 25, L2 1e-4, 10 epochs, and the checkpoint
with the best dev Pearson kept.

    python examples/train_sick.py --seed 1

With ``--parsed-dir DIR`` (the output of ``examples/prepare_parses.py``) it
trains the paper's Constituency Tree-LSTM instead: the SICK sentences parsed
into binarized constituency trees, a binary N-ary cell with words at the leaves:

    python examples/train_sick.py --parsed-dir runs/parses --cell nary

With ``--contextual MODEL`` the words are a transformer's token features
(frozen and cached; ``--finetune`` trains the transformer too), and
``--no-tree`` is the same run without the tree (a sentence is the mean of its
token vectors; see examples/contextual_common.py):

    python examples/train_sick.py --contextual all-MiniLM-L6-v2
    python examples/train_sick.py --contextual all-MiniLM-L6-v2 --no-tree

The data folder is ``--data-dir``, else ``$TREENETS_DATA_DIR``, else
``~/.cache/treenets/data`` (where ``python -m treenets.data`` puts SST, SICK
and GloVe). Tai et al.'s dependency parses of SICK (``sick/train/a.parents``
...) come from their preprocessing scripts, not from a download; without
them, parse SICK with stanza and train on that:

    python examples/prepare_parses.py --only sick-dependency --out runs/parses
    python examples/train_sick.py --sick-dir runs/parses/sick

Training is :func:`treenets.training.fit`. After every epoch the run's state
goes to ``OUT/last`` and its metrics to ``OUT/metrics.jsonl`` (and
``OUT/tensorboard/`` when tensorboard is installed); ``--resume OUT``
continues a killed run. ``torchrun --nproc_per_node N examples/train_sick.py``
trains on N processes (gloo on CPU, nccl with ``--device cuda``).

The last line printed is one JSON object with test Pearson r, Spearman rho and MSE.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from common import (
    add_data_dir_argument, add_embeddings_argument, add_training_arguments, add_vocab_arguments, build_vocab,
    find_word_vectors, finish_run, fit_options, load_word_vectors, log, plain_args, require_files, resolve_data_dir,
    run, start_run,
)
from contextual_common import (
    add_contextual_arguments, check_contextual_arguments, contextual_embedding, contextual_optimizers,
    contextual_result, tree_cell,
)
from treenets.data import load_sick
from treenets.data.parsed import load_parsed_sick
from treenets.models import RelatednessModel, load
from treenets.training import fit


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_dir_argument(p, "sick/ and embeddings/")
    add_embeddings_argument(p, "glove.840B.300d.txt")
    p.add_argument("--sick-dir", type=Path, default=None,
                   help="SICK in Tai et al.'s layout, {train,dev,test}/{a,b}.{toks,parents,rels}, sim.txt, id.txt "
                        "(default: DATA_DIR/sick; `examples/prepare_parses.py --only sick-dependency --out DIR` "
                        "makes DIR/sick with stanza's dependency parses)")
    p.add_argument("--lowercase", choices=["auto", "yes", "no"], default="auto",
                   help="lowercase words before lookup; auto = yes for uncased GloVe (6B)")
    p.add_argument("--parsed-dir", type=Path, default=None,
                   help="use the constituency trees in DIR/sick/{split}/{a,b}.ctree (from "
                        "examples/prepare_parses.py) instead of the given dependency parses")
    p.add_argument("--cell", choices=["childsum", "nary"], default=None,
                   help="tree cell (default: childsum for the dependency parses, nary with --parsed-dir)")
    p.add_argument("--output-gate", action="store_true", help="keep the output gate (the paper code drops it)")
    p.add_argument("--hidden", type=int, default=150)
    p.add_argument("--sim-hidden", type=int, default=50)
    p.add_argument("--tune-embeddings", action="store_true", help="train the word vectors (the paper freezes them)")
    add_vocab_arguments(p)
    add_training_arguments(p, out="runs/sick", items="pairs")
    add_contextual_arguments(p)
    args = p.parse_args(argv)
    check_contextual_arguments(p, args)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    data_dir = resolve_data_dir(args)
    sick_dir = args.sick_dir or data_dir / "sick"
    device, generator = start_run(args)

    constituency = args.parsed_dir is not None
    require_files([sick_dir / s / f for s in ("train", "dev", "test")
                   for f in ("a.toks", "a.parents", "a.rels", "b.toks", "b.parents", "b.rels", "sim.txt", "id.txt")],
                  "Tai et al.'s dependency parses of SICK, which their preprocessing scripts make with the Stanford "
                  "parser",
                  f"python examples/prepare_parses.py --data-dir {data_dir} --only sick-dependency --out runs/parses "
                  f"(stanza's parses), then train with --sick-dir runs/parses/sick")
    if constituency:
        require_files([args.parsed_dir / "sick" / s / f"{side}.ctree" for s in ("train", "dev", "test")
                       for side in ("a", "b")], "SICK parsed into constituency trees",
                      f"python examples/prepare_parses.py --data-dir {data_dir} --only sick --sick-dir {sick_dir} "
                      f"--out {args.parsed_dir}")
    source = None if args.contextual else find_word_vectors(args, data_dir, "glove.840B.300d.txt")
    # constituency trees carry words at the leaves only
    cell_options = {"output_gate": args.output_gate, **({"leaf_input_only": True} if constituency else {})}
    args.cell, cell_options = tree_cell(args, args.cell or ("nary" if constituency else "childsum"), cell_options)

    if constituency:
        splits = {s: load_parsed_sick(args.parsed_dir, s, sick_dir, limit=args.limit)
                  for s in ("train", "dev", "test")}
    else:
        splits = {s: load_sick(sick_dir, s) for s in ("train", "dev", "test")}
    if args.limit:
        splits = {s: pairs[:args.limit] for s, pairs in splits.items()}
    log(" ".join(f"{s}: {len(p)} pairs" for s, p in splits.items())
        + f" ({'constituency' if constituency else 'dependency'} trees)")

    sentences = [t.words for pairs in splits.values() for p in pairs for t in (p.a, p.b)]
    embedding = vectors = None
    if args.contextual:
        embedding = contextual_embedding(args, sentences, device)
        vocab, data_words = None, 0  # the transformer's tokenizer reads the words
        features = contextual_result(args, embedding)
    else:
        # every split's words, as in the paper's code; PTB escapes undone on the way in (see train_sst.py)
        lower = args.lowercase == "yes" or (args.lowercase == "auto" and "6B" in source.name)
        vocab, data_words = build_vocab(sentences, source, args.vocab_extra_words, lower=lower,
                                        normalize="ptb")
        vectors, coverage = load_word_vectors(vocab, source, seed=args.seed, specials=[vocab.unk])
        features = {"embeddings": source.name, "type_coverage": round(coverage.type_coverage, 4),
                    "vocab_size": len(vocab), "vocab_extra_words": args.vocab_extra_words}

    model = RelatednessModel(vocab, None if vectors is None else vectors.shape[1], args.hidden, args.sim_hidden,
                             cell=args.cell, cell_options=cell_options, freeze_embeddings=not args.tune_embeddings,
                             embedding=embedding, tree="constituency" if constituency else "dependency",
                             binarize="right")
    if vectors is not None:
        model.load_embeddings(vectors)
    model.to(device)
    params = model.model_parameters() + (model.embedding_parameters() if args.tune_embeddings else [])
    optimizers = [torch.optim.Adagrad(params, lr=args.lr, weight_decay=args.l2)]
    if args.contextual:
        optimizers += contextual_optimizers(model, args)

    extra = {"vocab_data_words": data_words,
             "args": plain_args(args, data_dir=data_dir, embeddings=None if source is None else str(source))}
    best = fit(model, splits["train"], splits["dev"], optimizers, score="pearson", metadata=extra,
               describe=lambda loss, dev: (f"train KL {loss:.4f}, dev r {dev['pearson']:.4f} "
                                           f"rho {dev['spearman']:.4f} mse {dev['mse']:.4f}"),
               **fit_options(args, generator, extra["args"], bucket_by=lambda p: max(p.a.height, p.b.height)))
    if best is None:  # not process 0 of a distributed run
        return None

    test = load(best.path, device=device).evaluate(splits["test"])
    result = {
        "task": "sick", "trees": "constituency" if constituency else "dependency", "cell": args.cell,
        "hidden": args.hidden, "seed": args.seed, "epochs": args.epochs, "best_epoch": best.epoch,
        "bucket_by_height": args.bucket_by_height,
        "dev_pearson": round(best.score, 4), "test_pearson": round(test["pearson"], 4),
        "test_spearman": round(test["spearman"], 4), "test_mse": round(test["mse"], 4),
        "test_pairs": test["pairs"], "train_seconds": round(best.train_seconds, 1), "device": str(device),
        **features, "model_dir": str(best.path), "checkpoint": str(best.checkpoint),
    }
    return finish_run(args.out, result)


if __name__ == "__main__":
    run(main)
