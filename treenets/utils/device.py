"""One check of a requested device, made before any work, with one message everywhere."""
from __future__ import annotations

from typing import Optional, Union

import torch

__all__ = ["DeviceError", "check_device"]


class DeviceError(RuntimeError):
    """A device was asked for that this machine does not have."""


def check_device(device: Optional[Union[str, torch.device]]) -> Optional[torch.device]:
    """``device`` as a ``torch.device`` (``None`` stays ``None``), checked to exist here.

    Raises:
        DeviceError: a CUDA device without CUDA (or beyond the GPUs there are),
            or MPS without MPS.
        ValueError: a string that is not a device.
    """
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{device!r} is not a device (e.g. cpu, cuda, cuda:1): {err}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {str(device)!r} requested but CUDA is not available on this machine "
                              f"(torch {torch.__version__}); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {str(device)!r} requested but this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise DeviceError(f"device {str(device)!r} requested but MPS is not available on this machine")
    return dev
