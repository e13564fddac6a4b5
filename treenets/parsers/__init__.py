"""Parsers: texts in, sentences of :class:`~treenets.Tree` out.

* :class:`Parser`: the protocol every parser follows (``parse(texts)`` and
  ``cache_key()``), with :class:`ParsedSentence` as its output.
* :class:`StanzaParser`: raw text to dependency and constituency trees with stanza.
* :class:`BracketParser`: text already in bracket notation, through nltk.
* :class:`ParseCache`: parses kept across runs in one SQLite file.
* :class:`ParserPool`: a parser run in N processes (``workers=N``), and
  :class:`ParseError`, which names the input (from 1) a parser failed on.
* :func:`parse_sentences`: the one parsing loop (chunks, cache, workers,
  per-input errors), which every front end and model calls down into.
* :func:`default_parser`, :func:`stanza_parser`: the one registry of loaded parsers.

File formats (brackets, PTB, CoNLL-U, dot) live in :mod:`treenets.formats`.
This module only re-exports; stanza and nltk are imported when first used.
"""
from .base import TREE_KINDS, ParsedSentence, ParseError, Parser, RemoteCause, check_tree_kind
from .cache import ParseCache
from .nltk import BracketParser
from .limits import DEFAULT_LIMITS, LONG_SENTENCES, LimitError, TextLimits
from .pool import ParserPool, WorkerDied, load_parser, parse_chunk, parse_each
from .registry import default_parser, stanza_parser
from .run import REFUSED_CHARACTERS, check_text, open_cache, parse_sentences
from .stanza import MissingStanzaModelError, StanzaParser, resolve_stanza_dir, sentences_from_document, stanza_tree_to_tree

__all__ = [
    "Parser", "ParsedSentence", "ParseError", "RemoteCause", "TREE_KINDS", "check_tree_kind",
    "StanzaParser", "MissingStanzaModelError", "resolve_stanza_dir", "sentences_from_document", "stanza_tree_to_tree",
    "BracketParser", "ParseCache", "ParserPool", "WorkerDied", "load_parser", "parse_chunk", "parse_each",
    "default_parser", "stanza_parser", "parse_sentences", "check_text", "open_cache", "REFUSED_CHARACTERS",
    "TextLimits", "LimitError", "DEFAULT_LIMITS", "LONG_SENTENCES",
]
