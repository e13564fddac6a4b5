"""A sequential LSTM baseline: a Child-Sum Tree-LSTM over chain trees."""
from __future__ import annotations

from typing import Sequence

import torch

from ..structures.batch import TreeBatch
from ..structures.tree import Tree
from .child_sum import ChildSumTreeLSTM


class SequentialLSTM(ChildSumTreeLSTM):
    r"""A left-to-right LSTM, run as a Child-Sum Tree-LSTM over chain trees.

    On a chain each node has one child, the previous word, so the Child-Sum
    equations are exactly the standard LSTM (Hochreiter and Schmidhuber 1997)
    and its final state sits at the root (the last word). Use
    :meth:`chains` to turn parse trees into chains over the same words.

    Args:
        in_size: input size.
        hidden_size: size of ``h`` and ``c``.
        output_gate, dropout: as in :class:`ChildSumTreeLSTM`.

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` of chains with ``N`` nodes
        - x: ``[N, in_size]``
        - output: ``(h, c)``, each ``[N, hidden_size]``; row ``batch.roots[t]``
          is the last state of sentence ``t``.
    """

    def __init__(self, in_size: int, hidden_size: int, *, output_gate: bool = True, dropout: float = 0.0) -> None:
        super().__init__(in_size, hidden_size, output_gate=output_gate, dropout=dropout)

    @staticmethod
    def chains(trees: Sequence[Tree], labels_at_root: bool = True) -> list:
        """Chain trees over each tree's words, with the tree's root label on the last word."""
        out = []
        for tree in trees:
            words = tree.words
            labels = [None] * len(words)
            if labels_at_root and words:
                labels[-1] = tree.labels[tree.root]
            out.append(Tree.chain(words, labels))
        return out

    def check(self, batch: TreeBatch) -> None:
        if batch.max_children > 1:
            node = int(torch.nonzero(batch.child_pos >= 1)[0])
            parent = int(batch.parent[node])
            raise ValueError(f"node {parent} (tree {int(batch.tree_index[parent])}) has more than 1 child, but "
                             f"SequentialLSTM runs over chains; build them with SequentialLSTM.chains(trees)")
