"""No tree: every node gets the mean of the word vectors in its span (the baseline for the tree cells)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from ..structures.batch import TreeBatch
from ..structures.propagation import as_tree_batch, propagate
from .base import TreeCell, sum_children
from .engine import level_step_for, resolve_engine

Tensor = torch.Tensor


class SpanMean(TreeCell):
    r"""The no-tree baseline: each node's state is the mean of the word vectors under it, projected.

    With ``W(j)`` the nodes of ``j``'s subtree (``j`` included) that hold a word::

        s_j = 1/|W(j)| sum_{k in W(j)} x_k          (s_j = 0 when W(j) is empty)
        h_j = tanh(W s_j + b)
        c_j = 0                                     (no memory)

    The root's span is the whole sentence, so a root state never depends on
    the tree: it is the mean of the sentence's token vectors (the pooling that
    sentence-embedding models such as all-MiniLM-L6-v2 are trained with),
    through one ``tanh`` layer of the cell's ``hidden_size``, so that the
    same head (:class:`~treenets.NodeClassifier`, :class:`~treenets.SimilarityHead`)
    sits on top. The tree only says which spans exist below the root, so that
    per-node labels (SST's phrases) are trained on the same nodes as with a
    tree cell. Compare it with a Tree-LSTM on the same inputs to see what
    the tree adds.

    Computed leaves-up with the batch's schedule (:func:`~treenets.propagate`):
    each node adds its children's sums and word counts to its own, so any
    number of children works (constituency and dependency trees alike) and
    nothing recurses. The projection is linear, so it is applied to every
    word once, before the sums: ``W mean(x) = mean(W x)``.

    Which nodes hold a word: those with ``word_ids >= 0`` where the batch has
    word ids (from a vocabulary, or given), else those with a token in
    ``batch.trees`` (a batch from :meth:`~treenets.TreeBatch.from_trees`).

    Args:
        in_size: size of each word vector ``x``.
        hidden_size: size of ``h`` (and of the zero ``c``).
        dropout: dropout on ``x``.

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` with ``N`` nodes
        - x: ``[N, in_size]`` (rows of nodes without a word are ignored, whatever they hold)
        - output: ``(h, c)``, each ``[N, hidden_size]``
    """

    def __init__(self, in_size: int, hidden_size: int, *, dropout: float = 0.0) -> None:
        super().__init__(in_size, hidden_size, dropout=dropout)
        self.W = nn.Linear(in_size, hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.W.reset_parameters()

    @staticmethod
    def word_mask(batch: TreeBatch) -> Tensor:
        """``[N]`` bool: the nodes that hold a word."""
        if batch.word_source is not None:  # word ids from a vocabulary or given: worked out when batching
            return batch.word_ids >= 0
        if batch.trees is not None:
            mask = [token is not None for tree in batch.trees for token in tree.tokens]
            return torch.tensor(mask, dtype=torch.bool, device=batch.device)
        raise ValueError("SpanMean needs to know which nodes hold a word: build the batch with "
                         f"TreeBatch.from_trees, or give it word ids ({batch.missing_words_help})")

    def forward(self, batch, x: Tensor, engine: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        """``(h, c)`` for every node: ``h`` the projected mean of its span's words, ``c`` zeros.

        ``engine`` as in :meth:`TreeCell.forward`."""
        batch = as_tree_batch(batch)
        self.check_inputs(batch, x)
        H = self.hidden_size
        mask = self.word_mask(batch).unsqueeze(1)  # [N, 1]
        x = torch.where(mask, x, x.new_zeros(()))  # rows without a word are ignored, even NaN ones
        # [N, H + 1]: each node's own projected word (zeros without one), and its word count
        own = torch.cat([F.linear(self.dropout(x), self.W.weight) * mask, mask.to(x.dtype)], dim=1)
        sums, _ = propagate(batch, own.index_select(0, batch.leaf_order), own.index_select(0, batch.internal_order),
                            level_step_for(self, resolve_engine(engine, x.device, batch.num_nodes, self)),
                            self.leaf_step, H + 1)
        total, count = sums.split([H, 1], dim=1)  # [N, H], [N, 1] over each node's subtree
        h = torch.tanh(total / count.clamp(min=1) + self.W.bias)  # [N, H]
        return h, torch.zeros_like(h)

    def level_step(self, wx, h_child, c_child, slot, pos):
        s = wx + sum_children(h_child, slot, wx.shape[0])  # [n, H + 1] own plus the children's sums and counts
        return s, s

    def leaf_step(self, wx):
        return wx, wx
