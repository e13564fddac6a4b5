"""treenets: batched Tree-LSTMs over parsed sentences.

text -> parser -> Tree -> TreeBatch -> cell -> (h, c) per node -> head -> loss

The names below are imported when first used (``lazy_loader``), so
``import treenets`` and ``treenets --version`` do not import torch.
The package's layers, bottom to top: ``utils``; ``structures``; ``formats``
and ``data``; ``nn``, ``cells`` and ``heads``; ``parsers``, ``models`` and
``training``; ``api`` and ``cli`` (see the docs' architecture page).
"""
import lazy_loader as _lazy

from .utils.version import __version__

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["api", "cells", "cli", "data", "formats", "heads", "models", "nn", "parsers", "structures",
                "testing", "training", "utils"],
    submod_attrs={
        "api": ["EncodedSentence", "parse", "parse_and_encode"],
        "structures": ["Tree", "TreeBatch", "default_label", "propagate", "HeightBucketSampler", "ParsedSentence"],
        "cells": ["SLSTM", "ChildSumTreeLSTM", "NaryTreeLSTM", "SequentialLSTM", "SpanMean", "TreeCell"],
        "nn": ["ContextualEmbedding", "TreeEncoder", "Vocab"],
        "heads": ["NodeClassifier", "SimilarityHead", "sparse_target"],
        "parsers": ["Parser"],
        "models": ["RelatednessModel", "SentimentModel", "known_models", "default_model", "load", "load_checkpoint",
                   "save_checkpoint"],
    },
)
