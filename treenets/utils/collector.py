"""Python's cyclic garbage collector paused around a block of allocations: :func:`young_collection`.

A process that has loaded stanza's pipeline and a model holds about half a
million objects that the collector tracks (vocabularies, modules, parameters).
Each *full* collection walks all of them (0.2-0.3 s on this project's machine),
and parsing starts one every 100-200 sentences: stanza's documents (words,
tokens, sentences pointing at each other) live while a chunk is parsed, so
the collector's young generations promote them to the oldest one, and that
promotion is what starts a full collection. On 300 SST sentences that was
0.45-0.75 s of a 2.5-4 s run (``benchmarks/raw_text.py``; ``docs/engine.md``).

:func:`young_collection` runs a block (one chunk of parsing, one model batch)
with automatic collection off and then collects the *youngest* generation
only: every object made in the block is still there (nothing was collected
during it), so that one young collection frees the block's reference cycles
(stanza's documents), walks only the block's own objects, and promotes only
what the block returns. Memory is bounded by what one block allocates, as the
callers keep blocks to one chunk or one batch.

The collector's state is the process's: the pause is counted, so nested
blocks and blocks in several threads turn it back on only when the last one
ends, and never when it was off before the first began (a caller that
disabled it keeps it disabled, and gets no collection from here either).
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["young_collection"]

_lock = threading.Lock()
_depth = 0  # blocks running now, in any thread
_resume = False  # whether the first of them found automatic collection on


@contextmanager
def young_collection() -> Iterator[None]:
    """Run the block with automatic garbage collection paused, then collect the youngest generation.

    Example:
        >>> with young_collection():
        ...     sentences = parser.parse(texts)   # doctest: +SKIP
    """
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            collect = _depth == 0 and _resume
            if collect:
                gc.enable()
        if collect:
            gc.collect(0)
