"""A parse cache in one SQLite file: parse a text once, keep its sentences across runs.

Parsing is the slow step (stanza parses about 40 sentences a second on one CPU
core), so :func:`treenets.parse` keeps every parse in
``$TREENETS_CACHE_DIR/parses.sqlite`` (see :mod:`treenets.utils.paths`), keyed by the
text and the parser's :meth:`~treenets.parsers.Parser.cache_key`.

What the cache promises:

* **Never a wrong tree.** Each entry stores the text itself, the parser key
  and every sentence losslessly: words, tags, lemmas, and each tree as its
  parents, tokens, labels and relations arrays (any tree, projective or not).
  On read the stored text and parser must equal the request and every tree
  must be well formed; anything else is parsed again and rewritten.
* **Many readers and writers at once.** SQLite (the standard library's
  ``sqlite3``) in WAL mode, one connection per thread and process, with a
  busy timeout: threads and processes may share one cache.
* **Nothing lost.** A cache that cannot be opened or written (read-only
  folder, full disk, a damaged file) gives one warning and the parser's
  results are returned uncached.

``treenets cache info`` prints its size and ``treenets cache clear`` empties it
(:meth:`ParseCache.clear`).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ..utils.paths import default_cache_dir
from ..structures.tree import Tree
from .base import ParsedSentence

__all__ = ["ParseCache", "encode_sentences", "decode_sentences"]

# bump when the stored layout changes: old rows are then ignored (their keys differ) and rewritten.
# 2: ``sentences`` is "<sha256 of parser, text and JSON> <JSON>", checked on read (a mismatch is a miss);
#    ``text`` and the JSON are ASCII (json escapes), so a lone surrogate from a custom parser round-trips.
_FORMAT = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS parses (
    key TEXT PRIMARY KEY,       -- sha256 of (format, parser key, text)
    parser TEXT NOT NULL,       -- sha256 of the parser key
    text TEXT NOT NULL,
    sentences TEXT NOT NULL     -- "<sha256> <JSON>", see encode_sentences and _sealed
);
CREATE TABLE IF NOT EXISTS parsers (
    hash TEXT PRIMARY KEY,
    key TEXT NOT NULL
);
"""


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def _inode(path: Path) -> Optional[int]:
    try:
        return path.stat().st_ino
    except OSError:
        return None


# ------------------------------------------------------------ (de)serialising
def _tree_record(tree: Optional[Tree]) -> Optional[dict]:
    if tree is None:
        return None
    return {"parents": tree.parents, "tokens": tree.tokens, "labels": tree.labels, "rels": tree.rels}


def _tree_from(record: Any, n_words: int, kind: str) -> Optional[Tree]:
    if record is None:
        return None
    if not isinstance(record, dict):
        raise ValueError(f"{kind} tree is a {type(record).__name__}, not an object")
    parents = record["parents"]
    if not isinstance(parents, list) or not all(type(p) is int for p in parents):
        raise ValueError(f"{kind} parents are not a list of integers")
    for name in ("tokens", "labels", "rels"):
        values = record[name]
        if values is not None and (not isinstance(values, list)
                                   or not all(v is None or isinstance(v, (str, int)) for v in values)):
            raise ValueError(f"{kind} {name} are not a list of strings")
    tree = Tree(parents, record["tokens"], record["labels"], record["rels"])
    if len(tree.words) != n_words:
        raise ValueError(f"{kind} tree has {len(tree.words)} words for {n_words} sentence words")
    return tree


def encode_sentences(sentences: Sequence[ParsedSentence]) -> str:
    """Sentences as JSON, losslessly (trees as arrays, never brackets)."""
    return json.dumps([{
        "words": s.words, "text": s.text, "upos": s.upos, "xpos": s.xpos, "lemmas": s.lemmas, "feats": s.feats,
        "tokens": s.tokens, "word_to_token": s.word_to_token, "index": s.index,
        "dependency": _tree_record(s.dependency), "constituency": _tree_record(s.constituency),
    } for s in sentences], ensure_ascii=True)  # ASCII: lone surrogates (from a custom parser) as \\udXXX


def _sealed(parser: str, text: str, payload: str) -> str:
    """A row's ``sentences`` value: the JSON behind its SHA-256 (with the parser and the text)."""
    return f"{_sha(parser, text, payload)} {payload}"


def _unsealed(parser: str, text: str, value: Any) -> Optional[str]:
    """The JSON of a row whose checksum holds, else ``None`` (a flipped byte anywhere: a miss)."""
    if not isinstance(value, str) or len(value) < 66 or value[64] != " ":
        return None
    payload = value[65:]
    return payload if _sha(parser, text, payload) == value[:64] else None


def _strings(value: Any, n: Optional[int], name: str) -> list:
    if not isinstance(value, list) or (n is not None and value and len(value) != n):
        raise ValueError(f"{name} is not a list of {n} entries")
    if not all(v is None or isinstance(v, str) for v in value):
        raise ValueError(f"{name} holds something other than strings")
    return value


def decode_sentences(text: str) -> List[ParsedSentence]:
    """The inverse of :func:`encode_sentences`; ``ValueError`` on anything malformed."""
    try:
        records = json.loads(text)
        if not isinstance(records, list):
            raise ValueError(f"the entry is a {type(records).__name__}, not a list of sentences")
        out = []
        for r in records:
            if not isinstance(r, dict):
                raise ValueError("a sentence is not an object")
            words = _strings(r["words"], None, "words")
            if not words or any(w is None for w in words):
                raise ValueError("a sentence has no words")
            n = len(words)
            word_to_token = r["word_to_token"]
            if not isinstance(word_to_token, list) or not all(type(t) is int for t in word_to_token):
                raise ValueError("word_to_token is not a list of integers")
            index = r["index"]
            if type(index) is not int:
                raise ValueError("index is not an integer")
            if r["text"] is not None and not isinstance(r["text"], str):
                raise ValueError("text is not a string")
            out.append(ParsedSentence(
                words=words, text=r["text"], upos=_strings(r["upos"], n, "upos"),
                xpos=_strings(r["xpos"], n, "xpos"), lemmas=_strings(r["lemmas"], n, "lemmas"),
                feats=_strings(r["feats"], n, "feats"), tokens=_strings(r["tokens"], None, "tokens"),
                word_to_token=word_to_token, index=index,
                dependency=_tree_from(r["dependency"], n, "dependency"),
                constituency=_tree_from(r["constituency"], n, "constituency")))
        return out
    except (KeyError, TypeError, AttributeError, RecursionError) as err:
        raise ValueError(f"malformed cache entry: {type(err).__name__}: {err}") from None


# ------------------------------------------------------------------ the cache
class ParseCache:
    """Parses kept in one SQLite file, safe for many threads and processes.

    Args:
        path: the database file, or a folder (``parses.sqlite`` inside it).
            Default: ``default_cache_dir() / "parses.sqlite"``.

    Example:
        >>> cache = ParseCache(tmp_path)                           # doctest: +SKIP
        >>> cache.put(parser.cache_key(), [("Dogs bark.", sentences)])  # doctest: +SKIP
        >>> cache.get(parser.cache_key(), ["Dogs bark."])        # doctest: +SKIP
    """

    def __init__(self, path: Union[str, "os.PathLike[str]", None] = None) -> None:
        path = Path(path).expanduser() if path is not None else default_cache_dir()
        if path.suffix not in (".sqlite", ".db"):
            path = path / "parses.sqlite"
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._broken: Optional[str] = None  # why the cache is off, once it is
        self._readonly = False  # writes failed: read what is there, write nothing
        self._warned = False

    def __repr__(self) -> str:
        return f"ParseCache({str(self.path)!r})"

    # -- connections
    def _connect(self) -> Optional[sqlite3.Connection]:
        """This thread's connection (a new one after a fork), or ``None`` when the cache is off."""
        if self._broken is not None:
            return None
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            if self._local.pid == os.getpid() and self._local.inode == _inode(self.path):
                return conn
            if self._local.pid == os.getpid():  # the file was deleted or replaced (cleared elsewhere)
                conn.close()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # WAL files left behind by a deleted database would fail the open
                for stale in (Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                    if stale.is_file():
                        stale.unlink()
            conn = sqlite3.connect(self.path, timeout=60.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as err:
            conn = self._connect_read_only()
            if conn is None:
                self._off(f"it cannot be opened ({err})")
                return None
            self._off(f"it cannot be written ({err}); the parses already in it are still read", writes_only=True)
        self._local.conn = conn
        self._local.pid = os.getpid()
        self._local.inode = _inode(self.path)
        return conn

    def _connect_read_only(self) -> Optional[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=60.0)
            conn.execute("SELECT count(*) FROM parses").fetchone()
            return conn
        except (sqlite3.Error, OSError, ValueError):
            return None

    def _off(self, why: str, writes_only: bool = False) -> None:
        """Turn the cache (or only its writes) off, with one warning per cache."""
        with self._lock:
            if writes_only:
                self._readonly = True
            else:
                self._broken = why
            if not self._warned:
                self._warned = True
                warnings.warn(f"parse cache {self.path} is off: {why}. Parsing continues without caching; "
                              f"`treenets cache clear` or TREENETS_CACHE_DIR=<a writable folder> fixes it",
                              RuntimeWarning, stacklevel=4)

    # -- reading and writing
    def get(self, parser_key: str, texts: Sequence[str]) -> List[Optional[List[ParsedSentence]]]:
        """The cached sentences of each text, or ``None`` where there is no good entry."""
        out: List[Optional[List[ParsedSentence]]] = [None] * len(texts)
        conn = self._connect()
        if conn is None or not texts:
            return out
        parser = _sha(parser_key)
        stored = [json.dumps(t) for t in texts]  # ASCII, as put() stores it
        keys = [_sha(str(_FORMAT), parser_key, t) for t in stored]
        rows: Dict[str, Tuple[str, str, str]] = {}
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for key, p, text, sentences in conn.execute(
                        f"SELECT key, parser, text, sentences FROM parses WHERE key IN ({marks})", chunk):
                    rows[key] = (p, text, sentences)
        except sqlite3.Error as err:
            self._off(f"it cannot be read ({err})")
            return out
        for i, (key, text, kept) in enumerate(zip(keys, texts, stored)):
            row = rows.get(key)
            if row is None or row[0] != parser or row[1] != kept:
                continue
            payload = _unsealed(parser, kept, row[2])
            if payload is None:
                continue  # a changed byte: parsed again and rewritten
            try:
                sentences = decode_sentences(payload)
            except ValueError:
                continue  # a damaged entry is parsed again and rewritten
            if text.strip() and not sentences:
                continue
            out[i] = sentences
        return out

    def put(self, parser_key: str, items: Iterable[Tuple[str, Sequence[ParsedSentence]]]) -> None:
        """Store ``(text, sentences)`` pairs; never raises for a cache that cannot be written."""
        conn = self._connect()
        if conn is None or self._readonly:
            return
        parser = _sha(parser_key)
        rows = []
        for text, sentences in items:
            kept = json.dumps(text)
            rows.append((_sha(str(_FORMAT), parser_key, kept), parser, kept,
                         _sealed(parser, kept, encode_sentences(sentences))))
        if not rows:
            return
        try:
            with conn:
                conn.execute("INSERT OR IGNORE INTO parsers (hash, key) VALUES (?, ?)", (parser, parser_key))
                conn.executemany("INSERT OR REPLACE INTO parses (key, parser, text, sentences) VALUES (?, ?, ?, ?)",
                                 rows)
        except sqlite3.Error as err:
            self._off(f"it cannot be written ({err})", writes_only=True)

    # -- maintenance
    def info(self) -> Dict[str, object]:
        """``{"path", "entries", "bytes"}`` (bytes of the database and its WAL files on disk)."""
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
                   if p.exists())
        entries = 0
        if self.path.exists():
            conn = self._connect()
            if conn is not None:
                try:
                    entries = conn.execute("SELECT count(*) FROM parses").fetchone()[0]
                except sqlite3.Error:
                    pass
        return {"path": str(self.path), "entries": entries, "bytes": size}

    def clear(self) -> None:
        """Delete the cache file (and its WAL files); the next parse starts a new one."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        self._broken = None
        self._readonly = False
