"""Model directories: a trained model as a folder that describes itself and is never unpickled.

::

    DIR/
      config.json        what rebuilds the model and its input pipeline (task, sizes, cell and
                         its options, labels, tree kind, binarization, vocabulary normalization)
                         and plain metadata (how it was trained, its scores)
      model.safetensors  the weights, in the safetensors format: a JSON header and raw tensor
                         bytes, nothing that runs when read
      vocab.txt          the vocabulary, one token per line (:mod:`treenets.formats.vocab`)
      SHA256SUMS         SHA-256 of config.json, model.safetensors and vocab.txt, in
                         ``sha256sum`` format (``sha256sum -c SHA256SUMS`` checks it too)

:func:`write_model_dir` writes all four through :func:`treenets.utils.atomic.atomic_dir`,
so a directory is complete or absent. :func:`read_model_dir` checks the sums
before it parses anything, so a flipped or missing byte is an error naming the
file, and reads the weights with ``safetensors`` from the bytes it checked: a
pickle (or a ``torch.save`` file) in place of the weights is refused without
being run.

Only regular files inside the directory are read: a FIFO, a device, a folder,
or a symlink that leads out of the directory (to ``/dev/zero``, say) is
refused before it is opened, and every file is read up to a size known
beforehand: :data:`MAX_CONFIG_BYTES` and friends, and for the weights the size
their safetensors header gives (the header alone is read first, so a sparse
2 GB file behind a small header is refused without being read). The header's
tensor shapes reach the caller (``before_weights``) before the weights are
read, so that :func:`treenets.load` compares them with the config before it
builds anything. What the tensors must look like is the caller's business.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from ..utils.atomic import atomic_dir
from .vocab import read_vocab, write_vocab

__all__ = ["FORMAT", "FORMAT_VERSION", "CONFIG_FILE", "WEIGHTS_FILE", "VOCAB_FILE", "SUMS_FILE", "ModelFiles",
           "write_model_dir", "read_model_dir", "is_model_dir", "sha256_hex", "read_regular_file", "read_json_config",
           "safetensors_header", "MAX_CONFIG_BYTES", "MAX_VOCAB_BYTES", "MAX_HEADER_BYTES"]

PathLike = Union[str, "os.PathLike[str]"]

#: ``config.json``'s ``format`` entry, and the newest ``format_version`` this code reads.
FORMAT = "treenets-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.txt"
SUMS_FILE = "SHA256SUMS"
_SUMMED = (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE)
#: The most bytes read of ``config.json`` and ``SHA256SUMS``.
MAX_CONFIG_BYTES = 1 << 20
#: The most bytes read of ``vocab.txt`` (10 million tokens of 25 bytes).
MAX_VOCAB_BYTES = 256 << 20
#: The most bytes of a safetensors header (its JSON: names, dtypes, shapes, offsets).
MAX_HEADER_BYTES = 16 << 20
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                "BOOL": 1, "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}


@dataclass
class ModelFiles:
    """What a model directory holds, checked against its sums.

    Attributes:
        path: the directory.
        config: ``config.json`` (a dict, with ``format`` and ``format_version``).
        tensors: name -> tensor, as stored (float16 word vectors stay float16);
            empty while ``before_weights`` runs.
        vocab: the vocabulary's tokens, in id order.
        shapes: name -> shape, from the weights' safetensors header.
    """

    path: Path
    config: Dict
    tensors: Dict[str, torch.Tensor]
    vocab: List[str]
    shapes: Dict[str, Tuple[int, ...]] = field(default_factory=dict)


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
        sums = {CONFIG_FILE: sha256_hex(text.encode("utf-8")), WEIGHTS_FILE: sha256_hex(weights),
                VOCAB_FILE: sha256_hex((tmp / VOCAB_FILE).read_bytes())}
        (tmp / SUMS_FILE).write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()),
                                     encoding="utf-8")
    return path


def is_model_dir(path: PathLike) -> bool:
    """Whether ``path`` is a folder with a ``config.json`` (it may still be damaged)."""
    path = Path(path)
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def _missing(file: Path) -> FileNotFoundError:
    return FileNotFoundError(f"{file} is missing: a model directory holds {CONFIG_FILE}, {WEIGHTS_FILE}, "
                             f"{VOCAB_FILE} and {SUMS_FILE}")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular_file(file: Path, limit: int, *, inside: Optional[Path] = None, size: Optional[int] = None,
                      what: str = "file") -> bytes:
    """The bytes of ``file``, a regular file of at most ``limit`` bytes (or exactly ``size``).

    Refused, before anything is read: a FIFO, device, socket or folder (also
    behind a symlink: ``/dev/zero``), a symlink leading out of the folder
    ``inside``, a file larger than ``limit``. The file is opened without
    blocking (a FIFO cannot hang the reader) and checked again once open.

    Raises:
        FileNotFoundError: no such file (or a dangling symlink).
        ValueError: any of the above, naming the file.
    """
    file = Path(file)
    if inside is not None and file.is_symlink():
        _outside(file, inside, what)
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise _missing(file) if what == "model file" else FileNotFoundError(f"no {what} at {file}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ValueError(f"{file} is {_kind(st.st_mode)}, not a regular file; refused without reading it")
    with os.fdopen(fd, "rb") as f:
        if size is not None and st.st_size != size:
            raise ValueError(f"{file} is {st.st_size:,} bytes, but its header makes it {size:,} bytes; "
                             f"the file is truncated or has bytes appended")
        if st.st_size > limit:
            raise ValueError(f"{file} is {st.st_size:,} bytes, more than the {limit:,} a {what} may have; "
                             f"refused without reading it")
        data = f.read(min(st.st_size, limit) + 1)
    if len(data) > limit or (size is not None and len(data) != size):
        raise ValueError(f"{file} changed size while it was read")
    return data


def _read_bytes(file: Path, limit: int = MAX_CONFIG_BYTES, size: Optional[int] = None) -> bytes:
    return read_regular_file(file, limit, inside=file.parent, size=size, what="model file")


_LONG_INT = re.compile(rb"\d{4301,}")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows (a config holds finite numbers only)")


def read_json_config(file: Path, data: bytes):
    """``data`` (the bytes of ``file``) parsed as JSON, with errors that name the file and line.

    NaN, Infinity and numbers too large for a float (``1e999``) are refused;
    so are integers of more than 4,300 digits (Python's limit), by line.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{file}: not UTF-8 text ({err})") from None

    def parse_float(token: str) -> float:
        value = float(token)
        if value in (float("inf"), float("-inf")):
            raise ValueError(f"the number {token[:40]} is too large for a float")
        return value

    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=parse_float)
    except json.JSONDecodeError as err:
        raise ValueError(f"{file}:{err.lineno}: not valid JSON ({err.msg} at column {err.colno}); "
                         f"the file is damaged or truncated") from None
    except ValueError as err:
        long = _LONG_INT.search(data)
        if long is not None and "digits" in str(err):
            line = data.count(b"\n", 0, long.start()) + 1
            raise ValueError(f"{file}:{line}: an integer of {long.end() - long.start():,} digits; more than "
                             f"4,300 is not a size, count or setting") from None
        raise ValueError(f"{file}: {err}") from None


def _read_config(file: Path, data: bytes) -> Dict:
    config = read_json_config(file, data)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{file}: not a treenets model config (no \"format\": \"{FORMAT}\")")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{file}: format_version must be a positive integer, not {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{file}: format_version {version} is newer than this treenets reads "
                         f"({FORMAT_VERSION}); upgrade treenets")
    return config


def safetensors_header(file: Path, *, inside: Optional[Path] = None) -> Tuple[Dict[str, Tuple[int, ...]], int]:
    """``(shapes, size)``: every tensor's shape from a safetensors file's header, and the size the
    header makes the file, reading only the header (8 bytes of length, then JSON).

    Raises:
        ValueError: not a regular file, a header that is not safetensors'
            (too long, not JSON, offsets that do not fit the shapes), naming the file.
    """
    file = Path(file)
    if inside is not None and file.is_symlink():
        _outside(file, inside)
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise _missing(file) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ValueError(f"{file} is {_kind(st.st_mode)}, not a regular file; refused without reading it")
    with os.fdopen(fd, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{file}: not a safetensors file (shorter than its 8-byte header length)"
                             f"{_pickle_hint(head)}")
        (n,) = struct.unpack("<Q", head)
        if n > min(MAX_HEADER_BYTES, st.st_size - 8):
            raise ValueError(f"{file}: not a safetensors file (a header of {n:,} bytes in a file of "
                             f"{st.st_size:,}).{_pickle_hint(head)}")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        shapes: Dict[str, Tuple[int, ...]] = {}
        end = 0
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            shape, dtype, (begin, stop) = entry["shape"], entry["dtype"], entry["data_offsets"]
            if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
                raise ValueError(f"tensor {name!r} has shape {shape!r}")
            count = 1
            for d in shape:
                count *= d
            if dtype not in _DTYPE_BYTES or not (isinstance(begin, int) and isinstance(stop, int)) \
                    or stop - begin != count * _DTYPE_BYTES[dtype] or begin < 0:
                raise ValueError(f"tensor {name!r}: offsets {begin}..{stop} do not fit {dtype} {shape}")
            shapes[name] = tuple(shape)
            end = max(end, stop)
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{file}: not a safetensors file (its header: {err}).{_pickle_hint(head)}") from None
    return shapes, 8 + n + end


def _read_sums(file: Path) -> Dict[str, str]:
    text = _read_bytes(file, MAX_CONFIG_BYTES).decode("utf-8", errors="replace")
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
            hint = (f"; a directory written before {CONFIG_FILE} was summed: check the config, then "
                    f"`sha256sum {CONFIG_FILE} >> {SUMS_FILE}` in it") if name == CONFIG_FILE else ""
            raise ValueError(f"{file} has no SHA-256 for {name}{hint}")
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


def read_model_dir(path: PathLike,
                   before_weights: Optional[Callable[[ModelFiles], None]] = None) -> ModelFiles:
    """Read and check a model directory written by :func:`write_model_dir`.

    Every file must be a regular file inside the directory (no FIFO, device or
    symlink out of it) of a bounded size. The SHA-256 of every summed file
    (config, weights, vocabulary) is checked before it is parsed; the weights'
    safetensors header is read first, ``before_weights`` (if given) sees the
    config, vocabulary and tensor shapes, and only then are the weights read,
    exactly as many bytes as the header gives, and parsed by ``safetensors``
    from the checked bytes.

    Raises:
        FileNotFoundError: no such folder, or one of its files is missing (named).
        ValueError: a file is damaged, truncated, changed without updating
            ``SHA256SUMS``, not a regular file inside the directory, or not
            what it should be (a pickle where the weights should be); the
            message names the file.
    """
    from safetensors.torch import load as load_tensors

    from ..utils.atomic import recover_dir

    path = Path(path)
    recover_dir(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no model directory at {path}")
    sums = _read_sums(path / SUMS_FILE)
    config_file = path / CONFIG_FILE
    data = _read_bytes(config_file, MAX_CONFIG_BYTES)
    _check_sum(config_file, data, sums[CONFIG_FILE])
    config = _read_config(config_file, data)

    vocab_file = path / VOCAB_FILE
    _check_sum(vocab_file, _read_bytes(vocab_file, MAX_VOCAB_BYTES), sums[VOCAB_FILE])
    vocab = read_vocab(vocab_file)

    weights_file = path / WEIGHTS_FILE
    shapes, size = safetensors_header(weights_file, inside=path)
    files = ModelFiles(path, config, {}, vocab, shapes)
    if before_weights is not None:
        before_weights(files)
    weights = _read_bytes(weights_file, size, size=size)
    _check_sum(weights_file, weights, sums[WEIGHTS_FILE])
    try:
        files.tensors = load_tensors(weights)
    except Exception as err:  # safetensors raises its own SafetensorError, or others on odd bytes
        raise ValueError(f"{weights_file}: not a safetensors file ({type(err).__name__}: {err})."
                         f"{_pickle_hint(weights)}") from None
    return files


def _outside(file: Path, folder: Path, what: str = "model file") -> None:
    """Refuse a symlink ``file`` whose target lies outside ``folder``."""
    target = Path(os.path.realpath(file))
    root = Path(os.path.realpath(folder))
    if root not in target.parents:
        raise ValueError(f"{file} is a symlink to {target}, outside {folder}; a {what} must lie inside it")
