"""Level-synchronous, leaves-up propagation shared by every cell.

The batch's schedule groups nodes by depth, deepest first, so the children of
one level are exactly the nodes of the level before it. :func:`propagate` walks
the levels once. At each level a cell's ``level_step`` receives

* ``wx``: ``[n, G]`` the level's slice of the input projection, computed for
  all nodes by one matmul before the loop;
* ``h_child``, ``c_child``: ``[m, H]`` the states of the previous level, which
  are all the children of this level;
* ``slot``: ``[m]`` for each child, its parent's row in this level;
* ``pos``: ``[m]`` for each child, its position among its siblings;

and returns this level's ``(h, c)``, each ``[n, H]``. Children are combined
with ``index_add``/``index_copy`` (no Python loop over nodes), nothing is written
in place, and every node's state is stored once.
"""
from __future__ import annotations

from typing import Callable, Tuple

import torch

from .batch import TreeBatch

Tensor = torch.Tensor
LevelStep = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tuple[Tensor, Tensor]]

__all__ = ["propagate", "as_tree_batch"]


def as_tree_batch(graph) -> TreeBatch:
    """Accept a :class:`TreeBatch`, or a ``dgl.DGLGraph`` (converted through TreeBatch)."""
    if isinstance(graph, TreeBatch):
        return graph
    if type(graph).__name__ == "DGLGraph":
        return TreeBatch.from_dgl(graph)
    raise TypeError(f"expected a TreeBatch or a dgl.DGLGraph, not {type(graph).__name__}; "
                    f"build one with TreeBatch.from_trees(trees, vocab)")


def propagate(batch: TreeBatch, wx: Tensor, level_step: LevelStep, hidden_size: int) -> Tuple[Tensor, Tensor]:
    """Run ``level_step`` over the levels of ``batch``, leaves up.

    Args:
        batch: the trees, on the same device as ``wx``.
        wx: ``[num_nodes, G]`` projected inputs, in node order.
        level_step: the cell's per-level update (see the module docstring).
        hidden_size: ``H``.

    Returns:
        ``(h, c)``, each ``[num_nodes, H]`` in node order.
    """
    if wx.device != batch.device:
        raise ValueError(f"inputs are on {wx.device} but the batch is on {batch.device}; call batch.to(device)")
    # [N, G] in processing order: each level is a contiguous slice.
    wx = wx.index_select(0, batch.order)
    slots = batch.parent_slot
    positions = batch.child_pos.index_select(0, batch.order)
    h_prev = wx.new_zeros(0, hidden_size)
    c_prev = h_prev
    hs, cs = [], []
    start = prev_start = 0
    for size in batch.level_sizes:
        n_prev = h_prev.shape[0]
        h_prev, c_prev = level_step(
            wx.narrow(0, start, size),
            h_prev,
            c_prev,
            slots.narrow(0, prev_start, n_prev),
            positions.narrow(0, prev_start, n_prev),
        )
        hs.append(h_prev)
        cs.append(c_prev)
        prev_start = start
        start += size
    # [N, H] back in node order
    h = torch.cat(hs).index_select(0, batch.position)
    c = torch.cat(cs).index_select(0, batch.position)
    return h, c
