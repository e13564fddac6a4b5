"""Metrics of every epoch, written to standard sinks: a JSON Lines file always, TensorBoard when installed."""
from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..utils.atomic import atomic_write

__all__ = ["MetricsLog", "read_metrics", "tensorboard_available", "METRICS_FILE", "TENSORBOARD_DIR"]

#: The JSON Lines file of :class:`MetricsLog`, inside a run's ``out`` folder.
METRICS_FILE = "metrics.jsonl"
#: The TensorBoard event folder of :class:`MetricsLog`, inside a run's ``out`` folder.
TENSORBOARD_DIR = "tensorboard"


def tensorboard_available() -> bool:
    """Whether ``torch.utils.tensorboard`` can write events (the ``tensorboard`` package is installed)."""
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def read_metrics(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """The records of a metrics file (one JSON object a line), in order.

    Raises:
        ValueError: a line is not a JSON object (naming the file and line).
    """
    path = Path(path)
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}, line {number}: not JSON ({err})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}, line {number}: not a JSON object")
            records.append(record)
    return records


class MetricsLog:
    """One record per epoch, to ``OUT/metrics.jsonl`` and (optionally) TensorBoard events in ``OUT/tensorboard/``.

    A record is a flat JSON object: ``epoch``, then whatever the caller gives
    (:func:`treenets.training.fit` writes ``train_loss``, ``dev_<metric>`` for
    every dev metric, ``best_epoch``, ``best_score``, ``epoch_seconds``,
    ``train_seconds``). Numbers that are not finite are written as ``null``
    (JSON has no NaN). TensorBoard gets every number as a scalar whose tag is
    the key with its first ``_`` as ``/`` (``dev_root_acc`` becomes
    ``dev/root_acc``), at step ``epoch``.

    Args:
        out: the run's folder.
        tensorboard: ``True`` writes events (``ImportError`` naming the extra
            when ``tensorboard`` is missing), ``False`` does not, ``None``
            writes them when ``tensorboard`` is installed.
        resume_after: continue a run resumed after this epoch: records of
            later epochs (written by a run killed before it saved its state)
            are dropped from the file, and TensorBoard's events after it are
            purged, so every epoch has one record. ``None`` starts a new file.
    """

    def __init__(self, out: Union[str, Path], *, tensorboard: Optional[bool] = None,
                 resume_after: Optional[int] = None) -> None:
        self.out = Path(out)
        self.path = self.out / METRICS_FILE
        self.out.mkdir(parents=True, exist_ok=True)
        kept = []
        if resume_after is not None and self.path.is_file():
            kept = [r for r in read_metrics(self.path) if int(r.get("epoch", 0)) <= resume_after]
        with atomic_write(self.path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, allow_nan=False) + "\n" for r in kept)
        self.writer = None
        if tensorboard is None:
            tensorboard = tensorboard_available()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as err:
                raise ImportError(f"TensorBoard metrics need the tensorboard package: pip install "
                                  f"\"treenets[tensorboard]\" ({err})") from None
            self.writer = SummaryWriter(str(self.out / TENSORBOARD_DIR),
                                        purge_step=None if resume_after is None else resume_after + 1)

    def write(self, epoch: int, record: Dict[str, Any]) -> Dict[str, Any]:
        """Append the record of ``epoch`` (flushed at once); returns it as written."""
        row = {"epoch": int(epoch), **{k: _plain(v) for k, v in record.items()}}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, allow_nan=False) + "\n")
        if self.writer is not None:
            for key, value in row.items():
                if key != "epoch" and isinstance(value, numbers.Real) and not isinstance(value, bool):
                    self.writer.add_scalar(key.replace("_", "/", 1), value, global_step=epoch)
            self.writer.flush()
        return row

    def close(self) -> None:
        """Close the TensorBoard writer (the JSON Lines file is closed after every record)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> "MetricsLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _plain(value: Any) -> Any:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
        return value if not isinstance(value, float) or math.isfinite(value) else None
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(f"a metrics record holds plain data only, not {type(value).__name__} ({value!r})")
