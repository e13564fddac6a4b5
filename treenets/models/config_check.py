"""Checking a saved model's config before anything is built: field types and ranges, and the
tensor shapes the config implies (from a ``meta``-device build, which allocates nothing) against
the stored ones. Shared by model directories (:mod:`treenets.models.saving`) and one-file
checkpoints (:mod:`treenets.models.checkpoint`).
"""
from __future__ import annotations

import math
from typing import Any, Dict

import torch

from ..nn.vocab import Vocab
from .base import EMBEDDING
from .tasks import TASKS
from .contrast import CONTRAST_KEY, check_contrast_rule
from .temperature import check_temperature

__all__ = ["SIZE_RANGES", "check_config_fields", "compare_shapes", "meta_shapes", "field_error", "Placeholder"]

#: The range of every size in a config's "model" section: past it a config is refused before anything is built.
SIZE_RANGES = {"vocab_size": (0, 50_000_000), "embed_size": (1, 65_536), "hidden_size": (1, 65_536),
               "sim_hidden": (1, 65_536), "n_classes": (2, 100_000), "n_ary": (1, 64), "max_length": (1, 1 << 20)}
_BOOLS = {"freeze_embeddings", "output_gate", "leaf_input_only", "finetune", "lower"}
_FLOATS = {"dropout": (0.0, 1.0)}
_STRINGS = {"cell", "tree", "binarize", "leaf", "pooling", "unk", "normalize", "model_name_or_path", "kind"}


def field_error(where, field: str, value: Any, want: str) -> ValueError:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return ValueError(f"{where}: \"{field}\" must be {want}, not {shown}")


def check_config_fields(section: Dict, where, prefix: str = "model") -> None:
    """Refuse a field of a config section of the wrong type or out of range, naming the file and field.

    Sizes (:data:`SIZE_RANGES`) are integers in range (not ``1e9``, ``true``
    or a list); switches are ``true`` or ``false`` (not ``"no"``); ``dropout``
    is a finite number in [0, 1); ``temperature`` a number in
    :data:`~treenets.models.temperature.TEMPERATURE_RANGE`; ``contrast_rule`` an object
    ``{"weight": C}`` (:func:`~treenets.models.contrast.check_contrast_rule`); names are strings or ``null``;
    ``masked_classes`` a list of class ids; ``labels`` a list of strings.
    Nested sections (``cell_options``, ``embedding``) are checked the same way.
    """
    for key, value in section.items():
        field = f"{prefix}.{key}"
        if key in SIZE_RANGES:
            low, high = SIZE_RANGES[key]
            if not isinstance(value, int) or isinstance(value, bool):
                raise field_error(where, field, value, f"an integer from {low} to {high:,}")
            if not low <= value <= high:
                raise field_error(where, field, value, f"from {low} to {high:,} (a size past it is refused "
                                                        f"before anything is allocated)")
        elif key in _BOOLS:
            if not isinstance(value, bool):
                raise field_error(where, field, value, "true or false")
        elif key in _FLOATS:
            low, high = _FLOATS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not low <= value < high:
                raise field_error(where, field, value, f"a finite number in [{low:g}, {high:g})")
        elif key == "temperature":
            check_temperature(value, where, field)
        elif key == CONTRAST_KEY:
            check_contrast_rule(value, where, field)
        elif key in _STRINGS:
            if value is not None and not isinstance(value, str):
                raise field_error(where, field, value, "a string or null")
        elif key == "masked_classes":
            if not isinstance(value, list) or not all(isinstance(k, int) and not isinstance(k, bool) for k in value):
                raise field_error(where, field, value, "a list of class ids (integers)")
        elif key == "labels":
            if value is not None and (not isinstance(value, list) or not all(isinstance(x, str) for x in value)):
                raise field_error(where, field, value, "a list of strings")
        elif key == "layers":
            if not isinstance(value, list) or not all(isinstance(k, int) and not isinstance(k, bool) for k in value):
                raise field_error(where, field, value, "a list of layer numbers (integers)")
        elif key in ("cell_options", "embedding"):
            if value is None and key == "cell_options":
                continue
            if not isinstance(value, dict):
                raise field_error(where, field, value, "an object")
            check_config_fields(value, where, field)
        elif key == "identity":
            continue  # hashes, compared as they are
        elif isinstance(value, float) and not math.isfinite(value):
            raise field_error(where, field, value, "a finite number")


class Placeholder(torch.nn.Module):
    """Stands for a contextual embedding in the shape check: its size, no transformer."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.embedding_dim = dim


def compare_shapes(expected: Dict[str, tuple], stored: Dict[str, tuple], contextual: bool, weights, config) -> None:
    """Refuse stored tensor shapes (``name -> shape``) that differ from those a model built from
    ``config`` has (``expected``, from a ``meta``-device build), naming both files. A contextual
    embedding's own tensors are left out (the transformer's come from its own folder)."""
    expected = {k: tuple(v) for k, v in expected.items()
                if not k.startswith("encoder.embedding.") or (k == EMBEDDING and not contextual)}
    stored = {k: tuple(v) for k, v in stored.items()
              if not k.startswith("encoder.embedding.") or (k == EMBEDDING and not contextual)}
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{weights} does not fit {config}: missing tensors {missing[:5]}, "
                         f"unexpected tensors {unexpected[:5]}")
    for name, want in expected.items():
        if stored[name] != want:
            raise ValueError(f"{weights}: tensor {name!r} has shape {list(stored[name])}, but "
                             f"{config} makes it {list(want)}")


def meta_shapes(task: str, vocab: Vocab, embed_size, hidden_size, options: Dict) -> Dict[str, tuple]:
    """The tensor shapes of the model ``TASKS[task](vocab, embed_size, hidden_size, **options)``, from a
    build on the ``meta`` device: nothing is allocated, so a size of 12,000 costs nothing. A contextual
    embedding's spec stands as a placeholder of its size."""
    options = dict(options)
    if isinstance(options.get("embedding"), dict):
        dim = embed_size if embed_size is not None else options["embedding"].get("embedding_dim")
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise ValueError(f"\"embed_size\" must be an integer, not {dim!r}")
        options["embedding"] = Placeholder(dim)
    with torch.device("meta"):
        model = TASKS[task](vocab, embed_size, hidden_size, **options)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}
