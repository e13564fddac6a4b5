r"""The A-but-B rule (Hu et al. 2016) on the root: in "A but B" the whole agrees with B.

Hu, Ma, Liu, Hovy and Xing, "Harnessing Deep Neural Networks with Logic
Rules" (ACL 2016), sentiment section: a sentence of the form "A but B" has
the sentiment of B. Their rule-regularised (teacher) distribution is

.. math::

    q(y \mid x) \propto p(y \mid x) \cdot \exp\big(-C \, (1 - r(x, y))\big),
    \qquad r(x, +) = \sigma_B(+), \quad r(x, -) = \sigma_B(-),

with :math:`\sigma_B` the model's own probability for the clause B. In a
Tree-LSTM B is a node of the tree, so the model's own answer at that node is
:math:`\sigma_B`: no second network and no retraining. Here the rule is an
inference rule on the **root** only; every other node keeps the model's answer.

**Several classes.** Every class ``k`` has a polarity ``g(k)`` (negative,
neutral or positive; :func:`~treenets.models.polarity.polarity_groups`), and
:math:`\sigma_B` is B's three-way polarity (:func:`~treenets.models.polarity.polarity_probs`
of B's class probabilities, a masked class included). The root's class
probabilities become

.. math::

    q_k = \frac{p_k \, \exp(-C (1 - \sigma_B(g(k))))}{\sum_j p_j \, \exp(-C (1 - \sigma_B(g(j))))}

so each class is weighted by how much B holds its polarity; neutral classes
follow the same rule as the polar ones (B neutral pulls the root towards
neutral). Between negative and positive, :math:`q_+ / q_- = (p_+ / p_-)
\exp(C (\sigma_B(+) - \sigma_B(-)))`: the binary answer (SST-2) moves towards
B's by the difference of B's two polar probabilities. For two classes this is
Hu et al.'s equation. ``C = 0`` is the identity.

**Where it fires** (:func:`find_contrast`): the sentence holds the word
"but" (any case) with a word before it (not only punctuation: a sentence
that opens with "But" has no A, and that "but" is skipped) and a word after
it. With several, the **first** such "but" counts (as in Hu et al., whose B is
everything after the first "but"); B is the highest node whose words start at
the first word after it (punctuation right after "but" skipped) and which does
not hold that "but". On SST's right-binarized gold trees and on the model's
own stanza parses, that node usually runs to the end of the sentence (and so
may hold a later "but"). The rule is for constituency trees: in a dependency
tree the word after "but" usually heads "but" itself, no node starts after it,
and the rule does not fire. Other contrast words (however, although, though, yet)
have no rule: none was better on dev (``examples/contrast_rule.py``,
docs/composition.md).

**Where it is set.** ``"contrast_rule": {"weight": C}`` in a model's
``config.json`` (``model`` section) or an ensemble's ``ensemble.json``, with
``C`` from 0 to :data:`WEIGHT_RANGE`'s upper end; absent, the rule is off.
``examples/contrast_rule.py`` chooses ``C`` on SST dev. The rule is applied
after the temperature, in the one place a model turns its outputs into
probabilities (:meth:`treenets.SentimentModel.class_probs`), so ``predict``,
``classify``, JSON, the command line, the server and the pictures agree.
"""
from __future__ import annotations

import math
import string
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch

from ..structures.tree import Tree
from .analysis import gold_polarity
from .explain import node_words
from .polarity import polarity_groups, polarity_probs

Tensor = torch.Tensor

__all__ = ["WEIGHT_RANGE", "CONTRAST_KEY", "RULE_WORD", "GRID", "ContrastFiring", "check_contrast_rule",
           "find_contrast", "reweight", "apply_contrast_rule", "choose_weight"]

#: The weights ``C`` a model may carry (both ends included).
WEIGHT_RANGE = (0.0, 100.0)
#: The config key.
CONTRAST_KEY = "contrast_rule"
#: The word the rule reads.
RULE_WORD = "but"


def _punct(token: str) -> bool:
    return all(ch in string.punctuation for ch in token) or token.lower() in ("-lrb-", "-rrb-", "``", "''", "--")


def check_contrast_rule(value, where=None, field: str = CONTRAST_KEY) -> dict:
    """``value`` as ``{"weight": C}`` (C a float), if it is an object with a finite number ``weight`` in
    :data:`WEIGHT_RANGE` and nothing else.

    Raises:
        ValueError: anything else (``3``, ``{"weight": -1}``, ``{"weight": "2"}``,
            ``{"C": 2}``, NaN), naming ``where`` (a file) and ``field`` when given.
    """
    low, high = WEIGHT_RANGE
    weight = value.get("weight") if isinstance(value, dict) else None
    ok = isinstance(value, dict) and set(value) == {"weight"} and isinstance(weight, (int, float)) \
        and not isinstance(weight, bool) and math.isfinite(weight) and low <= weight <= high
    if not ok:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}\"{field}\" must be an object {{\"weight\": C}} with C a number from {low:g} "
                         f"to {high:g} (the A-but-B rule's weight; 0 or no \"{CONTRAST_KEY}\" turns it off), "
                         f"not {shown}")
    return {"weight": float(weight)}


@dataclass
class ContrastFiring:
    """Where the rule fired in one tree.

    Attributes:
        word: the contrast word (``"but"``).
        word_node: its node.
        b_node: the node B, whose polarity the root is pulled towards.
        weight: ``C``.
        before: the root's class probabilities without the rule (``[C]``, masked classes included).
    """

    word: str
    word_node: int
    b_node: int
    weight: float
    before: Optional[Tensor] = None


def find_contrast(tree: Tree, node: Optional[int] = None, word: str = RULE_WORD) -> Optional[Tuple[int, int]]:
    """``(but node, B node)`` for the node ``node`` (default: the root), or ``None`` where the rule does
    not fire (see the module docs: the first "but" inside the node with a word before it and one after
    it, and B the highest node starting at the word after it that does not hold it). ``word``: another
    contrast word in place of "but" (to measure one; the rule itself reads "but" only)."""
    node = tree.root if node is None else node
    spans = node_words(tree)
    words = spans[node]  # word nodes in sentence order
    tokens = [tree.tokens[i] for i in words]
    for pos, token in enumerate(tokens):
        if token.lower() != word:
            continue
        if not any(not _punct(t) for t in tokens[:pos]):
            continue  # no A: "But ..." opens the span
        after = next((k for k in range(pos + 1, len(tokens)) if not _punct(tokens[k])), None)
        if after is None:
            continue  # no B
        start, but = words[after], words[pos]
        inside = set(spans[node])
        if spans[start][0] != start or but in spans[start]:
            continue  # a dependency tree: the word after "but" heads it (no node starts after it)
        b = start
        parent = tree.parents[b]
        while parent >= 0 and parent != node:
            span = spans[parent]
            if span[0] != start or but in span or not set(span) <= inside:
                break
            b, parent = parent, tree.parents[parent]
        return but, b
    return None


def reweight(probs: Tensor, sigma_b: Tensor, groups: Sequence[Sequence[int]], weight: float) -> Tensor:
    """The rule's equation (module docs) on rows of class probabilities.

    Args:
        probs: ``[R, C]`` class probabilities (masked classes included).
        sigma_b: ``[R, 3]`` B's negative / neutral / positive probabilities.
        groups: the class ids of each polarity (:func:`~treenets.models.polarity.polarity_groups`).
        weight: ``C`` (0: ``probs`` unchanged).
    """
    if weight == 0:
        return probs
    factor = probs.new_ones(probs.shape)
    for g, classes in enumerate(groups):
        if classes:
            factor[:, list(classes)] = torch.exp(-weight * (1.0 - sigma_b[:, g:g + 1]))
    q = probs * factor
    return q / q.sum(dim=1, keepdim=True)


def apply_contrast_rule(probs: Tensor, trees: Sequence[Tree], labels: Sequence[str],
                        weight: Optional[float]) -> Tuple[Tensor, List[Optional[ContrastFiring]]]:
    """The rule on the root of every tree of a batch.

    Args:
        probs: ``[N, C]`` class probabilities of every node, the trees' nodes one after another
            in ``trees``' order (as a :class:`~treenets.TreeBatch` built from them holds them).
        trees: the trees (the ones the model read: binarized where it binarizes).
        labels: the model's class names (they must name polarities).
        weight: ``C``; ``None`` or 0: the rule is off and ``probs`` is returned as it is.

    Returns:
        ``(probs, firings)``: a new ``[N, C]`` tensor where some root's row changed (the
        others rows untouched), and per tree a :class:`ContrastFiring` or ``None``.
    """
    firings: List[Optional[ContrastFiring]] = [None] * len(trees)
    if not weight:
        return probs, firings
    if sum(len(t) for t in trees) != probs.shape[0]:
        raise ValueError(f"{probs.shape[0]} rows of probabilities for {len(trees)} trees of "
                         f"{sum(len(t) for t in trees)} nodes")
    groups = polarity_groups(labels)
    roots, bs = [], []
    offset = 0
    for k, tree in enumerate(trees):
        found = find_contrast(tree)
        if found is not None:
            firings[k] = ContrastFiring(RULE_WORD, found[0], found[1], float(weight),
                                        probs[offset + tree.root].detach().clone())
            roots.append(offset + tree.root)
            bs.append(offset + found[1])
        offset += len(tree)
    if not roots:
        return probs, firings
    out = probs.clone()
    sigma_b = polarity_probs(probs[bs], labels)
    out[roots] = reweight(probs[roots], sigma_b, groups, float(weight))
    return out, firings


#: The weights :func:`choose_weight` tries by default.
GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def _root_and_b_rows(model, trees: Sequence[Tree], word: str, batch_size: int):
    """Per tree: gold polarity, the root's and B's class probabilities (rule off), or ``None`` rows."""
    out = []
    for start in range(0, len(trees), batch_size):
        chunk = [model.prepare(t) for t in trees[start:start + batch_size]]
        probs = model.class_probs(model.batch(chunk), contrast_weight=0.0)
        offset = 0
        for t in chunk:
            found = find_contrast(t, word=word)
            out.append((gold_polarity(t.labels[t.root]), probs[offset + t.root],
                        None if found is None else probs[offset + found[1]]))
            offset += len(t)
    return out


def choose_weight(model, trees: Sequence[Tree], grid: Sequence[float] = GRID, word: str = RULE_WORD,
                  batch_size: int = 128) -> dict:
    """The weight ``C`` of ``grid`` with the best SST-2 root accuracy over ``trees`` (SST dev, five-class
    gold labels; roots with a polar gold label, answered negative or positive as the more probable of
    the two): the smallest of the best, and ``None`` (the rule stays off) unless it beats ``C = 0``
    strictly. Does not change ``model``; its own rule is left out while measuring.

    Returns:
        ``weight`` (the choice or ``None``), ``grid`` (``{C: accuracy in percent}``), ``correct``
        (``{C: roots right}``), ``roots`` (polar roots scored), ``fires`` (of them, where the rule fires)
        and ``word``.
    """
    groups = polarity_groups(model.labels)
    rows = [(g, p, b) for g, p, b in _root_and_b_rows(model, trees, word, batch_size) if g in (0, 2)]
    if not rows:
        raise ValueError(f"no tree among {len(trees)} has a polar gold root label; the weight is chosen on "
                         f"labelled roots")
    gold = torch.tensor([g for g, _, _ in rows])
    fired = [i for i, (_, _, b) in enumerate(rows) if b is not None]
    root = torch.stack([p for _, p, _ in rows])
    correct = {}
    for weight in grid:
        probs = root.clone()
        if fired and weight:
            sigma_b = polarity_probs(torch.stack([rows[i][2] for i in fired]), model.labels)
            probs[fired] = reweight(root[fired], sigma_b, groups, float(weight))
        p3 = polarity_probs(probs, model.labels)
        answer = torch.where(p3[:, 2] >= p3[:, 0], 2, 0)
        correct[float(weight)] = int((answer == gold).sum())
    baseline = correct.get(0.0)
    if baseline is None:
        raise ValueError("the grid must hold 0 (the rule off), to compare with")
    best = max(correct.values())
    chosen = min(w for w, c in correct.items() if c == best)
    return {"weight": chosen if best > baseline else None, "word": word, "roots": len(rows), "fires": len(fired),
            "correct": correct, "grid": {w: round(100.0 * c / len(rows), 2) for w, c in correct.items()}}
