"""Sentence-pair relatedness from two trees (SICK)."""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch

from ..batch import TreeBatch
from ..heads import SimilarityHead
from ..metrics import relatedness_metrics
from ..vocab import Vocab
from .base import EmbeddingArg, TaskModel

Tensor = torch.Tensor

__all__ = ["RelatednessModel"]


def _pair(item, i: int) -> tuple:
    """``(tree_a, tree_b, score)`` of a pair: an object with ``.a``, ``.b``, ``.score``
    (:class:`treenets.data.SickPair`) or a tuple ``(a, b, score)``."""
    if isinstance(item, tuple) and len(item) == 3:
        return item
    try:
        return item.a, item.b, item.score
    except AttributeError:
        raise TypeError(f"pair {i} is a {type(item).__name__}; expected an object with .a, .b and .score "
                        f"(treenets.data.SickPair) or a tuple (tree_a, tree_b, score)") from None


class RelatednessModel(TaskModel):
    r"""Tree-LSTM sentence-pair relatedness (Tai et al. 2015, section 5.2).

    One encoder (embeddings + tree cell) for both sentences, their root states
    into a :class:`~treenets.SimilarityHead`::

        h_L, h_R = root states of the two trees
        p^ = softmax(W_p sigmoid(W_x (h_L * h_R) + W_+ |h_L - h_R| + b_h) + b_p)
        y^ = r^T p^,  r = [1, ..., K]

    Args:
        vocab: the vocabulary; ``len(vocab)`` embedding rows (frozen in the paper).
        embed_size: size of a word vector.
        hidden_size: the cell's state size (150 in the paper).
        sim_hidden: the similarity layer (50 in the paper).
        n_classes: ``K``, scores ``1..K``.
        cell: ``childsum`` (Dependency Tree-LSTM), ``nary`` (Constituency), or ``span-mean``
            (no tree: the baseline :class:`~treenets.SpanMean`, the root is the whole sentence).
        cell_options: e.g. ``{"output_gate": False}`` (the paper code's SICK setting).
        freeze_embeddings: keep the word vectors fixed (the paper does).
        embedding: a module in place of the word vectors, e.g. a
            :class:`~treenets.ContextualEmbedding` (see :class:`~treenets.models.TaskModel`).

    Shapes:
        - left, right: two :class:`~treenets.TreeBatch` with ``B`` trees each
        - output: ``[B, n_classes]`` log-probabilities
    """

    task = "relatedness"

    def __init__(self, vocab: Vocab, embed_size: int, hidden_size: int = 150, sim_hidden: int = 50,
                 n_classes: int = 5, *, cell: str = "childsum", cell_options: Optional[dict] = None,
                 freeze_embeddings: bool = True, embedding: EmbeddingArg = None) -> None:
        super().__init__(vocab, embed_size, hidden_size, cell, cell_options, freeze_embeddings, embedding)
        self.config.update(sim_hidden=sim_hidden, n_classes=n_classes)
        self.head = SimilarityHead(hidden_size, sim_hidden, n_classes)

    def encode_roots(self, batch: TreeBatch) -> Tensor:
        """``[B, hidden]`` the root state of every tree."""
        h, _ = self.encoder(batch)
        return h.index_select(0, batch.roots)  # [B, H]

    def forward(self, left: TreeBatch, right: TreeBatch) -> Tensor:
        if left.num_trees != right.num_trees:
            raise ValueError(f"{left.num_trees} left trees but {right.num_trees} right trees")
        return self.head(self.encode_roots(left), self.encode_roots(right))  # [B, K]

    def collate(self, pairs: Sequence, device=None) -> Tuple[TreeBatch, TreeBatch, Tensor]:
        """``(left, right, scores)``: the inputs of :meth:`loss` for a list of scored pairs
        (objects with ``.a``, ``.b``, ``.score`` or tuples ``(a, b, score)``)."""
        parts = [_pair(p, i) for i, p in enumerate(pairs)]
        device = self.device if device is None else device
        scores = torch.tensor([float(s) for _, _, s in parts]).to(device)  # [B]
        return self.batch([a for a, _, _ in parts], device), self.batch([b for _, b, _ in parts], device), scores

    def loss(self, left: TreeBatch, right: TreeBatch, scores: Tensor) -> Tensor:
        """Mean KL divergence from the sparse target distribution of the gold ``scores`` (``[B]``, in 1..K)."""
        return self.head.loss(self(left, right), scores)

    def predict_batch(self, left: TreeBatch, right: TreeBatch) -> Tensor:
        """``[B]`` the expected relatedness score ``r^T p^`` of every pair, in eval mode."""
        with self.evaluating():
            return self.head.predict(self(left, right))

    def evaluate(self, pairs: Sequence, batch_size: int = 256, device=None) -> Dict[str, float]:
        """Pearson r, Spearman rho and MSE against the gold scores, in eval mode.

        Args:
            pairs: scored pairs (objects with ``.a``, ``.b``, ``.score``, or tuples).
            batch_size: pairs per batch.
            device: where to run (``None``: where the model is); the model goes
                back afterwards, and so does its training mode.

        Returns:
            ``pearson``, ``spearman``, ``mse`` and the number of ``pairs``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if len(pairs) < 2:
            raise ValueError(f"correlations need at least 2 pairs, got {len(pairs)}")
        parts = [_pair(p, i) for i, p in enumerate(pairs)]
        preds = []
        with self.evaluating(device) as dev:
            for start in range(0, len(parts), batch_size):
                left, right, _ = self.collate(parts[start:start + batch_size], dev)
                preds.append(self.head.predict(self(left, right)).cpu())
        gold = torch.tensor([float(s) for _, _, s in parts], dtype=torch.float64)  # [B], not rounded to float32
        metrics = relatedness_metrics(torch.cat(preds), gold)
        metrics["pairs"] = len(pairs)
        return metrics
