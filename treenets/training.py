"""Training a task model: seeding, minibatches, and one epoch of updates.

A model owns its data pipeline and loss (:class:`treenets.models.TaskModel`:
``collate`` and ``loss``), so one loop serves every task::

    generator = seed_everything(1)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.05, weight_decay=1e-4)
    for epoch in range(10):
        train_epoch(model, minibatches(train, 25, generator), [optimizer])
        print(model.evaluate(dev))
"""
from __future__ import annotations

import math
import random
import sys
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, TypeVar

import torch

from .models import TaskModel
from .sampler import bucketed_batches

T = TypeVar("T")

__all__ = ["seed_everything", "minibatches", "progress", "train_epoch"]


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


def train_epoch(model: TaskModel, batches: Iterable[Sequence], optimizers: Sequence[torch.optim.Optimizer], *,
                device=None, total: Optional[int] = None, desc: str = "", show_progress: bool = False) -> float:
    """One pass of updates: for each batch, ``loss = model.loss(*model.collate(batch))``,
    backward, and a step of every optimizer.

    The model is put in training mode. Every optimizer's gradients are zeroed
    before each backward pass and every optimizer steps after it, in the order
    given (e.g. AdaGrad on the model and SGD on the word vectors, as the paper
    trains SST).

    Args:
        model: a task model (:class:`~treenets.SentimentModel`, :class:`~treenets.RelatednessModel`).
        batches: lists of training examples (trees, or scored pairs), e.g.
            from :func:`minibatches`.
        optimizers: the optimizers to step.
        device: where the batches go (``None``: the model's device).
        total: the number of batches, for the progress bar.
        desc: the progress bar's label.
        show_progress: draw a progress bar on stderr.

    Returns:
        The training loss averaged over examples (each batch's loss weighted by
        its number of examples).

    Raises:
        FloatingPointError: the loss became NaN or infinite (naming the batch).
    """
    if not optimizers:
        raise ValueError("train_epoch needs at least one optimizer")
    model.train()
    total_loss, n_items = 0.0, 0
    for i, items in enumerate(progress(batches, total, desc, show_progress)):
        loss = model.loss(*model.collate(items, device))
        value = loss.item()
        if not math.isfinite(value):  # stop before the update spreads it into the weights
            raise FloatingPointError(f"the training loss of batch {i + 1} is {value}")
        for optimizer in optimizers:
            optimizer.zero_grad()
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        total_loss += value * len(items)
        n_items += len(items)
    return total_loss / max(n_items, 1)
