"""Vocabulary files: one token per line, the line number is the id.

A token may hold any character. The three that would break the layout are
escaped with a backslash: ``\\`` as ``\\\\``, a line feed as ``\\n`` and a
carriage return as ``\\r``; a file without backslashes is plain text. Only
``\\n`` ends a line, so other Unicode line separators stay inside their token.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, List, Union

from .lines import read_lines
from ..utils.atomic import atomic_write

__all__ = ["read_vocab", "write_vocab"]

PathLike = Union[str, "os.PathLike[str]"]
_UNESCAPE = {"\\": "\\", "n": "\n", "r": "\r"}
_ESCAPED = re.compile(r"\\(.?)")


def _escape(token: str) -> str:
    return token.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def write_vocab(tokens: Iterable[str], path: PathLike) -> None:
    """Write ``tokens`` one per line (escaped as above), in id order, atomically (:func:`treenets.utils.atomic.atomic_write`).

    Raises:
        ValueError: a token that is not a string, holds a lone surrogate (not
            UTF-8), or is already in the list (:func:`read_vocab` would refuse the file).
    """
    lines = []
    seen = {}
    for i, tok in enumerate(tokens):
        if not isinstance(tok, str):
            raise ValueError(f"token {i} is a {type(tok).__name__}, not a str: {tok!r}")
        try:
            tok.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"token {i} {tok!r} holds a lone surrogate, which UTF-8 cannot store") from None
        if seen.setdefault(tok, i) != i:
            raise ValueError(f"token {i} {tok!r} is also token {seen[tok]}; a vocabulary holds each token once")
        lines.append(_escape(tok) + "\n")
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(lines))


def read_vocab(path: PathLike) -> List[str]:
    """The tokens of a file written by :func:`write_vocab`, in id order.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: undecodable text, an unknown escape, or a token that is
            already on an earlier line (two ids for one word), naming ``file:line``.
    """
    path = Path(path)
    lines = read_lines(path)
    tokens = []
    seen = {}
    for number, line in enumerate(lines, 1):
        def unescape(m: "re.Match[str]") -> str:
            if m.group(1) not in _UNESCAPE:
                raise ValueError(f"{path}:{number}: unknown escape {m.group(0)!r} in token {line!r} "
                                 f"(only \\\\, \\n and \\r are escaped)")
            return _UNESCAPE[m.group(1)]

        token = _ESCAPED.sub(unescape, line) if "\\" in line else line
        if token in seen:
            raise ValueError(f"{path}:{number}: the token {token!r} is already line {seen[token]}; a vocabulary "
                             f"holds each token once (one id per word)")
        seen[token] = number
        tokens.append(token)
    return tokens
