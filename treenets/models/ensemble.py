"""Several sentiment models as one: the mean of their class probabilities on every node.

Members read the same trees (tree kind and binarization) and name the same
classes; each batches the trees its own way (word vectors or transformer
features), so models with different inputs combine (``sst5`` with GloVe and
``sst5-minilm`` with MiniLM features). Everything a
:class:`~treenets.SentimentModel` answers (``predict``, ``classify``,
polarity, reasons, coverage) works on the mean.

A shipped ensemble is a folder under ``treenets/pretrained/`` with an
``ensemble.json``: ``{"task": "sentiment", "members": [names...],
"metadata": {...}}`` and optionally ``"temperature"`` (the ensemble's own:
its probabilities are ``softmax(log(mean) / temperature)`` over the mean of
its members' probabilities as trained, at temperature 1 whatever their own,
so calibrating a member never changes an ensemble; see
:mod:`treenets.models.temperature`) and ``"contrast_rule": {"weight": C}``
(the ensemble's own A-but-B rule on the root, after its temperature; the
members' own rules are off inside it; see :mod:`treenets.models.contrast`);
:func:`treenets.load` builds it from its members.
"""
from __future__ import annotations

import contextlib
from typing import Dict, Iterator, List, Optional, Sequence

import torch
from torch import nn

from .contrast import CONTRAST_KEY, check_contrast_rule
from .sentiment import SentimentModel
from .temperature import check_temperature

Tensor = torch.Tensor

__all__ = ["SentimentEnsemble", "ENSEMBLE_FILE"]

#: The file that makes a folder an ensemble of pretrained models.
ENSEMBLE_FILE = "ensemble.json"


class SentimentEnsemble(SentimentModel):
    """The mean of several :class:`~treenets.SentimentModel` s (see the module docs).

    Args:
        members: the models; same labels, masked classes, tree kind and binarization.
        name: what ``model.name`` says.
        temperature: the ensemble's own softmax temperature over the log of
            the mean (1: the plain mean; the members keep their own).
        contrast_rule: ``{"weight": C}``: the ensemble's A-but-B rule
            (``None``: off; the members' own rules never apply inside it).

    Raises:
        ValueError: no member, or members that do not read or name the same things.
    """

    def __init__(self, members: Sequence[SentimentModel], name: Optional[str] = None,
                 temperature: float = 1.0, contrast_rule: Optional[dict] = None) -> None:
        nn.Module.__init__(self)
        members = list(members)
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = members[0]
        for m in members[1:]:
            for key in ("labels", "masked_classes", "tree", "binarize"):
                if m.config.get(key) != first.config.get(key):
                    raise ValueError(f"ensemble members differ in {key!r}: {first.config.get(key)!r} vs "
                                     f"{m.config.get(key)!r}")
        self.members = nn.ModuleList(members)
        self.config: Dict = {key: first.config.get(key) for key in
                             ("labels", "masked_classes", "tree", "binarize", "n_classes")}
        self.config["cell"] = "ensemble"
        self.config["members"] = [m.name for m in members]
        self.config["temperature"] = check_temperature(temperature)
        if contrast_rule is not None:
            self.config[CONTRAST_KEY] = check_contrast_rule(contrast_rule)
        # the widest word list says best which words are known (a transformer member has none)
        self.vocab = max((m.vocab for m in members), key=len)
        self.metadata: Dict = {}
        self.name = name

    @property
    def n_classes(self) -> int:
        return self.members[0].n_classes

    @property
    def classifier(self):  # masked classes, as the members'
        return self.members[0].classifier

    @property
    def device(self) -> torch.device:
        return self.members[0].device

    def batch(self, trees: Sequence, device=None) -> List:
        """The trees themselves: each member batches them its own way in :meth:`class_probs`."""
        return [self.prepare(t) for t in trees]

    def forward(self, batch):
        raise TypeError("an ensemble has no logits; use class_probs(trees)")

    def _softmax(self, batch, temperature: Optional[float] = None) -> Tensor:
        """``[N, C]``: the mean of the members' class probabilities as trained (each at temperature 1
        and without its contrast rule, whatever its own: the ensemble is calibrated as a whole; masked
        classes included), at the ensemble's :attr:`temperature` or ``temperature``
        (``softmax(log(mean) / T)``; T = 1 is the plain mean). :meth:`class_probs` adds the
        ensemble's own contrast rule."""
        total = None
        for m in self.members:
            p = m.class_probs(m.batch(batch), temperature=1.0, contrast_weight=0.0)
            total = p if total is None else total + p.to(total.device)
        mean = total / len(self.members)
        temperature = self.temperature if temperature is None else temperature
        if temperature == 1.0:
            return mean
        return (mean.clamp_min(1e-30).log() / temperature).softmax(dim=1)

    def predict_batch(self, batch):
        return self.predict_from_probs(self.class_probs(batch))

    @contextlib.contextmanager
    def evaluating(self, device=None) -> Iterator[torch.device]:
        with contextlib.ExitStack() as stack:
            for m in self.members:
                dev = stack.enter_context(m.evaluating(device))
            yield dev

    def evaluate(self, trees: Sequence, batch_size: int = 256, device=None) -> Dict[str, float]:
        """Root and all-node accuracy (percent) over labelled trees (labels: class ids; -1 or masked
        classes skipped), as :meth:`SentimentModel.evaluate`, on the ensemble's answers (its
        contrast rule included)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        return self._evaluate_answers(trees, batch_size, device)

    def save(self, path, **_) -> None:
        raise TypeError("an ensemble is saved as an ensemble.json naming its members, not as weights")

    def extra_repr(self) -> str:
        return f"members={self.config['members']}"
