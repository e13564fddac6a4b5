"""Bracket notation of one tree: what ``str(tree)`` prints and :meth:`Tree.from_brackets` reads.

``(LABEL ITEM ...)`` where an item is a sub-bracket (a child) or a bare word
(the node's own token, at most one per node). This reads SST trees
``(3 (2 The) (2 Rock))``, PTB trees with phrase labels and preterminals
``(S (NP (DT The) (NN movie)) ...)``, and everything :func:`write_brackets`
writes, relations included (``LABEL:REL``). Nothing recurses.

This module works on the arrays a :class:`~treenets.Tree` is made of and
imports nothing of treenets, so that ``Tree`` can use it; files of bracketed
trees are read by :mod:`treenets.formats.brackets`, and real Penn Treebank
files (traces, function tags, several trees per block) by
:mod:`treenets.formats.ptb`, through nltk.
"""
from __future__ import annotations

from typing import List, Optional, Tuple


__all__ = ["bracket_arrays", "write_brackets", "is_bracketed"]

# Bracket files split on ASCII whitespace only: SST has tokens such as
# "8\xa01\\/2" whose non-breaking space is part of the word.
_SPACE = frozenset(" \t\n\r\f\v")


def write_brackets(tree) -> str:
    """The tree in bracket notation, which :func:`read_brackets` reads back.

    A node prints as ``(LABEL ITEM ...)`` with its word among its children
    in sentence order; a missing label prints as ``_``. When the tree has
    relations, the label slot is ``LABEL:REL``. A literal ``_`` label and
    colons that would read as the ``:`` separator are escaped with ``\\``.

    **A display form for non-projective trees.** Brackets cannot cross, so a
    non-projective dependency tree (a subtree whose words are not contiguous)
    prints its words in tree order and reads back renumbered in that order: a
    different tree. Everything treenets reads back by machine (the parse
    cache, saved parses) uses a lossless form instead (heads and token arrays).
    """
    parts: List[str] = []
    children = tree.children
    stack: List[object] = [tree.root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        node = item
        head = _escape_field(tree.labels[node], "all" if tree.rels is not None else "ambiguous")
        if tree.rels is not None:
            head += ":" + _escape_field(tree.rels[node], "none")
        items: List[object] = list(children[node])
        if tree.tokens[node] is not None:
            items.insert(tree.token_slot(node), " " + _escape(tree.tokens[node]))
        parts.append("(" + head)
        stack.append(")")
        for it in reversed(items):
            stack.append(it)
            if not isinstance(it, str):
                stack.append(" ")
    return "".join(parts)


def _escape(text: str) -> str:
    out = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    for ch in _SPACE:
        out = out.replace(ch, "\\" + ch)
    return out


def _escape_field(value: object, colons: str) -> str:
    """A label or relation as printed: ``_`` for none, a literal ``_`` escaped.

    ``colons`` says which colons to escape so that the reader does not take them
    for the label/relation separator: ``"all"`` (a label before a relation),
    ``"ambiguous"`` (a plain label that would read as ``LABEL:REL``) or
    ``"none"`` (a relation: everything after the first colon is the relation).
    """
    if value is None:
        return "_"
    text = str(value)
    if text == "_":
        return "\\_"
    out = _escape(text)
    if colons == "all" or (colons == "ambiguous" and _split_head([(ch, False) for ch in text]) is not None):
        out = out.replace(":", "\\:")
    return out


def _head_chars(text: str, offset: int) -> List[tuple]:
    """The atom at ``offset`` as (char, was_escaped) pairs."""
    chars, i, n = [], offset, len(text)
    while i < n and text[i] not in _SPACE and text[i] not in "()":
        if text[i] == "\\" and i + 1 < n:
            i += 1
            chars.append((text[i], True))
        else:
            chars.append((text[i], False))
        i += 1
    return chars


def _split_head(chars: List[tuple]) -> Optional[tuple]:
    """``(label, rel)`` of a bracket head, or None when the head is a plain label.

    A head is a relation field ``LABEL:REL`` when it has an unescaped colon with
    text on both sides ("_:nsubj", "3:det", "NP:_"); a bare ``_`` part means none.
    A plain label such as the PTB tag ``:`` is not split.
    """
    for k, (ch, escaped) in enumerate(chars):
        if ch == ":" and not escaped:
            if 0 < k < len(chars) - 1:
                return _head_part(chars[:k]), _head_part(chars[k + 1:])
            break
    return None


def _head_part(chars: List[tuple]) -> Optional[str]:
    return None if chars == [("_", False)] else "".join(ch for ch, _ in chars)


def _lex(text: str):
    """Yield (kind, value, offset) with kind in '(', ')', 'atom'."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
        elif ch in "()":
            yield ch, ch, i
            i += 1
        else:
            start, buf = i, []
            while i < n and text[i] not in _SPACE and text[i] not in "()":
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            yield "atom", "".join(buf), start


def is_bracketed(text: str) -> bool:
    """Whether ``text`` is one or more constituency trees in bracket notation rather than prose.

    True when, after leading whitespace, the text opens with ``(`` and is
    nothing but well-formed trees in which every node is either a
    preterminal ``(LABEL WORD)`` or ``(LABEL CHILD CHILD ...)`` (the label may
    be left out), and every tree has at least one child bracket below its
    root. So ``(S (NP (DT The) (NN cat)) (VP (VBZ sleeps)))`` and SST's
    ``(3 (2 The) (4 rocks))`` are trees, while prose that merely starts with a
    bracket, ``(See below.)``, ``(This is (really) good)``, is not: a word
    beside a child bracket, two words in one bracket, or a bracket with no
    word all make it prose.
    """
    if not isinstance(text, str) or not text.lstrip().startswith("("):
        return False
    # per open bracket: 0 nothing yet, 1 a label, 2 label + word (must close), 3 has child brackets
    stack: List[int] = []
    for kind, _, _ in _lex(text):
        if kind == "(":
            if stack:
                if stack[-1] == 2:
                    return False
                stack[-1] = 3
            stack.append(0)
        elif kind == ")":
            if not stack or stack[-1] < 2:
                return False
            done = stack.pop()
            if not stack and done != 3:
                return False  # a whole tree that is a single (LABEL WORD): too much like prose
        else:
            if not stack or stack[-1] >= 2:
                return False
            stack[-1] += 1
    return not stack


def bracket_arrays(text: str) -> Tuple[List[int], List[Optional[str]], List[Optional[str]], Optional[List[Optional[str]]]]:
    """``(parents, tokens, labels, rels)`` of one tree in bracket notation (:meth:`treenets.Tree.from_brackets`)."""
    if not isinstance(text, str):
        raise TypeError(f"from_brackets expects a string, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("empty input: no brackets to read")
    # Build nodes in pre-order; each open frame: [node id, expecting label, seen token]
    parents: List[int] = []
    tokens: List[Optional[str]] = []
    heads: List[Optional[List[tuple]]] = []  # every head as (char, was_escaped) pairs
    open_at: List[int] = []  # offset of every open '('
    token_order: List[Optional[int]] = []  # sentence position of each node's word
    stack: List[int] = []
    n_words = 0
    finished = False
    expect_label = False
    for kind, value, offset in _lex(text):
        if finished:
            if kind == ")":
                raise ValueError(f"unbalanced brackets: ')' at offset {offset} closes nothing")
            raise ValueError(f"text after the end of the tree at offset {offset}: {text[offset:offset + 20]!r}")
        if expect_label:
            node = stack[-1]
            if kind == "atom":
                heads[node] = _head_chars(text, offset)
                expect_label = False
                continue
            if kind == ")":
                raise ValueError(f"empty bracket '()' at offset {offset}")
            expect_label = False  # '((' : unlabelled node, as in some PTB files
        if kind == "(":
            node = len(parents)
            parents.append(stack[-1] if stack else -1)
            tokens.append(None)
            heads.append(None)
            token_order.append(None)
            stack.append(node)
            open_at.append(offset)
            expect_label = True
        elif kind == ")":
            if not stack:
                raise ValueError(f"unbalanced brackets: ')' at offset {offset} closes nothing")
            stack.pop()
            open_at.pop()
            if not stack:
                finished = True
        else:
            if not stack:
                raise ValueError(f"word {value!r} at offset {offset} is outside any bracket")
            node = stack[-1]
            if tokens[node] is not None:
                raise ValueError(f"two words in one bracket at offset {offset}: {tokens[node]!r} and {value!r}; "
                                 f"give each word its own bracket, e.g. (X {value})")
            tokens[node] = value
            token_order[node] = n_words
            n_words += 1
    if stack:
        raise ValueError(f"unbalanced brackets: {len(stack)} '(' not closed at the end of the input "
                         f"(offset {len(text)}); the last one opened at offset {open_at[-1]}")
    if not parents:
        raise ValueError("empty input: no brackets to read")

    # Relations only when every labelled node has a relation field (a tree
    # printed with relations); otherwise each head is a plain label.
    fields = [None if h is None else _split_head(h) for h in heads]
    has_rels = (any(h is not None for h in heads)
                and all(f is not None for h, f in zip(heads, fields) if h is not None))
    labels: List[Optional[str]] = []
    rels: Optional[List[Optional[str]]] = [] if has_rels else None
    for head, field in zip(heads, fields):
        if head is None:
            labels.append(None)
            if rels is not None:
                rels.append(None)
        elif rels is not None:
            labels.append(field[0])
            rels.append(field[1])
        else:
            labels.append(_head_part(head))

    if all(t is not None for t in tokens):
        # A dependency-style tree: number nodes by word position.
        order = sorted(range(len(parents)), key=lambda i: token_order[i])
        new_id = {old: new for new, old in enumerate(order)}
        parents = [-1 if parents[old] == -1 else new_id[parents[old]] for old in order]
        tokens = [tokens[old] for old in order]
        labels = [labels[old] for old in order]
        if rels is not None:
            rels = [rels[old] for old in order]
    return parents, tokens, labels, rels
