"""Complete models for the paper's two tasks, rebuildable from a plain config.

* :class:`SentimentModel`: embeddings + tree cell + :class:`NodeClassifier` (SST).
* :class:`RelatednessModel`: embeddings + tree cell, shared by both sentences of
  a pair, + :class:`SimilarityHead` (SICK).

Both are saved with :func:`save_checkpoint` and rebuilt with
:func:`load_checkpoint`, which needs nothing but the file: the vocabulary and
the config travel with the weights.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from .batch import TreeBatch
from .cells import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, SequentialLSTM, TreeCell
from .encoder import TreeEncoder
from .heads import NodeClassifier, SimilarityHead
from .vocab import Vocab

Tensor = torch.Tensor

__all__ = ["CELLS", "build_cell", "SentimentModel", "RelatednessModel", "save_checkpoint", "load_checkpoint"]

CELLS = {
    "childsum": ChildSumTreeLSTM,
    "nary": NaryTreeLSTM,
    "slstm": SLSTM,
    "sequential": SequentialLSTM,
}


def build_cell(name: str, in_size: int, hidden_size: int, **options) -> TreeCell:
    """Make a cell by name: ``childsum``, ``nary``, ``slstm`` or ``sequential``."""
    if name not in CELLS:
        raise ValueError(f"unknown cell {name!r}; choose one of {sorted(CELLS)}")
    return CELLS[name](in_size, hidden_size, **options)


class _TaskModel(nn.Module):
    task = ""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, cell: str, cell_options: Optional[dict],
                 freeze_embeddings: bool) -> None:
        super().__init__()
        self.config: Dict = {"vocab_size": vocab_size, "embed_size": embed_size, "hidden_size": hidden_size,
                             "cell": cell, "cell_options": dict(cell_options or {}),
                             "freeze_embeddings": freeze_embeddings}
        embedding = nn.Embedding(vocab_size, embed_size)
        embedding.weight.requires_grad_(not freeze_embeddings)
        self.encoder = TreeEncoder(embedding, build_cell(cell, embed_size, hidden_size, **(cell_options or {})))

    def load_embeddings(self, vectors: Tensor) -> None:
        """Copy pretrained vectors (``[vocab_size, embed_size]``) into the embedding."""
        weight = self.encoder.embedding.weight
        if tuple(vectors.shape) != tuple(weight.shape):
            raise ValueError(f"vectors have shape {tuple(vectors.shape)}, the embedding {tuple(weight.shape)}")
        with torch.no_grad():
            weight.copy_(vectors)

    def model_parameters(self):
        """Every trained parameter except the embedding (which the paper trains separately)."""
        emb = self.encoder.embedding.weight
        return [p for p in self.parameters() if p is not emb and p.requires_grad]


class SentimentModel(_TaskModel):
    """Tree-LSTM sentiment classifier over every node (Tai et al. 2015, section 5.1).

    Args:
        vocab_size, embed_size: the embedding table.
        hidden_size: the cell's state size (150 constituency, 168 dependency in the paper).
        n_classes: 5 (fine-grained), 2 (binary), or 3 with ``masked_classes=(1,)``
            (binary the paper code's way: neutral trained, never predicted).
        cell: ``nary`` (Constituency Tree-LSTM), ``childsum``, ``slstm`` or ``sequential``.
        cell_options: keyword options for the cell, e.g. ``{"leaf_input_only": True}``.
        dropout: dropout before the softmax (0.5 in the paper).
        freeze_embeddings: keep the word vectors fixed.
        masked_classes: classes trained on but never predicted.

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` with ``N`` nodes
        - output: ``[N, n_classes]`` logits
    """

    task = "sentiment"

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int = 150, n_classes: int = 5, *,
                 cell: str = "nary", cell_options: Optional[dict] = None, dropout: float = 0.5,
                 freeze_embeddings: bool = False, masked_classes: Sequence[int] = ()) -> None:
        super().__init__(vocab_size, embed_size, hidden_size, cell, cell_options, freeze_embeddings)
        self.config.update(n_classes=n_classes, dropout=dropout, masked_classes=list(masked_classes))
        self.classifier = NodeClassifier(hidden_size, n_classes, dropout=dropout, masked_classes=masked_classes)

    def forward(self, batch: TreeBatch) -> Tensor:
        h, _ = self.encoder(batch)
        return self.classifier(h)


class RelatednessModel(_TaskModel):
    """Tree-LSTM sentence-pair relatedness (Tai et al. 2015, section 5.2).

    Args:
        vocab_size, embed_size: the embedding table (frozen in the paper).
        hidden_size: the cell's state size (150 in the paper).
        sim_hidden: the similarity layer (50 in the paper).
        n_classes: ``K``, scores ``1..K``.
        cell: ``childsum`` (Dependency Tree-LSTM) or ``nary`` (Constituency).
        cell_options: e.g. ``{"output_gate": False}`` (the paper code's SICK setting).
        freeze_embeddings: keep the word vectors fixed (the paper does).

    Shapes:
        - left, right: two :class:`~treenets.TreeBatch` with ``B`` trees each
        - output: ``[B, n_classes]`` log-probabilities
    """

    task = "relatedness"

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int = 150, sim_hidden: int = 50,
                 n_classes: int = 5, *, cell: str = "childsum", cell_options: Optional[dict] = None,
                 freeze_embeddings: bool = True) -> None:
        super().__init__(vocab_size, embed_size, hidden_size, cell, cell_options, freeze_embeddings)
        self.config.update(sim_hidden=sim_hidden, n_classes=n_classes)
        self.head = SimilarityHead(hidden_size, sim_hidden, n_classes)

    def encode_roots(self, batch: TreeBatch) -> Tensor:
        h, _ = self.encoder(batch)
        return h.index_select(0, batch.roots)  # [B, H]

    def forward(self, left: TreeBatch, right: TreeBatch) -> Tensor:
        if left.num_trees != right.num_trees:
            raise ValueError(f"{left.num_trees} left trees but {right.num_trees} right trees")
        return self.head(self.encode_roots(left), self.encode_roots(right))


_TASKS = {"sentiment": SentimentModel, "relatedness": RelatednessModel}


def save_checkpoint(path: Union[str, Path], model: _TaskModel, vocab: Vocab, **extra) -> None:
    """Write weights, config and vocabulary to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"task": model.task, "config": model.config, "state_dict": model.state_dict(),
               "vocab": {"itos": vocab.itos, "unk": vocab.unk, "lower": vocab.lower}, "extra": extra}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(path: Union[str, Path], map_location="cpu") -> Tuple[_TaskModel, Vocab, dict]:
    """Rebuild a model saved by :func:`save_checkpoint`; returns ``(model, vocab, extra)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # a torn or foreign file
        raise ValueError(f"{path} is not a treenets checkpoint: {err}") from None
    if not isinstance(payload, dict) or payload.get("task") not in _TASKS:
        raise ValueError(f"{path} is not a treenets checkpoint (no known 'task' entry)")
    config = dict(payload["config"])
    cls = _TASKS[payload["task"]]
    vocab_size, embed_size, hidden = config.pop("vocab_size"), config.pop("embed_size"), config.pop("hidden_size")
    model = cls(vocab_size, embed_size, hidden, **config)
    model.load_state_dict(payload["state_dict"])
    v = payload["vocab"]
    vocab = Vocab.from_itos(v["itos"], unk=v["unk"], lower=v["lower"])
    return model, vocab, payload.get("extra", {})
