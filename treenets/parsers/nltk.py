"""Text already in bracket notation, parsed into constituency trees with nltk.

:class:`BracketParser` implements the :class:`~treenets.parsers.Parser`
protocol for text that holds trees rather than prose: PTB or SST brackets
typed by a user or produced by another parser (the Stanford parser, Berkeley,
benepar...). Each text may hold several trees, one sentence each. Trees are read
with nltk (through :func:`treenets.formats.parse_ptb`),
cleaned of traces and function tags, and optionally binarized.
"""
from __future__ import annotations

import io
import json
from typing import List, Optional, Sequence

from ..formats.ptb import parse_ptb
from ..structures.tree import check_binarize
from .base import ParsedSentence
from .limits import DEFAULT_LIMITS, LimitError, TextLimits

__all__ = ["BracketParser"]


class BracketParser:
    """Constituency trees from bracketed text (``"(S (NP (DT The) (NN cat)) (VP (VBZ sleeps)))"``).

    Args:
        binarize: ``None``, ``"left"`` or ``"right"`` (:meth:`Tree.binarize`).
        collapse_unary: with ``binarize``, merge unary chains too.
        strip_traces: remove ``-NONE-`` elements.
        strip_function_tags: ``NP-SBJ-1`` -> ``NP``.
        limits: a :class:`~treenets.parsers.TextLimits`; only ``max_chars``
            applies (nltk reads brackets in linear time; no model is run).

    Raises:
        ValueError: a bad ``binarize``; on :meth:`parse`, a malformed tree
            (naming the text and the tree within it).
    """

    kinds = ("constituency",)

    def __init__(self, binarize: Optional[str] = None, collapse_unary: bool = True, strip_traces: bool = True,
                 strip_function_tags: bool = True, limits: Optional[TextLimits] = None) -> None:
        self.binarize = check_binarize(binarize)
        self.collapse_unary = collapse_unary
        self.strip_traces = strip_traces
        self.strip_function_tags = strip_function_tags
        self.limits = limits if limits is not None else DEFAULT_LIMITS

    def cache_key(self) -> str:
        import nltk

        return json.dumps({"parser": "brackets", "nltk": nltk.__version__, "binarize": self.binarize,
                           "collapse_unary": self.collapse_unary, "strip_traces": self.strip_traces,
                           "strip_function_tags": self.strip_function_tags}, sort_keys=True)

    def parse(self, texts: Sequence[str]) -> List[List[ParsedSentence]]:
        """One list of sentences per text: one sentence per top-level bracket."""
        from nltk.corpus.reader.util import read_sexpr_block

        out: List[List[ParsedSentence]] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i + 1} of {len(texts)} is a {type(text).__name__}, not a string")
            if self.limits.max_chars is not None and len(text) > self.limits.max_chars:
                err = LimitError(f"the text has {len(text):,} characters, over the limit of "
                                 f"{self.limits.max_chars:,} (max_chars)", "max_chars", self.limits.max_chars,
                                 len(text))
                err.index = i
                raise err
            stream, blocks = io.StringIO(text), []
            while True:
                chunk = read_sexpr_block(stream)
                if not chunk:
                    break
                blocks.extend(b for b in chunk if b.strip())
            sentences = []
            for k, block in enumerate(blocks):
                try:
                    tree = parse_ptb(block, strip_traces=self.strip_traces,
                                     strip_function_tags=self.strip_function_tags, binarize=self.binarize,
                                     collapse_unary=self.collapse_unary)
                except ValueError as err:
                    where = f"text {i + 1} of {len(texts)}, " if len(texts) > 1 else ""  # from 1, as everywhere
                    raise ValueError(f"{where}tree {k + 1}: {err}") from None
                sentences.append(ParsedSentence(words=tree.words, constituency=tree, text=" ".join(tree.words),
                                                tokens=tree.words, word_to_token=list(range(len(tree.words))),
                                                index=k))
            out.append(sentences)
        return out

    def __repr__(self) -> str:
        return f"BracketParser(binarize={self.binarize!r})"
