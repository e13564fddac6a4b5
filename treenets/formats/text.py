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
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]
