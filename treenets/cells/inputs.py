"""Node inputs stored once per distinct word, so that a cell projects each word once per batch."""
from __future__ import annotations

from dataclasses import dataclass

import torch

Tensor = torch.Tensor

__all__ = ["WordInputs"]


@dataclass(frozen=True)
class WordInputs:
    r"""The inputs of a batch's nodes, one row per distinct word.

    Node ``i``'s input is ``vectors[index[i]]``, or zeros where
    ``index[i] == -1`` (a phrase node without a word). The dense inputs
    ``x = [N, in_size]`` repeat a word's vector at every node that holds it;
    in a batch of 256 SST sentences the 4,927 leaves hold 1,848 distinct
    words (the mean over the eight full batches of the SST test set, in its
    order), so a cell given ``WordInputs``
    (:meth:`TreeCell.forward <treenets.cells.TreeCell.forward>`) computes
    the input projection ``W x + b`` once per distinct word and gathers the
    rows, and, when no gradient is recorded, runs the leaf step once per
    distinct word too. The results are the dense path's: the same products,
    row by row, and a gather; during training with dropout on the inputs the
    cell falls back to the dense inputs, since dropout draws a mask per node.
    :class:`~treenets.nn.encoder.TreeEncoder` builds them from word ids.

    Args:
        vectors: ``[V, in_size]`` one row per distinct word.
        index: ``[N]`` integer, each node's row of ``vectors``, ``-1`` for none.

    Shapes:
        - vectors: ``[V, in_size]``
        - index: ``[N]``
        - :meth:`dense`: ``[N, in_size]``
    """

    vectors: Tensor
    index: Tensor

    @property
    def shape(self) -> torch.Size:
        """The shape of the dense inputs, ``[N, in_size]``."""
        return torch.Size((self.index.shape[0], *self.vectors.shape[1:]))

    @property
    def device(self) -> torch.device:
        return self.vectors.device

    def check(self, num_nodes: int, in_size: int) -> None:
        """Raise a ``ValueError`` naming what is wrong unless these are inputs for ``num_nodes`` nodes of size
        ``in_size``."""
        v, idx = self.vectors, self.index
        if v.dim() != 2 or v.shape[1] != in_size:
            raise ValueError(f"WordInputs.vectors has shape {tuple(v.shape)}, expected [V, in_size={in_size}]")
        if idx.dim() != 1 or idx.shape[0] != num_nodes:
            raise ValueError(f"WordInputs.index has shape {tuple(idx.shape)}, expected [num_nodes={num_nodes}]")
        if idx.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"WordInputs.index must be an integer tensor, not {idx.dtype}")
        if idx.numel() and (int(idx.min()) < -1 or int(idx.max()) >= v.shape[0]):
            bad = int(torch.nonzero((idx < -1) | (idx >= v.shape[0]))[0])
            raise ValueError(f"WordInputs.index[{bad}] = {int(idx[bad])} is outside -1..{v.shape[0] - 1} "
                             f"(vectors has {v.shape[0]} rows)")

    def dense(self) -> Tensor:
        """``[N, in_size]``: each node's vector, an exact zero where ``index`` is -1."""
        has = (self.index >= 0).unsqueeze(1)
        x = self.vectors.index_select(0, self.index.clamp(min=0))
        return torch.where(has, x, x.new_zeros(()))

    def rows(self, nodes: Tensor, table: Tensor, missing: Tensor) -> Tensor:
        """``[len(nodes), G]``: ``table[index[node]]`` (``table`` one row per word), ``missing`` (``[G]``) where
        a node has no word."""
        idx = self.index.index_select(0, nodes)
        out = table.index_select(0, idx.clamp(min=0))
        return torch.where((idx >= 0).unsqueeze(1), out, missing)
