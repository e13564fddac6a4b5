"""A token vocabulary: a mapping from token to id with an unknown-word id."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

from ..formats.ptb import ptb_unescape

__all__ = ["Vocab", "NORMALIZERS"]




#: Token normalizations a :class:`Vocab` can apply before lookup, by name (the
#: name is what a saved model records). ``"ptb"`` undoes PTB escapes
#: (:func:`treenets.formats.ptb.ptb_unescape`: ``-LRB-`` -> ``(``, ````` and
#: ``''`` -> ``"``), so trees from PTB/SST files and raw-text parsers such as
#: stanza (which give ``(`` and ``"``) meet the same entries.
NORMALIZERS: Dict[str, Callable[[str], str]] = {"ptb": ptb_unescape}


class Vocab(Mapping[str, int]):
    """Token-to-id mapping. Unknown tokens map to ``unk_index``.

    Args:
        tokens: the tokens, in id order. Duplicates are dropped.
        unk: the unknown-word token, placed at id 0 (``None`` for no unknown
            word: then looking up an unseen token raises ``KeyError``).
        lower: lowercase every token on the way in, for uncased vectors.
        normalize: ``None`` or the name of a token normalization in
            :data:`NORMALIZERS` (``"ptb"``), applied on the way in before
            lowercasing.

    Example:
        >>> v = Vocab(["the", "movie"])
        >>> v["movie"], v["zebra"]
        (2, 0)
    """

    def __init__(self, tokens: Iterable[str] = (), unk: Optional[str] = "<unk>", lower: bool = False,
                 normalize: Optional[str] = None) -> None:
        if normalize is not None and normalize not in NORMALIZERS:
            raise ValueError(f"unknown token normalization {normalize!r}; choose None or one of {sorted(NORMALIZERS)}")
        self.lower = lower
        self.normalize = normalize
        self._normalize = None if normalize is None else NORMALIZERS[normalize]
        self.unk = unk
        self.itos: List[str] = []
        self.stoi: Dict[str, int] = {}
        if unk is not None:
            self.add(unk)
        for tok in tokens:
            self.add(tok)

    @classmethod
    def build(cls, sentences: Iterable[Iterable[str]], min_freq: int = 1, **kwargs) -> "Vocab":
        """Count tokens over ``sentences`` and keep those seen ``min_freq`` times."""
        key = cls((), unk=None, lower=kwargs.get("lower", False), normalize=kwargs.get("normalize"))._key
        counts: Counter = Counter()
        for sent in sentences:
            counts.update(key(t) for t in sent)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        return cls(kept, **kwargs)

    def _key(self, token: str) -> str:
        if self._normalize is not None:
            token = self._normalize(token)
        return token.lower() if self.lower else token

    def add(self, token: str) -> int:
        token = self._key(token)
        if token not in self.stoi:
            self.stoi[token] = len(self.itos)
            self.itos.append(token)
        return self.stoi[token]

    @property
    def unk_index(self) -> Optional[int]:
        return None if self.unk is None else self.stoi[self._key(self.unk)]

    def __getitem__(self, token: str) -> int:
        idx = self.stoi.get(self._key(token))
        if idx is None:
            if self.unk is None:
                raise KeyError(token)
            return self.unk_index  # type: ignore[return-value]
        return idx

    def lookup(self, tokens: Iterable[str]) -> List[int]:
        """The ids of ``tokens``: ``[vocab[t] for t in tokens]``.

        Raises:
            KeyError: a token that is not in the vocabulary, when there is no unknown word.
        """
        return [self[t] for t in tokens]

    def word_ids(self, tokens: Sequence[Optional[str]]) -> List[int]:
        """The ids of a tree's tokens in one call, ``-1`` where a node has no token (``None``).

        What :meth:`treenets.TreeBatch.from_trees` uses: the same ids as ``vocab[t]``.

        Raises:
            KeyError: a token that is not in the vocabulary, when there is no unknown word.
        """
        get, unk = self.stoi.get, self.unk_index
        if self._normalize is None and not self.lower:
            ids = [-1 if t is None else get(t, unk) for t in tokens]
        else:
            key = self._key
            ids = [-1 if t is None else get(key(t), unk) for t in tokens]
        if unk is None and None in ids:
            raise KeyError(tokens[ids.index(None)])
        return ids

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self._key(token) in self.stoi

    def __iter__(self) -> Iterator[str]:
        return iter(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    def save(self, path) -> None:
        """Write one token per line, id = line number (:func:`treenets.formats.write_vocab`)."""
        from ..formats.vocab import write_vocab

        write_vocab(self.itos, path)

    @classmethod
    def from_itos(cls, itos, unk: Optional[str] = "<unk>", lower: bool = False,
                  normalize: Optional[str] = None) -> "Vocab":
        """A vocabulary with exactly these tokens at these ids (the first of a repeated token wins)."""
        vocab = cls((), unk=None, lower=lower, normalize=normalize)
        vocab.itos = list(itos)
        for i, tok in enumerate(vocab.itos):
            vocab.stoi.setdefault(tok, i)
        vocab.unk = unk if unk in vocab.stoi else None
        return vocab

    @classmethod
    def load(cls, path, unk: Optional[str] = "<unk>", lower: bool = False,
             normalize: Optional[str] = None) -> "Vocab":
        """A vocabulary saved by :meth:`save` (:func:`treenets.formats.read_vocab`)."""
        from ..formats.vocab import read_vocab

        return cls.from_itos(read_vocab(path), unk=unk, lower=lower, normalize=normalize)

    def __repr__(self) -> str:
        norm = "" if self.normalize is None else f", normalize={self.normalize!r}"
        return f"Vocab(size={len(self)}, unk={self.unk!r}, lower={self.lower}{norm})"
