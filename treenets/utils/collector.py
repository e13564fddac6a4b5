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
Every block that ends collects the youngest generation, also while others
are still running; and where blocks overlap without a break (a server
parsing in several threads), every :data:`FULL_EVERY`-th block that ends
inside an unbroken pause runs a full collection, so garbage that grew old
meanwhile is still freed.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["young_collection", "FULL_EVERY"]

#: Blocks ending within one unbroken pause (blocks overlapping in threads) between two full collections.
FULL_EVERY = 16

_lock = threading.Lock()
_depth = 0  # blocks running now, in any thread
_resume = False  # whether the first of them found automatic collection on
_ended = 0  # blocks that ended while others were still running, since the pause began or the last full collection


@contextmanager
def young_collection() -> Iterator[None]:
    """Run the block with automatic garbage collection paused, then collect the youngest generation.

    Example:
        >>> with young_collection():
        ...     sentences = parser.parse(texts)   # doctest: +SKIP
    """
    global _depth, _resume, _ended
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            _ended = 0
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        full = False
        with _lock:
            _depth -= 1
            collect = _resume
            if _depth == 0:
                if _resume:
                    gc.enable()
            elif _resume:
                _ended += 1
                full = _ended >= FULL_EVERY
                if full:
                    _ended = 0
        if collect:
            gc.collect(2 if full else 0)
