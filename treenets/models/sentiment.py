"""Per-node sentiment classification over trees (SST)."""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch

from ..batch import TreeBatch
from ..heads import NodeClassifier
from ..vocab import Vocab
from .base import EmbeddingArg, TaskModel

Tensor = torch.Tensor

__all__ = ["SentimentModel"]


class SentimentModel(TaskModel):
    r"""Tree-LSTM sentiment classifier over every node (Tai et al. 2015, section 5.1).

    Embeddings, a tree cell and a :class:`~treenets.NodeClassifier`::

        h_j = cell(x_j, children of j)
        p(y | subtree at j) = softmax(W_s dropout(h_j) + b_s)

    Args:
        vocab: the vocabulary; ``len(vocab)`` embedding rows.
        embed_size: size of a word vector.
        hidden_size: the cell's state size (150 constituency, 168 dependency in the paper).
        n_classes: 5 (fine-grained), 2 (binary), or 3 with ``masked_classes=(1,)``
            (binary the paper code's way: neutral trained, never predicted).
        cell: ``nary`` (Constituency Tree-LSTM), ``childsum``, ``slstm``, ``sequential``, or
            ``span-mean`` (no tree: the baseline :class:`~treenets.SpanMean`).
        cell_options: keyword options for the cell, e.g. ``{"leaf_input_only": True}``.
        dropout: dropout before the softmax (0.5 in the paper).
        freeze_embeddings: keep the word vectors fixed.
        masked_classes: classes trained on but never predicted.
        embedding: a module in place of the word vectors, e.g. a
            :class:`~treenets.ContextualEmbedding` (see :class:`~treenets.models.TaskModel`).

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` with ``N`` nodes
        - output: ``[N, n_classes]`` logits

    Example:
        >>> import treenets as tn
        >>> trees = [tn.Tree.from_brackets("(3 (2 a) (4 film))")]
        >>> model = tn.SentimentModel(tn.Vocab.build(t.words for t in trees), 8, 6)
        >>> batch = model.batch(trees)
        >>> model.loss(batch).shape, model.predict_batch(batch)[1].shape
        (torch.Size([]), torch.Size([3, 5]))
    """

    task = "sentiment"

    def __init__(self, vocab: Vocab, embed_size: int, hidden_size: int = 150, n_classes: int = 5, *,
                 cell: str = "nary", cell_options: Optional[dict] = None, dropout: float = 0.5,
                 freeze_embeddings: bool = False, masked_classes: Sequence[int] = (),
                 embedding: EmbeddingArg = None) -> None:
        super().__init__(vocab, embed_size, hidden_size, cell, cell_options, freeze_embeddings, embedding)
        self.config.update(n_classes=n_classes, dropout=dropout, masked_classes=list(masked_classes))
        self.classifier = NodeClassifier(hidden_size, n_classes, dropout=dropout, masked_classes=masked_classes)

    @property
    def n_classes(self) -> int:
        return self.classifier.n_classes

    def forward(self, batch: TreeBatch) -> Tensor:
        h, _ = self.encoder(batch)  # [N, hidden]
        return self.classifier(h)  # [N, n_classes]

    def collate(self, trees: Sequence, device=None) -> Tuple[TreeBatch]:
        """``(batch,)``: the inputs of :meth:`loss` for a list of labelled trees."""
        return (self.batch(trees, device),)

    def loss(self, batch: TreeBatch, reduction: str = "tree") -> Tensor:
        """Cross-entropy over every labelled node of ``batch`` (labels of -1 are skipped).

        Args:
            batch: trees with node labels (``batch.labels``, class ids).
            reduction: ``"tree"`` (the paper's objective: summed over a tree's
                labelled nodes, averaged over the trees of the batch),
                ``"mean"`` (averaged over labelled nodes), ``"sum"``, or
                ``"none"`` (``[N]``, one per node, 0 where unlabelled).
        """
        return self.classifier.loss(self(batch), batch.labels, reduction, num_trees=batch.num_trees)

    def predict_batch(self, batch: TreeBatch) -> Tuple[Tensor, Tensor]:
        """The class of every node and the class probabilities, in eval mode.

        A masked class is never predicted and gets probability 0 (the others
        are renormalised).

        Shapes:
            - batch: ``N`` nodes
            - output: ``(classes [N], probs [N, n_classes])``
        """
        with self.evaluating():
            logits = self(batch)  # [N, C]
            classes = self.classifier.predict(logits)  # [N]
            if self.classifier.masked_classes:
                logits[:, list(self.classifier.masked_classes)] = float("-inf")
            return classes, logits.softmax(dim=1)

    def evaluate(self, trees: Sequence, batch_size: int = 256, device=None) -> Dict[str, float]:
        """Root and all-node accuracy (percent) over labelled trees, in eval mode.

        Args:
            trees: labelled :class:`~treenets.Tree` objects.
            batch_size: trees per batch.
            device: where to run (``None``: where the model is); the model goes
                back afterwards, and so does its training mode.

        Returns:
            ``root_acc``, ``node_acc`` (percent; nodes with masked classes
            excluded), and the counts ``roots`` and ``nodes`` they are over.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        totals = {"root_correct": 0, "root_total": 0, "node_correct": 0, "node_total": 0}
        with self.evaluating(device) as dev:
            for start in range(0, len(trees), batch_size):
                batch = self.batch(trees[start:start + batch_size], dev)
                counts = self.classifier.accuracy(self(batch), batch)
                for key in totals:
                    totals[key] += counts[key]
        return {
            "root_acc": 100.0 * totals["root_correct"] / max(totals["root_total"], 1),
            "node_acc": 100.0 * totals["node_correct"] / max(totals["node_total"], 1),
            "roots": totals["root_total"], "nodes": totals["node_total"],
        }
