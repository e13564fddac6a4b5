"""Carry SST phrase labels over to the nodes of a dependency tree.

The Stanford Sentiment Treebank labels every node of a binarized constituency
tree. Tai et al. (2015, section 5.1) trained their Dependency Tree-LSTM on SST
by parsing each sentence into dependencies and giving every dependency node the
label of the SST phrase that covers *exactly* the same words as the node's
subtree. A dependency node whose span matches no phrase gets no label (``-1``):
it is encoded but contributes no loss. The root always spans the whole sentence
and so takes the sentence label.

    >>> from treenets import Tree
    >>> sst = Tree.from_brackets("(3 (2 A) (4 (3 good) (2 film)))")
    >>> dep = Tree.from_parents(["A", "good", "film"], [3, 3, 0])
    >>> [int(x) for x in transfer_labels(sst, dep).labels]
    [2, 3, 3]
    >>> dep = Tree.from_parents(["A", "good", "film"], [2, 3, 0])  # "A good" is no SST phrase
    >>> [int(x) for x in transfer_labels(sst, dep).labels]
    [2, -1, 3]

Spans are computed iteratively (no recursion), so trees of any depth work.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..structures.tree import Tree

__all__ = ["word_spans", "transfer_labels", "transfer_all", "LabelTransferStats", "NO_LABEL"]

#: The label of a dependency node whose span matches no SST phrase.
NO_LABEL = -1


def word_spans(tree: Tree) -> List[Optional[Tuple[int, int]]]:
    """The word span of every node's subtree, as half-open ``(start, end)``.

    Words are numbered in sentence order, i.e. by the order of the nodes that
    carry a token (node-id order, which is sentence order for every
    constructor of :class:`Tree`). A node whose subtree covers a
    non-contiguous set of words (a non-projective dependency subtree) has span
    ``None``; so does a node whose subtree carries no word.

    Args:
        tree: any tree; constituency trees carry words at (some) nodes, and
            dependency trees at every node.

    Returns:
        One span (or ``None``) per node, indexed by node id.
    """
    n = len(tree)
    word_index: List[int] = [-1] * n
    k = 0
    for node in range(n):
        if tree.tokens[node] is not None:
            word_index[node] = k
            k += 1
    lo = [n + 1] * n
    hi = [-1] * n
    count = [0] * n
    for node in tree.postorder():  # children before parents
        w = word_index[node]
        if w >= 0:
            lo[node] = min(lo[node], w)
            hi[node] = max(hi[node], w)
            count[node] += 1
        parent = tree.parents[node]
        if parent >= 0:
            lo[parent] = min(lo[parent], lo[node])
            hi[parent] = max(hi[parent], hi[node])
            count[parent] += count[node]
    spans: List[Optional[Tuple[int, int]]] = []
    for node in range(n):
        if count[node] == 0 or hi[node] - lo[node] + 1 != count[node]:
            spans.append(None)
        else:
            spans.append((lo[node], hi[node] + 1))
    return spans


def _describe(words: Sequence[str], where: Optional[str]) -> str:
    text = " ".join(words)
    if len(text) > 70:
        text = text[:67] + "..."
    return (f"{where}: " if where else "") + f"sentence {text!r}"


def transfer_labels(constituency: Tree, dependency: Tree, where: Optional[str] = None) -> Tree:
    """Label a dependency tree's nodes with the SST labels of matching phrases.

    Args:
        constituency: an SST tree with a label on every phrase (from
            :func:`treenets.data.load_sst`, fine or binary labels).
        dependency: a dependency tree over the same words, one node per word.
        where: a name for the sentence in error messages (e.g. ``"train.txt:12"``).

    Returns:
        A copy of ``dependency`` (same parents, tokens and relations) whose
        node ``i`` carries the label of the SST phrase with exactly the words
        of ``i``'s subtree, or ``-1`` (:data:`NO_LABEL`) when no phrase has that
        span. When several SST nodes share a span (a unary chain), the topmost
        one's label is used. The root gets the SST root's label.

    Raises:
        ValueError: if the two trees' words differ (count or any word), or the
            dependency tree has a node without a word. The message names the
            sentence and the first differing word.
    """
    c_words, d_words = constituency.words, dependency.words
    if any(t is None for t in dependency.tokens):
        raise ValueError(f"{_describe(c_words, where)}: the dependency tree has nodes without a word; "
                         f"every dependency node must carry one word")
    if c_words != d_words:
        k = next((i for i, (a, b) in enumerate(zip(c_words, d_words)) if a != b), min(len(c_words), len(d_words)))
        got = d_words[k] if k < len(d_words) else "<end>"
        want = c_words[k] if k < len(c_words) else "<end>"
        raise ValueError(f"{_describe(c_words, where)}: the dependency tree's words differ from the SST tree's: "
                         f"{len(d_words)} vs {len(c_words)} words, first difference at word {k + 1}: "
                         f"{got!r} (dependency) vs {want!r} (SST)")
    by_span: Dict[Tuple[int, int], object] = {}
    c_spans = word_spans(constituency)
    for node in constituency.preorder():  # topmost first: keep the first label seen for a span
        span = c_spans[node]
        if span is not None and span not in by_span:
            by_span[span] = constituency.labels[node]
    labels: List[object] = []
    for span in word_spans(dependency):
        label = by_span.get(span) if span is not None else None
        labels.append(NO_LABEL if label is None else label)
    labels[dependency.root] = constituency.labels[constituency.root]
    return Tree(dependency.parents, dependency.tokens, labels, dependency.rels)


@dataclass
class LabelTransferStats:
    """How many dependency nodes received a label.

    Attributes:
        sentences: trees transferred.
        nodes: dependency nodes in all.
        labelled: nodes that received a label (roots included).
        non_projective: trees with at least one non-contiguous subtree.
    """

    sentences: int = 0
    nodes: int = 0
    labelled: int = 0
    non_projective: int = 0

    @property
    def coverage(self) -> float:
        """Fraction of dependency nodes with a label."""
        return self.labelled / self.nodes if self.nodes else 0.0

    @property
    def non_root_coverage(self) -> float:
        """The same fraction among non-root nodes (the root is always labelled)."""
        rest = self.nodes - self.sentences
        return (self.labelled - self.sentences) / rest if rest else 0.0

    def add(self, tree: Tree) -> None:
        self.sentences += 1
        self.nodes += len(tree)
        self.labelled += sum(1 for lab in tree.labels if lab is not None and lab != NO_LABEL)
        if any(span is None for span in word_spans(tree)):
            self.non_projective += 1

    def as_dict(self) -> dict:
        return {"sentences": self.sentences, "nodes": self.nodes, "labelled": self.labelled,
                "coverage": round(self.coverage, 4), "non_root_coverage": round(self.non_root_coverage, 4),
                "non_projective_trees": self.non_projective}


def transfer_all(pairs: Iterable[Tuple[Tree, Tree]], where: Optional[Sequence[str]] = None
                 ) -> Tuple[List[Tree], LabelTransferStats]:
    """:func:`transfer_labels` over many ``(constituency, dependency)`` pairs, with statistics.

    Args:
        pairs: the tree pairs.
        where: optional names of the sentences, for error messages.

    Returns:
        The labelled dependency trees and a :class:`LabelTransferStats`.
    """
    out: List[Tree] = []
    stats = LabelTransferStats()
    for i, (c, d) in enumerate(pairs):
        tree = transfer_labels(c, d, where=None if where is None else where[i])
        stats.add(tree)
        out.append(tree)
    return out, stats
