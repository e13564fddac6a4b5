"""Sentence-pair relatedness from two trees (SICK)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from ..structures.batch import TreeBatch
from ..heads import SimilarityHead
from .metrics import relatedness_metrics
from ..nn.vocab import Vocab
from ..structures.tree import Tree
from .base import EmbeddingArg, TaskModel
from .prediction import iter_sentences

Tensor = torch.Tensor

__all__ = ["RelatednessModel"]


def _pair(item, i: int) -> tuple:
    """``(tree_a, tree_b, score)`` of a pair: an object with ``.a``, ``.b``, ``.score``
    (:class:`treenets.data.SickPair`) or a tuple ``(a, b, score)``."""
    if isinstance(item, tuple) and len(item) == 3:
        return item
    try:
        return item.a, item.b, item.score
    except AttributeError:
        raise TypeError(f"pair {i} is a {type(item).__name__}; expected an object with .a, .b and .score "
                        f"(treenets.data.SickPair) or a tuple (tree_a, tree_b, score)") from None


class RelatednessModel(TaskModel):
    r"""Tree-LSTM sentence-pair relatedness (Tai et al. 2015, section 5.2).

    One encoder (embeddings + tree cell) for both sentences, their root states
    into a :class:`~treenets.SimilarityHead`::

        h_L, h_R = root states of the two trees
        p^ = softmax(W_p sigmoid(W_x (h_L * h_R) + W_+ |h_L - h_R| + b_h) + b_p)
        y^ = r^T p^,  r = [1, ..., K]

    Args:
        vocab: the vocabulary; ``len(vocab)`` embedding rows (frozen in the paper).
        embed_size: size of a word vector.
        hidden_size: the cell's state size (150 in the paper).
        sim_hidden: the similarity layer (50 in the paper).
        n_classes: ``K``, scores ``1..K``.
        cell: ``childsum`` (Dependency Tree-LSTM), ``nary`` (Constituency), or ``span-mean``
            (no tree: the baseline :class:`~treenets.SpanMean`, the root is the whole sentence).
        cell_options: e.g. ``{"output_gate": False}`` (the paper code's SICK setting).
        freeze_embeddings: keep the word vectors fixed (the paper does).
        tree, binarize: the trees it reads (see :class:`~treenets.models.TaskModel`).
            Its :meth:`parser` keeps each text one sentence.
        embedding: a module in place of the word vectors, e.g. a
            :class:`~treenets.ContextualEmbedding` (see :class:`~treenets.models.TaskModel`).

    Shapes:
        - left, right: two :class:`~treenets.TreeBatch` with ``B`` trees each
        - output: ``[B, n_classes]`` log-probabilities
    """

    task = "relatedness"
    #: a text is one sentence: stanza does not split it
    parser_options = {"tokenize_no_ssplit": True}

    def __init__(self, vocab: Vocab, embed_size: int, hidden_size: int = 150, sim_hidden: int = 50,
                 n_classes: int = 5, *, cell: str = "childsum", cell_options: Optional[dict] = None,
                 freeze_embeddings: bool = True, tree: Optional[str] = None,
                 binarize: Optional[str] = "right", embedding: EmbeddingArg = None) -> None:
        super().__init__(vocab, embed_size, hidden_size, cell, cell_options, freeze_embeddings, tree, binarize,
                         embedding)
        self.config.update(sim_hidden=sim_hidden, n_classes=n_classes)
        self.head = SimilarityHead(hidden_size, sim_hidden, n_classes)

    def encode_roots(self, batch: TreeBatch) -> Tensor:
        """``[B, hidden]`` the root state of every tree."""
        h, _ = self.encoder(batch)
        return h.index_select(0, batch.roots)  # [B, H]

    def forward(self, left: TreeBatch, right: TreeBatch) -> Tensor:
        if left.num_trees != right.num_trees:
            raise ValueError(f"{left.num_trees} left trees but {right.num_trees} right trees")
        return self.head(self.encode_roots(left), self.encode_roots(right))  # [B, K]

    def collate(self, pairs: Sequence, device=None) -> Tuple[TreeBatch, TreeBatch, Tensor]:
        """``(left, right, scores)``: the inputs of :meth:`loss` for a list of scored pairs
        (objects with ``.a``, ``.b``, ``.score`` or tuples ``(a, b, score)``)."""
        parts = [_pair(p, i) for i, p in enumerate(pairs)]
        device = self.device if device is None else device
        scores = torch.tensor([float(s) for _, _, s in parts]).to(device)  # [B]
        return self.batch([a for a, _, _ in parts], device), self.batch([b for _, b, _ in parts], device), scores

    def loss(self, left: TreeBatch, right: TreeBatch, scores: Tensor) -> Tensor:
        """Mean KL divergence from the sparse target distribution of the gold ``scores`` (``[B]``, in 1..K)."""
        return self.head.loss(self(left, right), scores)

    def predict_batch(self, left: TreeBatch, right: TreeBatch) -> Tensor:
        """``[B]`` the expected relatedness score ``r^T p^`` of every pair, in eval mode."""
        with self.evaluating():
            return self.head.predict(self(left, right))

    def similarity(self, a: Any, b: Any, *, batch_size: int = 64, parser=None, cache=True,
                   input_format: str = "auto") -> Union[float, List[float]]:
        """The relatedness of two sentences, from 1 (unrelated) to 5 (the same meaning), as in SICK.

        Raw text is parsed by the model's own parser (:meth:`parser`), which
        keeps each text one sentence; bracket strings and
        :class:`~treenets.Tree` objects are read as in
        :meth:`SentimentModel.predict`.

        Args:
            a, b: two sentences, or two equally long lists of them (pairs are
                ``(a[i], b[i])``).
            batch_size: pairs per model batch.
            parser, cache, input_format: as in :meth:`SentimentModel.predict`.

        Returns:
            the expected score ``r^T p^`` (a float in [1, 5]) for two
            sentences, or a list of them for two lists; computed in eval mode.

        Raises:
            ValueError: lists of different lengths, or a blank text (named).
            TypeError: a string on one side and a list on the other.

        Example:
            >>> treenets.load("sick").similarity("A man is playing a guitar.", "A man plays the guitar.")  # doctest: +SKIP
            4.6
        """
        single_a, single_b = isinstance(a, (str, Tree)), isinstance(b, (str, Tree))
        if single_a != single_b:
            raise TypeError("similarity takes two sentences or two lists of sentences, not one of each")
        left, right = ([a], [b]) if single_a else (list(a), list(b))
        if len(left) != len(right):
            raise ValueError(f"similarity needs lists of the same length, got {len(left)} and {len(right)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        trees_a = self._one_tree_each(left, "a", parser, cache, input_format)
        trees_b = self._one_tree_each(right, "b", parser, cache, input_format)
        scores: List[float] = []
        for start in range(0, len(trees_a), batch_size):
            scores += self.predict_batch(self.batch(trees_a[start:start + batch_size]),
                                         self.batch(trees_b[start:start + batch_size])).cpu().tolist()
        return scores[0] if single_a else scores

    def _one_tree_each(self, texts: List, side: str, parser, cache, input_format) -> List[Tree]:
        trees: List[Optional[Tree]] = [None] * len(texts)
        for n, sentence, _, tree in iter_sentences(self, texts, parser=parser, cache=cache,
                                                   input_format=input_format):
            if sentence > 1:
                raise ValueError(f"{side}[{n - 1}] holds more than one sentence ({texts[n - 1]!r:.80}); "
                                 f"similarity compares one sentence with one sentence")
            trees[n - 1] = tree
        for index, tree in enumerate(trees):
            if tree is None:
                raise ValueError(f"{side}[{index}] is blank: there is no sentence to compare")
        return trees  # type: ignore[return-value]

    def evaluate(self, pairs: Sequence, batch_size: int = 256, device=None) -> Dict[str, float]:
        """Pearson r, Spearman rho and MSE against the gold scores, in eval mode.

        Args:
            pairs: scored pairs (objects with ``.a``, ``.b``, ``.score``, or tuples).
            batch_size: pairs per batch.
            device: where to run (``None``: where the model is); the model goes
                back afterwards, and so does its training mode.

        Returns:
            ``pearson``, ``spearman``, ``mse`` and the number of ``pairs``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if len(pairs) < 2:
            raise ValueError(f"correlations need at least 2 pairs, got {len(pairs)}")
        parts = [_pair(p, i) for i, p in enumerate(pairs)]
        preds = []
        with self.evaluating(device) as dev:
            for start in range(0, len(parts), batch_size):
                left, right, _ = self.collate(parts[start:start + batch_size], dev)
                preds.append(self.head.predict(self(left, right)).cpu())
        gold = torch.tensor([float(s) for _, _, s in parts], dtype=torch.float64)  # [B], not rounded to float32
        metrics = relatedness_metrics(torch.cat(preds), gold)
        metrics["pairs"] = len(pairs)
        return metrics
