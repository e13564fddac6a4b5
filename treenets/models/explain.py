"""Why a sentence got its label: the deciding phrases and the polarity flips of a labelled tree.

Both are read off the polarity (negative / neutral / positive,
:mod:`treenets.models.polarity`) the model gives every node:

* **deciding phrases**: the highest nodes below the root whose polarity is
  the root's (no ancestor below the root has it too); a polar root with no
  such node is decided by itself, and a neutral root too. A phrase is shown
  without the punctuation and the conjunctions at its edges (``"but the
  acting was great ."`` reads ``"the acting was great"``), since those only
  tie it to the rest of the sentence.
* **flips**: the nodes where a child's polarity turns into the opposite one
  at its parent (``bad`` negative under ``not bad`` positive; ``the plot was
  boring`` negative under a positive sentence), as ``(child, parent)`` pairs.
  Neutral on either side is no flip.
"""
from __future__ import annotations

import string
from typing import List, Sequence, Tuple

from ..structures.tree import Tree

__all__ = ["deciding_nodes", "polarity_flips", "node_words", "trimmed_phrase", "EDGE_WORDS"]

#: Words dropped from the edges of a deciding phrase (besides punctuation).
EDGE_WORDS = frozenset({"but", "and", "or", "yet", "however", "although", "though", "while", "so", "nor",
                        "whereas", "still", "-lrb-", "-rrb-", "``", "''", "--"})

_NEUTRAL = "neutral"


def node_words(tree: Tree) -> List[List[int]]:
    """The word-carrying nodes under every node, in sentence order."""
    spans: List[List[int]] = [[] for _ in range(len(tree))]
    for node in tree.postorder():
        own = [node] if tree.tokens[node] is not None else []
        spans[node] = sorted(own + [i for c in tree.children[node] for i in spans[c]])
    return spans


def _edge(token: str) -> bool:
    return token.lower() in EDGE_WORDS or all(ch in string.punctuation for ch in token)


def trimmed_phrase(tree: Tree, span: Sequence[int]) -> str:
    """The words of ``span`` (node ids) without edge punctuation and conjunctions (all of them if
    nothing else is left)."""
    tokens = [tree.tokens[i] for i in span]
    lo, hi = 0, len(tokens)
    while lo < hi and _edge(tokens[lo]):
        lo += 1
    while hi > lo and _edge(tokens[hi - 1]):
        hi -= 1
    return " ".join(tokens[lo:hi] if hi > lo else tokens)


def deciding_nodes(tree: Tree, polarity: Sequence[str]) -> List[int]:
    """The nodes that decide the root's polarity (see the module docs), in sentence order."""
    root = tree.root
    target = polarity[root]
    if target == _NEUTRAL:
        return [root]
    found: List[int] = []
    stack = list(reversed(tree.children[root]))
    while stack:  # preorder, children left to right
        node = stack.pop()
        if polarity[node] == target:
            found.append(node)  # its descendants are below a deciding node: not searched
        else:
            stack.extend(reversed(tree.children[node]))
    return found or [root]


def polarity_flips(tree: Tree, polarity: Sequence[str]) -> List[Tuple[int, int]]:
    """``(child, parent)`` for every child whose polarity is the opposite of its parent's."""
    flips = []
    for node, parent in enumerate(tree.parents):
        if parent < 0:
            continue
        a, b = polarity[node], polarity[parent]
        if a != _NEUTRAL and b != _NEUTRAL and a != b:
            flips.append((node, parent))
    return flips
