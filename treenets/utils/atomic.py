"""Files and folders that appear whole or not at all, and the leftovers of killed runs.

Every file treenets writes for later reading (model directories, training
state, downloads, vocabularies) goes through :func:`atomic_write` or
:func:`atomic_dir`: the data is written under a temporary name in the same
folder and renamed into place only when complete, so a killed process never
leaves a torn file under the real name.

A folder written by :func:`atomic_dir` is never absent once it has been
written: on Linux the new folder and the old one trade places in one step
(``renameat2(RENAME_EXCHANGE)``); elsewhere the old one is renamed aside to
``.NAME.prev`` first, and :func:`recover_dir` (which the next write and the
readers call) puts it back if a kill landed between the two renames. The old
copy is deleted only once the new one is in place.

Temporary names are unique per process and call (``.NAME.PID.RANDOM.tmp``),
so threads and processes writing the same target never share one, and they
are removed when the write fails. A process that is killed cannot remove
its own; :func:`remove_stale` removes those whose process is gone, and the
writers call it on the target's folder before they write.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import sys
import uuid
from pathlib import Path
from typing import IO, Iterator, List, Union

__all__ = ["atomic_write", "atomic_dir", "temp_name", "remove_stale", "recover_dir", "backup_name"]

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


def backup_name(path: PathLike) -> Path:
    """Where :func:`atomic_dir` keeps the previous copy of ``path`` while the new one moves in: ``.NAME.prev``."""
    path = Path(path)
    return path.with_name(f".{path.name}.prev")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` itself (``flock`` on POSIX) while folders in it trade places."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one writer per target is assumed
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2 = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap the folders ``a`` and ``b`` in one atomic step (Linux ``renameat2``); ``False`` where
    this system or file system cannot, and the caller falls back to two renames."""
    global _renameat2
    if not sys.platform.startswith("linux"):
        return False
    if _renameat2 is None:
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
        except (OSError, AttributeError):
            _renameat2 = False
            return False
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        fn.restype = ctypes.c_int
        _renameat2 = fn
    if _renameat2 is False:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _discard(folder: Path, like: Path) -> None:
    """Remove ``folder``: renamed to a temporary name first (one atomic step), so that a kill
    during the removal leaves only a leftover :func:`remove_stale` removes."""
    gone = temp_name(like)
    try:
        os.replace(folder, gone)
    except FileNotFoundError:
        return
    shutil.rmtree(gone, ignore_errors=True)


def recover_dir(path: PathLike) -> bool:
    """Finish what a killed :func:`atomic_dir` left: put the previous copy back if ``path`` is missing.

    A write killed between its two renames (on systems without an atomic
    exchange) leaves no ``path`` but a complete ``.NAME.prev``; this renames it
    back. A ``.NAME.prev`` beside a ``path`` is an old copy and is removed.
    Returns whether a copy was put back. Readers call it before they read;
    on a read-only folder it does nothing.
    """
    path = Path(path)
    backup = backup_name(path)
    if not os.path.lexists(backup):
        return False
    try:
        with _locked(path.parent):
            if not os.path.lexists(backup):
                return False
            if os.path.lexists(path):
                _discard(backup, path)
                return False
            os.replace(backup, path)
            return True
    except OSError:
        return False


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """A temporary folder to fill; it replaces ``path`` (a folder) when the block ends well.

    An existing folder at ``path`` is replaced as a whole and removed only
    after the new one is in place: whatever instant a kill lands on, ``path``
    or (between two renames, where the system has no atomic exchange) its
    ``.NAME.prev`` is a complete copy, old or new, and :func:`recover_dir`
    restores the latter. On an exception the temporary folder is removed and
    ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent)
    recover_dir(path)
    tmp = temp_name(path)
    tmp.mkdir()
    try:
        yield tmp
        with _locked(path.parent):
            backup = backup_name(path)
            if os.path.lexists(backup):  # another writer's, or a killed one's: path is complete, or it is
                if os.path.lexists(path):
                    _discard(backup, path)
                else:
                    os.replace(backup, path)
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                raise FileExistsError(f"{path} exists and is not a folder")
            if path.exists() and _exchange(tmp, path):
                old = tmp  # the previous copy now lies under the temporary name
            else:
                old = None
                if path.exists():
                    os.replace(path, backup)
                    old = backup
                os.replace(tmp, path)
        if old is not None:
            with _locked(path.parent):
                _discard(old, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
