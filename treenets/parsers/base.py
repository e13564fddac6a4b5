"""What every parser gives and promises: :class:`ParsedSentence` and the :class:`Parser` protocol.

A parser turns texts into sentences; each sentence carries its words, its word
annotations (UPOS, XPOS, lemma, features) and its trees (dependency and/or
constituency). :meth:`Parser.cache_key` says what makes two parsers' outputs
equal, so that :class:`~treenets.parsers.ParseCache` can keep parses across
runs without ever handing one parser's trees to another.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Protocol, Sequence, runtime_checkable

from ..tree import Tree

__all__ = ["Parser", "ParsedSentence", "ParseError", "TREE_KINDS", "check_tree_kind"]

#: The tree kinds a parser may produce.
TREE_KINDS = ("dependency", "constituency")


def check_tree_kind(kind: str) -> str:
    if kind not in TREE_KINDS:
        raise ValueError(f"tree must be one of {TREE_KINDS}, not {kind!r}")
    return kind


class ParseError(RuntimeError):
    """A parser failed on a text; says which one (its index in the input) and why.

    Raised by :func:`treenets.parse` and friends, in this process or from a
    worker process, with the parser's own exception as ``__cause__`` (from a
    worker: its traceback, as text).

    Attributes:
        index: the text's position in the input (0-based), or ``None`` when
            the failure could not be pinned to one text (then ``indices`` lists
            the texts of the failed call).
        text: that text, or ``None``.
        indices: the positions of all texts of the failed call.
    """

    def __init__(self, message: str, index: Optional[int] = None, text: Optional[str] = None,
                 indices: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.index = index
        self.text = text
        self.indices = list(indices)

    def __reduce__(self):  # crosses process boundaries with its attributes
        return type(self), (self.args[0], self.index, self.text, self.indices)


@dataclass
class ParsedSentence:
    """One parsed sentence.

    Attributes:
        words: the syntactic words (multi-word tokens expanded), in order.
            Dependency trees have one node per word, in this order; the leaves
            of constituency trees are these words.
        dependency: dependency :class:`Tree` (``tokens`` = words, ``rels`` =
            UD relations, no labels), or ``None`` when not produced.
        constituency: constituency :class:`Tree` (phrase labels, preterminals
            carry the words), or ``None`` when not produced.
        text: the sentence's text, when the parser knows it.
        upos: universal POS tag of every word (``None`` where missing).
        xpos: language-specific POS tag of every word (``None`` where missing).
        lemmas: lemma of every word (``None`` where missing).
        feats: morphological features of every word, CoNLL-U style
            (``"Number=Sing"``), ``None`` where missing.
        tokens: the surface tokens (``"don't"`` is one token, two words).
        word_to_token: for every word, the index of its surface token.
        index: position of the sentence in its text (0-based).
    """

    words: List[str]
    dependency: Optional[Tree] = None
    constituency: Optional[Tree] = None
    text: Optional[str] = None
    upos: List[Optional[str]] = field(default_factory=list)
    xpos: List[Optional[str]] = field(default_factory=list)
    lemmas: List[Optional[str]] = field(default_factory=list)
    feats: List[Optional[str]] = field(default_factory=list)
    tokens: List[str] = field(default_factory=list)
    word_to_token: List[int] = field(default_factory=list)
    index: int = 0

    def tree(self, kind: str) -> Tree:
        """The ``"dependency"`` or ``"constituency"`` tree; an error naming the sentence if it is missing."""
        tree = getattr(self, check_tree_kind(kind))
        if tree is None:
            text = self.text if self.text is not None else " ".join(self.words)
            raise ValueError(f"sentence {self.index + 1} ({text[:60]!r}) has no {kind} tree; "
                             f"use a parser that produces {kind} trees")
        return tree


@runtime_checkable
class Parser(Protocol):
    """Anything that parses texts into sentences of trees.

    Implementations: :class:`~treenets.parsers.StanzaParser` (raw text, any
    tree kind) and :class:`~treenets.parsers.BracketParser` (text already in
    bracket notation, through nltk).
    """

    #: the tree kinds this parser produces, a subset of :data:`TREE_KINDS`
    kinds: Sequence[str]

    def parse(self, texts: Sequence[str]) -> List[List[ParsedSentence]]:
        """One list of sentences per text (``[]`` for blank text), in order."""
        ...

    def cache_key(self) -> str:
        """A string that is equal for two parsers exactly when they give the same output.

        It names the parser, its version and its models, and every option that
        changes the trees (tree kinds, binarization, tokenization, ...).
        """
        ...
