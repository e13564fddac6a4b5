"""Text in, a state per tree node out: ``treenets.parse_and_encode``.

The pipeline is text -> parser (stanza) -> :class:`Tree` -> :class:`TreeBatch`
-> encoder -> ``(h, c)`` per node. Parses are cached on disk, keyed by the text
and the parser's configuration, so encoding the same text again (with another
encoder, say) does not parse it again.

**The default encoder is not trained.** With ``encoder=None`` you get
:func:`default_encoder`: a Tree-LSTM with hashed 50-d word embeddings and
hidden size 150, initialised from seed 0, identical on every machine. Its
states are deterministic features of the tree and the words, useful for
plumbing and tests, not for meaning. Each result says so (``trained=False``)
and a warning is issued once. Pass a checkpoint path (from
``examples/train_sst.py`` or ``examples/train_sick.py``) or your own
``TreeEncoder`` + vocabulary for trained states.
"""
from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from .batch import TreeBatch
from .cells import ChildSumTreeLSTM, NaryTreeLSTM
from .encoder import TreeEncoder
from .parsers.base import ParsedSentence, Parser, check_tree_kind
from .parsers.cache import ParseCache
from .tree import Tree

Tensor = torch.Tensor

__all__ = ["parse_and_encode", "parse", "parse_sentences", "default_parser", "EncodedSentence", "HashingVocab",
           "default_encoder"]


class HashingVocab(Mapping[str, int]):
    """Maps any word to one of ``num_buckets`` ids by a stable hash (CRC32 of the lowercased word).

    It never fails on unseen words, which suits an untrained default encoder.
    """

    def __init__(self, num_buckets: int = 1 << 15) -> None:
        self.num_buckets = num_buckets

    def __getitem__(self, token: str) -> int:
        return zlib.crc32(token.lower().encode("utf-8")) % self.num_buckets

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return self.num_buckets

    def __repr__(self) -> str:
        return f"HashingVocab(num_buckets={self.num_buckets})"


def default_encoder(tree: str = "dependency", seed: int = 0) -> Tuple[TreeEncoder, HashingVocab]:
    """The documented untrained default: hashed 50-d embeddings and a 150-d Tree-LSTM.

    Child-Sum for dependency trees, binary N-ary (words at the leaves) for
    binarized constituency trees. Seeded, so every call gives the same weights.
    """
    check_tree_kind(tree)
    vocab = HashingVocab()
    gen = torch.Generator().manual_seed(seed)
    embedding = torch.nn.Embedding(len(vocab), 50)
    with torch.no_grad():
        embedding.weight.uniform_(-0.05, 0.05, generator=gen)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cell = (ChildSumTreeLSTM(50, 150) if tree == "dependency"
                else NaryTreeLSTM(50, 150, n_ary=2, leaf_input_only=True))
    return TreeEncoder(embedding, cell).eval(), vocab


@dataclass
class EncodedSentence:
    """One encoded sentence.

    Attributes:
        tree: the parsed :class:`Tree`.
        node_states: ``[n_nodes, hidden]`` the hidden state ``h`` of every node,
            in the tree's node order.
        memory: ``[n_nodes, hidden]`` the memory cells ``c``.
        root: ``[hidden]`` the root's hidden state.
        trained: ``False`` when the states come from the untrained default encoder.
    """

    tree: Tree
    node_states: Tensor
    memory: Tensor
    root: Tensor
    trained: bool = True

    def to_batch(self, vocab: Optional[Mapping[str, int]] = None) -> TreeBatch:
        """This sentence as a one-tree :class:`TreeBatch`, with ``h`` in ``node_data['h']``."""
        batch = TreeBatch.from_trees([self.tree], vocab)
        batch.node_data["h"] = self.node_states.detach().cpu()
        return batch

    def to_dgl(self, vocab: Optional[Mapping[str, int]] = None):
        """This sentence as a ``dgl.DGLGraph`` (edges child -> parent, ``ndata['h']``)."""
        return self.to_batch(vocab).to_dgl()


def batch_results(results: Sequence[EncodedSentence], vocab: Optional[Mapping[str, int]] = None) -> TreeBatch:
    """Many results as one :class:`TreeBatch` with ``node_data['h']`` (for graph models downstream)."""
    if not results:
        raise ValueError("no sentences to batch")
    batch = TreeBatch.from_trees([r.tree for r in results], vocab)
    batch.node_data["h"] = torch.cat([r.node_states.detach().cpu() for r in results])
    return batch


# ------------------------------------------------------------------ parsing
_PARSERS: Dict[Tuple, Parser] = {}


def default_parser(tree: str = "dependency", device: Optional[str] = None) -> Parser:
    """The default English :class:`~treenets.parsers.StanzaParser` for one tree kind.

    Dependency trees, or right-binarized constituency trees (for N-ary cells),
    from the stanza models in ``$STANZA_RESOURCES_DIR``. Made once per process
    and loaded on first use, so a parse cache hit never loads stanza.
    """
    check_tree_kind(tree)
    from .parsers import StanzaParser, resolve_stanza_dir

    key = (tree, device, resolve_stanza_dir(None))
    if key not in _PARSERS:
        _PARSERS[key] = StanzaParser(dependency=tree == "dependency", constituency=tree == "constituency",
                                     binarize="right" if tree == "constituency" else None, device=device, lazy=True)
    return _PARSERS[key]


_CACHES: Dict[str, ParseCache] = {}


def _cache(cache: Union[bool, Path, str, ParseCache]) -> Optional[ParseCache]:
    """One ParseCache (and so one connection per thread) per cache file in a process."""
    if cache is False or cache is None:
        return None
    if isinstance(cache, ParseCache):
        return cache
    store = ParseCache(None if cache is True else cache)
    return _CACHES.setdefault(str(store.path), store)


def parse_sentences(texts: Sequence[str], parser: Parser, cache: Union[bool, Path, str, ParseCache] = True
                    ) -> List[List[ParsedSentence]]:
    """Parse each text into sentences with ``parser``, through the parse cache.

    Args:
        texts: the texts.
        parser: any :class:`~treenets.parsers.Parser`.
        cache: ``True`` for the default cache (``$TREENETS_CACHE_DIR/parses.sqlite``),
            a file or folder, a :class:`~treenets.parsers.ParseCache`, or ``False``.

    Returns:
        one list of :class:`~treenets.parsers.ParsedSentence` per text (empty
        for empty or blank text).
    """
    out: List[Optional[List[ParsedSentence]]] = [None] * len(texts)
    todo = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is a {type(text).__name__}, not a str")
        if not text.strip():
            out[i] = []
        else:
            todo.append(i)
    if not todo:
        return out  # type: ignore[return-value]
    store = _cache(cache)
    key = parser.cache_key() if store is not None else ""
    if store is not None:
        for i, hit in zip(todo, store.get(key, [texts[i] for i in todo])):
            out[i] = hit
    missing = [i for i in todo if out[i] is None]
    if missing:
        parsed = parser.parse([texts[i] for i in missing])
        if len(parsed) != len(missing):
            raise RuntimeError(f"the parser returned {len(parsed)} results for {len(missing)} texts")
        for i, sentences in zip(missing, parsed):
            out[i] = list(sentences)
        if store is not None:
            store.put(key, [(texts[i], out[i]) for i in missing])  # type: ignore[misc]
    return out  # type: ignore[return-value]


def parse(texts: Sequence[str], tree: str = "dependency", parser: Optional[Parser] = None,
          cache: Union[bool, Path, str, ParseCache] = True, device: Optional[str] = None) -> List[List[Tree]]:
    """Parse each text into a list of sentence trees, through the parse cache.

    Args:
        texts: the texts.
        tree: ``"dependency"`` or ``"constituency"`` (binarized, for N-ary cells).
        parser: any :class:`~treenets.parsers.Parser` (default:
            :func:`default_parser`, English stanza models from ``$STANZA_RESOURCES_DIR``).
        cache: see :func:`parse_sentences`.
        device: the parser's device when the default parser is made.

    Returns:
        one list of :class:`Tree` per text (empty for empty or blank text).
    """
    check_tree_kind(tree)
    parser = parser if parser is not None else default_parser(tree, device)
    return [[s.tree(tree) for s in sentences] for sentences in parse_sentences(texts, parser, cache)]


# ----------------------------------------------------------------- encoding
_warned_untrained = False


def _resolve_encoder(encoder, vocab, tree: str):
    global _warned_untrained
    if encoder is None:
        if not _warned_untrained:
            warnings.warn("parse_and_encode: no encoder given, so the states come from the untrained, seeded "
                          "default encoder (treenets.api.default_encoder); pass encoder=<checkpoint or "
                          "TreeEncoder> for trained states", UserWarning, stacklevel=3)
            _warned_untrained = True
        enc, voc = default_encoder(tree)
        return enc, voc, False
    if isinstance(encoder, (str, Path)):
        from .models import load_checkpoint

        model, _ = load_checkpoint(encoder)
        return model.encoder.eval(), vocab or model.vocab, True
    enc = encoder.encoder if hasattr(encoder, "encoder") and not isinstance(encoder, TreeEncoder) else encoder
    if not isinstance(enc, TreeEncoder):
        raise TypeError(f"encoder must be None, a checkpoint path, a TreeEncoder or a treenets model, "
                        f"not {type(encoder).__name__}")
    if vocab is None:
        vocab = getattr(encoder, "vocab", None)  # a treenets model carries its own
    if vocab is None:
        raise ValueError("a TreeEncoder needs its vocabulary: pass vocab=... (the Vocab it was trained with)")
    return enc, vocab, True


def parse_and_encode(text_or_texts: Union[str, Sequence[str]], tree: str = "dependency", encoder=None,
                     parser=None, *, vocab: Optional[Mapping[str, int]] = None, device: Optional[str] = None,
                     batch_size: int = 256, cache: Union[bool, Path, str] = True) -> List[EncodedSentence]:
    """Parse text into trees and run a Tree-LSTM over every node.

    Args:
        text_or_texts: a text or a list of texts; each may hold several sentences.
        tree: ``"dependency"`` (Child-Sum over stanza's dependency parse) or
            ``"constituency"`` (binarized stanza constituency parse).
        encoder: ``None`` for the untrained default (see the module docs), a
            checkpoint path, a :class:`TreeEncoder`, or a model with ``.encoder``.
        parser: any :class:`~treenets.parsers.Parser`; default: English stanza models
            from ``$STANZA_RESOURCES_DIR`` (``stanza.download('en')`` gets them).
        vocab: the encoder's vocabulary (needed with a bare ``TreeEncoder``).
        device: where to run the encoder (and the default parser).
        batch_size: trees per encoder batch.
        cache: parse cache: ``True`` (``$TREENETS_CACHE_DIR`` or ``~/.cache/treenets``),
            a folder, or ``False``.

    Returns:
        one :class:`EncodedSentence` per sentence, in order over all texts.
        Empty or blank text gives no sentences.
    """
    texts = [text_or_texts] if isinstance(text_or_texts, str) else list(text_or_texts)
    check_tree_kind(tree)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    trees = [t for per_text in parse(texts, tree, parser, cache, device) for t in per_text]
    if not trees:
        return []
    enc, voc, trained = _resolve_encoder(encoder, vocab, tree)
    dev = torch.device(device) if device else next(enc.parameters()).device
    enc = enc.to(dev)
    results: List[EncodedSentence] = []
    with torch.no_grad():
        for start in range(0, len(trees), batch_size):
            chunk = trees[start:start + batch_size]
            batch = TreeBatch.from_trees(chunk, voc).to(dev)
            h, c = enc(batch)
            h, c = h.cpu(), c.cpu()
            offset = 0
            for t in chunk:
                rows = slice(offset, offset + len(t))
                results.append(EncodedSentence(t, h[rows], c[rows], h[offset + t.root], trained))
                offset += len(t)
    return results
