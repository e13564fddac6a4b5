"""Scores of predictions against gold values."""
from __future__ import annotations

from typing import Dict

import torch

__all__ = ["relatedness_metrics"]


def relatedness_metrics(pred: torch.Tensor, gold: torch.Tensor) -> Dict[str, float]:
    """Pearson r, Spearman rho and MSE between predicted and gold scores (SICK's three metrics).

    Shapes:
        - pred, gold: ``[B]``
    """
    from scipy.stats import pearsonr, spearmanr

    if pred.shape != gold.shape:
        raise ValueError(f"{tuple(pred.shape)} predictions but {tuple(gold.shape)} gold scores")
    p, g = pred.double().cpu().numpy(), gold.double().cpu().numpy()
    return {"pearson": float(pearsonr(p, g)[0]), "spearman": float(spearmanr(p, g)[0]),
            "mse": float(((p - g) ** 2).mean())}
