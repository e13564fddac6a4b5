"""Layer 1, structures: trees, batches of trees as one graph, and the leaves-up schedule.

* :mod:`~treenets.structures.tree`: :class:`Tree`, one rooted ordered tree as
  parent, token, label and relation arrays; its bracket notation is
  :mod:`~treenets.structures.brackets`, its nltk conversions and binarization
  :mod:`~treenets.structures.nltk`.
* :mod:`~treenets.structures.sentence`: :class:`ParsedSentence`, a sentence's
  words, annotations and trees (what parsers give).
* :mod:`~treenets.structures.batch`: :class:`TreeBatch`, many trees as one
  graph with edges child to parent, the schedule worked out once.
* :mod:`~treenets.structures.propagation`: :func:`propagate`, the level loop
  every cell runs.
* :mod:`~treenets.structures.sampler`: height-bucketed batches.
* :mod:`~treenets.structures.dgl_graph` and :mod:`~treenets.structures.pyg`:
  the same batch to and from DGL and PyTorch Geometric (imported when called).
"""
from .batch import TreeBatch, default_label
from .propagation import as_tree_batch, propagate
from .sampler import HeightBucketSampler, bucketed_batches
from .sentence import TREE_KINDS, ParsedSentence, check_tree_kind
from .tree import BINARIZE_FACTORS, Tree, as_int, check_binarize

__all__ = ["Tree", "BINARIZE_FACTORS", "check_binarize", "as_int", "ParsedSentence", "TREE_KINDS",
           "check_tree_kind", "TreeBatch", "default_label", "propagate", "as_tree_batch",
           "HeightBucketSampler", "bucketed_batches"]
