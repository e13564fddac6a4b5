"""Constituency trees from other libraries: ``nltk.Tree`` in and out, and stanza's trees in; binarization.

:func:`constituent_arrays` is the one conversion from a constituency tree
object to the arrays of a :class:`~treenets.Tree`; ``Tree.from_nltk``,
``Tree.from_constituents`` (which the stanza parser uses) and
``Tree.binarize`` (:func:`binarized_arrays`) go through this module, which imports
nothing of treenets so that ``Tree`` can use it. A preterminal (a node whose only
child is a word: ``(DT The)``, SST's ``(2 The)``) becomes one node carrying the
word and the preterminal's label; phrase nodes carry their label and no word.
Nodes are numbered in pre-order, so children are left to right. Nothing recurses.

:func:`binarized_arrays` is nltk's ``chomsky_normal_form`` and
``collapse_unary`` (nltk 3.10's iterative algorithms, step for step, the
same labels: ``NP|<DT-NN>``, ``S+VP``) run on plain lists instead of
``nltk.Tree`` objects. Why not nltk itself: ``import nltk`` imports all of
nltk, scikit-learn and SciPy with it (about 1,200 modules, 1.1-1.4 s on this
project's machine), which was most of the first ``predict`` call on raw text
in a process and of every parser worker's first chunk; and the round trip
through ``nltk.Tree`` objects cost more than the transforms.
``tests/test_tree.py`` checks the result against nltk's transforms on random
trees.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable, List, Optional, Sequence, Tuple


__all__ = ["constituent_arrays", "nltk_arrays", "to_nltk", "binarized_arrays"]


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


def binarized_arrays(tree, factor: str = "right", collapse_unary: bool = True, markov: Optional[int] = None
                     ) -> Tuple[List[int], List[Optional[str]], List[Optional[str]]]:
    """``(parents, tokens, labels)`` of ``tree`` binarized as nltk binarizes it (``Tree.binarize``).

    The same result as ``to_nltk(tree)``, then ``chomsky_normal_form(factor,
    horzMarkov=markov)`` and, with ``collapse_unary``, ``collapse_unary(
    collapsePOS=True, collapseRoot=True, joinChar="+")``, then
    ``Tree.from_nltk``; without importing nltk (see the module docs). A node is
    a ``[label, items]`` list here, a word a string, as nltk's are a
    ``Tree(label, items)`` and a string.
    """
    built: List[Any] = [None] * len(tree)
    for node in tree.postorder():
        items: List[Any] = [built[k] for k in tree.children[node]]
        token = tree.tokens[node]
        if token is not None:
            items.insert(tree.token_slot(node), token)
        label = tree.labels[node]
        built[node] = ["" if label is None else str(label), items]
    root = built[tree.root]
    _chomsky_normal_form(root, factor, 999 if markov is None else markov)
    if collapse_unary:
        _collapse_unary(root)
    return constituent_arrays(root, lambda n: n[0], lambda n: n[1] if isinstance(n, list) else None)


def _chomsky_normal_form(root: list, factor: str, horz: int) -> None:
    """nltk's ``chomsky_normal_form`` (``vertMarkov=0``, ``childChar="|"``) on ``[label, items]`` nodes."""
    stack: List[Any] = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, list):
            continue
        label, items = node
        stack.extend(items)  # before they are regrouped, as nltk adds them to its agenda
        n = len(items)
        if n <= 2:
            continue
        names = [str(c[0]) if isinstance(c, list) else str(c) for c in items]
        rest = deque(items)
        current = node
        for i in range(1, n - 1):
            if factor == "right":
                new = [f"{label}|<{'-'.join(names[i:min(i + horz, n)])}>", []]
                current[1] = [rest.popleft(), new]
            else:
                new = [f"{label}|<{'-'.join(names[max(n - i - horz, 0):-i])}>", []]
                current[1] = [new, rest.pop()]
            current = new
        current[1] = list(rest)


def _collapse_unary(root: list) -> None:
    """nltk's ``collapse_unary(collapsePOS=True, collapseRoot=True, joinChar="+")`` on ``[label, items]`` nodes."""
    stack: List[Any] = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, list):
            continue
        items = node[1]
        if len(items) == 1 and isinstance(items[0], list):
            node[0] = node[0] + "+" + items[0][0]
            node[1] = list(items[0][1])
            stack.append(node)  # its new children may make it unary again
        else:
            stack.extend(items)
