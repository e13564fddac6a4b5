"""Minibatches of training examples: shuffled, optionally bucketed by tree height."""
from __future__ import annotations

from typing import Callable, Iterator, List, Optional, Sequence, TypeVar

import torch

from ..structures.sampler import bucketed_batches

T = TypeVar("T")

__all__ = ["minibatches"]


def minibatches(items: Sequence[T], batch_size: int, generator: Optional[torch.Generator] = None, *,
                bucket_by: Optional[Callable[[T], float]] = None, pool_batches: int = 50) -> Iterator[List[T]]:
    """Consecutive slices of ``items``, shuffled first when ``generator`` is given.

    With ``bucket_by`` (for trees, ``lambda t: t.height``), items of similar key
    go into the same batch (:func:`treenets.structures.sampler.bucketed_batches`): the
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
