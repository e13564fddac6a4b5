"""Constituency trees from other libraries: ``nltk.Tree`` in and out, and stanza's trees in.

:func:`constituent_arrays` is the one conversion from a constituency tree
object to the arrays of a :class:`~treenets.Tree`; ``Tree.from_nltk``,
``Tree.from_constituents`` (which the stanza parser uses) and
``Tree.binarize`` (nltk's transforms) go through this module, which imports
nothing of treenets so that ``Tree`` can use it. A preterminal (a node whose only
child is a word: ``(DT The)``, SST's ``(2 The)``) becomes one node carrying the
word and the preterminal's label; phrase nodes carry their label and no word.
Nodes are numbered in pre-order, so children are left to right. Nothing recurses.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple


__all__ = ["constituent_arrays", "nltk_arrays", "to_nltk"]


def constituent_arrays(root: Any, label: Callable[[Any], Optional[str]],
                       children: Callable[[Any], Optional[Sequence[Any]]],
                       word: Callable[[Any], str] = str) -> Tuple[List[int], List[Optional[str]], List[Optional[str]]]:
    """``(parents, tokens, labels)`` of any constituency tree object (``Tree.from_constituents``).

    Args:
        root: the root object.
        label: a node's label (``None`` or ``""`` for none).
        children: a node's children, or ``None`` when the node is a word.
        word: the text of a word node (default ``str``: nltk's words are strings).

    Returns:
        The arrays of the tree, nodes in pre-order.
    """
    parents: List[int] = []
    tokens: List[Optional[str]] = []
    labels: List[Optional[str]] = []
    stack = [(root, -1)]
    while stack:
        node, parent = stack.pop()
        nid = len(parents)
        parents.append(parent)
        kids = children(node)
        if kids is None:  # a bare word, not under a preterminal
            tokens.append(word(node))
            labels.append(None)
            continue
        name = label(node)
        labels.append(None if name in ("", None) else str(name))
        if len(kids) == 1 and children(kids[0]) is None:  # preterminal (DT The) or SST leaf (2 The)
            tokens.append(word(kids[0]))
            continue
        tokens.append(None)
        for child in reversed(list(kids)):
            stack.append((child, nid))
    return parents, tokens, labels


def nltk_arrays(tree: Any) -> Tuple[List[int], List[Optional[str]], List[Optional[str]]]:
    """``(parents, tokens, labels)`` of an ``nltk.Tree`` (or a bare word string, giving a one-node tree).

    Raises:
        TypeError: if ``tree`` is neither an ``nltk.Tree`` nor a string.
    """
    import nltk

    if isinstance(tree, str):
        return [-1], [tree], [None]
    if not isinstance(tree, nltk.Tree):
        raise TypeError(f"Tree.from_nltk expects an nltk.Tree, not {type(tree).__name__}")
    return constituent_arrays(tree, lambda t: t.label(), lambda t: None if isinstance(t, str) else list(t))


def to_nltk(tree) -> Any:
    """Convert a :class:`Tree` to an ``nltk.Tree``.

    A node with a word and no children becomes a preterminal ``Tree(label,
    [word])``; a missing label becomes ``""``. Relations are not kept (nltk
    trees have no place for them).
    """
    import nltk

    if not all(hasattr(tree, a) for a in ("postorder", "children", "tokens", "labels", "token_slot")):
        raise TypeError(f"to_nltk expects a treenets Tree, not {type(tree).__name__}")
    built: List[object] = [None] * len(tree)
    for node in tree.postorder():
        items: List[object] = [built[k] for k in tree.children[node]]
        token = tree.tokens[node]
        if token is not None:
            items.insert(tree.token_slot(node), token)
        label = tree.labels[node]
        built[node] = nltk.Tree("" if label is None else str(label), items)
    return built[tree.root]
