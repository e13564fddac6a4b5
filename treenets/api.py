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

**From one sentence to a corpus.** Every function here takes any iterable of
texts and, with ``lazy=True``, returns an iterator that reads, parses and
encodes it chunk by chunk, so memory stays flat however long the input is.
Each :class:`EncodedSentence` says where it came from (``text_index``,
``sentence_index``). ``workers=N`` parses in N processes (see
:class:`~treenets.parsers.ParserPool`), with the output of one process, in
input order; ``progress=True`` shows a bar on standard error.
"""
from __future__ import annotations

import logging
import os
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from collections import deque
from typing import Deque, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from .structures.batch import TreeBatch
from .cells import ChildSumTreeLSTM, NaryTreeLSTM
from .nn.encoder import TreeEncoder
from .parsers.base import ParsedSentence, Parser, check_tree_kind
from .parsers.cache import ParseCache
from .parsers.pool import ParserPool, load_parser, parse_chunk
from .utils.progress import progress_bar
from .structures.tree import Tree

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
        text_index: the position of the sentence's text in the input (0-based;
            for :func:`treenets.formats.iter_lines`, the line number minus one).
        sentence_index: the sentence's position within its text (0-based).
    """

    tree: Tree
    node_states: Tensor
    memory: Tensor
    root: Tensor
    trained: bool = True
    encoder: str = ""
    text_index: int = 0
    sentence_index: int = 0

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

Texts = Iterable[str]
CacheArg = Union[bool, Path, str, ParseCache]


def _cache(cache: CacheArg) -> Optional[ParseCache]:
    """One ParseCache (and so one connection per thread) per cache file in a process."""
    if cache is False or cache is None:
        return None
    if isinstance(cache, ParseCache):
        return cache
    store = ParseCache(None if cache is True else cache)
    return _CACHES.setdefault(str(store.path), store)


def _check_positive(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")


def _check_texts(texts, what: str):
    if isinstance(texts, str):
        raise TypeError(f"{what} takes an iterable of texts, not a string; for one text pass [text]")
    try:
        return iter(texts)
    except TypeError:
        raise TypeError(f"{what} takes an iterable of texts, not {type(texts).__name__}") from None


def _chunks(texts: Iterator[str], size: int) -> Iterator[List[Tuple[int, str]]]:
    chunk: List[Tuple[int, str]] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is a {type(text).__name__}, not a str")
        chunk.append((i, text))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _iter_parse_sentences(texts: Iterator[str], parser: Parser, cache: CacheArg, batch_size: int,
                          pool: Optional[ParserPool], own_pool: bool, progress, total: Optional[int]
                          ) -> Iterator[List[ParsedSentence]]:
    """The one parsing loop: chunks of texts, cache hits served here, misses parsed here or by a pool, in order."""
    store = _cache(cache)
    key = parser.cache_key() if store is not None else ""
    # chunks in flight: enough to keep every worker busy while the caller consumes results
    ahead = 2 * pool.workers if pool is not None else 0
    own_bar = progress is None or isinstance(progress, bool)
    bar = progress_bar(total=total, desc="parsing", unit="text", enabled=bool(progress)) if own_bar else progress
    loaded = pool is not None
    pending: Deque[Tuple[List[Tuple[int, str]], List[Optional[List[ParsedSentence]]], List[int], object]] = deque()

    def start(chunk):
        out: List[Optional[List[ParsedSentence]]] = [None] * len(chunk)
        todo = [k for k, (_, text) in enumerate(chunk) if text.strip()]
        for k in range(len(chunk)):
            if not chunk[k][1].strip():
                out[k] = []
        if store is not None and todo:
            for k, hit in zip(todo, store.get(key, [chunk[k][1] for k in todo])):
                out[k] = hit
        missing = [k for k in todo if out[k] is None]
        future = None
        if missing and pool is not None:
            future = pool.submit([chunk[k][1] for k in missing], [chunk[k][0] for k in missing])
        pending.append((chunk, out, missing, future))

    def finish():
        nonlocal loaded
        chunk, out, missing, future = pending.popleft()
        if missing:
            texts_, indices = [chunk[k][1] for k in missing], [chunk[k][0] for k in missing]
            if pool is not None:
                parsed = pool.result(future, indices)  # type: ignore[arg-type]
            else:
                if not loaded:  # a missing model is an error of its own, not a failed text
                    load_parser(parser)
                    loaded = True
                parsed = parse_chunk(parser, texts_, indices)
            for k, sentences in zip(missing, parsed):
                out[k] = sentences
            if store is not None:
                store.put(key, [(chunk[k][1], out[k]) for k in missing])  # type: ignore[misc]
        bar.update(len(chunk))
        return out

    try:
        for chunk in _chunks(texts, batch_size):
            start(chunk)
            while len(pending) > ahead:
                yield from finish()  # type: ignore[misc]
        while pending:
            yield from finish()  # type: ignore[misc]
    finally:
        if own_bar:
            bar.close()
        if own_pool:
            pool.close(cancel=True)  # type: ignore[union-attr]


def parse_sentences(texts: Texts, parser: Parser, cache: CacheArg = True, *, lazy: bool = False,
                    batch_size: int = 64, workers: int = 1, torch_threads: Optional[int] = 1,
                    progress=False) -> Union[List[List[ParsedSentence]], Iterator[List[ParsedSentence]]]:
    """Parse each text into sentences with ``parser``, through the parse cache.

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
        lazy: return an iterator (one list of sentences per text, in order)
            instead of a list.
        batch_size: texts per parser call (and per task sent to a worker).
        workers: parse in this many processes, each with its own copy of
            ``parser`` (it must pickle; see :class:`~treenets.parsers.ParserPool`);
            the results are those of one process, in input order. A lazy
            iterator stops its workers when it is exhausted or closed
            (``.close()``, or garbage collected).
        torch_threads: torch threads in each worker process (``workers > 1``).
        progress: ``True`` for a progress bar (texts parsed) on standard
            error; or a bar of your own (anything with ``update(n)``, such as
            :func:`treenets.utils.progress.progress_bar`), advanced by the texts
            parsed and left open.

    Returns:
        one list of :class:`~treenets.parsers.ParsedSentence` per text (empty
        for empty or blank text), as a list or, with ``lazy=True``, an iterator.

    Raises:
        TypeError: a text is not a string (naming its index), or ``texts`` is
            a string.
        ParseError: the parser failed on a text (naming its index; from a
            worker process too).
    """
    it = _check_texts(texts, "parse_sentences")
    _check_positive("batch_size", batch_size)
    _check_positive("workers", workers)
    _check_positive("torch_threads", torch_threads, allow_none=True)
    total = len(texts) if hasattr(texts, "__len__") else None  # type: ignore[arg-type]
    pool = parser if isinstance(parser, ParserPool) else None
    own_pool = pool is None and workers > 1
    if own_pool:  # made here, so a parser that does not pickle fails now; its processes start on first use
        pool = ParserPool(parser, workers, torch_threads=torch_threads)
    results = _iter_parse_sentences(it, parser, cache, batch_size, pool, own_pool, progress, total)
    return results if lazy else list(results)


def parse(texts: Texts, tree: str = "dependency", parser: Optional[Parser] = None, cache: CacheArg = True,
          device: Optional[str] = None, *, lazy: bool = False, batch_size: int = 64, workers: int = 1,
          torch_threads: Optional[int] = 1, progress=False) -> Union[List[List[Tree]], Iterator[List[Tree]]]:
    """Parse each text into a list of sentence trees, through the parse cache.

    Args:
        texts: any iterable of strings; not a string.
        tree: ``"dependency"`` or ``"constituency"`` (binarized, for N-ary cells).
        parser: any :class:`~treenets.parsers.Parser` (default:
            :func:`default_parser`, English stanza models from ``$STANZA_RESOURCES_DIR``).
        cache: see :func:`parse_sentences`.
        device: the parser's device when the default parser is made.
        lazy, batch_size, workers, torch_threads, progress: see :func:`parse_sentences`.

    Returns:
        one list of :class:`Tree` per text (empty for empty or blank text), as
        a list or, with ``lazy=True``, an iterator.
    """
    check_tree_kind(tree)
    parser = parser if parser is not None else default_parser(tree, device)
    per_text = parse_sentences(texts, parser, cache, lazy=True, batch_size=batch_size, workers=workers,
                               torch_threads=torch_threads, progress=progress)
    results = ([s.tree(tree) for s in sentences] for sentences in per_text)
    return results if lazy else list(results)


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


def parse_and_encode(text_or_texts: Union[str, Texts], tree: Optional[str] = None, encoder=None,
                     parser=None, *, vocab: Optional[Mapping[str, int]] = None, device: Optional[str] = None,
                     batch_size: int = 256, cache: CacheArg = True, lazy: bool = False,
                     parse_batch_size: int = 64, workers: int = 1, torch_threads: Optional[int] = 1,
                     progress=False) -> Union[List[EncodedSentence], Iterator[EncodedSentence]]:
    """Parse text into trees and run a Tree-LSTM over every node.

    With ``lazy=True`` the input is read, parsed and encoded chunk by chunk
    and the results are yielded as they are ready, so memory stays flat
    however long the input is (a file of millions of lines, say)::

        from treenets.formats import iter_lines
        for r in treenets.parse_and_encode(iter_lines("corpus.txt"), lazy=True, workers=2):
            print(r.text_index + 1, r.sentence_index, r.root[:3])   # line number, sentence in that line

    Args:
        text_or_texts: a text, or any iterable of texts (a list, a generator,
            :func:`treenets.formats.iter_lines`); each may hold several sentences.
        tree: ``"dependency"`` or ``"constituency"`` (binarized); ``None``: the
            kind the encoder reads (the default sst5 encoder: constituency).
            A kind the encoder does not read is an error.
        encoder: ``None`` for the pretrained ``sst5`` model's encoder
            (:data:`DEFAULT_ENCODER`), a pretrained name (``"sst5"``,
            ``"sst2"``, ``"sick"``), a model directory or ``.pt`` checkpoint, a
            treenets model, a :class:`TreeEncoder` (with ``vocab=``), or
            ``"untrained"`` for the seeded untrained encoder (see the module docs).
        parser: any :class:`~treenets.parsers.Parser` or
            :class:`~treenets.parsers.ParserPool`; default: the model's own
            parser (``model.parser()``), or for a bare encoder English stanza
            models from ``$STANZA_RESOURCES_DIR`` (``stanza.download('en')`` gets them).
        vocab: the encoder's vocabulary (needed with a bare ``TreeEncoder``).
        device: where to run the encoder (and the default parser); checked first.
        batch_size: trees per encoder batch.
        cache: parse cache: ``True`` (``$TREENETS_CACHE_DIR`` or ``~/.cache/treenets``),
            a folder, a :class:`~treenets.parsers.ParseCache`, or ``False``.
        lazy: return an iterator that yields results as they are ready,
            instead of a list.
        parse_batch_size: texts per parser call (and per task sent to a worker).
        workers: parse in this many processes (see :func:`parse_sentences`);
            encoding stays in this process. The results do not depend on it.
        torch_threads: torch threads in each parser worker process.
        progress: ``True`` for a progress bar on standard error, or a bar of
            your own (see :func:`parse_sentences`).

    Returns:
        one :class:`EncodedSentence` per sentence, in order over all texts,
        each naming its encoder (``.encoder``) and with its ``text_index`` and
        ``sentence_index``; a list, or an iterator with ``lazy=True``. Empty or
        blank text gives no sentences.

    Raises:
        ValueError: a bad ``tree`` or size, a tree kind the encoder does
            not read, or a bare ``TreeEncoder`` without ``vocab``.
        DeviceError: a device this machine lacks (a ``RuntimeError``).
        TypeError: a text is not a string, or a bad ``encoder``.
        ParseError: the parser failed on a text (naming its index).
    """
    from .utils.device import check_device

    if tree is not None:
        check_tree_kind(tree)
    texts = [text_or_texts] if isinstance(text_or_texts, str) else text_or_texts
    _check_positive("batch_size", batch_size)
    check_device(device)
    enc, voc, tree, model, name, trained = _resolve_encoder(encoder, vocab, tree)
    if parser is None and model is not None and getattr(model, "tree_kind", None) is not None:
        parser = model.parser(device)
    per_text = parse(texts, tree, parser, cache, device, lazy=True, batch_size=parse_batch_size, workers=workers,
                     torch_threads=torch_threads, progress=progress)
    if model is not None and hasattr(model, "prepare"):
        per_text = ([model.prepare(t) for t in trees] for trees in per_text)
    dev = torch.device(device) if device else next(enc.parameters()).device
    logger.info("parse_and_encode: encoder %s", name)
    results = _encode(per_text, enc.to(dev), voc, trained, name, dev, batch_size)
    return results if lazy else list(results)


def _encode(per_text: Iterator[List[Tree]], enc: TreeEncoder, vocab, trained: bool, name: str, dev: torch.device,
            batch_size: int) -> Iterator[EncodedSentence]:
    """Encode the trees of a stream of texts in batches of exactly ``batch_size`` trees (the last may be smaller)."""
    pending: List[Tuple[int, int, Tree]] = []
    for text_index, trees in enumerate(per_text):
        pending.extend((text_index, k, t) for k, t in enumerate(trees))
        while len(pending) >= batch_size:
            yield from _encode_batch(pending[:batch_size], enc, vocab, trained, name, dev)
            del pending[:batch_size]
    if pending:
        yield from _encode_batch(pending, enc, vocab, trained, name, dev)


def _encode_batch(items: List[Tuple[int, int, Tree]], enc: TreeEncoder, vocab, trained: bool, name: str,
                  dev: torch.device) -> List[EncodedSentence]:
    trees = [t for _, _, t in items]
    try:
        with torch.no_grad():  # not around a yield: grad mode must not leak into the caller's loop
            h, c = enc(TreeBatch.from_trees(trees, vocab).to(dev))
    except ValueError as err:  # "tree k" counts within this batch: name the input instead
        for text_index, sentence_index, t in items:
            leaves = [i for i in range(len(t)) if not t.children[i] and t.tokens[i] is None]
            if leaves:
                raise ValueError(f"texts[{text_index}], sentence {sentence_index} (from 0): leaf node {leaves[0]} "
                                 f"has no word (an empty constituent?) in {t}") from err
        raise
    h, c = h.cpu(), c.cpu()  # [n_nodes, hidden] each
    out, offset = [], 0
    for text_index, sentence_index, t in items:
        rows = slice(offset, offset + len(t))
        out.append(EncodedSentence(t, h[rows], c[rows], h[offset + t.root], trained, name, text_index,
                                   sentence_index))
        offset += len(t)
    return out
