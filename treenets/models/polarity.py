"""Three-way polarity (negative / neutral / positive, SST-3) from any sentiment model's class probabilities.

Every shipped sentiment model answers with a polarity, so neutral text gets a
neutral answer whatever the model was trained for:

* five classes (SST-5): ``negative = P(very negative) + P(negative)``,
  ``neutral = P(neutral)``, ``positive = P(positive) + P(very positive)``;
* three classes with neutral (``sst2``, trained the paper code's way: neutral
  is trained on every phrase but masked from its binary answer): the unmasked
  softmax;
* two classes (negative, positive): ``neutral = 0``, and the abstention rule
  below decides.

The polarity is the most probable of the three, except that a model may carry
a ``neutral_threshold`` chosen on dev (``model.metadata``): then the answer is
neutral whenever ``P(neutral) >= neutral_threshold``, and otherwise the more
probable of negative and positive. A two-class model with an
``abstain_threshold`` answers neutral when its binary confidence is below it.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch

Tensor = torch.Tensor

__all__ = ["POLARITIES", "polarity_groups", "polarity_probs", "decide_polarity"]

#: The three answers, in order.
POLARITIES = ("negative", "neutral", "positive")


def polarity_groups(labels: Sequence[str]) -> Tuple[List[int], List[int], List[int]]:
    """The class ids that add up to negative, neutral and positive, from the class names.

    A name with ``negative`` in it counts as negative, ``positive`` as positive,
    ``neutral`` as neutral.

    Raises:
        ValueError: classes whose names say no polarity (e.g. ``"0"``, ``"1"``).
    """
    groups: Tuple[List[int], List[int], List[int]] = ([], [], [])
    for k, name in enumerate(labels):
        low = str(name).lower()
        if "negative" in low:
            groups[0].append(k)
        elif "positive" in low:
            groups[2].append(k)
        elif "neutral" in low:
            groups[1].append(k)
        else:
            raise ValueError(f"class {k} ({name!r}) names no polarity; polarity needs classes named "
                             f"negative/neutral/positive (e.g. SST's)")
    if not groups[0] or not groups[2]:
        raise ValueError(f"polarity needs a negative and a positive class, got {list(labels)}")
    return groups


def polarity_probs(probs: Tensor, labels: Sequence[str]) -> Tensor:
    """``[N, 3]`` probabilities of negative, neutral, positive from ``[N, C]`` class probabilities
    (the full softmax: masked classes included)."""
    neg, neu, pos = polarity_groups(labels)
    cols = [probs[:, g].sum(dim=1) if g else probs.new_zeros(probs.shape[0]) for g in (neg, neu, pos)]
    return torch.stack(cols, dim=1)


def decide_polarity(probs3: Tensor, neutral_threshold: Optional[float] = None,
                    abstain_threshold: Optional[float] = None) -> Tensor:
    """``[N]`` polarity ids (0 negative, 1 neutral, 2 positive) of ``[N, 3]`` polarity probabilities.

    Args:
        probs3: from :func:`polarity_probs`.
        neutral_threshold: neutral when ``P(neutral)`` is at least this
            (``None``: the most probable of the three).
        abstain_threshold: neutral when ``max(P(neg), P(pos)) / (P(neg) + P(pos))``
            is below this (for models without a neutral class; ``None``: never).
    """
    polar = torch.where(probs3[:, 2] >= probs3[:, 0], 2, 0)
    if neutral_threshold is None:
        out = probs3.argmax(dim=1)
    else:
        out = torch.where(probs3[:, 1] >= neutral_threshold, 1, polar)
    if abstain_threshold is not None:
        both = (probs3[:, 0] + probs3[:, 2]).clamp_min(1e-12)
        conf = torch.maximum(probs3[:, 0], probs3[:, 2]) / both
        out = torch.where(conf < abstain_threshold, 1, out)
    return out
