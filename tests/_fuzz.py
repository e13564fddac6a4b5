"""Shared pieces of the fuzz tests: example counts, text with the characters that break formats, random trees.

Every fuzz test runs twice from one body: a moderate number of examples in
the default run (``quick``) and many in the slow run (``many``, marked
``slow``; ``python -m pytest -m slow`` and the core CI lane run it).
``TREENETS_FUZZ_EXAMPLES=N`` sets the ``many`` count (default 2000: the 25 fuzz tests then
try about 50,000 inputs, as many as the fuzzing that found issue 11's defects).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _cellcheck import random_trees
from treenets import Tree

QUICK = 60
MANY = int(os.environ.get("TREENETS_FUZZ_EXAMPLES", "2000"))

#: parametrize a fuzz test with this: ``@pytest.mark.parametrize("examples", COUNTS)``
COUNTS = [pytest.param(QUICK, id="quick"), pytest.param(MANY, id="many", marks=pytest.mark.slow)]


def fuzz(examples: int, *strategies, scale: float = 1.0) -> Callable:
    """Run ``check(*drawn)`` on ``examples * scale`` drawn examples: ``fuzz(n, st.text())(check)``."""
    def run(check):
        def body(drawn):
            check(*drawn)  # whatever check returns, hypothesis wants None

        test = settings(max_examples=max(1, int(examples * scale)), deadline=None, database=None,
                        suppress_health_check=list(HealthCheck))(given(st.tuples(*strategies))(body))
        test()
    return run


# Characters that matter to one format or another: brackets and their escape,
# the label:relation separator, CoNLL-U's tab and MISC separators, every kind
# of line break, a no-break space, Unicode digits, quotes and braces (dot).
SPECIAL = "()\\ _:|=\t\n\r\x00\x0b\x0c\x1c\x1f\x7f\x85\xa0\u2028\u2029\u3000\u00b2\u0663#-.,'\"{}[]<>"
_CHARS = st.one_of(st.sampled_from(SPECIAL), st.characters(max_codepoint=127), st.characters())


def text(min_size: int = 0, max_size: int = 6, alphabet=_CHARS) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


#: what a Tree refuses in a token, label or relation (see treenets.structures.tree)
_REFUSED = ({chr(c) for c in range(0x20) if c != 0x09} | {chr(c) for c in range(0x7F, 0xA0)} | {"\u2028", "\u2029"}
            | {chr(c) for c in range(0xD800, 0xE000)})


def valid_field(value: object) -> bool:
    """Whether a Tree accepts ``value`` as a token, label or relation (given as a string)."""
    return value is None or (isinstance(value, str) and value != "" and not any(ch in _REFUSED for ch in value))


def build(parents: List[int], tokens, labels=None, rels=None) -> Optional[Tree]:
    """The tree, or ``None`` when a field is refused; a refusal must be for a refusable field, and say which."""
    fields = list(tokens) + list(labels or []) + list(rels or [])
    try:
        return Tree(parents, tokens, labels, rels)
    except ValueError as err:
        assert not all(valid_field(v) for v in fields), f"refused a valid tree: {err}"
        assert " of node " in str(err)
        return None


def renumber(tree: Tree, order: List[int]) -> List[int]:
    """The parents array of ``tree`` with its nodes renumbered in ``order`` (old ids, new order)."""
    new = {old: k for k, old in enumerate(order)}
    return [-1 if tree.parents[old] < 0 else new[tree.parents[old]] for old in order]


@st.composite
def shapes(draw, max_nodes: int = 9, max_children: Optional[int] = None) -> Tree:
    """A random tree shape (any numbering)."""
    return draw(random_trees(max_nodes=max_nodes, max_children=max_children))


@st.composite
def projective_parents(draw, max_nodes: int = 9) -> List[int]:
    """A projective dependency tree's parents, nodes numbered in word order."""
    tree = draw(shapes(max_nodes))
    kids = tree.children
    order, stack = [], [("node", tree.root)]
    while stack:
        kind, node = stack.pop()
        if kind == "word":
            order.append(node)
            continue
        items = [("node", k) for k in kids[node]]
        items.insert(draw(st.integers(0, len(kids[node]))), ("word", node))
        stack.extend(reversed(items))
    return renumber(tree, order)


@st.composite
def preorder_parents(draw, max_nodes: int = 9, max_children: Optional[int] = None) -> List[int]:
    """A constituency tree's parents, nodes numbered in pre-order."""
    tree = draw(shapes(max_nodes, max_children))
    return renumber(tree, tree.preorder())


#: arbitrary bytes, UTF-8 text with the special characters, and runs of format tokens
BYTES = st.one_of(st.binary(max_size=200),
                  text(max_size=120).map(lambda s: s.encode("utf-8", "surrogatepass")),
                  st.lists(st.sampled_from([b"(", b")", b"\\", b" ", b"\t", b"\n", b"\r", b"_", b":", b"1", b"-1",
                                            b"\xc2\xb2", b"\xff", b"a", b"#", b"|", b"Label=", b"nan", b"0"]),
                           max_size=40).map(b"".join))
TEXT = text(max_size=120)


def expect_documented(err: Exception, source: Optional[str] = None) -> None:
    """``err`` is a documented exception (ValueError, FileNotFoundError) and names ``source``."""
    assert isinstance(err, (ValueError, FileNotFoundError)), f"undocumented {type(err).__name__}: {err}"
    if source is not None:
        assert source in str(err), f"the error does not name {source}: {err}"


def read_or_fail_well(read: Callable, path: Path, data: bytes, *args, **kwargs) -> Any:
    """Write ``data`` to ``path`` and ``read(path, ...)``: its result, or ``None`` after a documented error naming the file."""
    path.write_bytes(data)
    try:
        return read(path, *args, **kwargs)
    except Exception as err:  # noqa: BLE001 - the point is which exceptions
        expect_documented(err, str(path))
        return None
