"""File formats and foreign tree objects: the only place where treenets reads or writes them.

* :mod:`~treenets.formats.brackets`: bracket notation (SST, ``str(tree)``), lossless for
  projective trees.
* :mod:`~treenets.formats.ptb`: Penn Treebank files through nltk (traces, function tags).
* :mod:`~treenets.formats.conllu`: CoNLL-U, every column, read and written without stanza.
* :mod:`~treenets.formats.heads`: heads-array files (SICK's ``.toks``/``.parents``/``.rels``).
* :mod:`~treenets.formats.lines`: one item per line (``--input FILE``), streamed, never merged.
* :mod:`~treenets.formats.jsonl`: the JSON records of predictions, encoded sentences and failed inputs.
* :mod:`~treenets.formats.dot`: Graphviz dot.
* :mod:`~treenets.formats.vectors`: GloVe and word2vec text vectors.
* :mod:`~treenets.formats.vocab`: vocabulary files, one token per line.
* :mod:`~treenets.formats.model_dir`: model directories (config.json, safetensors weights,
  vocabulary, SHA-256 sums), never unpickled.
* :mod:`~treenets.formats.svg`: trees with a class on every node as SVG and HTML pictures.
* :mod:`~treenets.formats.pretty`: trees with a label on every node drawn as text (nltk).
* ``nltk.Tree`` in and out: ``Tree.from_nltk`` and :func:`to_nltk`
  (:mod:`treenets.structures.nltk`, the one conversion from constituency tree
  objects, nltk's and stanza's; the bracket notation of one tree is
  :mod:`treenets.structures.brackets`).

This module only re-exports; nltk is imported when first used.
"""
from .brackets import is_bracketed, read_bracket_file, read_bracket_lines, read_brackets, write_brackets
from .conllu import read_conllu, read_conllu_sentences, read_conllu_string, write_conllu
from .dot import write_dot
from .heads import read_heads_files, write_heads_files
from .jsonl import dumps_record, encoded_record, error_record, prediction_record
from .lines import count_lines, iter_lines, read_lines
from ..structures.nltk import to_nltk
from .vectors import Vectors, read_vectors
from .vocab import read_vocab, write_vocab
from .model_dir import ModelFiles, read_model_dir, write_model_dir
from .pretty import draw_tree
from .svg import LabelledTree, tree_svg, write_html, write_svg
from .ptb import (PTB_ESCAPES, clean_ptb, glove_forms, parse_ptb, ptb_unescape, read_ptb, read_ptb_file,
                  strip_function_tag, unescape_word)

__all__ = [
    "read_brackets", "write_brackets", "is_bracketed", "read_bracket_lines", "read_bracket_file",
    "read_conllu", "read_conllu_string", "read_conllu_sentences", "write_conllu",
    "read_heads_files", "write_heads_files", "read_lines", "iter_lines", "count_lines", "encoded_record", "dumps_record", "prediction_record", "error_record",
    "write_dot",
    "to_nltk",
    "Vectors", "read_vectors", "read_vocab", "write_vocab", "read_model_dir", "write_model_dir", "ModelFiles",
    "LabelledTree", "tree_svg", "write_svg", "write_html", "draw_tree",
    "parse_ptb", "read_ptb", "read_ptb_file", "clean_ptb", "strip_function_tag", "unescape_word", "PTB_ESCAPES", "ptb_unescape", "glove_forms",
]
