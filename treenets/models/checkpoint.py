"""Saving a task model to one file and rebuilding it from that file alone.

The file holds plain data only (a dict of strings, numbers, lists and
tensors), so it is read with ``torch.load(weights_only=True)``: loading a
checkpoint never runs code from it. It carries the checksum of what it holds
(:func:`treenets.utils.digest.content_digest`), computed again on load: a
flipped bit that ``torch.load`` still reads is an error naming the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence, Tuple, Union

import torch

from ..utils.atomic import atomic_write
from ..utils.digest import content_digest
from ..nn.vocab import Vocab
from .base import TaskModel
from .config_check import check_config_fields, compare_shapes, meta_shapes
from .tasks import TASKS

__all__ = ["save_checkpoint", "load_checkpoint"]

_FORMAT = "treenets-checkpoint"
_VERSION = 2  # 2: with "sha256"; files without "format" are of version 1 (no checksum) and still read
_KEYS = {"format", "version", "task", "config", "state_dict", "vocab", "extra", "sha256"}


def save_checkpoint(path: Union[str, Path], model: TaskModel, **extra) -> None:
    """Write the model's weights, config and vocabulary to ``path`` atomically.

    ``extra`` (plain data: strings, numbers, lists, dicts, ``None``) is stored
    alongside and returned by :func:`load_checkpoint`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vocab = model.vocab
    payload = {"format": _FORMAT, "version": _VERSION, "task": model.task, "config": model.config,
               "state_dict": model.state_dict(),
               "vocab": {"itos": vocab.itos, "unk": vocab.unk, "lower": vocab.lower,
                         "normalize": vocab.normalize}, "extra": extra}
    payload["sha256"] = content_digest(payload)
    with atomic_write(path) as f:
        torch.save(payload, f)


def load_checkpoint(path: Union[str, Path], map_location="cpu", *,
                    transformer_roots: Sequence[Union[str, Path]] = ()) -> Tuple[TaskModel, Dict]:
    """Rebuild a model saved by :func:`save_checkpoint`; returns ``(model, extra)``.

    The model comes back in training mode with its vocabulary (``model.vocab``),
    on ``map_location`` when that names a device. ``transformer_roots``: as
    for :func:`treenets.load`, where a contextual model's transformer may come from.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a treenets checkpoint (torn, foreign, or
            holding anything but plain data), or a damaged one (a checksum that
            does not match, entries missing or of the wrong type, weights that
            do not fit the config or hold NaN or inf); the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a torn or foreign file, or one holding objects other than plain data
        raise ValueError(f"{path} is not a treenets checkpoint: {err}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("task"), str) or payload["task"] not in TASKS:
        raise ValueError(f"{path} is not a treenets checkpoint (no known 'task' entry)")
    unknown = sorted(map(str, set(payload) - _KEYS))
    if unknown:
        raise ValueError(f"{path} is a damaged treenets checkpoint: unknown entries {unknown[:5]}")
    if "format" in payload or "version" in payload or "sha256" in payload:
        if payload.get("format") != _FORMAT or payload.get("version") != _VERSION:
            raise ValueError(f"{path} is a damaged treenets checkpoint or one of a newer treenets (format "
                             f"{payload.get('format')!r}, version {payload.get('version')!r}; this one reads "
                             f"version {_VERSION})")
        stored = payload.pop("sha256", None)
        if stored != content_digest(payload):
            raise ValueError(f"{path} is a damaged treenets checkpoint: the checksum of what it holds does not "
                             f"match the one stored with it (flipped bits, or an edit)")
    try:
        config = dict(payload["config"])
        v = payload["vocab"]
        if not isinstance(v["itos"], list) or not all(isinstance(tok, str) for tok in v["itos"]):
            raise ValueError("its vocabulary is not a list of strings")
        if not isinstance(payload.get("extra", {}), dict):
            raise ValueError(f"its 'extra' entry is a {type(payload['extra']).__name__}, not a dict")
        if not isinstance(v["lower"], bool):
            raise ValueError(f"its vocabulary's 'lower' is {v['lower']!r}, not true or false")
        check_config_fields(config, "its config", "config")
        vocab = Vocab.from_itos(v["itos"], unk=v["unk"], lower=v["lower"], normalize=v.get("normalize"))
        vocab_size = config.pop("vocab_size")
        if vocab_size != len(vocab):
            raise ValueError(f"its config says {vocab_size} words but its vocabulary has {len(vocab)}")
        state = payload["state_dict"]
        if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
            raise ValueError("its 'state_dict' is not a dict of tensors")
        # the shapes the config implies, from a build that allocates nothing, before the real one
        compare_shapes(meta_shapes(payload["task"], vocab, config.get("embed_size"), config.get("hidden_size"),
                                   {k: v for k, v in config.items() if k not in ("embed_size", "hidden_size")}),
                       {k: tuple(t.shape) for k, t in state.items()}, isinstance(config.get("embedding"), dict),
                       path, "its config")
        if isinstance(config.get("embedding"), dict) and config["embedding"].get("kind") == "contextual":
            from ..nn.contextual import ContextualEmbedding

            config["embedding"] = ContextualEmbedding.from_config(config["embedding"], roots=transformer_roots)
        model = TASKS[payload["task"]](vocab, config.pop("embed_size"), config.pop("hidden_size"), **config)
        model.load_state_dict(payload["state_dict"])
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise ValueError(f"its weights {name!r} hold NaN or inf")
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path} is a damaged treenets checkpoint: {err}") from None
    if isinstance(map_location, (str, torch.device)):
        model.to(map_location)
    return model, payload.get("extra", {})
