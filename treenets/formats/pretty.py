"""Trees drawn as text for a terminal, with a label on every node, through nltk's ``TreePrettyPrinter``.

Words sit on the bottom line, in sentence order; every node, leaves
included, shows its label above the words it covers. A node that carries a
word and has children (a dependency tree's head) shows its word among its
children, in sentence order.
"""
from __future__ import annotations

from typing import Sequence

from ..structures.tree import Tree

__all__ = ["draw_tree"]


def draw_tree(tree: Tree, labels: Sequence[str], unicode: bool = True) -> str:
    """``tree`` drawn as text, ``labels[i]`` on node ``i``.

    Args:
        tree: the tree.
        labels: one label per node, in node order.
        unicode: box-drawing characters (``False``: ASCII only).

    Returns:
        The drawing, lines joined by ``\\n`` (no trailing newline).
    """
    import nltk
    from nltk.tree.prettyprinter import TreePrettyPrinter

    if len(labels) != len(tree):
        raise ValueError(f"{len(labels)} labels for a tree of {len(tree)} nodes")
    children = tree.children
    position = {}  # leaves are word positions, so the printer keeps sentence order
    for node, token in enumerate(tree.tokens):
        if token is not None:
            position[node] = len(position)
    built = {}
    for node in tree.postorder():  # children before parents, no recursion
        kids = [built.pop(c) for c in children[node]]
        if node in position:
            kids.insert(tree.token_slot(node), position[node])
        built[node] = nltk.Tree(str(labels[node]), kids)
    text = TreePrettyPrinter(built[tree.root], sentence=tree.words).text(unicodelines=unicode)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())
