"""Word embeddings plus a tree cell: from a TreeBatch (or a DGL graph) to a state per node."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from ..structures.batch import TreeBatch
from ..cells.base import TreeCell
from ..cells.inputs import WordInputs
from ..structures.propagation import as_tree_batch

Tensor = torch.Tensor


class TreeEncoder(nn.Module):
    """Embed each node's word, then run a tree cell.

    Phrase nodes (nodes with children) with no word (``word_ids == -1``) get a
    zero input. Nothing else does in silence: a batch without word ids, or a
    leaf without one, raises a ``ValueError`` that says where word ids were
    looked for and how to pass them (:meth:`~treenets.TreeBatch.check_words`).
    With an embedding module the leaves are checked when the batch has word
    ids (a task model's batches do); a batch of bare trees is the module's to read.
    To run a cell on inputs of your own, call it directly: ``cell(batch, x)``.

    Args:
        embedding: an ``nn.Embedding`` whose size matches ``cell.in_size``, or
            any module with an ``embedding_dim`` whose ``forward(batch)``
            returns the inputs ``[N, embedding_dim]`` itself (zeros at nodes
            without a word), such as :class:`~treenets.nn.contextual.ContextualEmbedding`.
        cell: any :class:`~treenets.cells.TreeCell`.

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` (or ``dgl.DGLGraph``) with ``N`` nodes
        - output: ``(h, c)``, each ``[N, cell.hidden_size]``
    """

    def __init__(self, embedding: nn.Embedding, cell: TreeCell) -> None:
        super().__init__()
        if not isinstance(getattr(embedding, "embedding_dim", None), int):
            raise ValueError(f"the embedding must be an nn.Embedding or a module with an integer embedding_dim "
                             f"(its output size), not a {type(embedding).__name__}")
        if embedding.embedding_dim != cell.in_size:
            raise ValueError(f"embedding size {embedding.embedding_dim} != cell input size {cell.in_size}")
        self.embedding = embedding
        self.cell = cell

    @property
    def hidden_size(self) -> int:
        return self.cell.hidden_size

    def embed(self, batch: TreeBatch) -> Tensor:
        """``[N, in_size]`` word vectors, zeros at phrase nodes without a word."""
        if not isinstance(self.embedding, nn.Embedding):
            if batch.word_source is not None:  # word ids say which nodes hold a word: a leaf must
                batch.check_words(type(self).__name__)
            return _module_inputs(self.embedding, batch)
        self._check_word_ids(batch)
        return self.embed_words(batch.word_ids)

    def embed_words(self, word_ids: Tensor) -> Tensor:
        """``[N, in]`` the vectors of ``word_ids`` (``[N]``), an exact zero where the id is -1 (no word).

        The zero is selected, not multiplied in, so that whatever row 0 holds
        (the unknown word's vector, even NaN) never reaches a node without a word.
        """
        has_word = (word_ids >= 0).unsqueeze(1)  # [N, 1]
        x = self.embedding(word_ids.clamp(min=0))  # [N, in]
        return torch.where(has_word, x, x.new_zeros(()))

    def word_inputs(self, batch: TreeBatch) -> WordInputs:
        """The inputs of :meth:`embed` stored once per distinct word (:class:`~treenets.cells.inputs.WordInputs`):
        the embedding looked up once per word, each node's row, ``-1`` at phrase nodes without a word."""
        self._check_word_ids(batch)
        words, index = torch.unique(batch.word_ids, return_inverse=True)  # sorted: -1 (no word) first
        if bool(words[0] < 0):
            words, index = words[1:], index - 1
        return WordInputs(self.embedding(words), index)

    def _check_word_ids(self, batch: TreeBatch) -> None:
        batch.check_words(type(self).__name__)
        if batch.max_word_id >= self.embedding.num_embeddings:
            raise ValueError(f"word id {batch.max_word_id} is outside the embedding "
                             f"({self.embedding.num_embeddings} rows); was the batch built with another vocab?")

    def forward(self, batch) -> Tuple[Tensor, Tensor]:
        """``(h, c)`` for every node of ``batch`` (a TreeBatch, or a DGL graph converted once and cached).

        With an ``nn.Embedding`` and a cell that reads :class:`~treenets.cells.inputs.WordInputs` (every
        cell that keeps :meth:`TreeCell.forward <treenets.cells.TreeCell.forward>`), each distinct word of
        the batch is looked up and projected once (:meth:`word_inputs`); the states are those of
        ``cell(batch, embed(batch))``."""
        batch = as_tree_batch(batch)
        if isinstance(self.embedding, nn.Embedding) and type(self.cell).forward is TreeCell.forward:
            return self.cell(batch, self.word_inputs(batch))
        return self.cell(batch, self.embed(batch))


def _module_inputs(embedding: nn.Module, batch: TreeBatch) -> Tensor:
    """Inputs from an embedding module that reads the batch itself (e.g. ContextualEmbedding)."""
    x = embedding(batch)  # [N, in]
    if not isinstance(x, Tensor) or tuple(x.shape) != (batch.num_nodes, embedding.embedding_dim):
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{type(embedding).__name__} returned {shape}, expected "
                         f"({batch.num_nodes}, {embedding.embedding_dim}): one row per node")
    return x
