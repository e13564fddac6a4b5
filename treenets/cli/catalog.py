"""The shipped models, described from their ``config.json`` alone: what ``treenets models`` lists.

Every model directory under :func:`treenets.utils.paths.pretrained_root`
(``sst5``, ``sst2``, ``sick`` and any other one placed there) is described by
reading its ``config.json`` as plain JSON, and its size by the sizes of its
files: nothing is loaded, checked against its sums or imported beyond the
standard library, so the listing answers at once (``treenets.load`` does the
checking when a model is used).
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from ..utils.extras import best_available, missing_extra
from ..utils.paths import pretrained_root

__all__ = ["ModelInfo", "describe_model", "shipped_models", "default_model", "HEADLINE_METRIC"]

#: The test score shown for each task: the metric the shipped models were selected on (on dev).
HEADLINE_METRIC = {"sentiment": "root_acc", "relatedness": "pearson"}
#: ``config.json`` is a few kilobytes; a bigger one is not read (a file swapped for a device or a huge file).
MAX_CONFIG_BYTES = 1 << 20
CONFIG_FILE = "config.json"


@dataclass
class ModelInfo:
    """One model directory, as its ``config.json`` describes it.

    Attributes:
        name: the directory's name (what ``--model`` and :func:`treenets.load` take).
        path: the directory.
        task: ``sentiment`` or ``relatedness``.
        labels: the classes it predicts, in class order (masked classes left
            out); for a relatedness model the ends of its scale, ``["1", "5"]``.
        tree: the trees it reads: ``dependency``, ``constituency``, or
            ``constituency, binarized right``.
        size_bytes: the size of its files on disk.
        metric: the name of its headline test score (:data:`HEADLINE_METRIC`).
        score: that score on the test set, or ``None`` when the config has none.
        test: every test score recorded in the config.
        description: the config's one-line description.
        recommended_for: the uses it is recommended for, with its rank (1 = best;
            :func:`treenets.default_model`).
        requires: the pip command of an optional extra it needs and this
            installation lacks (``None``: nothing missing).
        available: whether this installation can run it.
    """

    name: str
    path: str
    task: str
    labels: List[str]
    tree: str
    size_bytes: int
    metric: Optional[str]
    score: Optional[float]
    test: Dict[str, float] = field(default_factory=dict)
    description: str = ""
    recommended_for: Dict[str, int] = field(default_factory=dict)
    requires: Optional[str] = None
    available: bool = True

    def to_dict(self) -> Dict:
        """Plain data, for ``treenets models --format json``."""
        return asdict(self)


def _read_config(path: Path) -> Dict:
    file = path / CONFIG_FILE
    try:
        info = os.stat(file)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{file}: not a regular file")
        with open(file, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ValueError(f"{file} is missing") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"{file}: over {MAX_CONFIG_BYTES} bytes; not a treenets model config")
    try:
        config = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{file}:{err.lineno}: not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ValueError(f"{file}: not a treenets model config (no \"model\" object)")
    return config


def _size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):  # symlinks to folders are not followed
        for name in files:
            info = os.lstat(os.path.join(root, name))
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


def _labels(task: str, model: Dict, file: Path) -> List[str]:
    if task == "relatedness":
        return ["1", str(model.get("n_classes", 5))]
    labels = model.get("labels")
    if labels is None:
        n = model.get("n_classes")
        labels = [str(k) for k in range(n)] if isinstance(n, int) and 0 < n < 10_000 else []
    masked = model.get("masked_classes") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels) or not isinstance(masked, list):
        raise ValueError(f"{file}: model.labels must be a list of strings and model.masked_classes a list")
    return [x for k, x in enumerate(labels) if k not in masked]


def describe_model(path: Union[str, "os.PathLike[str]"]) -> ModelInfo:
    """A model directory's :class:`ModelInfo`, from its ``config.json`` (nothing else is read).

    Raises:
        ValueError: a ``config.json`` that is missing, not a regular file, not
            JSON or not a treenets model config (naming the file and line).
    """
    path = Path(path)
    config = _read_config(path)
    file = path / CONFIG_FILE
    task, model = config.get("task"), config["model"]
    if task not in HEADLINE_METRIC:
        raise ValueError(f"{file}: task must be one of {sorted(HEADLINE_METRIC)}, not {task!r}")
    meta = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
    missing = missing_extra(config)
    tree = str(model.get("tree") or "constituency")
    if model.get("binarize") and tree == "constituency":
        tree += f", binarized {model['binarize']}"
    test = meta.get("test") if isinstance(meta.get("test"), dict) else {}
    metric = HEADLINE_METRIC[task]
    score = test.get(metric)
    return ModelInfo(name=path.name, path=str(path), task=task, labels=_labels(task, model, file), tree=tree,
                     size_bytes=_size(path), metric=metric,
                     score=score if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                     test={k: v for k, v in test.items() if isinstance(v, (int, float))},
                     description=str(meta.get("description", "")),
                     recommended_for={str(k): int(v) for k, v in (meta.get("recommended_for") or {}).items()
                                      if isinstance(v, int) and not isinstance(v, bool)},
                     requires=missing, available=missing is None)


ENSEMBLE_FILE = "ensemble.json"


def describe_ensemble(path: Union[str, "os.PathLike[str]"]) -> ModelInfo:
    """An ensemble folder's :class:`ModelInfo`: its ``ensemble.json``, with the labels and trees of its first
    member (a folder beside it)."""
    path = Path(path)
    file = path / ENSEMBLE_FILE
    try:
        spec = json.loads(file.read_bytes()[:MAX_CONFIG_BYTES + 1].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{file}: not a JSON file ({err})") from None
    members = spec.get("members") if isinstance(spec, dict) else None
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise ValueError(f"{file}: needs \"members\": a list of model names")
    described = [describe_model(path.parent / m) for m in members]
    first = described[0]
    missing = next((d.requires for d in described if d.requires), None)
    meta = spec.get("metadata") if isinstance(spec.get("metadata"), dict) else {}
    test = meta.get("test") if isinstance(meta.get("test"), dict) else {}
    score = test.get(first.metric)
    return ModelInfo(name=path.name, path=str(path), task=first.task, labels=first.labels, tree=first.tree,
                     size_bytes=_size(path), metric=first.metric,
                     score=score if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                     test={k: v for k, v in test.items() if isinstance(v, (int, float))},
                     description=str(meta.get("description", "")),
                     recommended_for={str(k): int(v) for k, v in (meta.get("recommended_for") or {}).items()
                                      if isinstance(v, int) and not isinstance(v, bool)},
                     requires=missing, available=missing is None)


def shipped_models() -> Tuple[List[ModelInfo], List[str]]:
    """Every model directory under :func:`~treenets.utils.paths.pretrained_root`, by name.

    Returns:
        the models described, and one error message for each folder whose
        ``config.json`` could not be read (the others are still listed).
    """
    root = pretrained_root()
    infos: List[ModelInfo] = []
    errors: List[str] = []
    if not root.is_dir():
        return infos, errors
    for path in sorted(p for p in root.iterdir() if p.is_dir() and ((p / CONFIG_FILE).is_file()
                                                                    or (p / ENSEMBLE_FILE).is_file())):
        try:
            infos.append(describe_model(path) if (path / CONFIG_FILE).is_file() else describe_ensemble(path))
        except (ValueError, OSError) as err:
            errors.append(str(err))
    return infos, errors


def default_model(use: str, infos: Optional[List[ModelInfo]] = None) -> Optional[str]:
    """The best shipped model recommended for ``use`` that this installation can run (the rule of
    :func:`treenets.default_model`, :func:`~treenets.utils.extras.best_available`), from the configs
    alone: no torch. ``None`` when there is none."""
    infos = shipped_models()[0] if infos is None else infos
    return best_available([asdict(info) for info in infos], use)
