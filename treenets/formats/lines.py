"""Text files with one item per line: read lazily, line by line, never merging lines.

:func:`iter_lines` is the reader behind ``treenets encode --input FILE``: one
text per line, from a file, an open file object or standard input (``"-"``),
one line in memory at a time. Nothing is dropped or merged, so the n-th item
it yields is line n of the file (1-based): a blank line is an empty string.

Only ``\\n`` ends a line (a ``\\r`` before it is removed, for files written on
Windows); other Unicode line separators (``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``,
``\\x85``, ``\\u2028``, ``\\u2029``), which :meth:`str.splitlines` would split at,
are part of the text. A UTF-8 byte-order mark at the start of the file is
dropped. Text that is not UTF-8 raises a ``ValueError`` naming the file and
the line, and so does a line longer than ``max_line_bytes`` (default
:data:`MAX_LINE_BYTES`): no more than that is ever read into memory for one
line, so ``--input /dev/zero`` is a one-line error, not a full memory.
"""
from __future__ import annotations

import codecs
import io
import os
import sys
from pathlib import Path
from typing import IO, Iterator, List, Union

__all__ = ["iter_lines", "read_lines", "count_lines", "MAX_LINE_BYTES"]

PathLike = Union[str, "os.PathLike[str]"]
#: The longest line :func:`iter_lines` reads by default, in bytes (characters for text streams): 16 MiB.
MAX_LINE_BYTES = 16 << 20


def _bounded(source, name: str, limit: int) -> Iterator:
    """The lines of an open file, each read with at most ``limit`` bytes (or characters) plus its end
    (an iterable without ``readline`` yields its lines whole; they are checked once read)."""
    def read():
        while True:
            line = source.readline(limit + 1)
            if not line:
                return
            yield line

    lines = read() if hasattr(source, "readline") else iter(source)
    for number, line in enumerate(lines, 1):
        if len(line) > limit and not (len(line) == limit + 1 and line[-1:] in (b"\n", "\n")):
            raise ValueError(f"{name}:{number}: a line longer than {limit:,} "
                             f"{'characters' if isinstance(line, str) else 'bytes'} (max_line_bytes); "
                             f"nothing after this line was read")
        yield line


def _strip_end(line: str) -> str:
    if line.endswith("\n"):
        line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
    return line


def _decoded(raw: Iterator[bytes], name: str, encoding: str, drop_bom: bool = True) -> Iterator[str]:
    for number, data in enumerate(raw, 1):
        try:
            line = data.decode(encoding)
        except UnicodeDecodeError as err:
            raise ValueError(f"{name}:{number}: not {encoding.upper()} text "
                             f"(byte {data[err.start]:#04x} at column {err.start + 1}); "
                             f"nothing after this line was read") from None
        if number == 1 and drop_bom and line.startswith("\ufeff"):
            line = line[1:]
        yield _strip_end(line)


def iter_lines(source: Union[PathLike, IO], *, encoding: str = "utf-8", drop_bom: bool = True,
               max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[str]:
    """Yield every line of ``source``, without its line end; item n is line n + 1.

    Args:
        source: a path, ``"-"`` for standard input, or an open file object
            (binary, read as ``encoding``; or text, read as it was opened).
        encoding: the encoding of paths, standard input and binary files.
        drop_bom: drop a byte-order mark (U+FEFF) at the start, as editors write
            it; ``False`` keeps every character (files treenets wrote itself,
            whose first token may begin with U+FEFF).

    Yields:
        each line as a string, blank lines included (as ``""``); a final
        newline adds no line.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line that is not valid ``encoding`` text, or longer
            than ``max_line_bytes`` (naming the file and line).
    """
    if isinstance(source, (str, os.PathLike)):
        if os.fspath(source) == "-":
            stdin = sys.stdin
            buffer = getattr(stdin, "buffer", None)
            if buffer is None:  # a replaced sys.stdin (tests, notebooks) that holds text
                yield from (_strip_end(line) for line in _bounded(stdin, "<stdin>", max_line_bytes))
            else:
                yield from _decoded(_bounded(buffer, "<stdin>", max_line_bytes), "<stdin>", encoding, drop_bom)
            return
        path = Path(source)
        with open(path, "rb") as f:
            yield from _decoded(_bounded(f, str(path), max_line_bytes), str(path), encoding, drop_bom)
        return
    if isinstance(source, io.TextIOBase):
        name = str(getattr(source, "name", "<file>"))
        yield from (_strip_end(line) for line in _bounded(source, name, max_line_bytes))
    else:
        name = str(getattr(source, "name", "<file>"))
        yield from _decoded(_bounded(source, name, max_line_bytes), name, encoding, drop_bom)


def bom_tolerant(encoding: str) -> str:
    """``encoding``, or ``"utf-8-sig"`` for UTF-8: for ``open()`` of a format whose first character is never
    content (CoNLL-U, bracketed trees), so that a byte-order mark an editor wrote is dropped, not read as text."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def read_lines(path: PathLike) -> List[str]:
    """Every line of a UTF-8 text file, without line ends, every character kept (:func:`iter_lines`, as a list).

    The reader of the line formats treenets writes itself (heads files,
    vocabularies): a U+FEFF that begins the first token is that token's, not a
    byte-order mark.
    """
    return list(iter_lines(Path(path), drop_bom=False))


def count_lines(path: PathLike) -> int:
    """How many items :func:`iter_lines` yields for a file (counted in blocks of bytes, nothing decoded).

    For a progress bar's total before a long file is streamed.
    """
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")
