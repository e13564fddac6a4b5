"""Saving a task model to one file and rebuilding it from that file alone.

The file holds plain data only (a dict of strings, numbers, lists and
tensors), so it is read with ``torch.load(weights_only=True)``: loading a
checkpoint never runs code from it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple, Union

import torch

from ..utils.atomic import atomic_write
from ..nn.vocab import Vocab
from .base import TaskModel
from .tasks import TASKS

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(path: Union[str, Path], model: TaskModel, **extra) -> None:
    """Write the model's weights, config and vocabulary to ``path`` atomically.

    ``extra`` (plain data: strings, numbers, lists, dicts, ``None``) is stored
    alongside and returned by :func:`load_checkpoint`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vocab = model.vocab
    payload = {"task": model.task, "config": model.config, "state_dict": model.state_dict(),
               "vocab": {"itos": vocab.itos, "unk": vocab.unk, "lower": vocab.lower,
                         "normalize": vocab.normalize}, "extra": extra}
    with atomic_write(path) as f:
        torch.save(payload, f)


def load_checkpoint(path: Union[str, Path], map_location="cpu") -> Tuple[TaskModel, Dict]:
    """Rebuild a model saved by :func:`save_checkpoint`; returns ``(model, extra)``.

    The model comes back in training mode with its vocabulary (``model.vocab``),
    on ``map_location`` when that names a device.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a treenets checkpoint (torn, foreign, or
            holding anything but plain data), or a damaged one (entries missing
            or of the wrong type, weights that do not fit the config or hold
            NaN or inf); the message names the file.
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
    try:
        config = dict(payload["config"])
        v = payload["vocab"]
        if not isinstance(v["itos"], list) or not all(isinstance(tok, str) for tok in v["itos"]):
            raise ValueError("its vocabulary is not a list of strings")
        if not isinstance(payload.get("extra", {}), dict):
            raise ValueError(f"its 'extra' entry is a {type(payload['extra']).__name__}, not a dict")
        if not isinstance(v["lower"], bool):
            raise ValueError(f"its vocabulary's 'lower' is {v['lower']!r}, not true or false")
        vocab = Vocab.from_itos(v["itos"], unk=v["unk"], lower=v["lower"], normalize=v.get("normalize"))
        vocab_size = config.pop("vocab_size")
        if vocab_size != len(vocab):
            raise ValueError(f"its config says {vocab_size} words but its vocabulary has {len(vocab)}")
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
