"""Parsers that produce :class:`treenets.Tree` objects.

* :mod:`parsers.stanza_parser`: raw text to dependency and constituency trees
  with a real stanza pipeline; stanza Documents and CoNLL-U files to trees.
* :mod:`parsers.nltk_parser`: ``nltk.Tree`` in and out, PTB bracket files,
  trace and function-tag stripping, binarization.

This module only re-exports; stanza and nltk are imported when first used.
"""
from .nltk_parser import (
    binarize,
    clean_ptb,
    from_nltk,
    parse_ptb,
    read_ptb,
    read_ptb_file,
    strip_function_tag,
    to_nltk,
    unescape_word,
)
from .stanza_parser import (
    MissingStanzaModelError,
    ParsedSentence,
    StanzaParser,
    check_stanza_models,
    read_conllu,
    read_conllu_string,
    resolve_stanza_dir,
    sentences_from_document,
    stanza_tree_to_tree,
)

__all__ = [
    "StanzaParser",
    "ParsedSentence",
    "MissingStanzaModelError",
    "check_stanza_models",
    "resolve_stanza_dir",
    "sentences_from_document",
    "stanza_tree_to_tree",
    "read_conllu",
    "read_conllu_string",
    "from_nltk",
    "to_nltk",
    "parse_ptb",
    "read_ptb",
    "read_ptb_file",
    "clean_ptb",
    "strip_function_tag",
    "binarize",
    "unescape_word",
]
