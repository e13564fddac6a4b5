"""Complete models for the paper's two tasks, each owning its vocabulary, loss and prediction.

* :class:`SentimentModel`: embeddings + tree cell + :class:`~treenets.NodeClassifier` (SST).
* :class:`RelatednessModel`: embeddings + tree cell, shared by both sentences of
  a pair, + :class:`~treenets.SimilarityHead` (SICK).

Both are saved with :func:`save_checkpoint` and rebuilt with
:func:`load_checkpoint`, which needs nothing but the file: the vocabulary and
the config travel with the weights.
"""
from .base import CELLS, TaskModel, build_cell, build_embedding, embedding_spec
from .checkpoint import load_checkpoint, save_checkpoint
from .relatedness import RelatednessModel
from .sentiment import SentimentModel

__all__ = ["CELLS", "build_cell", "build_embedding", "embedding_spec", "TaskModel", "SentimentModel", "RelatednessModel",
           "save_checkpoint", "load_checkpoint"]
