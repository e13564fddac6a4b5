from .node_classifier import NodeClassifier
from .similarity import SimilarityHead, sparse_target

__all__ = ["NodeClassifier", "SimilarityHead", "sparse_target"]
