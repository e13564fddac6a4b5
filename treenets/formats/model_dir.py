"""Model directories: a trained model as a folder that describes itself and is never unpickled.

::

    DIR/
      config.json        what rebuilds the model and its input pipeline (task, sizes, cell and
                         its options, labels, tree kind, binarization, vocabulary normalization)
                         and plain metadata (how it was trained, its scores)
      model.safetensors  the weights, in the safetensors format: a JSON header and raw tensor
                         bytes, nothing that runs when read
      vocab.txt          the vocabulary, one token per line (:mod:`treenets.formats.vocab`)
      SHA256SUMS         SHA-256 of model.safetensors and vocab.txt, in ``sha256sum`` format
                         (``sha256sum -c SHA256SUMS`` checks it too)

:func:`write_model_dir` writes all four through :func:`treenets.utils.atomic.atomic_dir`,
so a directory is complete or absent. :func:`read_model_dir` checks the sums
before it parses anything, so a flipped or missing byte is an error naming the
file, and reads the weights with ``safetensors`` from the bytes it checked: a
pickle (or a ``torch.save`` file) in place of the weights is refused without
being run. What the tensors must look like is the caller's business
(:func:`treenets.load` checks every shape against the config).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Union

import torch

from ..utils.atomic import atomic_dir
from .vocab import read_vocab, write_vocab

__all__ = ["FORMAT", "FORMAT_VERSION", "CONFIG_FILE", "WEIGHTS_FILE", "VOCAB_FILE", "SUMS_FILE", "ModelFiles",
           "write_model_dir", "read_model_dir", "is_model_dir", "sha256_hex"]

PathLike = Union[str, "os.PathLike[str]"]

#: ``config.json``'s ``format`` entry, and the newest ``format_version`` this code reads.
FORMAT = "treenets-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.txt"
SUMS_FILE = "SHA256SUMS"
_SUMMED = (WEIGHTS_FILE, VOCAB_FILE)


@dataclass
class ModelFiles:
    """What a model directory holds, checked against its sums.

    Attributes:
        path: the directory.
        config: ``config.json`` (a dict, with ``format`` and ``format_version``).
        tensors: name -> tensor, as stored (float16 word vectors stay float16).
        vocab: the vocabulary's tokens, in id order.
    """

    path: Path
    config: Dict
    tensors: Dict[str, torch.Tensor]
    vocab: List[str]


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data``, in hex."""
    return hashlib.sha256(data).hexdigest()


def write_model_dir(path: PathLike, config: Mapping, tensors: Mapping[str, torch.Tensor],
                    vocab: Sequence[str]) -> Path:
    """Write a model directory at ``path`` (replacing one that is there), atomically.

    Args:
        path: the directory.
        config: plain data (JSON: strings, numbers, booleans, ``None``, lists,
            dicts; no NaN). ``format`` and ``format_version`` are added.
        tensors: name -> tensor (any device; stored contiguous, on the CPU).
        vocab: the tokens, in id order.

    Returns:
        The directory.

    Raises:
        ValueError: the config is not plain JSON data.
    """
    from safetensors.torch import save as save_tensors

    path = Path(path)
    try:
        text = json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, **config}, indent=2,
                          allow_nan=False, ensure_ascii=False) + "\n"
    except (TypeError, ValueError) as err:
        raise ValueError(f"a model's config must be plain JSON data: {err}") from None
    weights = save_tensors({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()},
                           metadata={"format": "pt"})
    with atomic_dir(path) as tmp:
        (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
        (tmp / WEIGHTS_FILE).write_bytes(weights)
        write_vocab(vocab, tmp / VOCAB_FILE)
        sums = {WEIGHTS_FILE: sha256_hex(weights), VOCAB_FILE: sha256_hex((tmp / VOCAB_FILE).read_bytes())}
        (tmp / SUMS_FILE).write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()),
                                     encoding="utf-8")
    return path


def is_model_dir(path: PathLike) -> bool:
    """Whether ``path`` is a folder with a ``config.json`` (it may still be damaged)."""
    path = Path(path)
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def _read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{file} is missing: a model directory holds {CONFIG_FILE}, {WEIGHTS_FILE}, "
                                f"{VOCAB_FILE} and {SUMS_FILE}") from None


def _read_config(file: Path) -> Dict:
    data = _read_bytes(file)
    try:
        config = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{file}: not UTF-8 text ({err})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{file}:{err.lineno}: not valid JSON ({err.msg} at column {err.colno}); "
                         f"the file is damaged or truncated") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{file}: not a treenets model config (no \"format\": \"{FORMAT}\")")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{file}: format_version must be a positive integer, not {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{file}: format_version {version} is newer than this treenets reads "
                         f"({FORMAT_VERSION}); upgrade treenets")
    return config


def _read_sums(file: Path) -> Dict[str, str]:
    text = _read_bytes(file).decode("utf-8", errors="replace")
    sums: Dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        digest = parts[0].lower()
        name = parts[1].lstrip("*").strip() if len(parts) == 2 else ""
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            raise ValueError(f"{file}:{number}: expected '<sha256 in hex>  <file name>', got {line[:80]!r}")
        sums[name] = digest
    for name in _SUMMED:
        if name not in sums:
            raise ValueError(f"{file} has no SHA-256 for {name}")
    return sums


def _check_sum(file: Path, data: bytes, expected: str) -> None:
    actual = sha256_hex(data)
    if actual != expected:
        raise ValueError(f"{file} is damaged or was changed: its SHA-256 is {actual[:16]}..., but {SUMS_FILE} "
                         f"says {expected[:16]}... ({len(data):,} bytes; flipped or missing bytes, or an "
                         f"edit without updating {SUMS_FILE})")


def _pickle_hint(data: bytes) -> str:
    if data[:1] == b"\x80" or data[:2] == b"PK":
        return (" It looks like a Python pickle or a torch.save file; treenets never unpickles model files "
                "(they could run code), so it was not read.")
    return ""


def read_model_dir(path: PathLike) -> ModelFiles:
    """Read and check a model directory written by :func:`write_model_dir`.

    The SHA-256 of every summed file is checked before it is parsed; the
    weights are parsed by ``safetensors`` from the checked bytes.

    Raises:
        FileNotFoundError: no such folder, or one of its files is missing (named).
        ValueError: a file is damaged, truncated, changed without updating
            ``SHA256SUMS``, or not what it should be (a pickle where the
            weights should be); the message names the file.
    """
    from safetensors.torch import load as load_tensors

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no model directory at {path}")
    config = _read_config(path / CONFIG_FILE)
    sums = _read_sums(path / SUMS_FILE)

    weights_file = path / WEIGHTS_FILE
    weights = _read_bytes(weights_file)
    _check_sum(weights_file, weights, sums[WEIGHTS_FILE])
    try:
        tensors = load_tensors(weights)
    except Exception as err:  # safetensors raises its own SafetensorError, or others on odd bytes
        raise ValueError(f"{weights_file}: not a safetensors file ({type(err).__name__}: {err})."
                         f"{_pickle_hint(weights)}") from None

    vocab_file = path / VOCAB_FILE
    _check_sum(vocab_file, _read_bytes(vocab_file), sums[VOCAB_FILE])
    vocab = read_vocab(vocab_file)
    return ModelFiles(path, config, tensors, vocab)
