"""Encoded sentences: :class:`EncodedSentence` (one sentence's states) and :func:`encode_stream`,
which encodes the trees of a stream of inputs in batches.

Positions are counted from 1, as in every output of treenets: ``input`` is
the input text's number (for the lines of a file, the line number) and
``sentence`` the sentence's number within it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import torch

from ..structures.batch import TreeBatch
from ..structures.tree import Tree
from ..utils.collector import young_collection
from .encoder import TreeEncoder

Tensor = torch.Tensor

__all__ = ["EncodedSentence", "batch_results", "encode_stream"]


@dataclass
class EncodedSentence:
    """One encoded sentence.

    Attributes:
        tree: the parsed :class:`~treenets.Tree`.
        node_states: ``[n_nodes, hidden]`` the hidden state ``h`` of every node,
            in the tree's node order.
        memory: ``[n_nodes, hidden]`` the memory cells ``c``.
        root: ``[hidden]`` the root's hidden state.
        trained: ``False`` when the states come from the untrained encoder.
        encoder: the encoder that made them: a pretrained name (``"sst5"``),
            a model directory, ``"untrained"``, or the class of one passed in.
        input: the number of the input text it came from, counted from 1 (for
            :func:`treenets.formats.iter_lines`, the line number).
        sentence: the sentence's number within its input, counted from 1.
    """

    tree: Tree
    node_states: Tensor
    memory: Tensor
    root: Tensor
    trained: bool = True
    encoder: str = ""
    input: int = 1
    sentence: int = 1

    def to_batch(self, vocab: Optional[Mapping[str, int]] = None) -> TreeBatch:
        """This sentence as a one-tree :class:`~treenets.TreeBatch`, with ``h`` in ``node_data['h']``."""
        batch = TreeBatch.from_trees([self.tree], vocab)
        batch.node_data["h"] = self.node_states.detach().cpu()
        return batch

    def to_dgl(self, vocab: Optional[Mapping[str, int]] = None):
        """This sentence as a ``dgl.DGLGraph`` (edges child -> parent, ``ndata['h']``)."""
        return self.to_batch(vocab).to_dgl()


def batch_results(results: Sequence[EncodedSentence], vocab: Optional[Mapping[str, int]] = None) -> TreeBatch:
    """Many results as one :class:`~treenets.TreeBatch` with ``node_data['h']`` (for graph models downstream)."""
    if not results:
        raise ValueError("no sentences to batch")
    batch = TreeBatch.from_trees([r.tree for r in results], vocab)
    batch.node_data["h"] = torch.cat([r.node_states.detach().cpu() for r in results])
    return batch


def encode_stream(per_input: Iterable[Any], enc: TreeEncoder, vocab, *, trained: bool, name: str,
                  device: torch.device, batch_size: int) -> Iterator[Any]:
    """Encode the trees of a stream of inputs (one list of trees per input) in batches of exactly
    ``batch_size`` trees (the last may be smaller), in order.

    An input whose outcome is an exception (a :class:`~treenets.parsers.ParseError`
    yielded by the parsing loop) is passed through in its place, after the
    sentences before it.
    """
    pending: List[Tuple[int, int, Tree]] = []
    for n, trees in enumerate(per_input, 1):
        if isinstance(trees, Exception):
            yield from _flush(pending, enc, vocab, trained, name, device)
            yield trees
            continue
        pending.extend((n, k, t) for k, t in enumerate(trees, 1))
        while len(pending) >= batch_size:
            yield from _encode_batch(pending[:batch_size], enc, vocab, trained, name, device)
            del pending[:batch_size]
    yield from _flush(pending, enc, vocab, trained, name, device)


def _flush(pending: List[Tuple[int, int, Tree]], enc, vocab, trained, name, device) -> List[EncodedSentence]:
    out = _encode_batch(pending, enc, vocab, trained, name, device) if pending else []
    pending.clear()
    return out


@young_collection()  # a batch encoded without a full collection of the model (utils.collector)
def _encode_batch(items: List[Tuple[int, int, Tree]], enc: TreeEncoder, vocab, trained: bool, name: str,
                  dev: torch.device) -> List[EncodedSentence]:
    trees = [t for _, _, t in items]
    try:
        with torch.no_grad():  # not around a yield: grad mode must not leak into the caller's loop
            h, c = enc(TreeBatch.from_trees(trees, vocab).to(dev))
    except ValueError as err:  # "tree k" counts within this batch: name the input instead
        for n, sentence, t in items:
            leaves = [i for i in range(len(t)) if not t.children[i] and t.tokens[i] is None]
            if leaves:
                raise ValueError(f"input {n}, sentence {sentence}: leaf node {leaves[0]} (from 0) has no word "
                                 f"(an empty constituent?) in {t}") from err
        raise
    h, c = h.cpu(), c.cpu()  # [n_nodes, hidden] each
    out, offset = [], 0
    for n, sentence, t in items:
        rows = slice(offset, offset + len(t))
        out.append(EncodedSentence(t, h[rows], c[rows], h[offset + t.root], trained, name, n, sentence))
        offset += len(t)
    return out
