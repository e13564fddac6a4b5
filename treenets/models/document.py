"""One verdict per input text: the polarity of a whole review from the polarities of its sentences.

Aggregation rule (:func:`aggregate`): the document's probabilities of
negative, neutral and positive are the mean of its sentences' polarity
probabilities, each sentence weighted by its number of words (a long
sentence says more than "Wow."); the document's polarity is then decided
with the model's own rule (:func:`treenets.models.polarity.decide_polarity`,
the same thresholds as a sentence). Its vocabulary coverage is the
word-weighted mean of the sentences' coverage.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch

from .coverage import coverage_warning
from .polarity import POLARITIES, decide_polarity

__all__ = ["DocumentResult", "aggregate"]


@dataclass
class DocumentResult:
    """The verdict for one input text.

    Attributes:
        input: the number of the input (from 1, as a sentence result's ``input``).
        label: its polarity, ``negative``, ``neutral`` or ``positive``.
        probs: polarity -> probability (word-weighted mean over its sentences).
        sentences: the :class:`~treenets.models.prediction.SentimentResult` of
            every sentence, in order.
        coverage: word-weighted share of its words the model's vocabulary
            knows (``None`` when the model has no vocabulary to check).
        warnings: what the caller should know (low coverage).
    """

    input: int
    label: str
    probs: Dict[str, float]
    sentences: List = field(default_factory=list)
    coverage: Optional[float] = None
    warnings: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict:
        """Plain data (JSON-ready): ``label``, ``probs``, ``sentences`` (how many), ``coverage``, ``warnings``
        and ``rule`` (the aggregation, in words)."""
        return {"label": self.label, "probs": {k: round(v, 6) for k, v in self.probs.items()},
                "sentences": len(self.sentences),
                "coverage": None if self.coverage is None else round(self.coverage, 4),
                "warnings": list(self.warnings), "rule": RULE}

    def __str__(self) -> str:
        n = len(self.sentences)
        return f"{self.label} ({self.probs[self.label]:.2f}) over {n} sentence{'s' if n != 1 else ''}"


#: The aggregation rule, as it is written into JSON.
RULE = "word-weighted mean of the sentences' polarity probabilities"


def aggregate(results: Sequence, neutral_threshold: Optional[float] = None,
              abstain_threshold: Optional[float] = None) -> DocumentResult:
    """The :class:`DocumentResult` of the sentence results of one input (see the module docs).

    Raises:
        ValueError: no sentence, or sentences of different inputs.
    """
    if not results:
        raise ValueError("a document needs at least one sentence")
    inputs = {r.input for r in results}
    if len(inputs) != 1:
        raise ValueError(f"sentences of several inputs ({sorted(inputs)}) cannot make one document")
    weights = torch.tensor([float(max(1, len(r.tree.words))) for r in results])
    probs = torch.tensor([[r.polarity_probs[p] for p in POLARITIES] for r in results])  # [S, 3]
    mean = (weights[:, None] * probs).sum(0) / weights.sum()
    label = POLARITIES[int(decide_polarity(mean[None], neutral_threshold, abstain_threshold)[0])]
    covered = [(w, r.coverage) for w, r in zip(weights.tolist(), results) if r.coverage is not None]
    coverage = (sum(w * c for w, c in covered) / sum(w for w, _ in covered)) if covered else None
    warning = coverage_warning(coverage)
    warnings = [warning] if warning else []
    return DocumentResult(results[0].input, label, dict(zip(POLARITIES, mean.tolist())), list(results),
                          coverage, warnings)
