"""A parsed sentence: its words, their annotations and its trees (:class:`ParsedSentence`).

What every parser gives (:mod:`treenets.parsers`) and what CoNLL-U files hold
(:mod:`treenets.formats.conllu`); and the two tree kinds a sentence may carry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from .tree import Tree

__all__ = ["ParsedSentence", "TREE_KINDS", "check_tree_kind"]

#: The tree kinds a parser may produce.
TREE_KINDS = ("dependency", "constituency")


def check_tree_kind(kind: str) -> str:
    if kind not in TREE_KINDS:
        raise ValueError(f"tree must be one of {TREE_KINDS}, not {kind!r}")
    return kind


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
