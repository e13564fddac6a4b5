"""Files of bracketed trees, one per line: SST's format and the output of ``str(tree)``.

The notation itself (``(LABEL ITEM ...)``, escapes, relations) is
:mod:`treenets.structures.brackets`, which :class:`~treenets.Tree` prints and
reads with; this module reads it from strings and files, naming ``file:line``
on error. Real Penn Treebank files (traces, function tags, several trees per
block) are read by :mod:`treenets.formats.ptb`, through nltk.
"""
from __future__ import annotations

import os
from typing import Iterable, List

from ..structures.brackets import is_bracketed, write_brackets
from ..structures.tree import Tree
from .lines import bom_tolerant

__all__ = ["read_brackets", "write_brackets", "read_bracket_lines", "read_bracket_file", "is_bracketed"]


def read_brackets(text: str) -> Tree:
    """One tree in bracket notation; see :meth:`treenets.Tree.from_brackets` for the notation."""
    return Tree.from_brackets(text)


def read_bracket_lines(lines: Iterable[str], source: str = "<input>") -> List[Tree]:
    """Read one bracketed tree per non-empty line, naming ``source:line`` on error."""
    out = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(read_brackets(line))
        except ValueError as err:
            raise ValueError(f"{source}:{lineno}: {err}") from None
    return out


def read_bracket_file(path, encoding: str = "utf-8") -> List[Tree]:
    """Every tree of a file with one bracketed tree per line (SST's format, ``str(tree)`` output).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: a malformed tree or undecodable text, naming ``path:line``.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding=bom_tolerant(encoding)) as f:
            return read_bracket_lines(f, source=path)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not {encoding} text ({err})") from None
