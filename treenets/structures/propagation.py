"""Level-synchronous, leaves-up propagation shared by every cell.

The batch's schedule groups nodes by depth, deepest first, so the children of
one level are exactly the nodes of the level before it. Within a level, nodes
with children come first and leaves last. :func:`propagate`

1. computes every leaf at once with the cell's ``leaf_step`` (a leaf depends
   only on its input), then
2. walks the levels once, calling the cell's ``level_step`` on the level's
   nodes that have children.

``level_step(wx, h_child, c_child, slot, pos)`` receives

* ``wx``: ``[n, G]`` the input projection of the level's nodes with children,
  a slice of one matmul computed for all nodes before the loop (with
  ``leaf_input_only``, only the leaves are projected);
* ``h_child``, ``c_child``: ``[m, H]`` the states of the previous level, which
  are all the children of this level;
* ``slot``: ``[m]`` for each child, its parent's row in ``wx``;
* ``pos``: ``[m]`` for each child, its position among its siblings;

and returns ``(h, c)``, each ``[n, H]``. ``leaf_step(wx)`` returns the states of
nodes with no children. Children are combined with ``index_add``/``index_copy``
(no Python loop over nodes), nothing is written in place, and every node's
state is stored once.
"""
from __future__ import annotations

from typing import Callable, Tuple

import torch

from .batch import TreeBatch

Tensor = torch.Tensor
LevelStep = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tuple[Tensor, Tensor]]
LeafStep = Callable[[Tensor], Tuple[Tensor, Tensor]]

__all__ = ["propagate", "as_tree_batch"]


def as_tree_batch(graph) -> TreeBatch:
    """Accept a :class:`TreeBatch`, or a ``dgl.DGLGraph`` (converted through TreeBatch).

    A DGL graph is converted once and the batch reused while the graph is
    unchanged (:func:`treenets.structures.dgl_graph.cached_batch_from_dgl`).
    Word ids and labels are found under treenets' keys or DGL's (``x``,
    ``y``); for other keys, or ``unk_id``, call :meth:`TreeBatch.from_dgl`
    and pass the batch. A PyG ``Data`` is not taken here: its edge direction
    is not fixed by convention, so convert it with :meth:`TreeBatch.from_pyg`.
    """
    if isinstance(graph, TreeBatch):
        return graph
    if type(graph).__name__ == "DGLGraph":
        from .dgl_graph import cached_batch_from_dgl

        return cached_batch_from_dgl(TreeBatch, graph)
    hint = ("convert it with TreeBatch.from_pyg(data) (edges child -> parent)"
            if type(graph).__name__ in ("Data", "Batch", "DataBatch") else
            "build one with TreeBatch.from_trees(trees, vocab)")
    raise TypeError(f"expected a TreeBatch or a dgl.DGLGraph, not {type(graph).__name__}; {hint}")


def _join(a: Tensor, b: Tensor) -> Tensor:
    if a.shape[0] == 0:
        return b
    if b.shape[0] == 0:
        return a
    return torch.cat([a, b])


def propagate(batch: TreeBatch, wx_leaf: Tensor, wx_inner: Tensor, level_step: LevelStep, leaf_step: LeafStep,
              hidden_size: int) -> Tuple[Tensor, Tensor]:
    """Run a cell over every tree of ``batch``, leaves up.

    Args:
        batch: the trees, on the same device as the inputs.
        wx_leaf: ``[n_leaves, G_leaf]`` projected inputs of the leaves (the gates
            ``leaf_step`` reads, which may be fewer than ``G``), in
            ``batch.leaf_order``.
        wx_inner: ``[n_internal, G]`` projected inputs of the nodes with
            children, in ``batch.internal_order``.
        level_step: the cell's update for nodes with children.
        leaf_step: the cell's update for leaves.
        hidden_size: ``H``.

    Returns:
        ``(h, c)``, each ``[num_nodes, H]`` in node order.
    """
    if wx_leaf.device != batch.device:
        raise ValueError(f"inputs are on {wx_leaf.device} but the batch is on {batch.device}; call batch.to(device)")
    h_leaf, c_leaf = leaf_step(wx_leaf)  # [n_leaves, H], level by level
    # One split per tensor, not a narrow per level: narrow's backward would
    # allocate a zero tensor the size of the whole source at every level.
    leaf_sizes = [size - inner for size, inner in zip(batch.level_sizes, batch.level_internal_sizes)]
    h_leaves = h_leaf.split(leaf_sizes)
    c_leaves = c_leaf.split(leaf_sizes)
    wx_levels = wx_inner.split(batch.level_internal_sizes)
    slots = batch.parent_slot.split(batch.level_sizes)
    positions = batch.ordered_child_pos.split(batch.level_sizes)
    empty = wx_leaf.new_zeros(0, hidden_size)
    hs, cs = [], []
    h_prev = c_prev = empty
    for k, n_inner in enumerate(batch.level_internal_sizes):
        h_in = c_in = empty
        if n_inner:
            h_in, c_in = level_step(wx_levels[k], h_prev, c_prev, slots[k - 1], positions[k - 1])
        # [size, H] this level in processing order: nodes with children, then leaves
        h_prev = _join(h_in, h_leaves[k])
        c_prev = _join(c_in, c_leaves[k])
        hs.append(h_prev)
        cs.append(c_prev)
    # [N, H] back in node order
    h = torch.cat(hs).index_select(0, batch.position)
    c = torch.cat(cs).index_select(0, batch.position)
    return h, c
