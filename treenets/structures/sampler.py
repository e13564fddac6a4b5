"""Batches of trees of similar height, for training loops and ``torch.utils.data.DataLoader``.

The engine runs one step per level, and a batch has as many levels as its
tallest tree. Grouping trees of similar height cuts the levels per batch (on
SST at batch 25: 18.5 to 11.1 on average) and so the time per epoch, most on a
GPU, where each level costs kernel launches rather than FLOPs.

The grouping keeps the data order random: the shuffled indices are cut into
pools of ``pool_batches`` batches, each pool is sorted by height (stably, so
ties keep their random order) and cut into batches, and the batches are
shuffled. Every index is used once per pass.

Example:
    >>> from torch.utils.data import DataLoader                        # doctest: +SKIP
    >>> sampler = HeightBucketSampler(trees, batch_size=25, generator=torch.Generator().manual_seed(0))
    >>> loader = DataLoader(trees, batch_sampler=sampler, collate_fn=lambda ts: TreeBatch.from_trees(ts, vocab))
"""
from __future__ import annotations

import numbers
from typing import Iterator, List, Optional, Sequence

import torch
from torch.utils.data import Sampler

__all__ = ["bucketed_batches", "HeightBucketSampler"]


def bucketed_batches(keys: Sequence[float], batch_size: int, generator: Optional[torch.Generator] = None,
                     pool_batches: int = 50) -> List[List[int]]:
    """Index batches of similar ``keys``.

    Args:
        keys: one sort key per item (for trees, their height).
        batch_size: items per batch (the last batch of the last pool may be smaller).
        generator: shuffles the items and the batches; ``None`` keeps the
            order (pools of consecutive items, batches in pool order).
        pool_batches: how many batches' worth of items are sorted together;
            larger pools give more uniform batches and less randomness.

    Returns:
        a list of batches, each a list of indices into ``keys``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if pool_batches < 1:
        raise ValueError(f"pool_batches must be at least 1, got {pool_batches}")
    n = len(keys)
    order = torch.randperm(n, generator=generator).tolist() if generator is not None else list(range(n))
    pool = batch_size * pool_batches
    batches: List[List[int]] = []
    for start in range(0, n, pool):
        chunk = sorted(order[start:start + pool], key=keys.__getitem__)
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    if generator is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches


def _height(item, index: int) -> float:
    if isinstance(item, numbers.Real) and not isinstance(item, bool):
        return item
    height = getattr(item, "height", None)
    if not isinstance(height, numbers.Real):
        raise TypeError(f"item {index} is a {type(item).__name__}, not a tree with a height or a number; "
                        f"pass treenets.Tree objects (or anything with .height) or their heights")
    return height


class HeightBucketSampler(Sampler):
    """A batch sampler of trees of similar height (pass it as ``batch_sampler=``).

    Each pass (``iter``) draws a new grouping from ``generator``.

    Args:
        trees: the dataset's trees (anything with a ``height``), or their heights.
        batch_size: trees per batch.
        generator: the source of randomness; ``None`` gives the same batches
            in the same order on every pass.
        pool_batches: how many batches' worth of trees are sorted together.
    """

    def __init__(self, trees: Sequence, batch_size: int, generator: Optional[torch.Generator] = None,
                 pool_batches: int = 50) -> None:
        self.heights = [_height(t, i) for i, t in enumerate(trees)]
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if pool_batches < 1:
            raise ValueError(f"pool_batches must be at least 1, got {pool_batches}")
        self.batch_size = batch_size
        self.generator = generator
        self.pool_batches = pool_batches

    def __iter__(self) -> Iterator[List[int]]:
        return iter(bucketed_batches(self.heights, self.batch_size, self.generator, self.pool_batches))

    def __len__(self) -> int:
        n, pool = len(self.heights), self.batch_size * self.pool_batches
        full, rest = divmod(n, pool)
        return full * self.pool_batches + -(-rest // self.batch_size)

    def __repr__(self) -> str:
        return (f"HeightBucketSampler({len(self.heights)} trees, batch_size={self.batch_size}, "
                f"pool_batches={self.pool_batches})")
