"""Progress bars on standard error: :func:`progress_bar`, a tqdm bar that can be switched off.

Results go to standard output and the bar to standard error, so
``treenets encode --input F > out.jsonl`` keeps the output clean while the bar
shows in the terminal. A switched-off bar is still a ``tqdm`` object
(``disable=True``): code calls ``update`` and ``close`` either way.
"""
from __future__ import annotations

import sys
from typing import IO, Iterable, Optional

from tqdm import tqdm

__all__ = ["progress_bar"]


def progress_bar(iterable: Optional[Iterable] = None, *, total: Optional[float] = None, desc: Optional[str] = None,
                 unit: str = "it", enabled: bool = True, leave: bool = True, file: Optional[IO[str]] = None) -> tqdm:
    """A tqdm bar on standard error (or ``file``), or a silent one.

    Args:
        iterable: what to wrap (``None`` for a bar advanced with ``update``).
        total: the expected count (default: ``len(iterable)`` when it has one).
        desc: the text before the bar.
        unit: what is counted (``"text"``, ``"line"``, ...).
        enabled: ``False`` gives a bar that prints nothing.
        leave: keep the finished bar on screen.
        file: where to draw (default: ``sys.stderr`` at the time of the call).

    Returns:
        a ``tqdm`` object; close it (or use it as a context manager) when done.
    """
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled, leave=leave,
                file=file if file is not None else sys.stderr, dynamic_ncols=True, mininterval=0.5)
