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
Each :class:`EncodedSentence` says where it came from (``input`` and
``sentence``, both counted from 1). ``workers=N`` parses in N processes (see
:class:`~treenets.parsers.ParserPool`), with the output of one process, in
input order; ``progress=True`` shows a bar on standard error. With
``lazy=True`` an input that cannot be parsed yields its
:class:`~treenets.parsers.ParseError` in its place and the run goes on.

This module is the front door only: parsing is
:func:`treenets.parsers.parse_sentences` (the one parsing loop), the parsers
come from :mod:`treenets.parsers.registry`, models from :func:`treenets.load`,
and encoding from :mod:`treenets.nn.encoded`.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union

import torch

from .models import load
from .nn.encoded import EncodedSentence, batch_results, encode_stream
from .nn.encoder import TreeEncoder
from .nn.hashing import HashingVocab
from .nn.untrained import default_encoder
from .parsers.base import Parser, check_tree_kind
from .parsers.limits import TextLimits
from .parsers.registry import default_parser
from .parsers.run import CacheArg, check_positive, parse_sentences

__all__ = ["parse_and_encode", "parse", "parse_sentences", "default_parser", "EncodedSentence", "batch_results",
           "HashingVocab", "default_encoder", "DEFAULT_ENCODER", "UNTRAINED"]

logger = logging.getLogger("treenets")

#: The encoder ``parse_and_encode`` uses unless told otherwise: the pretrained sst5 model's.
DEFAULT_ENCODER = "sst5"
#: The name that asks for the untrained, seeded encoder.
UNTRAINED = "untrained"

Texts = Iterable[str]


def parse(texts: Texts, tree: str = "dependency", parser: Optional[Parser] = None, cache: CacheArg = True,
          device: Optional[str] = None, *, lazy: bool = False, batch_size: int = 64, workers: int = 1,
          torch_threads: Optional[int] = 1, progress=False,
          errors: Optional[str] = None, limits: Optional[TextLimits] = None) -> Union[List[Any], Iterator[Any]]:
    """Parse each text into a list of sentence trees, through the parse cache.

    Args:
        texts: any iterable of strings; not a string.
        tree: ``"dependency"`` or ``"constituency"`` (binarized, for N-ary cells).
        parser: any :class:`~treenets.parsers.Parser` (default:
            :func:`default_parser`, English stanza models from ``$STANZA_RESOURCES_DIR``).
        cache: see :func:`treenets.parsers.parse_sentences`.
        device: the parser's device when the default parser is made.
        limits: the default parser's :class:`~treenets.parsers.TextLimits`
            (characters per text and per token, words per sentence; default
            :data:`~treenets.parsers.DEFAULT_LIMITS`). A parser of your own
            has its own.
        lazy, batch_size, workers, torch_threads, progress, errors: see
            :func:`treenets.parsers.parse_sentences`.

    Returns:
        one list of :class:`Tree` per text (empty for empty or blank text), as
        a list or, with ``lazy=True``, an iterator (where an input that cannot
        be parsed yields its :class:`~treenets.parsers.ParseError`).
    """
    check_tree_kind(tree)
    if parser is None:
        parser = default_parser(tree, device, **({"limits": limits} if limits is not None else {}))
    per_text = parse_sentences(texts, parser, cache, lazy=True, batch_size=batch_size, workers=workers,
                               torch_threads=torch_threads, progress=progress,
                               errors=errors or ("yield" if lazy else "raise"))
    results = (sentences if isinstance(sentences, Exception) else [s.tree(tree) for s in sentences]
               for sentences in per_text)
    return results if lazy else list(results)


# ----------------------------------------------------------------- encoding
_warned_untrained = False
_PRETRAINED: Dict[str, Any] = {}


def _model(name) -> Any:
    """``treenets.load(name)``; a pretrained name is loaded once per process (its weights are read-only here)."""
    key = str(name)
    if key in _PRETRAINED:
        return _PRETRAINED[key]
    model = load(name)
    if model.name == key and not Path(key).exists():  # a pretrained name, not a directory
        _PRETRAINED[key] = model
    return model


def _resolve_encoder(encoder, vocab, tree: Optional[str]):
    """``(TreeEncoder, vocab, tree kind, model or None, name, trained)`` for ``encoder=``."""
    global _warned_untrained
    if isinstance(encoder, str) and encoder == UNTRAINED:
        if not _warned_untrained:
            warnings.warn("parse_and_encode: encoder='untrained' gives states from an untrained, seeded encoder "
                          "(treenets.nn.default_encoder), not meaning", UserWarning, stacklevel=3)
            _warned_untrained = True
        tree = tree or "dependency"
        enc, voc = default_encoder(tree)
        return enc, voc, tree, None, UNTRAINED, False
    model = encoder
    if encoder is None or isinstance(encoder, (str, Path)):
        model = _model(DEFAULT_ENCODER if encoder is None else encoder)
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
                     progress=False, errors: Optional[str] = None,
                     limits: Optional[TextLimits] = None) -> Union[List[Any], Iterator[Any]]:
    """Parse text into trees and run a Tree-LSTM over every node.

    With ``lazy=True`` the input is read, parsed and encoded chunk by chunk
    and the results are yielded as they are ready, so memory stays flat
    however long the input is (a file of millions of lines, say)::

        from treenets.formats import iter_lines
        for r in treenets.parse_and_encode(iter_lines("corpus.txt"), lazy=True, workers=2):
            if isinstance(r, treenets.parsers.ParseError):   # a line that cannot be parsed
                print(r.input, "failed:", r.reason)
            else:
                print(r.input, r.sentence, r.root[:3])   # line number, sentence in that line (both from 1)

    Args:
        text_or_texts: a text, or any iterable of texts (a list, a generator,
            :func:`treenets.formats.iter_lines`); each may hold several sentences.
        tree: ``"dependency"`` or ``"constituency"`` (binarized); ``None``: the
            kind the encoder reads (the default sst5 encoder: constituency).
            A kind the encoder does not read is an error.
        encoder: ``None`` for the pretrained ``sst5`` model's encoder
            (:data:`DEFAULT_ENCODER`), a pretrained name (``"sst5"``,
            ``"sst2"``, ``"sick"``), a model directory or ``.pt`` checkpoint
            (both through :func:`treenets.load`), a treenets model, a
            :class:`TreeEncoder` (with ``vocab=``), or ``"untrained"`` for the
            seeded untrained encoder (see the module docs).
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
        workers: parse in this many processes (see :func:`treenets.parsers.parse_sentences`);
            encoding stays in this process. The results do not depend on it.
        torch_threads: torch threads in each parser worker process.
        progress: ``True`` for a progress bar on standard error, or a bar of
            your own (see :func:`treenets.parsers.parse_sentences`).
        errors: ``"yield"`` (the default with ``lazy=True``): an input that
            cannot be parsed yields its :class:`~treenets.parsers.ParseError`
            (``.input`` from 1) in place of its sentences and the run goes
            on; ``"raise"`` (the default for a list): it is raised.
        limits: the parser's :class:`~treenets.parsers.TextLimits`
            (characters per text and per token, words per sentence; default
            :data:`~treenets.parsers.DEFAULT_LIMITS`); with ``parser=`` given,
            that parser's own limits apply.

    Returns:
        one :class:`EncodedSentence` per sentence, in order over all texts,
        each naming its encoder (``.encoder``) and with its ``input`` and
        ``sentence`` (from 1); a list, or an iterator with ``lazy=True``.
        Empty or blank text gives no sentences.

    Raises:
        ValueError: a bad ``tree`` or size, a tree kind the encoder does
            not read, or a bare ``TreeEncoder`` without ``vocab``.
        DeviceError: a device this machine lacks (a ``RuntimeError``).
        TypeError: a text is not a string, or a bad ``encoder``.
        ParseError: (``errors="raise"``) the parser failed on a text (naming its number from 1).
    """
    from .utils.device import check_device

    if tree is not None:
        check_tree_kind(tree)
    texts = [text_or_texts] if isinstance(text_or_texts, str) else text_or_texts
    check_positive("batch_size", batch_size)
    check_device(device)
    enc, voc, tree, model, name, trained = _resolve_encoder(encoder, vocab, tree)
    options = {"limits": limits} if limits is not None else {}
    if parser is None and model is not None and getattr(model, "tree_kind", None) is not None:
        parser = model.parser(device, **options)
    elif parser is None and options:
        parser = default_parser(tree, device, **options)
    per_text = parse(texts, tree, parser, cache, device, lazy=True, batch_size=parse_batch_size, workers=workers,
                     torch_threads=torch_threads, progress=progress, errors=errors or ("yield" if lazy else "raise"))
    if model is not None and hasattr(model, "prepare"):
        per_text = (trees if isinstance(trees, Exception) else [model.prepare(t) for t in trees]
                    for trees in per_text)
    dev = torch.device(device) if device else next(enc.parameters()).device
    logger.info("parse_and_encode: encoder %s", name)
    results = encode_stream(per_text, enc.to(dev), voc, trained=trained, name=name, device=dev,
                            batch_size=batch_size)
    return results if lazy else list(results)
