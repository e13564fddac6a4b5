"""A disk cache of per-token feature matrices, one SQLite file per feature extractor.

:class:`FeatureCache` stores, for one extractor (a model, its tokenizer, the
layers and pooling: the *identity*), one ``[n_tokens, dim]`` matrix per token
sequence. It is what makes frozen
:class:`~treenets.nn.contextual.ContextualEmbedding` features cost, after the
first run, what a table lookup costs.

Why SQLite (the standard library's ``sqlite3``): one file, atomic
transactions, safe readers and writers in several processes at once (two
training runs side by side), and no pickle anywhere. Each row holds the
tokens themselves (as JSON), the shape, the dtype, the raw little-endian
bytes of the matrix and a BLAKE2b digest of those bytes. A row is returned
only when all of them agree with what was asked for; anything else (a flipped
byte, a torn write, a row for other tokens) counts as a miss, is recomputed by
the caller and overwritten, and is counted in :attr:`FeatureCache.damaged`.
A file that is not an SQLite database at all is moved aside (renamed, never
deleted) with a warning, and a fresh one is started.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

__all__ = ["FeatureCache", "tokens_key"]

Tensor = torch.Tensor

#: Bumped whenever the row layout or the meaning of a stored matrix changes.
FORMAT_VERSION = 1

_DTYPES: Dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
                                   "float64": torch.float64}
_NUMPY = {"float32": np.float32, "float16": np.float16, "float64": np.float64}
_CHUNK = 500  # keys per SELECT, well under SQLite's limit on bound variables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS features (
    key TEXT PRIMARY KEY,      -- tokens_key(tokens)
    tokens TEXT NOT NULL,      -- the tokens, as a JSON list
    n INTEGER NOT NULL,        -- rows (tokens)
    dim INTEGER NOT NULL,      -- columns
    dtype TEXT NOT NULL,       -- float32 | float16 | bfloat16 | float64
    data BLOB NOT NULL,        -- n * dim values, little-endian, row-major
    digest TEXT NOT NULL       -- blake2b-128 of data
);
"""


def tokens_key(tokens: Sequence[str]) -> str:
    """The cache key of a token sequence: SHA-256 of its JSON form (exact, case and all)."""
    return hashlib.sha256(_tokens_json(tokens).encode("utf-8")).hexdigest()


def _tokens_json(tokens: Sequence[str]) -> str:
    return json.dumps(list(tokens), ensure_ascii=False, separators=(",", ":"))


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _dtype_name(dtype: torch.dtype) -> str:
    for name, value in _DTYPES.items():
        if value == dtype:
            return name
    raise ValueError(f"cannot cache features of dtype {dtype}; use one of {', '.join(_DTYPES)}")


def _to_bytes(matrix: Tensor) -> bytes:
    matrix = matrix.detach().cpu().contiguous()
    if matrix.dtype == torch.bfloat16:  # numpy has no bfloat16: store its 16-bit pattern
        matrix = matrix.view(torch.int16)
    array = matrix.numpy()
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def _from_bytes(data: bytes, n: int, dim: int, dtype: str) -> Tensor:
    if dtype == "bfloat16":
        array = np.frombuffer(data, dtype="<i2").reshape(n, dim)
        return torch.from_numpy(array.copy()).view(torch.bfloat16)
    array = np.frombuffer(data, dtype=np.dtype(_NUMPY[dtype]).newbyteorder("<")).reshape(n, dim)
    return torch.from_numpy(array.astype(_NUMPY[dtype], copy=True))


class FeatureCache:
    """Per-sentence feature matrices of one extractor, in one SQLite file.

    Args:
        path: the database file (created with its folder when missing).
        identity: a JSON-serialisable description of the extractor. It is
            written into a new file and checked against an existing one: a
            file made by another extractor is never read (ValueError).
        dim: the feature size every stored matrix must have.
        dtype: the dtype matrices are stored in (``torch.float32`` keeps
            features exactly as computed; ``torch.float16`` halves the file).

    Attributes:
        hits, misses, damaged: counts since construction (``damaged`` rows
            were present but failed a check, and count as misses too).
    """

    def __init__(self, path, identity: Mapping, dim: int, dtype: torch.dtype = torch.float32) -> None:
        self.path = Path(path)
        self.identity = json.loads(json.dumps(identity, sort_keys=True))
        self.dim = int(dim)
        self.dtype = dtype
        self.dtype_name = _dtype_name(dtype)
        self.hits = self.misses = self.damaged = 0
        self._conn: Optional[sqlite3.Connection] = None
        self._pid: Optional[int] = None

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.path)!r}, dim={self.dim}, dtype={self.dtype_name})"

    # -------------------------------------------------------------- connection
    def _connect(self) -> sqlite3.Connection:
        # One connection per process: a forked DataLoader worker opens its own.
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = self._open()
        except sqlite3.DatabaseError as err:
            aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
            warnings.warn(f"feature cache {self.path} is unreadable ({err}); moved it to {aside.name} "
                          f"and starting a new one", RuntimeWarning, stacklevel=3)
            for suffix in ("", "-wal", "-shm"):
                side = Path(str(self.path) + suffix)
                if side.exists():
                    side.replace(Path(str(aside) + suffix))
            conn = self._open()
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=120.0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            try:
                stored = dict(conn.execute("SELECT name, value FROM meta").fetchall())
                if not stored:
                    conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                        ("format", str(FORMAT_VERSION)),
                        ("identity", json.dumps(self.identity, sort_keys=True)),
                        ("dim", str(self.dim)), ("dtype", self.dtype_name)])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if stored:
                self._check_meta(stored)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_meta(self, stored: Dict[str, str]) -> None:
        if stored.get("format") != str(FORMAT_VERSION):
            raise ValueError(f"feature cache {self.path} has format {stored.get('format')!r}, this treenets "
                             f"writes {FORMAT_VERSION}; delete the file or pass another cache folder")
        try:
            identity = json.loads(stored.get("identity", "null"))
        except json.JSONDecodeError:
            identity = None
        wanted = {"identity": self.identity, "dim": str(self.dim), "dtype": self.dtype_name}
        found = {"identity": identity, "dim": stored.get("dim"), "dtype": stored.get("dtype")}
        for name in wanted:
            if wanted[name] != found[name]:
                raise ValueError(f"feature cache {self.path} was made by another extractor ({name} "
                                 f"{found[name]!r}, expected {wanted[name]!r}); it is not read")

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def __getstate__(self):  # a connection does not travel to other processes
        state = self.__dict__.copy()
        state["_conn"] = state["_pid"] = None
        return state

    # ------------------------------------------------------------------ access
    def get_many(self, token_lists: Sequence[Sequence[str]]) -> List[Optional[Tensor]]:
        """The stored matrix of each token sequence, ``None`` where absent or damaged."""
        conn = self._connect()
        keys = [tokens_key(tokens) for tokens in token_lists]
        rows: Dict[str, tuple] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(f"SELECT key, tokens, n, dim, dtype, data, digest FROM features "
                                    f"WHERE key IN ({marks})", chunk):
                rows[row[0]] = row[1:]
        out: List[Optional[Tensor]] = []
        for tokens, key in zip(token_lists, keys):
            row = rows.get(key)
            matrix = None if row is None else self._decode(tokens, row)
            if matrix is None:
                self.misses += 1
                self.damaged += row is not None
            else:
                self.hits += 1
            out.append(matrix)
        return out

    def _decode(self, tokens: Sequence[str], row: tuple) -> Optional[Tensor]:
        stored_tokens, n, dim, dtype, data, digest = row
        if (stored_tokens != _tokens_json(tokens) or n != len(tokens) or dim != self.dim
                or dtype != self.dtype_name or not isinstance(data, bytes)
                or len(data) != n * dim * self._itemsize or _digest(data) != digest):
            return None
        return _from_bytes(data, n, dim, dtype)

    @property
    def _itemsize(self) -> int:
        return torch.empty((), dtype=self.dtype).element_size()

    def put_many(self, items: Iterable[Tuple[Sequence[str], Tensor]]) -> None:
        """Store (or replace) the matrix of each token sequence, in one transaction.

        Raises:
            ValueError: if a matrix is not ``[len(tokens), dim]`` in the cache's dtype.
        """
        rows = []
        for tokens, matrix in items:
            if tuple(matrix.shape) != (len(tokens), self.dim) or matrix.dtype != self.dtype:
                raise ValueError(f"a matrix of shape {tuple(matrix.shape)} and dtype {matrix.dtype} does not fit "
                                 f"{len(tokens)} tokens in a {self.dtype_name} cache of dim {self.dim}")
            data = _to_bytes(matrix)
            rows.append((tokens_key(tokens), _tokens_json(tokens), len(tokens), self.dim, self.dtype_name,
                         data, _digest(data)))
        if not rows:
            return
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def __len__(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM features").fetchone()[0])
