"""How much of a text the model can read: the share of its words its vocabulary knows.

A Tree-LSTM over word vectors reads an unknown word as ``<unk>``; on text
that is mostly unknown (another language, code, noise) its answer says
nothing, however confident. Every result carries its coverage, and below
:data:`COVERAGE_THRESHOLD` a warning (JSON ``warnings``; the CLI prints one
line on standard error).

Punctuation is not counted. A model without a word vocabulary (a
transformer's features with no list of known words saved) has no coverage
(``None``) and no warning.
"""
from __future__ import annotations

import string
from typing import Optional, Sequence

__all__ = ["COVERAGE_THRESHOLD", "coverage", "coverage_warning"]

#: Below this share of known words a result carries a warning.
COVERAGE_THRESHOLD = 0.6


def _is_word(token: str) -> bool:
    return not all(ch in string.punctuation for ch in token)


def coverage(vocab, words: Sequence[str]) -> Optional[float]:
    """The share of ``words`` (punctuation left out) that ``vocab`` knows; ``None`` without a vocabulary
    (fewer than two entries) and 1.0 for a sentence of punctuation only."""
    if vocab is None or len(vocab) < 2:
        return None
    counted = [w for w in words if _is_word(w)]
    if not counted:
        return 1.0
    return sum(1 for w in counted if w in vocab) / len(counted)


def coverage_warning(share: Optional[float], threshold: float = COVERAGE_THRESHOLD) -> Optional[str]:
    """The warning for a coverage below ``threshold`` (``None`` when there is nothing to say)."""
    if share is None or share >= threshold:
        return None
    return (f"low vocabulary coverage: the model knows {share:.0%} of the words (under {threshold:.0%}); "
            f"the answer is unreliable (another language, code or noise?)")
