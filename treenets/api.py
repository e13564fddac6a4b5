"""Text in, a state per tree node out: ``treenets.parse_and_encode``.

The pipeline is text -> parser (stanza) -> :class:`Tree` -> :class:`TreeBatch`
-> encoder -> ``(h, c)`` per node. Parses are cached on disk, keyed by the text
and the parser's configuration, so encoding the same text again (with another
encoder, say) does not parse it again.

**The default encoder is trained**: the Tree-LSTM of the pretrained ``sst5``
model (:func:`treenets.load`), with its vocabulary and its parser settings
(binarized constituency trees). Each result names the model it came from
(``result.encoder``). Pass ``encoder=`` a pretrained name, a model directory
(``examples/train_*.py`` write ``OUT/best/``), a model, or a ``TreeEncoder``
with its vocabulary. ``encoder="untrained"`` gives :func:`default_encoder`: a
Tree-LSTM with hashed 50-d word embeddings and hidden size 150, initialised
from seed 0, identical on every machine; its states are deterministic
features of the tree and the words, useful for plumbing and tests, not for
meaning (each result says ``trained=False`` and a warning is issued once).
"""
from __future__ import annotations

import logging
import os
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
           "default_encoder", "DEFAULT_ENCODER", "UNTRAINED"]

logger = logging.getLogger("treenets")

#: The encoder ``parse_and_encode`` uses unless told otherwise: the pretrained sst5 model's.
DEFAULT_ENCODER = "sst5"
#: The name that asks for the untrained, seeded encoder.
UNTRAINED = "untrained"


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
        trained: ``False`` when the states come from the untrained encoder.
        encoder: the encoder that made them: a pretrained name (``"sst5"``),
            a model directory, ``"untrained"``, or the class of one passed in.
    """

    tree: Tree
    node_states: Tensor
    memory: Tensor
    root: Tensor
    trained: bool = True
    encoder: str = ""

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
_PRETRAINED: Dict[str, object] = {}


def _load_encoder_model(name):
    """A model for ``encoder=``: pretrained names are loaded once per process."""
    from .models import load, load_checkpoint
    from .models.saving import pretrained_root, resolve_model

    text = os.fspath(name)
    if os.path.isfile(text):  # a one-file checkpoint (plain data, weights_only=True)
        model, _ = load_checkpoint(text)
        model.name = text
        return model.eval()
    path = resolve_model(text)
    if path.parent != pretrained_root():
        return load(path)
    if text not in _PRETRAINED:
        _PRETRAINED[text] = load(text)
    return _PRETRAINED[text]


def _resolve_encoder(encoder, vocab, tree: Optional[str]):
    """``(TreeEncoder, vocab, tree kind, model or None, name, trained)`` for ``encoder=``."""
    global _warned_untrained
    if isinstance(encoder, str) and encoder == UNTRAINED:
        if not _warned_untrained:
            warnings.warn("parse_and_encode: encoder='untrained' gives states from an untrained, seeded encoder "
                          "(treenets.api.default_encoder), not meaning", UserWarning, stacklevel=3)
            _warned_untrained = True
        tree = tree or "dependency"
        enc, voc = default_encoder(tree)
        return enc, voc, tree, None, UNTRAINED, False
    model = encoder
    if encoder is None or isinstance(encoder, (str, Path)):
        model = _load_encoder_model(DEFAULT_ENCODER if encoder is None else encoder)
    if isinstance(model, TreeEncoder):
        if vocab is None:
            raise ValueError("a TreeEncoder needs its vocabulary: pass vocab=... (the Vocab it was trained with)")
        return model, vocab, tree or "dependency", None, type(model).__name__, True
    enc = getattr(model, "encoder", None)
    if not isinstance(enc, TreeEncoder):
        raise TypeError(f"encoder must be a pretrained name, a model directory or checkpoint, 'untrained', a "
                        f"treenets model or a TreeEncoder, not {type(encoder).__name__}")
    name = getattr(model, "name", None) or type(model).__name__
    kind = getattr(model, "tree_kind", None)
    if tree is not None and kind is not None and tree != kind:
        raise ValueError(f"the encoder {name!r} reads {kind} trees, not {tree} trees; leave tree= out, or choose "
                         f"another encoder")
    return enc.eval(), vocab or model.vocab, tree or kind or "dependency", model, name, True


def parse_and_encode(text_or_texts: Union[str, Sequence[str]], tree: Optional[str] = None, encoder=None,
                     parser=None, *, vocab: Optional[Mapping[str, int]] = None, device: Optional[str] = None,
                     batch_size: int = 256, cache: Union[bool, Path, str] = True) -> List[EncodedSentence]:
    """Parse text into trees and run a Tree-LSTM over every node.

    Args:
        text_or_texts: a text or a list of texts; each may hold several sentences.
        tree: ``"dependency"`` or ``"constituency"`` (binarized); ``None``: the
            kind the encoder reads (the default sst5 encoder: constituency).
            A kind the encoder does not read is an error.
        encoder: ``None`` for the pretrained ``sst5`` model's encoder
            (:data:`DEFAULT_ENCODER`), a pretrained name (``"sst5"``,
            ``"sst2"``, ``"sick"``), a model directory or ``.pt`` checkpoint, a
            treenets model, a :class:`TreeEncoder` (with ``vocab=``), or
            ``"untrained"`` for the seeded untrained encoder (see the module docs).
        parser: any :class:`~treenets.parsers.Parser`; default: the model's own
            parser (``model.parser()``), or for a bare encoder English stanza
            models from ``$STANZA_RESOURCES_DIR`` (``stanza.download('en')`` gets them).
        vocab: the encoder's vocabulary (needed with a bare ``TreeEncoder``).
        device: where to run the encoder (and the default parser); checked first.
        batch_size: trees per encoder batch.
        cache: parse cache: ``True`` (``$TREENETS_CACHE_DIR`` or ``~/.cache/treenets``),
            a folder, or ``False``.

    Returns:
        one :class:`EncodedSentence` per sentence, in order over all texts,
        each naming its encoder (``.encoder``). Empty or blank text gives no sentences.
    """
    from .device import check_device

    texts = [text_or_texts] if isinstance(text_or_texts, str) else list(text_or_texts)
    if tree is not None:
        check_tree_kind(tree)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    check_device(device)
    enc, voc, tree, model, name, trained = _resolve_encoder(encoder, vocab, tree)
    if parser is None and model is not None and getattr(model, "tree_kind", None) is not None:
        parser = model.parser(device)
    trees = [t for per_text in parse(texts, tree, parser, cache, device) for t in per_text]
    if not trees:
        return []
    logger.info("parse_and_encode: %d sentences, encoder %s", len(trees), name)
    dev = torch.device(device) if device else next(enc.parameters()).device
    enc = enc.to(dev)
    results: List[EncodedSentence] = []
    with torch.no_grad():
        for start in range(0, len(trees), batch_size):
            chunk = trees[start:start + batch_size]
            if model is not None and hasattr(model, "prepare"):
                chunk = [model.prepare(t) for t in chunk]
            batch = TreeBatch.from_trees(chunk, voc).to(dev)
            h, c = enc(batch)
            h, c = h.cpu(), c.cpu()
            offset = 0
            for t in chunk:
                rows = slice(offset, offset + len(t))
                results.append(EncodedSentence(t, h[rows], c[rows], h[offset + t.root], trained, name))
                offset += len(t)
    return results
