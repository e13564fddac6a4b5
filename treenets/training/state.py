"""The training state that resumes a run: one folder, written atomically, read without unpickling objects."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from ..utils.atomic import atomic_dir
from .seeding import rng_state, set_rng_state

__all__ = ["TrainingState", "save_training_state", "read_training_info", "load_training_state"]

_STATE_FORMAT = "treenets.training_state"
_STATE_VERSION = 1
_TENSORS = "state.pt"
_INFO = "state.json"


@dataclass
class TrainingState:
    """Everything a run needs to go on after ``epoch``: read by :func:`load_training_state`.

    Attributes:
        epoch: the last epoch completed.
        info: plain JSON data stored by the caller (best dev score, options, ...).
        model: the model's ``state_dict``.
        optimizers: one ``state_dict`` per optimizer, in order.
        schedulers: one ``state_dict`` per learning-rate scheduler, in order.
        generator: the data-order generator's state, or ``None``.
        rng: the random states (:func:`rng_state`) of every process, by rank.
        world_size: the number of processes the run had.
    """

    epoch: int
    info: Dict[str, Any]
    model: Dict[str, torch.Tensor]
    optimizers: List[Dict[str, Any]]
    schedulers: List[Dict[str, Any]] = field(default_factory=list)
    generator: Optional[torch.Tensor] = None
    rng: List[Dict[str, Any]] = field(default_factory=list)
    world_size: int = 1

    def restore(self, model: nn.Module, optimizers: Sequence[torch.optim.Optimizer] = (),
                schedulers: Sequence[Any] = (), generator: Optional[torch.Generator] = None,
                process: int = 0) -> bool:
        """Load the weights, optimizer and scheduler states, the generator and (last) the random states.

        Args:
            model: the model, built as it was when the state was saved.
            optimizers, schedulers: built over that model, as many as were saved.
            generator: the data-order generator.
            process: this process's rank; its own random states are restored.

        Returns:
            Whether this process's random states were in the state (a run
            resumed on more processes than it had has none for the new ones).

        Raises:
            ValueError: the state does not fit (other parameters, another
                number of optimizers or schedulers, no generator state).
        """
        for what, saved, now in (("optimizers", self.optimizers, optimizers),
                                 ("learning-rate schedulers", self.schedulers, schedulers)):
            if len(saved) != len(now):
                raise ValueError(f"the training state has {len(saved)} {what}, this run {len(now)}")
        try:
            model.load_state_dict(self.model)
        except RuntimeError as err:
            raise ValueError(f"the training state does not fit this model: {err}") from None
        for optimizer, sd in zip(optimizers, self.optimizers):
            try:
                optimizer.load_state_dict(sd)
            except (ValueError, KeyError) as err:
                raise ValueError(f"the training state does not fit this optimizer: {err}") from None
        for scheduler, sd in zip(schedulers, self.schedulers):
            scheduler.load_state_dict(sd)
        if generator is not None:
            if self.generator is None:
                raise ValueError("the training state holds no data-order generator state")
            generator.set_state(self.generator.cpu())  # a CPU ByteTensor, wherever the state was loaded to
        if process < len(self.rng):
            set_rng_state(self.rng[process])
            return True
        return False


def save_training_state(path: Union[str, Path], *, model: nn.Module, optimizers: Sequence[torch.optim.Optimizer],
                        epoch: int, schedulers: Sequence[Any] = (), generator: Optional[torch.Generator] = None,
                        rng: Optional[Sequence[Dict[str, Any]]] = None, info: Optional[Dict[str, Any]] = None) -> Path:
    """Write a :class:`TrainingState` to the folder ``path``, atomically.

    The folder holds ``state.pt`` (tensors and plain data: weights, optimizer
    and scheduler states, generator and random states; read with
    ``torch.load(weights_only=True)``) and ``state.json`` (the epoch and
    ``info``). It appears whole or not at all: a run killed while saving
    leaves the previous state in place (:func:`treenets.utils.atomic.atomic_dir`).

    Args:
        path: the folder (e.g. ``OUT/last``); replaced as a whole.
        model: the model (not a DDP wrapper).
        optimizers, schedulers: their ``state_dict()`` are saved, in order.
        epoch: the last epoch completed.
        generator: the data-order generator.
        rng: the random states of every process, by rank (default: this
            process's, :func:`rng_state`).
        info: plain JSON data (numbers, strings, lists, dicts) kept with the state.

    Returns:
        ``path``.
    """
    path = Path(path)
    info = dict(info or {})
    header = {"format": _STATE_FORMAT, "version": _STATE_VERSION, "epoch": int(epoch),
              "world_size": len(rng) if rng is not None else 1, "info": info}
    try:
        text = json.dumps(header, indent=1, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"info must be plain JSON data: {err}") from None
    payload = {"model": model.state_dict(), "optimizers": [o.state_dict() for o in optimizers],
               "schedulers": [s.state_dict() for s in schedulers],
               "generator": generator.get_state() if generator is not None else None,
               "rng": list(rng) if rng is not None else [rng_state()]}
    with atomic_dir(path) as tmp:
        torch.save(payload, tmp / _TENSORS)
        (tmp / _INFO).write_text(text + "\n", encoding="utf-8")
    return path


def read_training_info(path: Union[str, Path]) -> Dict[str, Any]:
    """The ``state.json`` of a training state folder: ``epoch``, ``world_size``, ``info`` (no tensors are read).

    Raises:
        FileNotFoundError: no ``state.json`` in ``path``.
        ValueError: it is not a treenets training state.
    """
    file = Path(path) / _INFO
    if not file.is_file():
        raise FileNotFoundError(f"no training state at {path} ({file} is missing)")
    try:
        header = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{file} is not a treenets training state: {err}") from None
    if not isinstance(header, dict) or header.get("format") != _STATE_FORMAT:
        raise ValueError(f"{file} is not a treenets training state (no format {_STATE_FORMAT!r})")
    if header.get("version") != _STATE_VERSION:
        raise ValueError(f"{file} is version {header.get('version')} of the training state; this treenets "
                         f"reads version {_STATE_VERSION}")
    return header


def load_training_state(path: Union[str, Path], map_location: Any = "cpu") -> TrainingState:
    """Read a folder written by :func:`save_training_state`.

    Nothing is unpickled but plain data: ``state.pt`` is read with
    ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: no training state in ``path``.
        ValueError: a damaged or foreign state.
    """
    header = read_training_info(path)
    file = Path(path) / _TENSORS
    if not file.is_file():
        raise FileNotFoundError(f"no training state at {path} ({file} is missing)")
    try:
        payload = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as err:  # torn, foreign, or holding objects other than plain data
        raise ValueError(f"{file} is not a treenets training state: {err}") from None
    try:
        return TrainingState(epoch=int(header["epoch"]), info=dict(header.get("info") or {}),
                             model=payload["model"], optimizers=list(payload["optimizers"]),
                             schedulers=list(payload["schedulers"]), generator=payload["generator"],
                             rng=list(payload["rng"]), world_size=int(header.get("world_size", 1)))
    except (KeyError, TypeError) as err:
        raise ValueError(f"{file} is a damaged treenets training state: {err}") from None
