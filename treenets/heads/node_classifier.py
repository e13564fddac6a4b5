"""Per-node classification head for SST sentiment."""
from __future__ import annotations

import numbers
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..structures.batch import TreeBatch

Tensor = torch.Tensor


class NodeClassifier(nn.Module):
    r"""Softmax classifier on every node's hidden state (Tai et al. 2015, section 4.1)::

        p(y | subtree at j) = softmax(W_s h_j + b_s)
        J = -(1/m) sum_k log p(y_k | subtree_k)      over every labelled node k

    ``n_classes=5`` is SST fine-grained. SST binary comes two ways:

    * ``n_classes=2``: labels from :func:`treenets.data.sst_binary_label`, which
      marks neutral nodes -1 so that the loss and accuracy skip them;
    * the paper code's way: ``n_classes=3`` (negative, neutral, positive) with
      ``masked_classes=(1,)``: neutral phrases are trained on, but predictions
      only choose between negative and positive, and accuracy counts only
      non-neutral nodes.

    Args:
        hidden_size: size of ``h``.
        n_classes: number of classes.
        dropout: dropout on ``h`` before the softmax (the paper uses 0.5).
        masked_classes: classes that are trained but never predicted.

    Shapes:
        - h: ``[N, hidden_size]``
        - output: ``[N, n_classes]`` logits
    """

    def __init__(self, hidden_size: int, n_classes: int, *, dropout: float = 0.0,
                 masked_classes: Sequence[int] = ()) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        if isinstance(masked_classes, (str, bytes)) or not all(
                isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in masked_classes):
            raise ValueError(f"masked_classes must be a list of class ids (integers), not {masked_classes!r}")
        self.masked_classes = tuple(int(k) for k in masked_classes)
        if any(not 0 <= k < n_classes for k in self.masked_classes) or n_classes - len(set(self.masked_classes)) < 2:
            raise ValueError(f"masked_classes {self.masked_classes} must name classes in 0..{n_classes - 1} "
                             f"and leave at least two to predict")
        self.hidden_size = hidden_size
        self.n_classes = n_classes
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(hidden_size, n_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()

    def forward(self, h: Tensor) -> Tensor:
        return self.linear(self.dropout(h))

    def loss(self, logits: Tensor, labels: Tensor, reduction: str = "mean", *,
             num_trees: Optional[int] = None) -> Tensor:
        """Cross-entropy over every node whose label is not -1.

        Args:
            logits: ``[N, n_classes]``.
            labels: ``[N]``, -1 for no label.
            reduction: ``"mean"`` averages over labelled nodes (``J`` above);
                ``"sum"`` adds them up; ``"none"`` gives one loss per node (0
                where unlabelled); ``"tree"`` adds them up and divides by
                ``num_trees``: the paper code's objective, summed over a tree's
                nodes and averaged over the trees of the batch.
            num_trees: the number of trees the nodes belong to (``"tree"`` only).

        Raises:
            ValueError: labels that are not integers or lie outside
                ``-1..n_classes-1`` (naming the node), or, for every reduction
                but ``"none"``, no labelled node at all: nothing to learn from,
                which usually means the labels were not class ids (category
                strings such as ``"NP"`` become -1 in ``TreeBatch.from_trees``).
        """
        self._check_labels(labels)
        if labels.shape != logits.shape[:1]:
            raise ValueError(f"{labels.shape[0] if labels.dim() else 0} labels for {logits.shape[0]} nodes")
        if reduction not in ("tree", "mean", "sum", "none"):
            raise ValueError(f"unknown reduction {reduction!r}; choose 'tree', 'mean', 'sum' or 'none'")
        if reduction == "tree" and (num_trees is None or num_trees < 1):
            raise ValueError(f"reduction='tree' needs num_trees >= 1, got {num_trees}")
        if reduction != "none" and not bool((labels >= 0).any()):
            # a mean over nothing is 0/0 = NaN; a sum of zero would train on nothing in silence
            raise ValueError(f"none of the {labels.numel()} nodes has a label (every label is -1), so there is no "
                             f"loss to compute; labels that are not integer classes (e.g. 'NP') count as none")
        if reduction == "tree":
            return F.cross_entropy(logits, labels, ignore_index=-1, reduction="sum") / num_trees
        return F.cross_entropy(logits, labels, ignore_index=-1, reduction=reduction)

    def _check_labels(self, labels: Tensor) -> None:
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be an integer tensor (class ids, -1 for none), got dtype {labels.dtype}")
        if labels.numel() and (labels.max() >= self.n_classes or labels.min() < -1):
            bad = int(torch.nonzero((labels >= self.n_classes) | (labels < -1))[0])
            raise ValueError(f"node {bad} has label {int(labels[bad])}, outside 0..{self.n_classes - 1} "
                             f"(use -1 for no label; for SST-2 map labels with treenets.data.sst_binary_label)")

    @torch.no_grad()
    def predict(self, logits: Tensor) -> Tensor:
        """``[N]`` the most likely class of every node, never a masked class."""
        if self.masked_classes:
            logits = logits.clone()
            logits[:, list(self.masked_classes)] = float("-inf")
        return logits.argmax(dim=1)

    @torch.no_grad()
    def accuracy(self, logits: Tensor, batch: TreeBatch) -> Dict[str, float]:
        """Root and all-node accuracy over labelled nodes (masked classes excluded), with counts."""
        self._check_labels(batch.labels)
        pred = self.predict(logits)
        labels = batch.labels.clone()
        for k in self.masked_classes:
            labels[labels == k] = -1
        labelled = labels >= 0
        root_labels = labels[batch.roots]
        root_ok = (pred[batch.roots] == root_labels) & (root_labels >= 0)
        n_roots = int((root_labels >= 0).sum())
        n_nodes = int(labelled.sum())
        return {
            "root_correct": int(root_ok.sum()), "root_total": n_roots,
            "node_correct": int(((pred == labels) & labelled).sum()), "node_total": n_nodes,
        }

    def extra_repr(self) -> str:
        masked = f", masked_classes={self.masked_classes}" if self.masked_classes else ""
        return f"{self.hidden_size}, {self.n_classes}, dropout={self.dropout.p}{masked}"
