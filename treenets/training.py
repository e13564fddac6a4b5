"""Pieces the training and evaluation scripts share: seeding, batching, scoring."""
from __future__ import annotations

import random
import sys
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, TypeVar

import torch

from .batch import TreeBatch
from .models import RelatednessModel, SentimentModel
from .sampler import bucketed_batches

T = TypeVar("T")

__all__ = ["add_training_arguments", "start_run", "finish_run", "log", "seed_everything", "minibatches", "progress", "evaluate_sentiment", "evaluate_relatedness",
           "relatedness_metrics"]


def add_training_arguments(parser, *, out: str, items: str = "examples") -> None:
    """The options every training example shares (optimisation, seed, device, output).

    The paper's settings are the defaults: 10 epochs, batch 25, AdaGrad lr 0.05, L2 1e-4.
    """
    from pathlib import Path

    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--lr", type=float, default=0.05, help="AdaGrad learning rate of the model")
    parser.add_argument("--l2", type=float, default=1e-4, help="L2 penalty (AdaGrad weight decay)")
    parser.add_argument("--bucket-by-height", action="store_true",
                        help=f"batch {items} of similar tree height together (fewer levels per batch, faster; "
                             "the paper's batches are plain random)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for torch (0: torch's default); 1 is fastest when several runs share the CPU")
    parser.add_argument("--limit", type=int, default=None,
                        help=f"use only the first N {items} of each split (smoke tests)")
    parser.add_argument("--out", type=Path, default=Path(out), help="where checkpoints and metrics go")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def log(msg: str) -> None:
    """Progress messages go to stderr, so stdout ends with the result's JSON line."""
    print(msg, file=sys.stderr, flush=True)


def start_run(args) -> "tuple[torch.device, torch.Generator]":
    """Apply ``--threads`` and ``--seed``; returns the device and the data-order generator."""
    if args.threads:
        torch.set_num_threads(args.threads)
    return torch.device(args.device), seed_everything(args.seed)


def finish_run(out, result: dict) -> dict:
    """Write ``OUT/metrics.json`` and print the result as the last line, one JSON object."""
    import json

    (out / "metrics.json").write_text(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)
    return result


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python and torch; returns a generator for data order."""
    random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def minibatches(items: Sequence[T], batch_size: int, generator: Optional[torch.Generator] = None, *,
                bucket_by: Optional[Callable[[T], float]] = None, pool_batches: int = 50) -> Iterator[List[T]]:
    """Consecutive slices of ``items``, shuffled first when ``generator`` is given.

    With ``bucket_by`` (for trees, ``lambda t: t.height``), items of similar key
    go into the same batch (:func:`treenets.sampler.bucketed_batches`): the
    shuffled items are cut into pools of ``pool_batches`` batches, each pool
    is sorted by the key (stably, so ties keep their random order) and cut
    into batches, and the batches are shuffled. A batch of trees of similar height has fewer levels, so each
    step runs fewer sequential level updates; every item is still used once
    per pass.

    Args:
        items: the examples.
        batch_size: items per batch (the last one may be smaller).
        generator: shuffles items (and, with ``bucket_by``, batches); ``None``
            keeps the order.
        bucket_by: a key per item; ``None`` makes plain random batches.
        pool_batches: how many batches' worth of items are sorted together.
    """
    if bucket_by is not None:
        for batch in bucketed_batches([bucket_by(item) for item in items], batch_size, generator, pool_batches):
            yield [items[i] for i in batch]
        return
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(len(items), generator=generator).tolist() if generator is not None else range(len(items))
    order = list(order)
    for start in range(0, len(order), batch_size):
        yield [items[i] for i in order[start:start + batch_size]]


def progress(iterable, total: Optional[int] = None, desc: str = "", enabled: bool = True):
    """A tqdm bar on stderr when enabled and available, else the iterable itself."""
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)


@torch.no_grad()
def evaluate_sentiment(model: SentimentModel, trees: Sequence, vocab: Mapping[str, int], device="cpu",
                       batch_size: int = 256) -> Dict[str, float]:
    """Root and all-node accuracy (percent) of ``model`` over ``trees``."""
    was_training = model.training
    model.eval()
    totals = {"root_correct": 0, "root_total": 0, "node_correct": 0, "node_total": 0}
    for chunk in minibatches(trees, batch_size):
        batch = TreeBatch.from_trees(chunk, vocab).to(device)
        counts = model.classifier.accuracy(model(batch), batch)
        for key in totals:
            totals[key] += counts[key]
    model.train(was_training)
    return {
        "root_acc": 100.0 * totals["root_correct"] / max(totals["root_total"], 1),
        "node_acc": 100.0 * totals["node_correct"] / max(totals["node_total"], 1),
        "roots": totals["root_total"], "nodes": totals["node_total"],
    }


def relatedness_metrics(pred: torch.Tensor, gold: torch.Tensor) -> Dict[str, float]:
    """Pearson r, Spearman rho and MSE between predicted and gold scores."""
    from scipy.stats import pearsonr, spearmanr

    p, g = pred.double().cpu().numpy(), gold.double().cpu().numpy()
    return {"pearson": float(pearsonr(p, g)[0]), "spearman": float(spearmanr(p, g)[0]),
            "mse": float(((p - g) ** 2).mean())}


@torch.no_grad()
def evaluate_relatedness(model: RelatednessModel, pairs: Sequence, vocab: Mapping[str, int], device="cpu",
                         batch_size: int = 256) -> Dict[str, float]:
    """Pearson, Spearman and MSE of ``model`` over SICK pairs (objects with ``.a``, ``.b``, ``.score``)."""
    was_training = model.training
    model.eval()
    preds = []
    for chunk in minibatches(pairs, batch_size):
        left = TreeBatch.from_trees([p.a for p in chunk], vocab).to(device)
        right = TreeBatch.from_trees([p.b for p in chunk], vocab).to(device)
        preds.append(model.head.predict(model(left, right)).cpu())
    model.train(was_training)
    gold = torch.tensor([p.score for p in pairs], dtype=torch.float64)
    return relatedness_metrics(torch.cat(preds), gold)
