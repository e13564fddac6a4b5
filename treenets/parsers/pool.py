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
* **Errors name the input.** A failure in a worker comes back to the caller as
  a :class:`~treenets.parsers.ParseError` with the input's number (from 1);
  when a worker dies (killed, out of memory), :meth:`ParserPool.parse_isolated`
  parses its chunk again, then text by text, so the error names the one input
  that kills a worker and the others still get their trees.
* **Workers end with their parent**, however it dies (``kill -9`` too): each
  watches its parent process and exits when it is gone.

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
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, List, Optional, Sequence, Union

from ..utils.collector import young_collection
from .limits import LimitError
from .base import ParsedSentence, ParseError

__all__ = ["ParserPool", "WorkerDied", "parse_chunk", "parse_each", "load_parser"]

#: How often a worker checks that the process that started it is still alive (seconds).
PARENT_POLL_S = 0.5
#: Workers that die on this many texts in a row, each parsed alone, cannot run at all.
DEATHS_IN_A_ROW = 3


class WorkerDied(ParseError):
    """A parser worker process died (killed, out of memory) while it held these inputs."""


def _short(text: str, n: int = 60) -> str:
    return repr(text if len(text) <= n else text[:n - 3] + "...")


def _span(inputs: Sequence[int]) -> str:
    return f"input {inputs[0]}" if len(inputs) == 1 else f"inputs {inputs[0]}..{inputs[-1]}"


def failed(input: int, text: str, reason: str, inputs: Sequence[int] = (), cls=ParseError) -> ParseError:
    """The error of one input: ``"input N ('text...'): reason"``, with the parts as attributes."""
    return cls(f"input {input} ({_short(text)}): {reason}", input, text, list(inputs) or [input], reason)


def load_parser(parser: Any) -> None:
    """Load a parser's models now, if it can (``parser.load()``); parsers without ``load`` load as they go."""
    load = getattr(parser, "load", None)
    if callable(load):
        load()


def parse_chunk(parser: Any, texts: Sequence[str], inputs: Sequence[int]) -> List[List[ParsedSentence]]:
    """``parser.parse(texts)``, checked, with failures pinned to an input.

    Args:
        parser: any :class:`~treenets.parsers.Parser`.
        texts: the texts of one call.
        inputs: each text's number in the whole input, counted from 1 (for error messages).

    Returns:
        one list of sentences per text.

    Raises:
        ParseError: the parser raised; names the first input that fails on its
            own (the texts are tried one by one), or the whole chunk when each
            text parses alone. The parser's exception is the ``__cause__``.
        RuntimeError: the parser returned the wrong number of results.
    """
    texts = list(texts)
    try:
        out = parser.parse(texts)
    except Exception as err:
        error, cause = _locate(parser, texts, inputs, err)
        raise error from cause
    return _checked(out, texts, inputs)


def _checked(out, texts: Sequence[str], inputs: Sequence[int]) -> List[List[ParsedSentence]]:
    if len(out) != len(texts):
        raise RuntimeError(f"the parser returned {len(out)} results for {len(texts)} texts ({_span(inputs)})")
    return [list(sentences) for sentences in out]


def _limit_at(err: Exception, n: int) -> Optional[int]:
    """The text a :class:`LimitError` names (its place in the call), if it names one."""
    at = getattr(err, "index", None) if isinstance(err, LimitError) else None
    return at if isinstance(at, int) and 0 <= at < n else None


def _reason(err: Exception) -> str:
    return str(err) if isinstance(err, LimitError) else f"{type(err).__name__}: {err}"


def parse_each(parser: Any, texts: Sequence[str], inputs: Sequence[int]) -> List[Union[List[ParsedSentence],
                                                                                     ParseError]]:
    """Like :func:`parse_chunk`, but a text that fails does not fail the others: its
    :class:`ParseError` stands in its place (the texts are parsed together, and one
    by one only when that fails; a :class:`LimitError` that names its text is
    pinned to it at once, and the texts around it are parsed together again)."""
    texts, inputs = list(texts), list(inputs)
    if not texts:
        return []
    try:
        return _checked(parser.parse(texts), texts, inputs)  # type: ignore[return-value]
    except Exception as err:
        at = _limit_at(err, len(texts))
        if at is not None:
            error = failed(inputs[at], texts[at], _reason(err))
            error.__cause__ = err
            return (parse_each(parser, texts[:at], inputs[:at]) + [error]  # type: ignore[operator]
                    + parse_each(parser, texts[at + 1:], inputs[at + 1:]))
        if len(texts) == 1:
            return [_failure(texts[0], inputs[0], err)]
    return [_error_of(parser, t, n) for t, n in zip(texts, inputs)]


def _failure(text: str, input: int, err: Exception) -> ParseError:
    error = failed(input, text, _reason(err))
    error.__cause__ = err
    return error


def _error_of(parser: Any, text: str, input: int) -> Union[List[ParsedSentence], ParseError]:
    try:
        return _checked(parser.parse([text]), [text], [input])[0]
    except Exception as err:
        return _failure(text, input, err)


def _locate(parser: Any, texts: List[str], inputs: Sequence[int], err: Exception):
    at = _limit_at(err, len(texts))
    if at is not None:  # the parser said which text: no need to try them one by one
        return failed(inputs[at], texts[at], _reason(err), inputs), err
    if len(texts) > 1:
        for n, text in zip(inputs, texts):
            try:
                parser.parse([text])
            except Exception as alone:
                return failed(n, text, _reason(alone), inputs), alone
        return ParseError(f"{_span(inputs)} failed together, though each parses alone: "
                          f"{type(err).__name__}: {err}", None, None, inputs), err
    return failed(inputs[0], texts[0], _reason(err), inputs), err


# ------------------------------------------------------------ in the workers
_WORKER_PARSER: Any = None
_WORKER_SETUP_ERROR: Optional[BaseException] = None


def _watch_parent(parent: int) -> None:
    """End this worker as soon as the process that started it is gone, however it died (``kill -9`` too).

    A thread polling ``os.getppid()`` rather than ``prctl(PR_SET_PDEATHSIG)``:
    the latter fires when the *thread* that started the worker ends (a server's
    request thread, say), not the process, and exists on Linux only.
    """
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(payload: bytes, torch_threads: Optional[int], parent: Optional[int] = None) -> None:
    """Runs once in every worker process: the parent watch, threads, then the parser, then its models."""
    global _WORKER_PARSER, _WORKER_SETUP_ERROR
    watched = os.getppid()
    if parent is not None and watched != parent:  # the parent died before this worker got here
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(watched,), name="treenets-parent-watch", daemon=True).start()
    # Ctrl-C reaches every process of the terminal's process group: the parent stops the pool (and the command
    # exits 130 quietly); a worker that took it too would print its own KeyboardInterrupt traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if torch_threads is not None:
            os.environ["OMP_NUM_THREADS"] = str(torch_threads)
            import torch

            torch.set_num_threads(torch_threads)
        _WORKER_PARSER = pickle.loads(payload)
        load_parser(_WORKER_PARSER)
    except Exception as err:  # re-raised, as itself, by every task (an initializer error would only break the pool)
        _WORKER_SETUP_ERROR = err


def _parse_in_worker(texts: List[str], inputs: List[int]) -> List[Union[List[ParsedSentence], ParseError]]:
    if _WORKER_SETUP_ERROR is not None:
        raise _WORKER_SETUP_ERROR
    with young_collection():  # as in the loop: no full collection of the worker's models mid-chunk
        return parse_each(_WORKER_PARSER, texts, inputs)


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
        self._deaths = 0  # texts in a row on which a worker died, each parsed alone

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
            parent = os.getpid() if self.start_method == "spawn" else None  # forkserver: the server is the parent
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(self.start_method),
                initializer=_init_worker, initargs=(self._payload, self.torch_threads, parent))
        return self._executor

    def submit(self, texts: Sequence[str], inputs: Sequence[int]) -> Future:
        """Parse one chunk of texts in a worker; collect it with :meth:`result`.

        A pool whose worker died is replaced by fresh processes first.
        """
        executor = self._pool()
        try:
            future = executor.submit(_parse_in_worker, list(texts), list(inputs))
        except BrokenProcessPool:
            self._drop(executor)
            executor = self._pool()
            future = executor.submit(_parse_in_worker, list(texts), list(inputs))
        future.treenets_executor = executor  # type: ignore[attr-defined]
        return future

    def _drop(self, executor: Optional[ProcessPoolExecutor]) -> None:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        if self._executor is executor:
            self._executor = None

    def result(self, future: Future, inputs: Sequence[int]) -> List[Union[List[ParsedSentence], ParseError]]:
        """The chunk's outcomes: one list of sentences, or the :class:`ParseError` of that
        input, per text. A worker's setup error is raised here, as itself.

        Raises:
            WorkerDied: a worker process died while the chunk was in the pool
                (the pool is replaced on the next :meth:`submit`).
        """
        try:
            return future.result()
        except BrokenProcessPool as err:
            self._drop(getattr(future, "treenets_executor", None))
            raise WorkerDied(f"a parser worker process died while {_span(inputs)} were in the pool (killed, or "
                             f"out of memory?)", None, None, inputs) from err

    def parse_isolated(self, texts: Sequence[str], inputs: Sequence[int]
                       ) -> List[Union[List[ParsedSentence], ParseError]]:
        """The outcomes of a chunk whose worker died: parsed again alone, then (if a worker
        dies again) text by text, so only the texts that kill a worker get a :class:`WorkerDied`
        naming them, and the others their sentences.

        Raises:
            RuntimeError: workers died on :data:`DEATHS_IN_A_ROW` texts in a row, each
                parsed alone: the workers cannot run at all (rather than respawning
                them for every text).
        """
        texts, inputs = list(texts), list(inputs)
        try:
            out = self.result(self.submit(texts, inputs), inputs)
            self._deaths = 0
            return out
        except WorkerDied as err:
            if len(texts) == 1:
                self._deaths += 1
                if self._deaths >= DEATHS_IN_A_ROW:
                    raise RuntimeError(f"parser worker processes died on {self._deaths} texts in a row, each parsed "
                                       f"alone (the last: input {inputs[0]}): they cannot run (out of memory? a "
                                       f"broken installation?)") from err.__cause__
                died = failed(inputs[0], texts[0], "a parser worker process died while parsing it alone (killed, "
                              "or out of memory?)", cls=WorkerDied)
                died.__cause__ = err.__cause__
                return [died]
        return [out for t, n in zip(texts, inputs) for out in self.parse_isolated([t], [n])]

    def parse(self, texts: Sequence[str], batch_size: Optional[int] = None) -> List[List[ParsedSentence]]:
        """One list of sentences per text, in order (the :class:`Parser` protocol).

        Args:
            texts: the texts.
            batch_size: texts per worker call (default: the texts shared out
                evenly, at most 64 per call).

        Raises:
            ParseError: the first text that fails (named by its number from 1 in ``texts``).
        """
        texts = list(texts)
        if not texts:
            return []
        if batch_size is None:
            batch_size = min(64, -(-len(texts) // self.workers))
        chunks = [list(range(s, min(s + batch_size, len(texts)))) for s in range(0, len(texts), batch_size)]
        futures = [self.submit([texts[i] for i in idx], [i + 1 for i in idx]) for idx in chunks]
        out: List[List[ParsedSentence]] = []
        for idx, f in zip(chunks, futures):
            chunk, inputs = [texts[i] for i in idx], [i + 1 for i in idx]
            try:
                outcomes = self.result(f, inputs)
            except WorkerDied:
                outcomes = self.parse_isolated(chunk, inputs)
            for outcome in outcomes:
                if isinstance(outcome, ParseError):
                    raise outcome
                out.append(outcome)
        return out

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
