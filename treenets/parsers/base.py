"""What every parser promises: the :class:`Parser` protocol (its output, :class:`ParsedSentence`, is a structure).

A parser turns texts into sentences; each sentence carries its words, its word
annotations (UPOS, XPOS, lemma, features) and its trees (dependency and/or
constituency). :meth:`Parser.cache_key` says what makes two parsers' outputs
equal, so that :class:`~treenets.parsers.ParseCache` can keep parses across
runs without ever handing one parser's trees to another.
"""
from __future__ import annotations

import traceback
from typing import List, Optional, Protocol, Sequence, runtime_checkable

from ..structures.sentence import TREE_KINDS, ParsedSentence, check_tree_kind

__all__ = ["Parser", "ParsedSentence", "ParseError", "TREE_KINDS", "check_tree_kind"]

class ParseError(RuntimeError):
    """A parser failed on an input; says which one (its number, counted from 1) and why.

    Raised by :func:`treenets.parse` and friends, in this process or from a
    worker process, with the parser's own exception as ``__cause__`` (from a
    worker: its traceback, as text). With ``errors="yield"`` (the default of
    lazy iteration) it is not raised but yielded in place of the input's
    results, and the run goes on (see :func:`treenets.parsers.run.parse_sentences`).

    Attributes:
        input: the input's number, counted from 1 (for the lines of a file,
            its line number), or ``None`` when the failure could not be pinned
            to one input (then ``inputs`` lists those of the failed call).
        text: that input's text, or ``None``.
        inputs: the numbers (from 1) of all inputs of the failed call.
        reason: why, without the position (the message is ``"input N (...): " + reason``).
    """

    def __init__(self, message: str, input: Optional[int] = None, text: Optional[str] = None,
                 inputs: Sequence[int] = (), reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.input = input
        self.text = text
        self.inputs = list(inputs)
        self.reason = message if reason is None else reason

    def __reduce__(self):  # crosses process boundaries with its attributes, and its cause as text
        cause = self.__cause__
        if cause is not None and not isinstance(cause, RemoteCause):
            cause = RemoteCause("".join(traceback.format_exception(type(cause), cause, cause.__traceback__)))
        return type(self), (self.args[0], self.input, self.text, self.inputs, self.reason), {"cause": cause}

    def __setstate__(self, state) -> None:
        self.__cause__ = state.get("cause")


class RemoteCause(Exception):
    """The cause of a :class:`ParseError` raised in another process: its traceback, as text."""


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
