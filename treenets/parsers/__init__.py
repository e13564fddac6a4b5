"""Parsers: texts in, sentences of :class:`~treenets.Tree` out.

* :class:`Parser`: the protocol every parser follows (``parse(texts)`` and
  ``cache_key()``), with :class:`ParsedSentence` as its output.
* :class:`StanzaParser`: raw text to dependency and constituency trees with stanza.
* :class:`BracketParser`: text already in bracket notation, through nltk.
* :class:`ParseCache`: parses kept across runs in one SQLite file.
* :class:`ParserPool`: a parser run in N processes (``workers=N``), and
  :class:`ParseError`, which names the text a parser failed on.

File formats (brackets, PTB, CoNLL-U, dot) live in :mod:`treenets.formats`.
This module only re-exports; stanza and nltk are imported when first used.
"""
from .base import TREE_KINDS, ParsedSentence, ParseError, Parser, check_tree_kind
from .cache import ParseCache
from .nltk import BracketParser
from .limits import DEFAULT_LIMITS, LONG_SENTENCES, LimitError, TextLimits
from .pool import ParserPool, load_parser, parse_chunk
from .stanza import MissingStanzaModelError, StanzaParser, resolve_stanza_dir, sentences_from_document, stanza_tree_to_tree

__all__ = [
    "Parser", "ParsedSentence", "ParseError", "TREE_KINDS", "check_tree_kind",
    "StanzaParser", "MissingStanzaModelError", "resolve_stanza_dir", "sentences_from_document", "stanza_tree_to_tree",
    "BracketParser", "ParseCache", "ParserPool", "load_parser", "parse_chunk",
    "TextLimits", "LimitError", "DEFAULT_LIMITS", "LONG_SENTENCES",
]
