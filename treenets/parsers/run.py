"""The one parsing loop: texts in, sentences out, in order, through the cache and the workers.

:func:`parse_sentences` is the only place where raw text is parsed: the front
door (:func:`treenets.parse`, :func:`treenets.parse_and_encode`) and the
models (:meth:`SentimentModel.predict <treenets.models.SentimentModel.predict>`,
``similarity``) all call down into it. It

1. reads the inputs in chunks of ``batch_size`` (once; nothing upstream
   chunks them again), numbering them from 1 (for a file's lines, the line
   numbers);
2. checks each text (:func:`check_text`: no control characters);
3. serves parse-cache hits (:class:`~treenets.parsers.ParseCache`) here, in
   this process;
4. parses the misses here, or in a :class:`~treenets.parsers.ParserPool`
   with up to ``2 * workers`` chunks in flight so every worker stays busy;
5. yields one outcome per input, in input order.

**A bad input loses nothing.** An input that cannot be parsed (the parser
raises on it, a control character, a worker process dies on it) gets a
:class:`~treenets.parsers.ParseError` naming its number (from 1); with
``errors="yield"`` (the default of ``lazy=True``) that error is *yielded* in
place of the input's sentences and the run goes on, so every other input gets
its result, in order. With ``errors="raise"`` (the default of a list) the
first one is raised when the loop reaches it.

**Control characters are refused, per input** (:data:`REFUSED_CHARACTERS`):
characters of Unicode category Cc other than tab, line feed, vertical tab,
form feed and carriage return (so NUL, ESC and hence ANSI colour codes, DEL,
the C1 controls U+0080-U+009F), and lone surrogates. stanza fails or misreads
them, and a lone surrogate cannot be stored in the parse cache. The error
names the character and its position; the text is never changed silently.
"""
from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from ..utils.collector import young_collection
from ..utils.progress import progress_bar
from .base import ParseError
from .cache import ParseCache
from .pool import ParserPool, WorkerDied, failed, load_parser, parse_each

__all__ = ["parse_sentences", "check_text", "open_cache", "REFUSED_CHARACTERS", "ERRORS"]

Texts = Iterable[str]
CacheArg = Union[bool, None, Path, str, ParseCache]
#: What :func:`parse_sentences` does with an input that cannot be parsed.
ERRORS = ("raise", "yield")

#: The characters no text may hold: Cc controls except tab, LF, VT, FF and CR; lone surrogates.
REFUSED_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

_CACHES: Dict[str, ParseCache] = {}


def open_cache(cache: CacheArg) -> Optional[ParseCache]:
    """The :class:`ParseCache` for ``cache=`` (one per file in a process, so one connection per thread).

    ``True``: the default file (``$TREENETS_CACHE_DIR/parses.sqlite``); a path:
    that file or folder; a ``ParseCache``: itself; ``False``/``None``: no cache.
    """
    if cache is False or cache is None:
        return None
    if isinstance(cache, ParseCache):
        return cache
    store = ParseCache(None if cache is True else cache)
    return _CACHES.setdefault(str(store.path), store)


def check_text(text: str) -> Optional[str]:
    """Why ``text`` cannot be parsed, or ``None``: the first refused character and where it is (from 1)."""
    bad = REFUSED_CHARACTERS.search(text)
    if bad is None:
        return None
    char = bad.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "control character"
    return (f"{kind} U+{ord(char):04X} at character {bad.start() + 1}; text may hold no control characters "
            f"other than tab, newline, carriage return, vertical tab and form feed")


def check_positive(name: str, value, allow_none: bool = False) -> None:
    """A ``ValueError`` naming ``name`` unless ``value`` is a positive int (or ``None`` when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")


def _iterate(texts, what: str) -> Iterator:
    if isinstance(texts, str):
        raise TypeError(f"{what} takes an iterable of texts, not a string; for one text pass [text]")
    try:
        return iter(texts)
    except TypeError:
        raise TypeError(f"{what} takes an iterable of texts, not {type(texts).__name__}") from None


def _positioned(n: int, err: Exception) -> Exception:
    """``err`` (from ``prepare``, without a position) as the same kind of error, naming input ``n``."""
    cls = TypeError if isinstance(err, TypeError) else ValueError
    out = cls(f"input {n}: {err}")
    out.__cause__ = err
    return out


#: One input on its way: its number, what it is (text to parse, or an outcome ready as it is).
_Item = Tuple[int, Any]


def _chunks(items: Iterator, size: int, prepare: Optional[Callable[[Any], Any]]) -> Iterator[List[_Item]]:
    chunk: List[_Item] = []
    for n, item in enumerate(items, 1):
        try:
            value = prepare(item) if prepare is not None else item
            if not isinstance(value, str) and prepare is None:
                raise TypeError(f"expected a str, got a {type(item).__name__}")
        except (TypeError, ValueError) as err:
            value = _positioned(n, err)
        else:
            if isinstance(value, str):
                why = check_text(value)
                if why is not None:
                    value = failed(n, value, why)
        chunk.append((n, value))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _loop(items: Iterator, parser: Any, cache: CacheArg, batch_size: int, pool: Optional[ParserPool],
          own_pool: bool, progress, total: Optional[int], errors: str,
          prepare: Optional[Callable[[Any], Any]]) -> Iterator[Any]:
    store = open_cache(cache)
    key = parser.cache_key() if store is not None else ""
    ahead = 2 * pool.workers if pool is not None else 0  # chunks in flight: every worker busy, memory bounded
    own_bar = progress is None or isinstance(progress, bool)
    bar = progress_bar(total=total, desc="parsing", unit="text", enabled=bool(progress)) if own_bar else progress
    loaded = pool is not None
    pending: Deque[Tuple[List[_Item], List[Any], List[int], Any]] = deque()

    def start(chunk: List[_Item]) -> None:
        out: List[Any] = [None] * len(chunk)
        todo = []
        for k, (_, value) in enumerate(chunk):
            if not isinstance(value, str):
                out[k] = value  # ready (a tree passed through, or an error)
            elif not value.strip():
                out[k] = []
            else:
                todo.append(k)
        if store is not None and todo:
            for k, hit in zip(todo, store.get(key, [chunk[k][1] for k in todo])):
                out[k] = hit
        missing = [k for k in todo if out[k] is None]
        future = None
        if missing and pool is not None:
            future = pool.submit([chunk[k][1] for k in missing], [chunk[k][0] for k in missing])
        pending.append((chunk, out, missing, future))

    def finish() -> Tuple[List[_Item], List[Any]]:
        nonlocal loaded
        chunk, out, missing, future = pending.popleft()
        if missing:
            texts, inputs = [chunk[k][1] for k in missing], [chunk[k][0] for k in missing]
            if pool is not None:
                try:
                    outcomes = pool.result(future, inputs)
                except WorkerDied:  # parse it again, alone, then text by text: only a text that kills fails
                    outcomes = pool.parse_isolated(texts, inputs)
            else:
                if not loaded:  # a missing model is an error of its own, not a failed text
                    load_parser(parser)
                    loaded = True
                with young_collection():  # no full collection of the loaded models mid-chunk (utils.collector)
                    outcomes = parse_each(parser, texts, inputs)
            for k, outcome in zip(missing, outcomes):
                out[k] = outcome
            if store is not None:
                store.put(key, [(chunk[k][1], out[k]) for k in missing if not isinstance(out[k], ParseError)])
        bar.update(len(chunk))
        return chunk, out

    def emit(done: Tuple[List[_Item], List[Any]]) -> Iterator[Any]:
        for (n, _), outcome in zip(*done):
            if isinstance(outcome, Exception):
                if errors == "raise":
                    raise outcome
                if not isinstance(outcome, ParseError):  # an input of the wrong type or form
                    error = ParseError(str(outcome), n, None, [n], str(outcome.__cause__))
                    error.__cause__ = outcome.__cause__
                    outcome = error
            yield outcome

    try:
        for chunk in _chunks(items, batch_size, prepare):
            start(chunk)
            while len(pending) > ahead:
                yield from emit(finish())
        while pending:
            yield from emit(finish())
    finally:
        if own_bar:
            bar.close()
        if own_pool:
            pool.close(cancel=True)  # type: ignore[union-attr]


def parse_sentences(texts: Texts, parser: Any, cache: CacheArg = True, *, lazy: bool = False,
                    batch_size: int = 64, workers: int = 1, torch_threads: Optional[int] = 1,
                    progress=False, errors: Optional[str] = None,
                    prepare: Optional[Callable[[Any], Any]] = None) -> Union[List[Any], Iterator[Any]]:
    """Parse each text into sentences with ``parser``, through the parse cache: the one parsing loop.

    Texts are read and parsed in chunks of ``batch_size``: with ``lazy=True``
    the results come one text at a time as chunks finish, and memory stays flat
    however many texts the iterable yields.

    Args:
        texts: any iterable of strings (a list, a generator, the lines of a
            file from :func:`treenets.formats.iter_lines`); not a string.
        parser: any :class:`~treenets.parsers.Parser`, or a
            :class:`~treenets.parsers.ParserPool` (its processes are reused).
        cache: ``True`` for the default cache (``$TREENETS_CACHE_DIR/parses.sqlite``),
            a file or folder, a :class:`~treenets.parsers.ParseCache`, or ``False``.
            Hits are served in this process; only misses reach the parser.
        lazy: return an iterator (one outcome per text, in order) instead of a list.
        batch_size: texts per parser call (and per task sent to a worker).
        workers: parse in this many processes, each with its own copy of
            ``parser`` (it must pickle; see :class:`~treenets.parsers.ParserPool`),
            with up to ``2 * workers`` chunks in flight; the results are those
            of one process, in input order. A lazy iterator stops its workers
            when it is exhausted or closed (``.close()``, or garbage collected).
        torch_threads: torch threads in each worker process (``workers > 1``).
        progress: ``True`` for a progress bar (texts parsed) on standard
            error; or a bar of your own (anything with ``update(n)``, such as
            :func:`treenets.utils.progress.progress_bar`), advanced by the texts
            parsed and left open.
        errors: ``"yield"``: an input that cannot be parsed yields its
            :class:`~treenets.parsers.ParseError` (``.input``: its number from 1)
            in place of its sentences, and the run goes on; ``"raise"``: the
            first such error is raised. Default: ``"yield"`` with ``lazy=True``,
            ``"raise"`` for a list.
        prepare: for callers whose inputs are not all raw text (the models):
            called on each input, it returns the text to parse, or anything
            else to stand as that input's outcome as it is; a ``TypeError`` or
            ``ValueError`` it raises is that input's error.

    Returns:
        one list of :class:`~treenets.parsers.ParsedSentence` per text (empty
        for empty or blank text), or its ``ParseError`` (``errors="yield"``),
        as a list or, with ``lazy=True``, an iterator.

    Raises:
        TypeError: ``texts`` is a string, or (``errors="raise"``) a text is not
            a string (naming its number).
        ParseError: (``errors="raise"``) the parser failed on a text, a text
            holds a control character, or a worker died on it (naming its
            number, from 1).
    """
    it = _iterate(texts, "parse_sentences")
    check_positive("batch_size", batch_size)
    check_positive("workers", workers)
    check_positive("torch_threads", torch_threads, allow_none=True)
    if errors is None:
        errors = "yield" if lazy else "raise"
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {ERRORS}, not {errors!r}")
    total = len(texts) if hasattr(texts, "__len__") else None  # type: ignore[arg-type]
    pool = parser if isinstance(parser, ParserPool) else None
    own_pool = pool is None and workers > 1
    if own_pool:  # made here, so a parser that does not pickle fails now; its processes start on first use
        pool = ParserPool(parser, workers, torch_threads=torch_threads)
    results = _loop(it, parser, cache, batch_size, pool, own_pool, progress, total, errors, prepare)
    return results if lazy else list(results)
