"""Where treenets keeps files: the one place that decides the data and cache folders.

Every part of treenets (the library, the examples, the benchmarks and the
tests) asks these functions; nothing else reads the environment variables.

==========================  =====================================================
``TREENETS_DATA_DIR``       datasets: ``sst/``, ``sick/``, ``embeddings/``
                            (default ``$XDG_CACHE_HOME/treenets/data``,
                            normally ``~/.cache/treenets/data``)
``TREENETS_CACHE_DIR``      caches: the parse cache, contextual features
                            (default ``$XDG_CACHE_HOME/treenets``,
                            normally ``~/.cache/treenets``)
==========================  =====================================================

The pretrained models ship inside the package, in :func:`pretrained_root`.
"""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Optional, Union

__all__ = ["DATA_DIR_ENV", "DATA_DIR_HELP", "CACHE_DIR_ENV", "default_data_dir", "default_cache_dir", "resolve_dir",
           "pretrained_root"]

#: Environment variable naming the folder that holds ``sst/``, ``sick/`` and ``embeddings/``.
DATA_DIR_ENV = "TREENETS_DATA_DIR"
#: How command-line help states the default data folder, which :func:`default_data_dir` decides.
DATA_DIR_HELP = "$TREENETS_DATA_DIR, else ~/.cache/treenets/data"
#: Environment variable naming the cache folder.
CACHE_DIR_ENV = "TREENETS_CACHE_DIR"

PathLike = Union[str, "os.PathLike[str]"]


def _env_path(name: str) -> Optional[Path]:
    """The folder a variable names, made absolute against the current directory when it is read.

    A relative value (the README's ``TREENETS_DATA_DIR=../shared/data``) then
    means the same folder wherever the path travels afterwards: into a symlink
    in a temporary folder, a subprocess started elsewhere, a saved config.
    ``os.path.abspath`` rather than ``Path.resolve``: ``..`` is collapsed but
    the user's own symlinks are kept in messages.
    """
    value = os.environ.get(name, "").strip()
    return Path(os.path.abspath(Path(value).expanduser())) if value else None


def _xdg_cache() -> Path:
    return _env_path("XDG_CACHE_HOME") or Path.home() / ".cache"


def default_cache_dir() -> Path:
    """The cache folder: ``$TREENETS_CACHE_DIR``, else ``$XDG_CACHE_HOME/treenets`` (``~/.cache/treenets``).

    Always an absolute path (a relative value is read against the current
    directory). The folder need not exist; whoever writes into it creates it.
    """
    return _env_path(CACHE_DIR_ENV) or _xdg_cache() / "treenets"


def default_data_dir() -> Path:
    """The data folder: ``$TREENETS_DATA_DIR``, else ``$XDG_CACHE_HOME/treenets/data``.

    The folder is laid out as::

        <data dir>/sst/{train,dev,test}.txt
        <data dir>/sick/SICK_{train,trial,test_annotated}.txt
        <data dir>/sick/{train,dev,test}/{a,b}.{toks,parents,rels}, sim.txt, id.txt
        <data dir>/embeddings/*.txt

    which is what ``python -m treenets.data`` writes. Always an absolute path
    (a relative ``$TREENETS_DATA_DIR`` is read against the current directory).
    The folder need not exist.
    """
    return _env_path(DATA_DIR_ENV) or _xdg_cache() / "treenets" / "data"


def resolve_dir(path: Optional[PathLike], subdir: str) -> Path:
    """``path`` as a Path, or ``default_data_dir() / subdir`` when it is ``None``."""
    if path is None:
        return default_data_dir() / subdir
    return Path(path).expanduser()


def pretrained_root() -> Path:
    """The folder of the pretrained models shipped with the package (``treenets/pretrained``), one model
    directory per name (read by :func:`treenets.load`, listed by ``treenets models``)."""
    return Path(str(importlib.resources.files("treenets").joinpath("pretrained")))
