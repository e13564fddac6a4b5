"""Does a sentiment model compose? Negation, contrast, neutral text and calibration on SST's gold trees.

:func:`score_trees` runs one model (or the mean of several: a seed ensemble)
over labelled SST trees (five classes on every node) and keeps every node's
polarity probabilities (:mod:`treenets.models.polarity`: a five-class model
collapsed to negative / neutral / positive, a binary model's masked neutral
class unmasked). :func:`composition_metrics` reads off:

* ``binary_root``: SST-2 root accuracy (gold neutral roots left out; the
  answer is the more probable of negative and positive, so a five-class
  model is scored as "binary from five-class"), and the same on the
  sentences with a negator (:data:`NEGATORS`), with a contrast word
  (:data:`CONTRAST_WORDS`) and on the rest (neither);
* ``sst3_root``: three-way root accuracy with the model's own polarity rule;
  ``fine_root`` for five-class models;
* ``neutral_roots``: on gold-neutral roots, the share answered neutral and
  the share given a polarity with probability at least 0.8;
* ``negated_positive`` / ``negated_negative``: Socher et al. (2013, section
  5.4)'s negation analysis, rebuilt from the gold trees (their two sets of 21
  and 11 sentences were not released): every node ``(NEG X)`` whose left
  child is a single negator word. Negated positive: gold X positive and gold
  node negative; correct when the model inverts it (X predicted positive and
  the node negative; the paper: "correct sentiment inversions"). Negated
  negative: gold X negative and gold node not negative; correct when the
  node's positive probability is above X's (the paper: "increases in
  positive activations");
* ``but``: contrastive ``X but Y`` nodes (a child ``(but Y)`` after X, or
  ``(X but)`` before Y) where gold X and Y have opposite polarities:
  accuracy of the node's predicted polarity (binary) against its gold one;
* ``ece``: expected calibration error (15 equal-width bins) of the binary root
  answer's confidence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch

from ..structures.tree import Tree
from .polarity import decide_polarity, polarity_probs

__all__ = ["NEGATORS", "CONTRAST_WORDS", "ScoredTree", "score_trees", "composition_metrics",
           "expected_calibration_error", "has_negator", "has_contrast", "negation_nodes", "contrast_nodes",
           "gold_polarity"]

#: Words that negate (lowercased; SST splits "doesn't" into "does" "n't").
NEGATORS = frozenset({"not", "n't", "no", "never", "nothing", "none", "nobody", "nowhere", "neither", "nor",
                      "without", "cannot"})
#: Words that mark a contrast.
CONTRAST_WORDS = frozenset({"but", "however", "although", "though", "yet"})


def _class(label) -> int:
    """A node's gold SST class as an int (labels read from brackets are strings); -1 for none."""
    return -1 if label is None else int(label)


def gold_polarity(label) -> int:
    """SST's five classes to polarity ids: 0, 1 -> 0 (negative), 2 -> 1 (neutral), 3, 4 -> 2 (positive);
    -1 or ``None`` (no label) is -1."""
    label = _class(label)
    return -1 if label < 0 else (0 if label < 2 else 1 if label == 2 else 2)


def has_negator(words: Sequence[str]) -> bool:
    return any(w.lower() in NEGATORS for w in words)


def has_contrast(words: Sequence[str]) -> bool:
    return any(w.lower() in CONTRAST_WORDS for w in words)


def _leaf_word(tree: Tree, node: int) -> Optional[str]:
    return tree.tokens[node].lower() if not tree.children[node] and tree.tokens[node] is not None else None


def negation_nodes(tree: Tree) -> List[tuple]:
    """``(node, negated child)`` for every binary node whose left child is one negator word."""
    out = []
    for node, kids in enumerate(tree.children):
        if len(kids) == 2 and _leaf_word(tree, kids[0]) in NEGATORS:
            out.append((node, kids[1]))
    return out


def contrast_nodes(tree: Tree) -> List[tuple]:
    """``(node, X, Y)`` for every ``X but Y`` node: children ``(X, (but Y))`` or ``((X but), Y)``."""
    out = []
    for node, kids in enumerate(tree.children):
        if len(kids) != 2:
            continue
        a, b = kids
        bk, ak = tree.children[b], tree.children[a]
        if len(bk) == 2 and _leaf_word(tree, bk[0]) == "but":
            out.append((node, a, bk[1]))
        elif len(ak) == 2 and _leaf_word(tree, ak[1]) == "but":
            out.append((node, ak[0], b))
    return out


@dataclass
class ScoredTree:
    """A gold tree with a model's polarity probabilities on every node.

    Attributes:
        tree: the gold tree (five-class labels on every node).
        probs3: ``[nodes, 3]`` negative / neutral / positive probabilities.
        polarity: ``[nodes]`` the model's three-way answer (its own rule).
        fine: ``[nodes]`` the five-class answer, or ``None`` for other models.
        fine_probs: ``[nodes, 5]`` for five-class models, else ``None``.
    """

    tree: Tree
    probs3: torch.Tensor
    polarity: torch.Tensor
    fine: Optional[torch.Tensor] = None
    fine_probs: Optional[torch.Tensor] = None

    @property
    def binary(self) -> torch.Tensor:
        """``[nodes]`` 0 negative, 2 positive: the more probable of the two."""
        return torch.where(self.probs3[:, 2] >= self.probs3[:, 0], 2, 0)

    @property
    def binary_confidence(self) -> torch.Tensor:
        both = (self.probs3[:, 0] + self.probs3[:, 2]).clamp_min(1e-12)
        return torch.maximum(self.probs3[:, 0], self.probs3[:, 2]) / both


def score_trees(models, trees: Sequence[Tree], batch_size: int = 128,
                polarity_rule: Optional[tuple] = None) -> List[ScoredTree]:
    """Every tree's node polarity probabilities under ``models`` (one model or a list: their mean).

    The trees must be of the models' kind (SST's constituency trees for the
    shipped models); the models' labels must name polarities. The three-way
    answer uses ``polarity_rule`` (``(neutral_threshold, abstain_threshold)``;
    default: the first model's own).
    """
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if not models:
        raise ValueError("no model to score")
    rule = models[0].polarity_rule() if polarity_rule is None else polarity_rule
    fine_ok = all(m.n_classes == 5 for m in models)
    out: List[ScoredTree] = []
    for start in range(0, len(trees), batch_size):
        chunk = list(trees[start:start + batch_size])
        p3 = fine_sum = None
        for m in models:
            full = m.class_probs(m.batch(chunk))
            q = polarity_probs(full, m.labels)
            p3 = q if p3 is None else p3 + q
            if fine_ok:
                fine_sum = full if fine_sum is None else fine_sum + full
        p3 = p3 / len(models)
        fine_probs = None if fine_sum is None else fine_sum / len(models)
        pol = decide_polarity(p3, *rule)
        offset = 0
        for t in chunk:
            rows = slice(offset, offset + len(t))
            fp = None if fine_probs is None else fine_probs[rows]
            out.append(ScoredTree(t, p3[rows], pol[rows], None if fp is None else fp.argmax(1), fp))
            offset += len(t)
    return out


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 15) -> float:
    """ECE: the bin-size-weighted mean of ``|accuracy - mean confidence|`` over ``bins`` equal-width bins
    of confidence in [0, 1] (Guo et al. 2017)."""
    conf = torch.as_tensor(list(confidence), dtype=torch.float64)
    corr = torch.as_tensor(list(correct), dtype=torch.float64)
    if conf.numel() == 0:
        raise ValueError("ECE over no prediction is undefined")
    which = torch.clamp((conf * bins).long(), max=bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        if n:
            total += n * abs(float(corr[mask].mean()) - float(conf[mask].mean()))
    return total / conf.numel()


def _pct(hits: int, n: int) -> Optional[float]:
    return None if n == 0 else round(100.0 * hits / n, 2)


def composition_metrics(scored: Sequence[ScoredTree]) -> Dict[str, Dict]:
    """The measurements of the module docs, as ``{name: {"acc" or other numbers, "n": count}}``."""
    groups = {"all": [0, 0], "negator": [0, 0], "contrast": [0, 0], "rest": [0, 0]}
    sst3 = [0, 0]
    fine = [0, 0]
    neutral = {"n": 0, "neutral": 0, "confident": 0}
    neg_pos = [0, 0]
    neg_neg = [0, 0]
    but = [0, 0]
    conf, correct = [], []
    for s in scored:
        t = s.tree
        root = t.root
        gold_root = gold_polarity(t.labels[root])
        words = t.words
        binary, bconf = s.binary, s.binary_confidence
        if gold_root >= 0:
            sst3[0] += int(s.polarity[root]) == gold_root
            sst3[1] += 1
        if s.fine is not None and _class(t.labels[root]) >= 0:
            fine[0] += int(s.fine[root]) == _class(t.labels[root])
            fine[1] += 1
        if gold_root == 1:
            neutral["n"] += 1
            pol = int(s.polarity[root])
            neutral["neutral"] += pol == 1
            neutral["confident"] += pol != 1 and float(s.probs3[root, pol]) >= 0.8
        elif gold_root in (0, 2):
            ok = int(binary[root]) == gold_root
            neg, con = has_negator(words), has_contrast(words)
            for name, member in (("all", True), ("negator", neg), ("contrast", con), ("rest", not neg and not con)):
                if member:
                    groups[name][0] += ok
                    groups[name][1] += 1
            conf.append(float(bconf[root]))
            correct.append(ok)
        for node, x in negation_nodes(t):
            gx, gn = gold_polarity(t.labels[x]), gold_polarity(t.labels[node])
            if gx == 2 and gn == 0:
                neg_pos[0] += int(binary[x]) == 2 and int(binary[node]) == 0
                neg_pos[1] += 1
            elif gx == 0 and gn in (1, 2):
                neg_neg[0] += float(s.probs3[node, 2]) > float(s.probs3[x, 2])
                neg_neg[1] += 1
        for node, x, y in contrast_nodes(t):
            gx, gy, gn = (gold_polarity(t.labels[k]) for k in (x, y, node))
            if {gx, gy} == {0, 2} and gn in (0, 2):
                but[0] += int(binary[node]) == gn
                but[1] += 1
    out: Dict[str, Dict] = {f"binary_root_{k}": {"acc": _pct(*v), "n": v[1]} for k, v in groups.items()}
    out["sst3_root"] = {"acc": _pct(*sst3), "n": sst3[1]}
    if fine[1]:
        out["fine_root"] = {"acc": _pct(*fine), "n": fine[1]}
    out["neutral_roots"] = {"answered_neutral": _pct(neutral["neutral"], neutral["n"]),
                            "confident_polarity": _pct(neutral["confident"], neutral["n"]), "n": neutral["n"]}
    out["negated_positive"] = {"acc": _pct(*neg_pos), "n": neg_pos[1]}
    out["negated_negative"] = {"acc": _pct(*neg_neg), "n": neg_neg[1]}
    out["but"] = {"acc": _pct(*but), "n": but[1]}
    out["ece"] = {"value": round(100.0 * expected_calibration_error(conf, correct), 2) if conf else None,
                  "n": len(conf)}
    return out
