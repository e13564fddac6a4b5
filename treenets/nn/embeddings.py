"""Pretrained word vectors (GloVe, word2vec text) and embedding matrices for a :class:`~treenets.Vocab`.

The files (GloVe and word2vec text, plain, gzipped or in a zip) are read by
:mod:`treenets.formats.vectors`. Reading the vectors of one vocabulary from a
large file (GloVe 840B is 5.6 GB of text) takes minutes, so
:func:`read_vectors_cached` keeps the subset it read in the cache folder
(``$TREENETS_CACHE_DIR/vectors/``), keyed by the source file (path, size,
modification time, zip member) and the set of words asked for; the next read
of the same words from the same file loads that subset.

:func:`build_embedding_matrix` follows Tai et al. (2015): a word with a
pretrained vector gets it; every other row (unknown words and the unknown-word
token itself) is drawn from ``U(-0.05, 0.05)``. It also reports the coverage.

Example:
    >>> from treenets import Vocab
    >>> vocab = Vocab(["the", "movie"])                                # doctest: +SKIP
    >>> weights, cov = build_embedding_matrix(vocab, "glove.6B.50d.txt", seed=0)  # doctest: +SKIP
    >>> layer = embedding_from_matrix(weights, freeze=True)           # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping as _MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..utils.atomic import atomic_write
from ..formats.vectors import Vectors, first_non_finite_row, read_vectors
from ..utils.paths import default_cache_dir

__all__ = [
    "Vectors", "EmbeddingCoverage", "read_vectors", "read_vectors_cached", "build_embedding_matrix",
    "embedding_from_matrix", "load_embedding",
]

PathLike = Union[str, "os.PathLike[str]"]
Candidates = Callable[[str], Iterable[str]]


@dataclass
class EmbeddingCoverage:
    """How much of a vocabulary the pretrained vectors cover.

    Attributes:
        num_types: vocabulary entries looked up (specials such as ``<unk>``
            are not counted).
        found_types: entries that got a pretrained vector.
        found_exact: entries found under their own spelling.
        found_fallback: entries found through another form (a ``candidates``
            form or the lowercased word).
        num_tokens: total count of the tokens in ``counts``, or ``None``
            without counts.
        found_tokens: count of those tokens whose word got a pretrained vector
            (tokens outside the vocabulary are not found), or ``None``.
        missing: entries without a vector, in vocabulary order.
        fallback: ``{entry: form found}`` for the ``found_fallback`` entries.
    """

    num_types: int
    found_types: int
    found_exact: int
    found_fallback: int
    num_tokens: Optional[int] = None
    found_tokens: Optional[int] = None
    missing: List[str] = field(default_factory=list)
    fallback: Dict[str, str] = field(default_factory=dict)

    @property
    def type_coverage(self) -> float:
        """Fraction of word types with a pretrained vector (1.0 for no types)."""
        return self.found_types / self.num_types if self.num_types else 1.0

    @property
    def token_coverage(self) -> Optional[float]:
        """Fraction of counted tokens with a pretrained vector, ``None`` without counts."""
        if self.num_tokens is None or self.found_tokens is None:
            return None
        return self.found_tokens / self.num_tokens if self.num_tokens else 1.0

    def __str__(self) -> str:
        text = (f"pretrained vectors for {self.found_types:,} of {self.num_types:,} word types "
                f"({100 * self.type_coverage:.1f}%; {self.found_fallback:,} through another form)")
        if self.token_coverage is not None:
            text += f", {self.found_tokens:,} of {self.num_tokens:,} tokens ({100 * self.token_coverage:.1f}%)"
        return text


# ----------------------------------------------------------------- building
def _forms(word: str, candidates: Optional[Candidates], lower_fallback: bool) -> List[str]:
    forms = [word]
    if candidates is not None:
        for form in candidates(word):
            if form not in forms:
                forms.append(form)
    if lower_fallback:
        for form in list(forms):
            low = form.lower()
            if low not in forms:
                forms.append(low)
    return forms


def build_embedding_matrix(
    vocab: Union[Sequence[str], "Mapping[str, int]"],
    source: Union[PathLike, Vectors],
    counts: Optional[Mapping[str, int]] = None,
    candidates: Optional[Candidates] = None,
    lower_fallback: bool = True,
    init_range: float = 0.05,
    generator: Optional[torch.Generator] = None,
    seed: Optional[int] = None,
    specials: Optional[Iterable[str]] = None,
    fmt: str = "auto",
    dim: Optional[int] = None,
    member: Optional[str] = None,
    cache: Union[bool, PathLike] = False,
) -> Tuple[torch.Tensor, EmbeddingCoverage]:
    """An embedding matrix for ``vocab`` from pretrained vectors, with a coverage report.

    Row ``i`` belongs to vocabulary entry ``i``. Every row is first drawn from
    ``U(-init_range, init_range)`` (as Tai et al.'s code did for words without
    a vector), then rows whose word has a pretrained vector are overwritten.
    The random rows depend only on the generator and the matrix shape, so a
    seed gives the same matrix on every run.

    A word is looked up under, in order: its own spelling, each form from
    ``candidates(word)`` (e.g. :func:`treenets.formats.ptb.glove_forms`, which maps
    ``-LRB-`` to ``(``), and, with ``lower_fallback``, the lowercase of each of
    those. The first form present wins.

    Args:
        vocab: a :class:`~treenets.Vocab` (rows in id order), or a sequence of
            words (row ``i`` is ``vocab[i]``).
        source: a vector file (read with :func:`read_vectors`, keeping only
            the forms needed) or a :class:`Vectors` already read.
        counts: token counts (for example a ``collections.Counter`` over the
            training sentences) for the token coverage; keys are looked up
            through the vocabulary, so a lowercasing Vocab folds them.
        candidates: extra forms to try for a word.
        lower_fallback: also try lowercased forms.
        init_range: half-width of the uniform initialisation of rows without a
            vector.
        generator: the random generator for those rows.
        seed: a seed for a fresh generator (instead of ``generator``); with
            neither, torch's global generator is used.
        specials: entries not looked up and not counted in the coverage; they
            keep random rows. Defaults to the Vocab's unknown-word token.
        fmt, dim, member: passed to :func:`read_vectors` when ``source`` is a
            path (``member``: the file inside a zip).
        cache: read through :func:`read_vectors_cached`: ``True`` for the
            default cache folder, or a folder; ``False`` reads the file itself.

    Returns:
        ``(weights, coverage)``: a ``FloatTensor [len(vocab), dim]`` and an
        :class:`EmbeddingCoverage`.

    Raises:
        ValueError: if both ``generator`` and ``seed`` are given, ``init_range``
            is negative, the vocabulary is empty, or the file is malformed.
    """
    if generator is not None and seed is not None:
        raise ValueError("pass generator or seed, not both")
    if init_range < 0:
        raise ValueError(f"init_range must be >= 0, not {init_range}")
    itos = _itos(vocab)
    if specials is None:
        unk = getattr(vocab, "unk", None)
        specials = [] if unk is None else [unk]
    special_set = set(specials)
    lookups = {w: _forms(w, candidates, lower_fallback) for w in itos if w not in special_set}

    if isinstance(source, Vectors):
        vectors = source
    else:
        wanted = {form for forms in lookups.values() for form in forms}
        if cache is False or cache is None:
            vectors = read_vectors(source, fmt=fmt, dim=dim, words=wanted, member=member)
        else:
            vectors = read_vectors_cached(source, wanted, fmt=fmt, dim=dim, member=member,
                                          cache_dir=None if cache is True else cache)
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    weights = torch.empty(len(itos), vectors.dim, dtype=torch.float32)
    weights.uniform_(-init_range, init_range, generator=generator)

    found = [False] * len(itos)
    exact = via_fallback = 0
    missing: List[str] = []
    fallback: Dict[str, str] = {}
    for i, word in enumerate(itos):
        forms = lookups.get(word)
        if forms is None:
            continue
        for form in forms:
            row = vectors.index.get(form)
            if row is not None:
                weights[i] = vectors.vectors[row]
                found[i] = True
                if form == word:
                    exact += 1
                else:
                    via_fallback += 1
                    fallback[word] = form
                break
        else:
            missing.append(word)

    num_tokens = found_tokens = None
    if counts is not None:
        index = _index_fn(vocab, itos)
        num_tokens = found_tokens = 0
        for token, count in counts.items():
            num_tokens += int(count)
            i = index(token)
            if i is not None and found[i]:
                found_tokens += int(count)
    coverage = EmbeddingCoverage(
        num_types=len(lookups), found_types=exact + via_fallback, found_exact=exact,
        found_fallback=via_fallback, num_tokens=num_tokens, found_tokens=found_tokens,
        missing=missing, fallback=fallback,
    )
    return weights, coverage


_CACHE_VERSION = 1
_warned_cache = False


def read_vectors_cached(path: PathLike, words: Collection[str], *, fmt: str = "auto", dim: Optional[int] = None,
                        member: Optional[str] = None, cache_dir: Optional[PathLike] = None) -> Vectors:
    """:func:`read_vectors` of ``words`` only, kept in a cache for the next read.

    The cache entry is keyed by the source (its resolved path, size and
    modification time, and the zip member), the reading options and the set of
    ``words``: a changed file or another vocabulary is read again. Entries are
    plain data read with ``torch.load(weights_only=True)``, written atomically,
    and checked against their key when read. A cache that cannot be written
    gives one warning and the vectors are returned all the same.

    Args:
        path, fmt, dim, member: as for :func:`read_vectors`.
        words: the words to keep.
        cache_dir: the folder (default ``$TREENETS_CACHE_DIR/vectors``).

    Returns:
        The :class:`Vectors` of the ``words`` found in the file.
    """
    global _warned_cache
    path = Path(path)
    stat = path.stat()  # FileNotFoundError names the file
    words_digest = hashlib.sha256("\n".join(sorted(words)).encode("utf-8", "surrogatepass")).hexdigest()
    key = {"version": _CACHE_VERSION, "source": str(path.resolve()), "size": stat.st_size,
           "mtime_ns": stat.st_mtime_ns, "member": member, "fmt": fmt, "dim": dim, "words": words_digest}
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "vectors"
    entry = folder / f"{path.name}.{name}.pt"
    if entry.is_file():
        try:
            payload = torch.load(entry, weights_only=True)
            if payload.get("key") == key:
                return Vectors(payload["words"], payload["vectors"], source=payload["source"],
                               duplicates=payload["duplicates"])
        except Exception:  # a damaged entry is read again from the source and replaced
            pass
    vectors = read_vectors(path, fmt=fmt, dim=dim, words=words, member=member)
    try:
        with atomic_write(entry) as f:
            torch.save({"key": key, "words": vectors.words, "vectors": vectors.vectors, "source": vectors.source,
                        "duplicates": vectors.duplicates}, f)
    except OSError as err:
        if not _warned_cache:
            _warned_cache = True
            warnings.warn(f"cannot write the word-vector cache {entry} ({err}); the vectors are read from "
                          f"{path} every time", RuntimeWarning, stacklevel=2)
    return vectors


def _itos(vocab) -> List[str]:
    """Row order of a Vocab, a word sequence, or a word -> id mapping."""
    if hasattr(vocab, "itos"):
        itos = list(vocab.itos)
    elif isinstance(vocab, _MappingABC):
        itos = [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        ids = sorted(int(i) for i in vocab.values())
        if ids != list(range(len(ids))):
            raise ValueError("a word -> id mapping must use the ids 0..n-1, each once")
    elif isinstance(vocab, str):
        raise ValueError("vocab must be a Vocab, a sequence of words or a mapping, not a string")
    else:
        itos = list(vocab)
    if not itos:
        raise ValueError("the vocabulary is empty")
    return itos


def _index_fn(vocab, itos: List[str]) -> Callable[[str], Optional[int]]:
    """token -> row, ``None`` for a token outside the vocabulary (never the unk row)."""
    stoi = getattr(vocab, "stoi", None)
    key = getattr(vocab, "_key", None)
    if isinstance(stoi, dict):
        return lambda tok: stoi.get(key(tok) if key is not None else tok)
    if isinstance(vocab, _MappingABC):
        return lambda tok: vocab.get(tok)
    table = {w: i for i, w in reversed(list(enumerate(itos)))}
    return table.get


def embedding_from_matrix(weights: torch.Tensor, freeze: bool = False,
                          padding_idx: Optional[int] = None) -> nn.Embedding:
    """An ``nn.Embedding`` holding ``weights``.

    Args:
        weights: ``[num_words, dim]``, e.g. from :func:`build_embedding_matrix`.
        freeze: keep the vectors fixed during training (Tai et al. froze them
            for SICK and trained them for SST). Note the default ``False``
            differs from ``nn.Embedding.from_pretrained``.
        padding_idx: an optional padding row (its gradient is zero).

    Returns:
        The layer; its weight is a copy of ``weights``.

    Raises:
        ValueError: if ``weights`` is not a 2-D floating-point tensor, or holds NaN or inf.
    """
    if not isinstance(weights, torch.Tensor) or weights.dim() != 2 or not weights.is_floating_point():
        raise ValueError("weights must be a 2-D floating-point tensor [num_words, dim]")
    row = first_non_finite_row(weights)
    if row is not None:
        raise ValueError(f"row {row} of the weights holds NaN or inf; it would make every state that sees it NaN")
    return nn.Embedding.from_pretrained(weights.clone(), freeze=freeze, padding_idx=padding_idx)


def load_embedding(
    vocab: Union[Sequence[str], "Mapping[str, int]"],
    source: Union[PathLike, Vectors],
    freeze: bool = False,
    padding_idx: Optional[int] = None,
    **kwargs,
) -> Tuple[nn.Embedding, EmbeddingCoverage]:
    """:func:`build_embedding_matrix` then :func:`embedding_from_matrix`.

    Args:
        vocab: the vocabulary.
        source: a vector file or :class:`Vectors`.
        freeze: keep the vectors fixed during training.
        padding_idx: an optional padding row.
        **kwargs: passed to :func:`build_embedding_matrix` (``seed``,
            ``counts``, ``candidates``, ...).

    Returns:
        ``(layer, coverage)``.
    """
    weights, coverage = build_embedding_matrix(vocab, source, **kwargs)
    return embedding_from_matrix(weights, freeze=freeze, padding_idx=padding_idx), coverage
