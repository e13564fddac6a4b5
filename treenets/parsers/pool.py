"""Parsing in N processes: :class:`ParserPool`, and :func:`parse_chunk`, the one way a parser is run on texts.

Parsing is the slow step (stanza parses about 40 sentences a second on one CPU
core) and much of stanza's work is Python code, which holds the GIL, so :func:`treenets.parse` and
:func:`treenets.parse_and_encode` take ``workers=N``: N processes, each with
its own parser, built once from a pickled copy of the caller's parser.

* **The same output as one process, in input order.** The texts are cut into
  the same chunks as in one process, each chunk is parsed by one worker, and
  chunks are collected in order.
* **A picklable description of the parser.** The parser itself is pickled
  (``StanzaParser`` pickles without its loaded pipeline; any
  :class:`~treenets.parsers.Parser` that pickles works), sent to every worker
  once, and loaded there (``parser.load()`` when the parser has one), so a
  missing model is reported once, as itself, not as a failed text.
* **One torch thread per worker** by default (``torch_threads=``), so N
  workers do not oversubscribe the cores.
* **Errors name the text.** A failure in a worker comes back to the caller as
  a :class:`~treenets.parsers.ParseError` with the text's index in the input;
  a worker that dies (killed, out of memory) names the texts it was parsing.

Why the standard library: ``concurrent.futures.ProcessPoolExecutor`` gives
exactly what is needed (a per-process initializer that builds the parser once,
futures collected in order, worker exceptions re-raised in the caller with the
remote traceback) and adds no dependency. The ``spawn`` start method (the
default here; ``forkserver`` also works) starts clean processes: forking a
process that holds torch's thread pools, a CUDA context or SQLite connections
is unsafe. joblib/loky would add a dependency for the same features;
``multiprocessing.Pool`` has no per-task futures; Ray or Dask are for many
machines (see ``examples/encode_corpus_dask.py``), not for one.

As with every spawn-based pool, a script that uses ``workers=`` must guard its
entry point with ``if __name__ == "__main__":``.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, List, Optional, Sequence

from .limits import LimitError
from .base import ParsedSentence, ParseError

__all__ = ["ParserPool", "parse_chunk", "load_parser"]


def _short(text: str, n: int = 60) -> str:
    return repr(text if len(text) <= n else text[:n - 3] + "...")


def load_parser(parser: Any) -> None:
    """Load a parser's models now, if it can (``parser.load()``); parsers without ``load`` load as they go."""
    load = getattr(parser, "load", None)
    if callable(load):
        load()


def parse_chunk(parser: Any, texts: Sequence[str], indices: Sequence[int]) -> List[List[ParsedSentence]]:
    """``parser.parse(texts)``, checked, with failures pinned to a text.

    Args:
        parser: any :class:`~treenets.parsers.Parser`.
        texts: the texts of one call.
        indices: each text's position in the whole input (for error messages).

    Returns:
        one list of sentences per text.

    Raises:
        ParseError: the parser raised; names the first text that fails on its
            own (the texts are tried one by one), or the whole chunk when each
            text parses alone. The parser's exception is the ``__cause__``.
        RuntimeError: the parser returned the wrong number of results.
    """
    texts = list(texts)
    try:
        out = parser.parse(texts)
    except Exception as err:
        error, cause = _locate(parser, texts, indices, err)
        raise error from cause
    if len(out) != len(texts):
        raise RuntimeError(f"the parser returned {len(out)} results for {len(texts)} texts "
                           f"(texts {indices[0]}..{indices[-1]})")
    return [list(sentences) for sentences in out]


def _locate(parser: Any, texts: List[str], indices: Sequence[int], err: Exception):
    at = getattr(err, "index", None) if isinstance(err, LimitError) else None
    if isinstance(at, int) and 0 <= at < len(texts):  # the parser said which text: no need to try them one by one
        return ParseError(f"text {indices[at]} ({_short(texts[at])}): {err}", indices[at], texts[at], indices), err
    if len(texts) > 1:
        for i, text in zip(indices, texts):
            try:
                parser.parse([text])
            except Exception as alone:
                return ParseError(f"text {i} ({_short(text)}): {type(alone).__name__}: {alone}",
                                  i, text, indices), alone
        return ParseError(f"texts {indices[0]}..{indices[-1]} failed together, though each parses alone: "
                          f"{type(err).__name__}: {err}", None, None, indices), err
    return ParseError(f"text {indices[0]} ({_short(texts[0])}): {type(err).__name__}: {err}",
                      indices[0], texts[0], indices), err


# ------------------------------------------------------------ in the workers
_WORKER_PARSER: Any = None
_WORKER_SETUP_ERROR: Optional[BaseException] = None


def _init_worker(payload: bytes, torch_threads: Optional[int]) -> None:
    """Runs once in every worker process: threads, then the parser, then its models."""
    global _WORKER_PARSER, _WORKER_SETUP_ERROR
    try:
        if torch_threads is not None:
            os.environ["OMP_NUM_THREADS"] = str(torch_threads)
            import torch

            torch.set_num_threads(torch_threads)
        _WORKER_PARSER = pickle.loads(payload)
        load_parser(_WORKER_PARSER)
    except Exception as err:  # re-raised, as itself, by every task (an initializer error would only break the pool)
        _WORKER_SETUP_ERROR = err


def _parse_in_worker(texts: List[str], indices: List[int]) -> List[List[ParsedSentence]]:
    if _WORKER_SETUP_ERROR is not None:
        raise _WORKER_SETUP_ERROR
    return parse_chunk(_WORKER_PARSER, texts, indices)


# --------------------------------------------------------------- the pool
class ParserPool:
    """A parser run in ``workers`` processes; itself a :class:`~treenets.parsers.Parser`.

    Pass one to :func:`treenets.parse` (``parser=pool``) to keep the processes
    between calls; ``workers=N`` on those functions makes one for the call.

    Args:
        parser: any :class:`~treenets.parsers.Parser` that pickles (a lazily
            loaded :class:`~treenets.parsers.StanzaParser` does).
        workers: the number of processes (at least 1).
        torch_threads: ``torch.set_num_threads`` in each worker (default 1;
            ``None`` leaves torch's default, all cores per worker).
        start_method: ``"spawn"`` (default) or ``"forkserver"``.

    Raises:
        TypeError: the parser does not pickle.
        ValueError: a bad ``workers``, ``torch_threads`` or ``start_method``.

    Example:
        >>> with ParserPool(StanzaParser(lazy=True), workers=2) as pool:   # doctest: +SKIP
        ...     trees = treenets.parse(texts, parser=pool)
    """

    def __init__(self, parser: Any, workers: int, *, torch_threads: Optional[int] = 1,
                 start_method: str = "spawn") -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, not {workers!r}")
        if torch_threads is not None and (isinstance(torch_threads, bool) or not isinstance(torch_threads, int)
                                          or torch_threads < 1):
            raise ValueError(f"torch_threads must be a positive integer or None, not {torch_threads!r}")
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be 'spawn' or 'forkserver', not {start_method!r} "
                             f"(fork is unsafe with torch threads, CUDA and open SQLite connections)")
        if isinstance(parser, ParserPool):
            raise TypeError("parser is already a ParserPool")
        try:
            self._payload = pickle.dumps(parser)
        except Exception as err:
            raise TypeError(f"parsing in {workers} processes needs a parser that pickles (each worker builds its "
                            f"own from a copy); {type(parser).__name__} does not: {type(err).__name__}: {err}") from err
        self.parser = parser
        self.workers = workers
        self.torch_threads = torch_threads
        self.start_method = start_method
        self.kinds = getattr(parser, "kinds", ())
        self._executor: Optional[ProcessPoolExecutor] = None

    def __repr__(self) -> str:
        return f"ParserPool({self.parser!r}, workers={self.workers}, torch_threads={self.torch_threads})"

    def __reduce__(self):
        raise TypeError("a ParserPool holds processes and cannot be pickled; pickle its .parser")

    def cache_key(self) -> str:
        """The wrapped parser's: a pool gives exactly its parser's output."""
        return self.parser.cache_key()

    # -- work
    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(self.start_method),
                initializer=_init_worker, initargs=(self._payload, self.torch_threads))
        return self._executor

    def submit(self, texts: Sequence[str], indices: Sequence[int]) -> Future:
        """Parse one chunk of texts in a worker; collect it with :meth:`result`."""
        return self._pool().submit(_parse_in_worker, list(texts), list(indices))

    def result(self, future: Future, indices: Sequence[int]) -> List[List[ParsedSentence]]:
        """The chunk's sentences; a worker's :class:`ParseError` (or setup error) is raised here."""
        try:
            return future.result()
        except BrokenProcessPool as err:
            self.close(cancel=True)
            raise ParseError(f"a parser worker process died while texts {indices[0]}..{indices[-1]} were being "
                             f"parsed (killed, or out of memory?)", None, None, indices) from err

    def parse(self, texts: Sequence[str], batch_size: Optional[int] = None) -> List[List[ParsedSentence]]:
        """One list of sentences per text, in order (the :class:`Parser` protocol).

        Args:
            texts: the texts.
            batch_size: texts per worker call (default: the texts shared out
                evenly, at most 64 per call).
        """
        texts = list(texts)
        if not texts:
            return []
        if batch_size is None:
            batch_size = min(64, -(-len(texts) // self.workers))
        chunks = [list(range(s, min(s + batch_size, len(texts)))) for s in range(0, len(texts), batch_size)]
        futures = [self.submit([texts[i] for i in idx], idx) for idx in chunks]
        return [sentences for idx, f in zip(chunks, futures) for sentences in self.result(f, idx)]

    # -- lifetime
    def close(self, cancel: bool = False) -> None:
        """Stop the workers (``cancel=True``: drop the chunks not started yet and do not wait)."""
        if self._executor is not None:
            self._executor.shutdown(wait=not cancel, cancel_futures=cancel)
            self._executor = None

    def __enter__(self) -> "ParserPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close(cancel=exc[0] is not None)
