"""Word vector files: GloVe and word2vec text, plain, gzipped (``.gz``) or inside a zip (``.zip``).

* GloVe: ``word v1 v2 ... vD`` per line, no header.
* word2vec text: a header line ``count dim``, then the GloVe layout.

Fields are separated by single spaces, and the *last* ``dim`` fields of a line
are the vector: everything before them is the token. This reads the lines of
GloVe 840B whose token contains spaces (``". . ."``) and tokens holding other
whitespace such as a no-break space. The dimension comes from the word2vec
header, from ``dim=``, or from the first line of a GloVe file. Every value must
be a finite number in ASCII (``1_0`` or ``٣`` are not); errors name
``file:line`` and the token.
"""
from __future__ import annotations

import contextlib
import gzip
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, Collection, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

__all__ = ["Vectors", "read_vectors", "zip_members", "zip_member"]

PathLike = Union[str, "os.PathLike[str]"]


class Vectors:
    """Word vectors read from a file: ``vectors[i]`` is the vector of ``words[i]``.

    Attributes:
        words: the words, in file order (first occurrence of a repeated word).
        vectors: ``FloatTensor [len(words), dim]``.
        index: word -> row.
        dim: vector size.
        source: the file it was read from, or ``None``.
        duplicates: number of lines skipped because their word came earlier.
    """

    def __init__(self, words: Sequence[str], vectors: torch.Tensor, source: Optional[str] = None,
                 duplicates: int = 0) -> None:
        if vectors.dim() != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"{len(words)} words need a [{len(words)}, dim] tensor, not {list(vectors.shape)}")
        row = first_non_finite_row(vectors)
        if row is not None:
            raise ValueError(f"the vector of {list(words)[row]!r} (row {row}) holds NaN or inf")
        self.words: List[str] = list(words)
        self.vectors = vectors
        self.index: Dict[str, int] = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("Vectors words must be distinct")
        self.dim = int(vectors.shape[1])
        self.source = source
        self.duplicates = duplicates

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> torch.Tensor:
        return self.vectors[self.index[word]]

    def get(self, word: str) -> Optional[torch.Tensor]:
        """The vector of ``word``, or ``None``."""
        i = self.index.get(word)
        return None if i is None else self.vectors[i]

    def __repr__(self) -> str:
        return f"Vectors({len(self)} words, dim={self.dim}, source={self.source!r})"


def first_non_finite_row(matrix: torch.Tensor) -> Optional[int]:
    """The first row of a float matrix holding NaN or inf, or ``None``."""
    if not matrix.is_floating_point():
        return None
    bad = ~torch.isfinite(matrix)
    if not bool(bad.any()):
        return None
    return int(torch.nonzero(bad.reshape(matrix.shape[0], -1).any(dim=1))[0])


# ------------------------------------------------------------------ reading
def zip_members(path: PathLike) -> List[str]:
    """The files in a zip (folders left out), in archive order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a zip archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return [info.filename for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile as err:
        raise ValueError(f"{path}: not a zip archive ({err})") from None


def zip_member(path: PathLike, member: Optional[str] = None) -> str:
    """The member of the zip ``path`` that holds the vectors: ``member`` (a name, or a base name), or
    the only file in it.

    Raises:
        ValueError: no such member, several files and none named, or not a zip.
    """
    members = zip_members(path)
    if member is not None:
        if member in members:
            return member
        by_base = [m for m in members if m.rsplit("/", 1)[-1] == member]
        if len(by_base) == 1:
            return by_base[0]
        raise ValueError(f"{path} has no member {member!r}; it holds {', '.join(members) or 'nothing'}")
    if len(members) == 1:
        return members[0]
    raise ValueError(f"{path} holds {len(members)} files ({', '.join(members)}): name one as {path}:MEMBER")


@contextlib.contextmanager
def _open_binary(path: Path, member: Optional[str] = None) -> Iterator[Tuple[IO[bytes], str]]:
    """The file's bytes (a zip member's, or ungzipped) and the name errors use; damaged
    compressed data raises ValueError naming the file."""
    if path.suffix == ".zip" or member is not None:
        name = zip_member(path, member)
        where = f"{path}:{name}"
        opener = lambda: _zip_open(path, name)  # noqa: E731
    elif path.suffix == ".gz":
        where, opener = str(path), lambda: gzip.open(path, "rb")  # noqa: E731
    else:
        where, opener = str(path), lambda: open(path, "rb")  # noqa: E731
    try:
        with opener() as f:
            yield f, where
    except (zlib.error, zipfile.BadZipFile, EOFError, gzip.BadGzipFile) as err:
        raise ValueError(f"{where}: damaged compressed data ({type(err).__name__}: {err})") from None


@contextlib.contextmanager
def _zip_open(path: Path, member: str) -> Iterator[IO[bytes]]:
    with zipfile.ZipFile(path) as archive, archive.open(member) as f:
        yield f


def _is_header(fields: List[str]) -> bool:
    return len(fields) == 2 and all(f.isascii() and f.isdigit() for f in fields)


def read_vectors(
    path: PathLike,
    fmt: str = "auto",
    dim: Optional[int] = None,
    words: Optional[Collection[str]] = None,
    encoding: str = "utf-8",
    member: Optional[str] = None,
    limit: Optional[int] = None,
) -> Vectors:
    """Read a GloVe or word2vec text file.

    Args:
        path: the file; a name ending in ``.gz`` is read through gzip, one
            ending in ``.zip`` is an archive holding the file (``member``).
        fmt: ``"glove"`` (no header), ``"word2vec"`` (header ``count dim``) or
            ``"auto"``: word2vec when the first line is two integers.
        dim: the vector size. Needed only for a GloVe file whose first token
            contains a space; checked against the header or first line otherwise.
        words: keep only these words (saves memory for large files); ``None``
            keeps all. Every line's field count is checked either way, but only
            kept lines have their numbers parsed.
        encoding: the text encoding.
        member: the file inside a zip (its name, or its base name); ``None``
            for a zip that holds one file.
        limit: stop after this many vectors are kept (the first lines: GloVe
            and word2vec files list the most frequent words first); ``None``
            reads the whole file.

    Returns:
        The :class:`Vectors`, ``float32``. A word seen twice keeps its first vector.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: on damaged compressed data, a zip without that member
            (or with several files and none named), a line with too few
            fields, a value that is not a finite number (NaN and inf are
            refused), bytes that are not ``encoding``, a bad header, or a
            word2vec file whose line count differs from its header; the message
            names ``file:line`` (``zip:member:line``) and the token.
    """
    if fmt not in ("auto", "glove", "word2vec"):
        raise ValueError(f"unknown vector format {fmt!r}; expected 'auto', 'glove' or 'word2vec'")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be an integer >= 0, not {limit!r}")
    path = Path(path)
    with _open_binary(path, member) as (f, where):
        return _read(f, where, fmt, dim, words, encoding, limit)


def _read(f: IO[bytes], path: str, fmt: str, dim: Optional[int], words: Optional[Collection[str]],
          encoding: str, limit: Optional[int] = None) -> Vectors:
    keep = None if words is None else set(words)
    kept_words: List[str] = []
    rows: List[np.ndarray] = []
    seen: set = set()
    duplicates = 0
    expected_count: Optional[int] = None
    n_vectors = 0
    guessed_at = 0
    first = True
    for lineno, raw in enumerate(f, 1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as err:
            hint = " (binary word2vec files are not supported; convert to text)" if lineno == 1 else ""
            raise ValueError(f"{path}:{lineno}: bytes that are not {encoding}: {err.reason} at byte "
                             f"{err.start}{hint}") from None
        if lineno == 1:
            line = line.lstrip("\ufeff")  # a byte-order mark, not part of the first word
        line = line.rstrip(" \t\r\n")
        if not line:
            continue
        if first:
            first = False
            fields = line.split(" ")
            header = _is_header(fields)
            if fmt == "word2vec" and not header:
                raise ValueError(f"{path}:{lineno}: expected a word2vec header 'count dim', got {line[:60]!r}")
            if header and fmt != "glove":
                if max(len(fields[0]), len(fields[1])) > 18:  # Python refuses over 4,300 digits, unlocated
                    raise ValueError(f"{path}:{lineno}: a word2vec header 'count dim' of numbers with "
                                     f"{len(fields[0]):,} and {len(fields[1]):,} digits")
                expected_count, header_dim = int(fields[0]), int(fields[1])
                if header_dim < 1:
                    raise ValueError(f"{path}:{lineno}: header dimension {header_dim} must be positive")
                if dim is not None and dim != header_dim:
                    raise ValueError(f"{path}:{lineno}: the header says dim {header_dim}, but dim={dim} was given")
                dim = header_dim
                continue
            if dim is None:
                dim = len(fields) - 1
                guessed_at = lineno
                if dim < 1:
                    raise ValueError(f"{path}:{lineno}: token {fields[0]!r} has no vector")
        if limit is not None and len(kept_words) >= limit:
            break
        parts = line.rsplit(" ", dim)
        if len(parts) != dim + 1:
            raise ValueError(f"{path}:{lineno}: token {parts[0][:40]!r} has {len(parts) - 1} values, expected "
                             f"{dim} (pass dim= if the first line's token contains a space)")
        if not parts[0]:
            raise ValueError(f"{path}:{lineno}: empty token before the {dim} values")
        n_vectors += 1
        token = parts[0]
        if keep is not None and token not in keep:
            continue
        if token in seen:
            duplicates += 1
            continue
        values = line[len(token) + 1:]
        try:
            if not (values.isascii() and values.isprintable()) or "_" in values:
                raise ValueError  # numpy would read "1_0", "٣" and "\t2" as numbers
            row = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            bad = next(v for v in parts[1:] if not _is_float(v))
            hint = (" (the dimension was guessed from this line; pass dim= if its token contains a space)"
                    if lineno == guessed_at else "")
            raise ValueError(f"{path}:{lineno}: value {bad!r} of token {token!r} is not a number{hint}") from None
        if not np.isfinite(row).all():
            bad = parts[1 + int(np.flatnonzero(~np.isfinite(row))[0])]
            if math.isfinite(float(bad)):  # "1e39": a finite number that float32 cannot hold
                raise ValueError(f"{path}:{lineno}: value {bad!r} of token {token!r} is too large for float32 "
                                 f"(at most {float(np.finfo(np.float32).max):.4g} in magnitude)")
            raise ValueError(f"{path}:{lineno}: value {bad!r} of token {token!r} is not finite (NaN or inf); "
                             f"a non-finite vector would turn every state that sees it into NaN")
        seen.add(token)
        kept_words.append(token)
        rows.append(row)
    else:
        limit = None  # read to the end: the header's count can be checked
    if dim is None:
        raise ValueError(f"{path}:1: empty file: no vectors")
    if limit is None and expected_count is not None and n_vectors != expected_count:
        raise ValueError(f"{path}: the word2vec header says {expected_count} vectors, but the file has {n_vectors}")
    matrix = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    return Vectors(kept_words, torch.from_numpy(matrix), source=str(path), duplicates=duplicates)


def _is_float(text: str) -> bool:
    if not (text.isascii() and text.isprintable()) or "_" in text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True
