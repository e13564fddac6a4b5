"""Temperature scaling (Guo et al. 2017): one scalar ``T`` per sentiment model, fit on dev.

A model answers with ``softmax(logits / T)`` (an ensemble: ``softmax(log(mean
of its members' probabilities) / T)``). ``T > 1`` softens over-confident
probabilities, ``T < 1`` sharpens under-confident ones; the most probable
class never changes. :func:`fit_temperature` chooses ``T`` by minimising the
negative log-likelihood of the gold **root** labels of labelled trees (SST
dev), under the probabilities the model answers with (masked classes left
out), by a bounded one-dimensional search over ``log T`` (scipy's
``minimize_scalar``). ``T`` is stored in the model's ``config.json``
(``model.temperature``; an ensemble's ``ensemble.json``: ``temperature``) and
checked on load like the other fields: :func:`check_temperature`.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence

import torch

__all__ = ["TEMPERATURE_RANGE", "check_temperature", "root_log_probs", "fit_temperature"]

#: The temperatures a model may carry (both ends included).
TEMPERATURE_RANGE = (0.01, 100.0)


def check_temperature(value, where=None, field: str = "temperature") -> float:
    """``value`` as a float, if it is a finite number in :data:`TEMPERATURE_RANGE`.

    Raises:
        ValueError: anything else (``true``, a string, 0, a negative number,
            NaN, infinity), naming ``where`` (a file) and ``field`` when given.
    """
    low, high = TEMPERATURE_RANGE
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and low <= value <= high
    if not ok:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}\"{field}\" must be a number from {low:g} to {high:g} (the softmax "
                         f"temperature; 1 leaves the probabilities as trained), not {shown}")
    return float(value)


def root_log_probs(model, trees: Sequence, batch_size: int = 256):
    """``(log_probs [R, K], gold [R])``: the log of the probabilities ``model`` answers with at
    temperature 1 (its K predictable classes, masked ones left out) on the root of every tree
    whose gold root label is one of them; gold as indexes into those K classes."""
    masked = set(model.config.get("masked_classes") or [])
    keep = [k for k in range(model.n_classes) if k not in masked]
    column = {k: i for i, k in enumerate(keep)}
    rows, gold = [], []
    for start in range(0, len(trees), batch_size):
        chunk = list(trees[start:start + batch_size])
        # at temperature 1 and without the contrast rule: T is fit on the softmax alone, before any rule
        _, probs = model.predict_from_probs(model.class_probs(model.batch(chunk), temperature=1.0,
                                                              contrast_weight=0.0))
        offset = 0
        for t in chunk:
            label = t.labels[t.root]
            label = -1 if label is None else int(label)
            if label in column:
                rows.append(probs[offset + t.root, keep])
                gold.append(column[label])
            offset += len(t)
    if not rows:
        raise ValueError(f"no tree among {len(trees)} has a gold root label the model predicts; "
                         f"temperature is fit on labelled roots")
    log_probs = torch.stack(rows).double().clamp_min(1e-12).log()
    return log_probs, torch.tensor(gold)


def _nll(log_probs: torch.Tensor, gold: torch.Tensor, temperature: float) -> float:
    return float(torch.nn.functional.cross_entropy(log_probs / temperature, gold))


def fit_temperature(model, trees: Sequence, batch_size: int = 256) -> Dict[str, float]:
    """The temperature that minimises the root NLL of ``trees`` (labelled in the model's classes, e.g.
    SST dev loaded in the model's mode). Does not change ``model``; set ``model.temperature`` to use it.

    Returns:
        ``temperature``, ``nll_before`` (at T = 1), ``nll_after`` and ``roots`` (how many roots).
    """
    from scipy.optimize import minimize_scalar

    log_probs, gold = root_log_probs(model, trees, batch_size)
    low, high = (math.log(x) for x in TEMPERATURE_RANGE)
    found = minimize_scalar(lambda u: _nll(log_probs, gold, math.exp(u)), bounds=(low, high), method="bounded",
                            options={"xatol": 1e-5})
    temperature = math.exp(float(found.x))
    return {"temperature": temperature, "nll_before": _nll(log_probs, gold, 1.0),
            "nll_after": _nll(log_probs, gold, temperature), "roots": int(gold.numel())}
