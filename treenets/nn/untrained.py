"""The documented untrained encoder: :func:`default_encoder` (``parse_and_encode(..., encoder="untrained")``)."""
from __future__ import annotations

from typing import Tuple

import torch

from ..cells import ChildSumTreeLSTM, NaryTreeLSTM
from ..structures.sentence import check_tree_kind
from .encoder import TreeEncoder
from .hashing import HashingVocab

__all__ = ["default_encoder"]


def default_encoder(tree: str = "dependency", seed: int = 0) -> Tuple[TreeEncoder, HashingVocab]:
    """The documented untrained default: hashed 50-d embeddings and a 150-d Tree-LSTM.

    Child-Sum for dependency trees, binary N-ary (words at the leaves) for
    binarized constituency trees. Seeded, so every call gives the same weights
    on every machine: deterministic features of the tree and the words, for
    plumbing and tests, not for meaning.
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
