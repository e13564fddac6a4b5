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

import hashlib
import json
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
from .tree import Tree

Tensor = torch.Tensor

__all__ = ["parse_and_encode", "parse", "EncodedSentence", "HashingVocab", "default_encoder", "default_cache_dir"]

TREE_KINDS = ("dependency", "constituency")
CACHE_ENV = "TREENETS_CACHE_DIR"


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
    _check_kind(tree)
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
def default_cache_dir() -> Path:
    """``$TREENETS_CACHE_DIR``, else ``$XDG_CACHE_HOME/treenets`` (normally ``~/.cache/treenets``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "treenets"


_PARSERS: Dict[Tuple, object] = {}


def _check_kind(tree: str) -> None:
    if tree not in TREE_KINDS:
        raise ValueError(f"tree must be one of {TREE_KINDS}, not {tree!r}")


class _DefaultParser:
    """The default English StanzaParser, loaded on first use (a cache hit never loads it)."""

    def __init__(self, tree: str, device: Optional[str]) -> None:
        from parsers.stanza_parser import resolve_stanza_dir

        self.tree, self.device = tree, device
        self.lang = "en"
        self.dir = resolve_stanza_dir(None)
        self.binarize = "right" if tree == "constituency" else None
        self.processors = tree  # what the pipeline is built for; enough for the cache key
        self._parser = None

    def parse(self, texts):
        if self._parser is None:
            from parsers import StanzaParser

            self._parser = StanzaParser(dependency=self.tree == "dependency",
                                        constituency=self.tree == "constituency",
                                        binarize=self.binarize, device=self.device)
        return self._parser.parse(texts)


def _default_parser(tree: str, device: Optional[str]):
    key = (tree, device)
    if key not in _PARSERS:
        _PARSERS[key] = _DefaultParser(tree, device)
    return _PARSERS[key]


def parser_config(parser) -> dict:
    """What determines a parser's output, for the parse cache key."""
    config = {"class": type(parser).__qualname__}
    for name in ("lang", "dir", "processors", "binarize", "collapse_unary", "strip_root", "tokenize_pretokenized"):
        if hasattr(parser, name):
            config[name] = getattr(parser, name)
    if "dir" in config:
        resources = Path(config["dir"]) / "resources.json"
        config["resources"] = resources.stat().st_mtime_ns if resources.exists() else None
    try:
        import stanza

        config["stanza"] = stanza.__version__
    except ImportError:
        pass
    return config


def parse(texts: Sequence[str], tree: str = "dependency", parser=None, cache: Union[bool, Path, str] = True,
          device: Optional[str] = None) -> List[List[Tree]]:
    """Parse each text into a list of sentence trees, through the on-disk cache.

    Args:
        texts: the texts.
        tree: ``"dependency"`` or ``"constituency"`` (binarized, for N-ary cells).
        parser: a :class:`parsers.StanzaParser` (default: an English one, loaded
            once per process from ``$STANZA_RESOURCES_DIR``).
        cache: ``True`` for :func:`default_cache_dir`, a folder, or ``False``.
        device: the parser's device when the default parser is made.

    Returns:
        one list of :class:`Tree` per text (empty for empty or blank text).
    """
    _check_kind(tree)
    out: List[Optional[List[Tree]]] = [None] * len(texts)
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
    parser = parser if parser is not None else _default_parser(tree, device)
    cache_dir = None if cache is False else (default_cache_dir() if cache is True else Path(cache)) / "parses"
    config = json.dumps(parser_config(parser), sort_keys=True, default=str)
    keys = {i: hashlib.sha256((config + "\0" + tree + "\0" + texts[i]).encode("utf-8")).hexdigest() for i in todo}
    missing = []
    for i in todo:
        path = cache_dir / f"{keys[i]}.json" if cache_dir else None
        if path is not None and path.is_file():
            try:
                out[i] = [Tree.from_brackets(s) for s in json.loads(path.read_text(encoding="utf-8"))["trees"]]
                continue
            except (ValueError, KeyError):
                pass  # a damaged cache entry is parsed again and rewritten
        missing.append(i)
    if missing:
        parsed = parser.parse([texts[i] for i in missing])
        for i, sentences in zip(missing, parsed):
            trees = [getattr(s, tree) for s in sentences]
            if any(t is None for t in trees):
                raise RuntimeError(f"the parser gave no {tree} tree for text {i}; was it built with {tree}=True?")
            out[i] = trees
            if cache_dir is not None:
                cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = cache_dir / f"{keys[i]}.{os.getpid()}.tmp"
                tmp.write_text(json.dumps({"text": texts[i], "trees": [str(t) for t in trees]}), encoding="utf-8")
                tmp.replace(cache_dir / f"{keys[i]}.json")
    return out  # type: ignore[return-value]


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
        parser: a :class:`parsers.StanzaParser`; default: English stanza models
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
    _check_kind(tree)
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
