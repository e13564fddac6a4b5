"""treenets: batched Tree-LSTMs over parsed sentences.

text -> parser -> Tree -> TreeBatch -> cell -> (h, c) per node -> head -> loss
"""
from . import formats, parsers
from .api import EncodedSentence, parse, parse_and_encode
from .batch import TreeBatch, default_label
from .cells import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, SequentialLSTM, SpanMean, TreeCell
from .contextual import ContextualEmbedding
from .encoder import TreeEncoder
from .heads import NodeClassifier, SimilarityHead, sparse_target
from .parsers import ParsedSentence, Parser
from .models import RelatednessModel, SentimentModel, known_models, load, load_checkpoint, save_checkpoint
from .propagation import propagate
from .sampler import HeightBucketSampler
from .tree import Tree
from .vocab import Vocab

__version__ = "0.2.0"

__all__ = [
    "Tree", "TreeBatch", "Vocab", "default_label", "propagate",
    "TreeCell", "ChildSumTreeLSTM", "NaryTreeLSTM", "SLSTM", "SequentialLSTM", "SpanMean",
    "TreeEncoder", "NodeClassifier", "SimilarityHead", "sparse_target",
    "SentimentModel", "RelatednessModel", "save_checkpoint", "load_checkpoint", "load", "known_models",
    "parse_and_encode", "parse", "EncodedSentence", "HeightBucketSampler",
    "Parser", "ParsedSentence", "formats", "parsers",
    "ContextualEmbedding",
]
