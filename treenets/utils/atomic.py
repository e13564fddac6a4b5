"""Files and folders that appear whole or not at all, and the leftovers of killed runs.

Every file treenets writes for later reading (model directories, training
state, downloads, vocabularies) goes through :func:`atomic_write` or
:func:`atomic_dir`: the data is written under a temporary name in the same
folder and renamed into place only when complete, so a killed process never
leaves a torn file under the real name.

Temporary names are unique per process and call (``.NAME.PID.RANDOM.tmp``),
so threads and processes writing the same target never share one, and they
are removed when the write fails. A process that is killed cannot remove
its own; :func:`remove_stale` removes those whose process is gone, and the
writers call it on the target's folder before they write.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import IO, Iterator, List, Union

__all__ = ["atomic_write", "atomic_dir", "temp_name", "remove_stale"]

PathLike = Union[str, "os.PathLike[str]"]
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{12}\.(?:tmp|part)$")


def temp_name(path: PathLike, suffix: str = "tmp") -> Path:
    """A unique temporary sibling of ``path``: ``.NAME.PID.RANDOM.tmp`` (or ``.part``)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.{suffix}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or we cannot tell): leave it
    return True


def remove_stale(folder: PathLike) -> List[Path]:
    """Remove temporary files and folders in ``folder`` left by processes that no longer run.

    Only names made by :func:`temp_name` are considered, and only those whose
    process id is not running on this machine. Returns what was removed.
    """
    folder = Path(folder)
    removed: List[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.match(entry.name)
        if m is None or _alive(int(m.group("pid"))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb", encoding: str = None, newline: str = None) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it to ``path`` when the block ends well.

    On an exception the temporary file is removed and ``path`` is untouched.

    Example:
        >>> with atomic_write("metrics.json", "w", encoding="utf-8") as f:  # doctest: +SKIP
        ...     f.write("{}")
    """
    if "w" not in mode:
        raise ValueError(f"atomic_write writes files; mode {mode!r} has no 'w'")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent)
    tmp = temp_name(path)
    try:
        with open(tmp, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """A temporary folder to fill; it replaces ``path`` (a folder) when the block ends well.

    An existing folder at ``path`` is replaced as a whole: it is renamed aside
    and removed only after the new one is in place. On an exception the
    temporary folder is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent)
    tmp = temp_name(path)
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if path.exists():
            if not path.is_dir():
                raise FileExistsError(f"{path} exists and is not a folder")
            old = temp_name(path)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
