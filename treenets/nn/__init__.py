"""Layer 3, neural modules around the cells: word vectors and vocabularies, contextual
features, and :class:`TreeEncoder` (embedding + cell). The cells themselves are
:mod:`treenets.cells`, the heads :mod:`treenets.heads`."""
from .contextual import MINILM_NAMES, POOLINGS, ContextualEmbedding, minilm_path, plan_windows, resolve_model
from .embeddings import (EmbeddingCoverage, Vectors, build_embedding_matrix, embedding_from_matrix, load_embedding,
                         read_vectors, read_vectors_cached)
from .encoded import EncodedSentence, batch_results, encode_stream
from .encoder import TreeEncoder
from .feature_cache import FeatureCache, tokens_key
from .hashing import HashingVocab
from .untrained import default_encoder
from .vocab import NORMALIZERS, Vocab

__all__ = ["Vocab", "NORMALIZERS", "Vectors", "EmbeddingCoverage", "read_vectors", "read_vectors_cached",
           "build_embedding_matrix", "embedding_from_matrix", "load_embedding", "ContextualEmbedding",
           "minilm_path", "resolve_model", "plan_windows", "MINILM_NAMES", "POOLINGS", "FeatureCache",
           "tokens_key", "TreeEncoder", "HashingVocab", "default_encoder",
           "EncodedSentence", "batch_results", "encode_stream"]
