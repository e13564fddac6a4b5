"""A rooted, ordered tree over tokens, stored as flat arrays.

A :class:`Tree` is plain Python: four parallel lists indexed by node id.

* ``parents[i]``: the parent of node ``i``, or ``-1`` for the root.
* ``tokens[i]``: the word at node ``i``, or ``None`` (phrase nodes of a
  constituency tree have no word).
* ``labels[i]``: an optional label (an SST sentiment class, a phrase
  category such as ``NP``), or ``None``.
* ``rels[i]``: an optional dependency relation, or ``None``.

Tokens and relations are strings; labels may be any object (``str(label)`` is
what files hold). None of them may be empty (``None`` already says "no word /
label / relation") or hold a line break or another control character (tab
excepted), a line or paragraph separator (U+2028, U+2029) or a lone
surrogate: every file format writes them on one line. Such a value is refused
when the tree is built, so that every tree prints text its own readers read
back. Spaces and tabs are escaped by the bracket writer; formats that cannot
hold them (CoNLL-U, heads files) refuse them on write, naming the node.

The children of a node are ordered by node id. Every constructor numbers nodes
so that this is the left-to-right order: dependency trees number nodes by word
position, constituency trees in pre-order. Child order is therefore explicit in
the data and never depends on the order in which edges were added.

Nothing here recurses, so trees of any depth work.
"""
from __future__ import annotations

import math
import operator
import re
from typing import Callable, List, Optional, Sequence

from .brackets import bracket_arrays, write_brackets
from .nltk import binarized_arrays, constituent_arrays, nltk_arrays, to_nltk

__all__ = ["Tree", "BINARIZE_FACTORS", "check_binarize", "as_int"]

#: The ``factor`` values :meth:`Tree.binarize` takes; ``None`` means "do not binarize".
BINARIZE_FACTORS = (None, "left", "right")


def check_binarize(factor: Optional[str]) -> Optional[str]:
    """The one check of a binarization option: ``None``, ``"left"`` or ``"right"``."""
    if factor not in BINARIZE_FACTORS:
        raise ValueError(f"binarize (the factor) must be None, 'left' or 'right', not {factor!r}")
    return factor


class Tree:
    """A rooted, ordered tree with optional tokens, labels and relations.

    Args:
        parents: parent id of every node, ``-1`` for the single root.
        tokens: word at every node, ``None`` where a node has none.
        labels: label of every node, ``None`` where a node has none.
        rels: dependency relation of every node, or ``None`` for none at all.

    Raises:
        ValueError: if the parents do not form one tree (no root, several
            roots, a parent out of range, a cycle), a parent is not an integer
            (``2.9``, ``"²"``), the lists differ in length, a token or
            relation is not a string, or a token, label or relation is empty
            or holds a control character (see the module docstring).
    """

    __slots__ = ("parents", "tokens", "labels", "rels", "root", "_children", "_depth", "_child_pos")

    def __init__(
        self,
        parents: Sequence[int],
        tokens: Optional[Sequence[Optional[str]]] = None,
        labels: Optional[Sequence[Optional[object]]] = None,
        rels: Optional[Sequence[Optional[str]]] = None,
    ) -> None:
        n = len(parents)
        if n == 0:
            raise ValueError("a tree needs at least one node; got an empty parents list")
        self.parents: List[int] = _int_list(parents)
        self.tokens: List[Optional[str]] = _fit("tokens", tokens, n)
        self.labels: List[Optional[object]] = _fit("labels", labels, n)
        self.rels: Optional[List[Optional[str]]] = None if rels is None else _fit("rels", rels, n)
        _check_text("token", self.tokens, strings_only=True)
        _check_text("label", self.labels, strings_only=False)
        if self.rels is not None:
            _check_text("relation", self.rels, strings_only=True)
        self.root: int = _check_parents(self.parents, self.tokens)
        self._children: Optional[List[List[int]]] = None
        self._depth: Optional[List[int]] = None
        self._child_pos: Optional[List[int]] = None

    # ------------------------------------------------------------------ build
    @classmethod
    def from_parents(
        cls,
        tokens: Sequence[str],
        parents: Sequence[int],
        rels: Optional[Sequence[str]] = None,
        labels: Optional[Sequence[object]] = None,
    ) -> "Tree":
        """Build a dependency tree from a heads array.

        ``parents`` is 1-based with ``0`` for the root, as in CoNLL-U's HEAD
        column and SICK's ``.parents`` files. Node ``i`` is token ``i``.

        Example:
            >>> Tree.from_parents(["a", "dog", "barks"], [2, 3, 0]).words
            ['a', 'dog', 'barks']
        """
        tokens = list(tokens)
        parents = list(parents)
        if not tokens and not parents:
            raise ValueError("empty input: no tokens and no heads")
        if len(parents) != len(tokens):
            raise ValueError(f"{len(parents)} heads for {len(tokens)} tokens: "
                             f"every token needs exactly one head")
        n = len(tokens)
        zero_based = []
        for i, given in enumerate(parents):
            head = as_int(given)
            if head is None:
                raise ValueError(f"head {given!r} of token {i + 1} ({tokens[i]!r}) is not an integer")
            if not 0 <= head <= n:
                raise ValueError(f"head {head} of token {i + 1} ({tokens[i]!r}) is out of range 0..{n}")
            zero_based.append(head - 1)
        return cls(zero_based, tokens, labels, rels)

    @classmethod
    def chain(cls, tokens: Sequence[str], labels: Optional[Sequence[object]] = None) -> "Tree":
        """A left-to-right chain: token ``i`` is the only child of token ``i+1``.

        A Child-Sum Tree-LSTM over a chain is a standard sequential LSTM whose
        final state sits at the root, the last token.
        """
        n = len(tokens)
        if n == 0:
            raise ValueError("empty input: a chain needs at least one token")
        return cls([i + 1 for i in range(n - 1)] + [-1], list(tokens), labels)

    @classmethod
    def from_brackets(cls, text: str) -> "Tree":
        """Read one tree in PTB bracket notation.

        Each bracket is ``(LABEL ITEM ...)``. An item is a sub-bracket (a child)
        or a bare word (the node's own token, at most one per node). This reads
        SST trees ``(3 (2 The) (2 Rock))``, PTB trees with phrase labels and
        preterminals ``(S (NP (DT The) (NN movie)) ...)``, and the output of
        ``str(tree)`` for any :class:`Tree`.

        The label ``_`` means no label. A label ``LABEL:REL`` also carries a
        dependency relation (split at the first colon) when ``REL`` is present
        in the printed tree; see :meth:`__str__`. Brackets ``\\(`` and ``\\)``
        inside a word are escaped with a backslash.

        Raises:
            ValueError: on empty input, unbalanced brackets, a bracket with no
                label, more than one word in one bracket, or text after the tree.
                The message gives the character offset.
        """
        return cls(*bracket_arrays(text))

    @classmethod
    def from_nltk(cls, tree) -> "Tree":
        """Convert an ``nltk.Tree`` (or a bare word string, giving a one-node tree).

        Preterminals become nodes carrying a word; nodes are numbered in pre-order.

        Raises:
            TypeError: if ``tree`` is neither an ``nltk.Tree`` nor a string.
        """
        parents, tokens, labels = nltk_arrays(tree)
        return cls(parents, tokens, labels)

    @classmethod
    def from_constituents(cls, root, label, children, word=str) -> "Tree":
        """Convert any constituency tree object (stanza's, say): see
        :func:`treenets.structures.nltk.constituent_arrays` for the three callables."""
        parents, tokens, labels = constituent_arrays(root, label, children, word)
        return cls(parents, tokens, labels)

    # ---------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.parents)

    @property
    def num_nodes(self) -> int:
        return len(self.parents)

    @property
    def children(self) -> List[List[int]]:
        """``children[i]``: the ordered children of node ``i``."""
        if self._children is None:
            kids: List[List[int]] = [[] for _ in self.parents]
            for node, parent in enumerate(self.parents):
                if parent >= 0:
                    kids[parent].append(node)
            self._children = kids
        return self._children

    @property
    def child_positions(self) -> List[int]:
        """Position of every node among its siblings (0-based), ``-1`` at the root."""
        if self._child_pos is None:
            pos = [-1] * len(self.parents)
            for kids in self.children:
                for k, child in enumerate(kids):
                    pos[child] = k
            self._child_pos = pos
        return self._child_pos

    @property
    def depths(self) -> List[int]:
        """Distance of every node from the root (the root has depth 0)."""
        if self._depth is None:
            depth = [0] * len(self.parents)
            for node in self.preorder():
                parent = self.parents[node]
                if parent >= 0:
                    depth[node] = depth[parent] + 1
            self._depth = depth
        return self._depth

    @property
    def height(self) -> int:
        """Number of edges on the longest root-to-leaf path."""
        return max(self.depths)

    @property
    def words(self) -> List[str]:
        """The tokens in sentence order."""
        return [t for t in self.tokens if t is not None]

    @property
    def max_children(self) -> int:
        return max(len(k) for k in self.children)

    def is_leaf(self, node: int) -> bool:
        return not self.children[node]

    def leaves(self) -> List[int]:
        return [i for i, kids in enumerate(self.children) if not kids]

    def preorder(self) -> List[int]:
        """Node ids in pre-order (root first, children left to right)."""
        out, stack = [], [self.root]
        children = self.children
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(children[node]))
        return out

    def postorder(self) -> List[int]:
        """Node ids in post-order: every node after all of its children."""
        return self._postorder_from(self.root)

    def _postorder_from(self, start: int) -> List[int]:
        out, stack = [], [start]
        children = self.children
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(children[node])
        out.reverse()
        return out

    def subtree(self, node: int) -> "Tree":
        """The subtree rooted at ``node``, renumbered in the same order."""
        keep = sorted(self._postorder_from(node))
        new_id = {old: i for i, old in enumerate(keep)}
        parents = [-1 if old == node else new_id[self.parents[old]] for old in keep]
        return Tree(
            parents,
            [self.tokens[i] for i in keep],
            [self.labels[i] for i in keep],
            None if self.rels is None else [self.rels[i] for i in keep],
        )

    def map_labels(self, fn: Callable[[object], object]) -> "Tree":
        """A copy whose labels are ``fn(label)`` (``None`` labels stay ``None``)."""
        labels = [None if lab is None else fn(lab) for lab in self.labels]
        return Tree(self.parents, self.tokens, labels, self.rels)

    # --------------------------------------------------------------- convert
    def to_nltk(self):
        """Convert to an ``nltk.Tree`` (:func:`treenets.structures.nltk.to_nltk`); relations are not kept."""
        return to_nltk(self)

    def binarize(self, factor: str = "right", collapse_unary: bool = True, markov: Optional[int] = None) -> "Tree":
        """A binary copy of a constituency tree, for N-ary cells with N=2.

        nltk's tree transforms, without importing nltk
        (:func:`treenets.structures.nltk.binarized_arrays`, checked against
        nltk in the tests): ``chomsky_normal_form`` splits nodes with more
        than two children (``factor`` is ``"left"`` or ``"right"``;
        ``markov`` is nltk's horizontal Markov order), and ``collapse_unary``
        merges unary chains, preterminals included, into one node whose label
        joins the chain with ``+``. The result has no node with one child.
        Relations are not kept.

        Raises:
            ValueError: for an unknown ``factor``.
        """
        if check_binarize(factor) is None:
            raise ValueError("binarize() needs factor 'left' or 'right', not None")
        parents, tokens, labels = binarized_arrays(self, factor, collapse_unary, markov)
        return type(self)(parents, tokens, labels)

    def token_slot(self, node: int) -> int:
        """Where a node's own word sits among its children (by node id): its position in the bracket."""
        return sum(1 for k in self.children[node] if k < node)

    def __str__(self) -> str:
        """Bracket notation (:func:`treenets.formats.write_brackets`), which :meth:`from_brackets` reads back.

        A display form for non-projective dependency trees, whose words print
        in tree order; machine-read paths use the heads and token arrays.
        """
        return write_brackets(self)

    def __repr__(self) -> str:
        text = str(self)
        if len(text) > 80:
            text = text[:77] + "..."
        return f"Tree({text})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tree):
            return NotImplemented
        return (self.parents == other.parents and self.tokens == other.tokens
                and [_norm(x) for x in self.labels] == [_norm(x) for x in other.labels]
                and self.rels == other.rels)

    def __hash__(self) -> int:
        return hash((tuple(self.parents), tuple(self.tokens)))


# ---------------------------------------------------------------------- helpers
_INT_TEXT = re.compile(r"-?[0-9]{1,4300}")  # Python refuses longer: not an integer here (no unlocated error)


def as_int(value: object) -> Optional[int]:
    """``value`` as a Python ``int`` when it is an integer, else ``None``.

    Integers are Python and numpy integers, 0-dim integer tensors and arrays,
    floats with an integral value (``3.0``, not ``2.9``, NaN or inf) and
    strings of ASCII digits with an optional ``-`` (``"3"``, not ``"²"``).
    ``bool`` is not an integer here.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return int(value) if _INT_TEXT.fullmatch(value) else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if getattr(value, "shape", None) == () and hasattr(value, "item"):  # a 0-dim tensor or array, a numpy scalar
        item = value.item()
        return None if item is value else as_int(item)
    try:
        return operator.index(value)  # other integer types
    except TypeError:
        return None


def _int_list(values: Sequence[object]) -> List[int]:
    values = list(values)
    if all(type(v) is int for v in values):
        return values
    out = []
    for i, v in enumerate(values):
        k = as_int(v)
        if k is None:
            raise ValueError(f"parent {v!r} of node {i} is not an integer")
        out.append(k)
    return out


# control characters but tab (C0, DEL, C1), line and paragraph separators, lone surrogates
_BAD_CHAR = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _check_text(name: str, values: List[object], strings_only: bool) -> None:
    """Tokens, labels and relations must print on one line and read back: no empty string, no control character."""
    for i, value in enumerate(values):
        if value is None or (type(value) is int and not strings_only):
            continue
        if isinstance(value, str):
            text = value
        elif strings_only:
            raise ValueError(f"{name} {value!r} of node {i} is a {type(value).__name__}, not a str")
        else:
            text = str(value)
        if not text:
            raise ValueError(f"{name} {value!r} of node {i} is empty; use None for a node without a {name}")
        bad = _BAD_CHAR.search(text)
        if bad is not None:
            raise ValueError(f"{name} {value!r} of node {i} holds the character U+{ord(bad.group()):04X}; "
                             f"tokens, labels and relations are written on one line, so they may not hold "
                             f"line breaks, control characters other than tab, or lone surrogates")


def _norm(label: object) -> Optional[str]:
    return None if label is None else str(label)


def _fit(name: str, values: Optional[Sequence], n: int) -> list:
    if values is None:
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{len(values)} {name} for {n} nodes: the lists must have the same length")
    return values


def _describe(node: int, tokens: Sequence[Optional[str]]) -> str:
    tok = tokens[node]
    return f"node {node}" + ("" if tok is None else f" ({tok!r})")


def _check_parents(parents: List[int], tokens: Sequence[Optional[str]]) -> int:
    """Validate a parents array and return the root; no recursion."""
    n = len(parents)
    roots = [i for i, p in enumerate(parents) if p == -1]
    for i, p in enumerate(parents):
        if p != -1 and not 0 <= p < n:
            raise ValueError(f"parent {p} of {_describe(i, tokens)} is out of range 0..{n - 1}")
        if p == i:
            raise ValueError(f"{_describe(i, tokens)} is its own parent (a cycle)")
    if not roots:
        raise ValueError("no root: every node has a parent, so the heads contain a cycle")
    if len(roots) > 1:
        names = ", ".join(_describe(r, tokens) for r in roots[:5])
        raise ValueError(f"{len(roots)} roots ({names}); a tree has exactly one")
    # Every node must reach the root; colour walks so the check is linear.
    state = [0] * n  # 0 unseen, 1 on current walk, 2 reaches root
    state[roots[0]] = 2
    for start in range(n):
        path, node = [], start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = parents[node]
        if state[node] == 1:
            cycle = path[path.index(node):]
            names = " -> ".join(_describe(c, tokens) for c in cycle[:6])
            raise ValueError(f"the heads contain a cycle: {names}")
        for p in path:
            state[p] = 2
    return roots[0]
