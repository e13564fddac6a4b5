"""Plain text files read as lines, exactly: the one line splitter the line-based formats share."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Union

__all__ = ["read_lines"]

PathLike = Union[str, "os.PathLike[str]"]


def read_lines(path: PathLike) -> List[str]:
    """Lines of a UTF-8 text file without line ends; a final newline adds no line.

    Only ``\\n`` (and ``\\r\\n``) end a line: other Unicode line separators
    are part of the text, as they are of a token.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: bytes that are not UTF-8, naming ``file:line``.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text: {err.reason} at byte {err.start}") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]
