"""Heads-array files: one sentence per line, as in Tai et al.'s SICK preprocessing.

Three parallel files, one line per sentence:

* ``.toks``: the tokens, separated by spaces;
* ``.parents``: for each token, the 1-based index of its head (``0`` = root);
* ``.rels`` (optional): for each token, its dependency relation.

Every error names the file and line (and the token, for a bad head).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Union

from ..utils.atomic import atomic_write
from ..structures.tree import Tree
from .lines import read_lines

__all__ = ["read_heads_files", "write_heads_files"]

PathLike = Union[str, "os.PathLike[str]"]


def _heads(text: str, where: str, tokens: List[str], tokens_where: str) -> List[int]:
    heads = text.split()
    if len(heads) != len(tokens):
        raise ValueError(f"{where}: {len(heads)} heads for {len(tokens)} tokens in {tokens_where}; "
                         f"every token needs exactly one head")
    out = []
    for i, head in enumerate(heads):
        digits = head[1:] if head.startswith("-") else head
        if len(digits) > 18:  # a word number; Python refuses over 4,300 digits with no file or line
            raise ValueError(f"{where}: head of token {i + 1} ({tokens[i]!r}) has {len(digits):,} digits "
                             f"({head[:12]}...); heads are word numbers")
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError(f"{where}: head {head!r} of token {i + 1} ({tokens[i]!r}) is not an integer")
        out.append(int(head))
    return out


def read_heads_files(toks: PathLike, parents: PathLike, rels: Optional[PathLike] = None) -> List[Tree]:
    """The dependency trees of a ``.toks`` / ``.parents`` (/ ``.rels``) file set, one per line.

    Raises:
        FileNotFoundError: if a file is missing.
        ValueError: files of different line counts, an empty line, a line with
            another number of heads or relations than tokens, a head that is
            not an integer, or heads that do not form a tree; naming ``file:line``.
    """
    files = [Path(toks), Path(parents)] + ([Path(rels)] if rels is not None else [])
    contents = [read_lines(f) for f in files]
    n = len(contents[0])
    for f, lines in zip(files[1:], contents[1:]):
        if len(lines) != n:
            raise ValueError(f"{f} has {len(lines)} lines but {files[0]} has {n}: every file needs one line "
                             f"per sentence")
    trees = []
    for k in range(n):
        line = k + 1
        tokens = contents[0][k].split()
        if not tokens:
            raise ValueError(f"{files[0]}:{line}: empty line: every line needs a sentence")
        heads = _heads(contents[1][k], f"{files[1]}:{line}", tokens, f"{files[0]}:{line}")
        rel_list = None
        if rels is not None:
            rel_list = contents[2][k].split()
            if len(rel_list) != len(tokens):
                raise ValueError(f"{files[2]}:{line}: {len(rel_list)} relations for {len(tokens)} tokens in "
                                 f"{files[0]}:{line}")
        try:
            trees.append(Tree.from_parents(tokens, heads, rels=rel_list))
        except ValueError as err:
            raise ValueError(f"{files[1]}:{line}: {err} (node k is the line's token k + 1: nodes count from 0, "
                             f"the file's heads from 1)") from None
    return trees


def write_heads_files(trees: List[Tree], toks: PathLike, parents: PathLike, rels: Optional[PathLike] = None) -> None:
    """Write dependency trees as ``.toks`` / ``.parents`` (/ ``.rels``) lines, which :func:`read_heads_files` reads back.

    Every tree is checked before anything is written, and each file is written
    atomically (:func:`treenets.utils.atomic.atomic_write`); the folders are created.
    The format has no place for node labels: they are not written.

    Raises:
        ValueError: a node without a word, a token or relation that is empty or
            holds white space (the files separate fields with spaces).
    """
    out = {"toks": [], "parents": [], "rels": []}
    for t, tree in enumerate(trees):
        for i, tok in enumerate(tree.tokens):
            if tok is None or not tok or any(ch.isspace() for ch in tok):
                raise ValueError(f"tree {t}, node {i}: token {tok!r} cannot be written to a .toks file "
                                 f"(a word at every node, no white space)")
            rel = tree.rels[i] if tree.rels is not None else None
            if rels is not None and (not rel or any(ch.isspace() for ch in rel)):
                raise ValueError(f"tree {t}, node {i}: relation {rel!r} cannot be written to a .rels file")
        out["toks"].append(" ".join(tree.tokens))  # type: ignore[arg-type]
        out["parents"].append(" ".join(str(p + 1) for p in tree.parents))
        out["rels"].append(" ".join(tree.rels or []))
    for key, path in (("toks", toks), ("parents", parents), ("rels", rels)):
        if path is not None:
            with atomic_write(path, "w", encoding="utf-8", newline="") as f:
                f.write("".join(line + "\n" for line in out[key]))
