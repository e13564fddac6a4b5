"""Class names of the sentiment tasks, by class id: the one place that names them."""
from __future__ import annotations

from typing import Sequence, Tuple

__all__ = ["SST_FINE_LABELS", "SST_BINARY_LABELS", "SST_THREE_LABELS", "default_labels"]

#: The fine-grained (5-way) SST classes.
SST_FINE_LABELS = ("very negative", "negative", "neutral", "positive", "very positive")
#: The binary SST classes.
SST_BINARY_LABELS = ("negative", "positive")
#: Three classes: the paper code's binary task trains them and masks the middle one.
SST_THREE_LABELS = ("negative", "neutral", "positive")


def default_labels(n_classes: int, masked_classes: Sequence[int] = ()) -> Tuple[str, ...]:
    """SST's class names: 5 classes very negative .. very positive; 2 negative, positive;
    3 with the middle class masked (the paper code's binary task) negative, neutral, positive;
    otherwise ``"0"``, ``"1"``, ..."""
    if n_classes == 5:
        return SST_FINE_LABELS
    if n_classes == 2:
        return SST_BINARY_LABELS
    if n_classes == 3 and list(masked_classes) == [1]:
        return SST_THREE_LABELS
    return tuple(str(k) for k in range(n_classes))
