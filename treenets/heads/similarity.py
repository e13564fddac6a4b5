"""Sentence-pair relatedness head for SICK (Tai et al. 2015, section 4.2)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor


def sparse_target(scores: Tensor, n_classes: int = 5) -> Tensor:
    r"""The sparse target distribution ``p`` with ``r^T p = y`` for scores in ``[1, K]``::

        p_i = y - floor(y)        if i = floor(y) + 1
        p_i = floor(y) - y + 1    if i = floor(y)
        p_i = 0                   otherwise          (1-based classes)

    Shapes:
        - scores: ``[B]``
        - output: ``[B, n_classes]``

    Raises:
        ValueError: if a score is outside ``[1, n_classes]`` or NaN (naming the pair).
    """
    scores = scores.to(torch.get_default_dtype()) if not scores.is_floating_point() else scores
    outside = ~((scores >= 1) & (scores <= n_classes))  # NaN is outside too
    if scores.numel() and outside.any():
        bad = int(torch.nonzero(outside)[0])
        raise ValueError(f"score {float(scores[bad])} of pair {bad} is outside [1, {n_classes}]")
    floor = scores.floor()
    low = (floor - 1).long().clamp(max=n_classes - 1)  # 0-based index of floor(y)
    high = floor.long().clamp(max=n_classes - 1)  # 0-based index of floor(y) + 1
    target = scores.new_zeros(scores.shape[0], n_classes)
    target.scatter_add_(1, high.unsqueeze(1), (scores - floor).unsqueeze(1))
    target.scatter_add_(1, low.unsqueeze(1), (floor - scores + 1).unsqueeze(1))
    return target


class SimilarityHead(nn.Module):
    r"""Relatedness of two sentences from their root states::

        h_x = h_L * h_R
        h_+ = |h_L - h_R|
        h_s = sigmoid(W_x h_x + W_+ h_+ + b_h)
        p^  = softmax(W_p h_s + b_p)
        y^  = r^T p^,   r = [1, 2, ..., K]

    trained with ``KL(p || p^)`` against :func:`sparse_target`.

    Args:
        hidden_size: size of the root states.
        sim_hidden: size of ``h_s`` (the paper uses 50).
        n_classes: ``K``, the score range ``1..K``.

    Shapes:
        - h_left, h_right: ``[B, hidden_size]``
        - output: ``[B, n_classes]`` log-probabilities
    """

    def __init__(self, hidden_size: int, sim_hidden: int = 50, n_classes: int = 5) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.sim_hidden = sim_hidden
        self.n_classes = n_classes
        # W_x and W_+ fused: [h_x, h_+] -> h_s
        self.hidden = nn.Linear(2 * hidden_size, sim_hidden)
        self.out = nn.Linear(sim_hidden, n_classes)
        self.register_buffer("r", torch.arange(1, n_classes + 1, dtype=torch.get_default_dtype()), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.hidden.reset_parameters()
        self.out.reset_parameters()

    def forward(self, h_left: Tensor, h_right: Tensor) -> Tensor:
        if h_left.shape != h_right.shape:
            raise ValueError(f"left and right states differ in shape: {tuple(h_left.shape)} vs {tuple(h_right.shape)}")
        features = torch.cat([h_left * h_right, (h_left - h_right).abs()], dim=1)  # [B, 2H]
        h_s = torch.sigmoid(self.hidden(features))  # [B, sim_hidden]
        return F.log_softmax(self.out(h_s), dim=1)

    def predict(self, log_probs: Tensor) -> Tensor:
        """``[B]`` expected scores ``r^T p^``."""
        return log_probs.exp() @ self.r.to(log_probs.dtype)

    def loss(self, log_probs: Tensor, scores: Tensor) -> Tensor:
        """Mean KL divergence from the sparse target distribution of ``scores``.

        Raises:
            ValueError: with no pairs (a mean over nothing, which would be NaN),
                with predictions and scores for different numbers of pairs, or a
                score outside ``[1, n_classes]``.
        """
        if log_probs.dim() != 2 or scores.shape != log_probs.shape[:1]:
            raise ValueError(f"log_probs {tuple(log_probs.shape)} and scores {tuple(scores.shape)} do not match: "
                             f"expected [B, {self.n_classes}] and [B]")
        if scores.numel() == 0:
            raise ValueError("SimilarityHead.loss got no pairs: the mean over zero pairs is undefined (NaN)")
        target = sparse_target(scores.to(log_probs.dtype), self.n_classes)
        return F.kl_div(log_probs, target, reduction="batchmean")

    def extra_repr(self) -> str:
        return f"{self.hidden_size}, sim_hidden={self.sim_hidden}, n_classes={self.n_classes}"
