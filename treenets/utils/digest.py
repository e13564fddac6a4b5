"""A checksum of stored content: the SHA-256 of nested plain data and tensors, in a fixed order.

Files that ``torch.save`` writes (checkpoints, the training state, the
word-vector cache) carry :func:`content_digest` of what they hold, and their
readers compute it again: a flipped bit in any tensor or value (one that
``torch.load`` still reads) is found, where the file format itself checks
nothing. The digest covers the content, not the file's bytes, so it can be
stored inside the file it checks.
"""
from __future__ import annotations

import hashlib
import math
import struct
from typing import Any

__all__ = ["content_digest"]


def _feed(h: "hashlib._Hash", value: Any) -> None:
    import torch  # layer 0 knows torch only through the values it is given

    if value is None:
        h.update(b"N")
    elif isinstance(value, bool):
        h.update(b"T" if value else b"F")
    elif isinstance(value, int):
        text = str(value).encode()
        h.update(b"i" + struct.pack("<Q", len(text)) + text)
    elif isinstance(value, float):
        h.update(b"f" + (struct.pack("<d", value) if not math.isnan(value) else b"nan"))
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        h.update(b"s" + struct.pack("<Q", len(data)) + data)
    elif isinstance(value, bytes):
        h.update(b"b" + struct.pack("<Q", len(value)) + value)
    elif isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        head = f"{t.dtype}:{tuple(t.shape)}".encode()
        h.update(b"t" + struct.pack("<Q", len(head)) + head)
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        h.update(b"d" + struct.pack("<Q", len(value)))
        for key in sorted(value, key=lambda k: (type(k).__name__, repr(k))):
            _feed(h, key)
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update((b"l" if isinstance(value, list) else b"u") + struct.pack("<Q", len(value)))
        for item in value:
            _feed(h, item)
    else:  # torch.Size, dtypes and other plain values torch.load gives back: by their repr
        text = f"{type(value).__name__}:{value!r}".encode("utf-8", "surrogatepass")
        h.update(b"r" + struct.pack("<Q", len(text)) + text)


def content_digest(value: Any) -> str:
    """The SHA-256 (hex) of ``value``: nested dicts (keys in a fixed order), lists, tuples, strings,
    numbers, ``None`` and tensors (dtype, shape and bytes, wherever they are).

    Example:
        >>> import torch
        >>> content_digest({"w": torch.zeros(2)}) == content_digest({"w": torch.zeros(2)})
        True
        >>> content_digest({"w": torch.zeros(2)}) == content_digest({"w": torch.tensor([0.0, 1e-45])})
        False
    """
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()
