"""What every parser promises: the :class:`Parser` protocol (its output, :class:`ParsedSentence`, is a structure).

A parser turns texts into sentences; each sentence carries its words, its word
annotations (UPOS, XPOS, lemma, features) and its trees (dependency and/or
constituency). :meth:`Parser.cache_key` says what makes two parsers' outputs
equal, so that :class:`~treenets.parsers.ParseCache` can keep parses across
runs without ever handing one parser's trees to another.
"""
from __future__ import annotations

from typing import List, Optional, Protocol, Sequence, runtime_checkable

from ..structures.sentence import TREE_KINDS, ParsedSentence, check_tree_kind

__all__ = ["Parser", "ParsedSentence", "ParseError", "TREE_KINDS", "check_tree_kind"]

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
