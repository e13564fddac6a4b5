"""What every task model shares: a vocabulary, an embedding, a tree cell.

A task model owns its whole pipeline from trees to a number:

* its :class:`~treenets.Vocab` (``model.vocab``) and :meth:`TaskModel.batch`,
  which turns trees into a :class:`~treenets.TreeBatch` with it;
* :meth:`TaskModel.collate`, which turns a list of training examples (trees,
  or sentence pairs) into the inputs of :meth:`~TaskModel.loss`;
* ``loss``, ``predict_batch`` and ``evaluate``;
* its input pipeline: the tree kind it reads (``model.config["tree"]``), how
  constituency trees are binarized, and :meth:`TaskModel.parser`, the parser
  that turns raw text into such trees, whatever the caller's defaults;
* :meth:`TaskModel.save`, a model directory (:mod:`treenets.formats.model_dir`)
  that :func:`treenets.load` rebuilds all of this from.

So a training loop needs nothing but the model and its examples
(:func:`treenets.training.train_epoch`).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..structures.batch import TreeBatch
from ..cells import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, SequentialLSTM, SpanMean, TreeCell
from ..nn.encoder import TreeEncoder
from ..structures.sentence import check_tree_kind
from ..structures.tree import check_binarize
from ..formats.vectors import first_non_finite_row
from ..nn.vocab import Vocab
from ..formats.model_dir import write_model_dir
from ..utils.version import __version__

Tensor = torch.Tensor
PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["CELLS", "build_cell", "build_embedding", "embedding_spec", "TaskModel", "save_model"]

CELLS = {
    "childsum": ChildSumTreeLSTM,
    "nary": NaryTreeLSTM,
    "slstm": SLSTM,
    "sequential": SequentialLSTM,
    "span-mean": SpanMean,  # no tree: each node the mean of its span's word vectors (a baseline)
}

#: An embedding module (with ``embedding_dim`` and ``forward(batch)``), its spec
#: as saved in ``model.config["embedding"]``, or ``None`` for an ``nn.Embedding``.
EmbeddingArg = Union[None, nn.Module, Dict[str, Any]]


#: The trees a cell reads when the model does not say: N-ary cells and S-LSTM binary
#: constituency trees, Child-Sum dependency trees; the sequential LSTM reads chains
#: (no parser tree kind); the span-mean baseline's nodes are constituency spans.
DEFAULT_TREE = {"nary": "constituency", "slstm": "constituency", "childsum": "dependency", "sequential": None,
                "span-mean": "constituency"}


def build_cell(name: str, in_size: int, hidden_size: int, **options) -> TreeCell:
    """Make a cell by name: ``childsum``, ``nary``, ``slstm``, ``sequential``, or ``span-mean`` (the
    no-tree baseline, :class:`~treenets.SpanMean`)."""
    if name not in CELLS:
        raise ValueError(f"unknown cell {name!r}; choose one of {sorted(CELLS)}")
    return CELLS[name](in_size, hidden_size, **options)


def build_embedding(embedding: EmbeddingArg) -> Optional[nn.Module]:
    """The embedding module a task model runs: ``embedding`` itself, or rebuilt from its spec
    (``{"kind": "contextual", ...}``, see :func:`embedding_spec`); ``None`` stays ``None``."""
    if embedding is None or isinstance(embedding, nn.Module):
        return embedding
    if not isinstance(embedding, dict):
        raise TypeError(f"embedding must be a module or its saved spec (a dict), not {type(embedding).__name__}")
    kind = embedding.get("kind")
    if kind == "contextual":
        from ..nn.contextual import ContextualEmbedding

        return ContextualEmbedding.from_config(embedding)
    raise ValueError(f"cannot rebuild an embedding of kind {kind!r} (known: 'contextual'); "
                     f"build the model with the module itself (embedding=...)")


def embedding_spec(module: nn.Module) -> Dict[str, Any]:
    """What ``model.config["embedding"]`` holds for an embedding module: plain data that rebuilds it
    (:func:`build_embedding`). A module of another class is named there but cannot be rebuilt."""
    spec = getattr(module, "spec", None)
    if callable(spec):
        return spec()
    return {"kind": "custom", "class": f"{type(module).__module__}.{type(module).__qualname__}",
            "embedding_dim": int(module.embedding_dim)}


def move(inputs: Any, device: Optional[torch.device]) -> Any:
    """``inputs`` (a TreeBatch, a tensor, or a tuple of them) on ``device``; ``None`` leaves them."""
    if device is None:
        return inputs
    if isinstance(inputs, tuple):
        return tuple(move(x, device) for x in inputs)
    return inputs.to(device)


class TaskModel(nn.Module):
    """Embeddings + a tree cell (a :class:`~treenets.TreeEncoder`), with the vocabulary they index.

    Subclasses add a head and define :meth:`collate`, :meth:`loss`,
    ``predict_batch`` and :meth:`evaluate`.

    Args:
        vocab: the words the embedding rows stand for (kept as ``model.vocab``
            and saved with the model).
        embed_size: size of a word vector.
        hidden_size: the cell's state size.
        cell: ``nary``, ``childsum``, ``slstm``, ``sequential`` or ``span-mean`` (:func:`build_cell`).
        cell_options: keyword options for the cell.
        freeze_embeddings: keep the word vectors fixed.
        tree: the trees the model reads, ``"constituency"`` or
            ``"dependency"`` (``None``: :data:`DEFAULT_TREE` of the cell).
            :meth:`parser` parses raw text into this kind.
        binarize: for constituency trees, ``"right"``, ``"left"`` or ``None``
            (kept as they are); ignored for dependency trees.
        embedding: instead of an ``nn.Embedding`` over ``vocab``, a module
            that reads the batch's trees itself (``embedding_dim`` and
            ``forward(batch) -> [N, embedding_dim]``), such as
            :class:`~treenets.ContextualEmbedding`, or its saved spec (a dict,
            rebuilt by :func:`build_embedding`). ``vocab`` may then be
            ``None`` (an empty one is kept) and ``embed_size`` ``None`` (the
            module's size). ``config["embedding"]`` describes it (see
            :func:`embedding_spec`), so that a saved model can rebuild it; a
            frozen transformer's weights are not in the ``state_dict``.

    Attributes:
        config: the constructor's arguments (plain data); with the task and
            the vocabulary they rebuild the model (:meth:`save`).
        metadata: plain data saved with the model (how it was trained, its
            scores); empty for a new model.
        name: the pretrained name or the directory :func:`treenets.load` read
            it from; ``None`` for a new model.
    """

    task = ""
    #: stanza options of the model's parser beyond tree kind and binarization
    parser_options: Dict[str, Any] = {}

    def __init__(self, vocab: Optional[Vocab], embed_size: Optional[int], hidden_size: int, cell: str,
                 cell_options: Optional[dict], freeze_embeddings: bool, tree: Optional[str] = None,
                 binarize: Optional[str] = "right", embedding: EmbeddingArg = None) -> None:
        super().__init__()
        module = build_embedding(embedding)
        if module is not None:
            vocab = Vocab() if vocab is None else vocab  # the batch's words are read from its trees
            if embed_size is None:
                embed_size = module.embedding_dim
            elif embed_size != module.embedding_dim:
                raise ValueError(f"embed_size {embed_size} != the embedding module's embedding_dim "
                                 f"{module.embedding_dim}")
        if not isinstance(vocab, Vocab):
            raise TypeError(f"{type(self).__name__} takes the Vocab itself as its first argument "
                            f"(it builds batches with it and saves it), not a {type(vocab).__name__}")
        if embed_size is None:
            raise ValueError("embed_size is needed unless an embedding module is given")
        if tree is None:
            tree = DEFAULT_TREE.get(cell)
        else:
            check_tree_kind(tree)
        check_binarize(binarize)
        self.vocab = vocab
        self.config: Dict = {"vocab_size": len(vocab), "embed_size": embed_size, "hidden_size": hidden_size,
                             "cell": cell, "cell_options": dict(cell_options or {}),
                             "freeze_embeddings": freeze_embeddings, "tree": tree,
                             "binarize": binarize if tree == "constituency" else None}
        self.metadata: Dict = {}
        self.name: Optional[str] = None  # the pretrained name or directory it was loaded from
        if module is None:
            module = nn.Embedding(len(vocab), embed_size)
            module.weight.requires_grad_(not freeze_embeddings)
        else:
            self.config["embedding"] = embedding_spec(module)
        self.encoder = TreeEncoder(module, build_cell(cell, embed_size, hidden_size, **(cell_options or {})))

    # ------------------------------------------------------------ parameters
    @property
    def device(self) -> torch.device:
        """Where the parameters are."""
        return next(self.encoder.cell.parameters()).device

    def load_embeddings(self, vectors: Tensor) -> None:
        """Copy pretrained vectors (``[len(vocab), embed_size]``) into the embedding.

        Raises:
            ValueError: vectors of another shape, or a row holding NaN or inf (naming its word).
            TypeError: the model's embedding is not an ``nn.Embedding`` (a contextual one, say).
        """
        if not isinstance(self.encoder.embedding, nn.Embedding):
            raise TypeError(f"load_embeddings copies word vectors into an nn.Embedding; this model's embedding "
                            f"is a {type(self.encoder.embedding).__name__}")
        weight = self.encoder.embedding.weight
        if tuple(vectors.shape) != tuple(weight.shape):
            raise ValueError(f"vectors have shape {tuple(vectors.shape)}, the embedding {tuple(weight.shape)}")
        row = first_non_finite_row(vectors)
        if row is not None:
            raise ValueError(f"the vector of {self.vocab.itos[row]!r} (row {row}) holds NaN or inf; it would make "
                             f"every state that sees it NaN")
        with torch.no_grad():
            weight.copy_(vectors)

    def embedding_parameters(self) -> List[nn.Parameter]:
        """The embedding's parameters: the word vectors (the paper tunes them with their own optimizer on
        SST; frozen ones are returned too, with ``requires_grad`` off), or a fine-tuned transformer's
        weights (none for a frozen transformer, which is not a submodule)."""
        return list(self.encoder.embedding.parameters())

    def model_parameters(self) -> List[nn.Parameter]:
        """Every trained parameter except the embedding's (which are trained separately)."""
        emb = {id(p) for p in self.encoder.embedding.parameters()}
        return [p for p in self.parameters() if id(p) not in emb and p.requires_grad]

    # ------------------------------------------------------------------ data
    def batch(self, trees: Sequence, device=None) -> TreeBatch:
        """One :class:`~treenets.TreeBatch` of ``trees``, words looked up in ``model.vocab``.

        Args:
            trees: :class:`~treenets.Tree` objects.
            device: where the batch goes; ``None`` for the model's device.
        """
        return TreeBatch.from_trees(trees, self.vocab).to(self.device if device is None else device)

    def collate(self, items: Sequence, device=None) -> Tuple:
        """The inputs of :meth:`loss` for a list of training examples, on ``device``
        (``None``: the model's device)."""
        raise NotImplementedError

    def loss(self, *inputs) -> Tensor:
        raise NotImplementedError

    def evaluate(self, items: Sequence, batch_size: int = 256, device=None) -> Dict[str, float]:
        raise NotImplementedError

    # ------------------------------------------------------------- raw text
    @property
    def tree_kind(self) -> Optional[str]:
        """``"constituency"`` or ``"dependency"``: the trees this model reads."""
        return self.config.get("tree")

    def parser(self, device: Optional[str] = None, **options):
        """The parser that turns raw text into the trees this model reads.

        A :class:`~treenets.parsers.StanzaParser` (English models from
        ``$STANZA_RESOURCES_DIR``) producing the model's tree kind, binarized
        as the model was trained, whatever the caller's defaults. Made once per
        process for each configuration (:mod:`treenets.parsers.registry`) and
        loaded on first use, so a parse cache hit never loads stanza.

        Args:
            device: the parser's device (``None``: stanza's choice, the CPU here).
            **options: other :class:`~treenets.parsers.StanzaParser` options,
                e.g. ``tokenize_no_ssplit=True`` (one sentence per text).

        Raises:
            ValueError: the model has no tree kind (a sequential LSTM).
        """
        tree = self.tree_kind
        if tree is None:
            raise ValueError(f"this {type(self).__name__} (cell {self.config['cell']!r}) reads no parser tree kind; "
                             f"give it Trees")
        from ..parsers.registry import stanza_parser

        return stanza_parser(**{"dependency": tree == "dependency", "constituency": tree == "constituency",
                                "binarize": self.config.get("binarize") if tree == "constituency" else None,
                                "device": device, "logging_level": "ERROR", **self.parser_options, **options})

    def prepare(self, tree):
        """A tree as this model reads it: a constituency tree with more than two children
        is binarized the model's way (``config["binarize"]``); anything else is returned as it is."""
        factor = self.config.get("binarize")
        if (self.tree_kind == "constituency" and factor is not None and tree.max_children > 2
                and all(tree.tokens[i] is None for i in range(len(tree)) if tree.children[i])):
            return tree.binarize(factor)
        return tree

    # ------------------------------------------------------------------ files
    def save(self, path, *, embedding_dtype: str = "float32", metadata: Optional[Dict] = None,
             weights_dtype: str = "float32") -> None:
        """Write the model as a directory (``config.json``, ``model.safetensors``, ``vocab.txt``,
        ``SHA256SUMS``; see :mod:`treenets.formats.model_dir`), atomically.

        Args:
            path: the directory (replaced as a whole if it exists).
            embedding_dtype: ``"float32"`` or ``"float16"`` for the word
                vectors (half the size; they are read back as float32).
            metadata: plain data stored in ``config.json`` (how the model was
                trained, its scores), merged over ``model.metadata``.
            weights_dtype: the same for the other weights.
        """
        save_model(self, path, embedding_dtype=embedding_dtype, metadata=metadata, weights_dtype=weights_dtype)

    @contextlib.contextmanager
    def evaluating(self, device=None) -> Iterator[torch.device]:
        """Eval mode, no gradients, and (when ``device`` is given) the model on ``device``;
        the training mode and the device are restored afterwards. Yields the device."""
        was_training, home = self.training, self.device
        device = home if device is None else torch.device(device)
        if device != home:
            self.to(device)
        self.eval()
        try:
            with torch.no_grad():
                yield device
        finally:
            self.train(was_training)
            if device != home:
                self.to(home)

    def extra_repr(self) -> str:
        return f"task={self.task!r}, vocab={len(self.vocab)} words, tree={self.tree_kind!r}"



#: The word-vector table's name among a model's weights.
EMBEDDING = "encoder.embedding.weight"
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def save_model(model: TaskModel, path: PathLike, *, embedding_dtype: str = "float32",
               metadata: Optional[Dict] = None, weights_dtype: str = "float32") -> Path:
    """Write ``model`` as a model directory at ``path`` (see :meth:`TaskModel.save`; :func:`treenets.load` reads it).

    ``weights_dtype`` stores the other floating-point tensors as ``float16`` or
    ``bfloat16`` (half the size; read back in the model's own dtype)."""
    for what, dtype in (("embedding_dtype", embedding_dtype), ("weights_dtype", weights_dtype)):
        if dtype not in _DTYPES:
            raise ValueError(f"{what} must be one of {sorted(_DTYPES)}, not {dtype!r}")
    vocab = model.vocab
    config = {
        "task": model.task,
        "model": dict(model.config),
        "vocab": {"size": len(vocab), "unk": vocab.unk, "lower": vocab.lower, "normalize": vocab.normalize},
        "treenets_version": __version__,
        "metadata": {**model.metadata, **(metadata or {})},
    }
    tensors = {name: t.to(_DTYPES[weights_dtype]) if t.is_floating_point() else t
               for name, t in model.state_dict().items()}
    if EMBEDDING in tensors:  # word vectors; a contextual embedding keeps its transformer's own dtype
        tensors[EMBEDDING] = tensors[EMBEDDING].to(_DTYPES[embedding_dtype])
    return write_model_dir(path, config, tensors, vocab.itos)
