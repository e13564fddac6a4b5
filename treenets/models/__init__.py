"""Complete models for the paper's two tasks, each owning its vocabulary, loss and prediction.

* :class:`SentimentModel`: embeddings + tree cell + :class:`~treenets.NodeClassifier` (SST).
* :class:`RelatednessModel`: embeddings + tree cell, shared by both sentences of
  a pair, + :class:`~treenets.SimilarityHead` (SICK).

Both are saved as a model directory with ``model.save(dir)`` and rebuilt
with :func:`load` (a directory, or a pretrained name such as ``"sst5"``),
which needs nothing but the directory: the vocabulary, labels and parser
configuration travel with the weights, and nothing is unpickled.
:func:`save_checkpoint` / :func:`load_checkpoint` keep one-file checkpoints
(plain data, read with ``torch.load(weights_only=True)``: weights, config,
vocabulary; resuming a run uses :func:`treenets.training.save_training_state`,
which adds the optimizer and random states).
"""
from .base import CELLS, DEFAULT_TREE, TaskModel, build_cell, build_embedding, embedding_spec, save_model
from .checkpoint import load_checkpoint, save_checkpoint
from .relatedness import RelatednessModel
from .saving import UnknownModelError, default_model, known_models, load, resolve_model
from .labels import SST_BINARY_LABELS, SST_FINE_LABELS, SST_THREE_LABELS, default_labels
from .sentiment import SentimentModel

__all__ = ["CELLS", "DEFAULT_TREE", "build_cell", "build_embedding", "embedding_spec", "TaskModel", "SentimentModel", "RelatednessModel",
           "default_labels", "save_checkpoint", "load_checkpoint", "load", "save_model", "known_models", "default_model",
           "resolve_model", "UnknownModelError", "SST_FINE_LABELS", "SST_BINARY_LABELS", "SST_THREE_LABELS"]
