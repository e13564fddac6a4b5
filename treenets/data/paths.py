"""Where the datasets live on this machine."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

__all__ = ["DATA_DIR_ENV", "DATA_DIR_HELP", "default_data_dir", "resolve_dir"]

#: Environment variable naming the folder that holds ``sst/``, ``sick/`` and
#: ``embeddings/``.
DATA_DIR_ENV = "TREENETS_DATA_DIR"

#: How command-line help states the default data folder, which :func:`default_data_dir` decides.
DATA_DIR_HELP = "$TREENETS_DATA_DIR, else ~/.cache/treenets/data"

PathLike = Union[str, "os.PathLike[str]"]


def default_data_dir() -> Path:
    """The data folder: ``$TREENETS_DATA_DIR``, else ``~/.cache/treenets/data``.

    The folder is laid out as::

        <data dir>/sst/{train,dev,test}.txt
        <data dir>/sick/SICK_{train,trial,test_annotated}.txt
        <data dir>/sick/{train,dev,test}/{a,b}.{toks,parents,rels}, sim.txt, id.txt
        <data dir>/embeddings/*.txt

    which is what :func:`treenets.data.download_sst` and
    :func:`treenets.data.download_sick` write. The folder need not exist.

    Returns:
        The folder as a :class:`~pathlib.Path` (``~`` expanded). When
        ``TREENETS_DATA_DIR`` is unset or empty, ``$XDG_CACHE_HOME/treenets/data``
        (``~/.cache/treenets/data`` without ``XDG_CACHE_HOME``).
    """
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "treenets" / "data"


def resolve_dir(path: Optional[PathLike], subdir: str) -> Path:
    """``path`` as a Path, or ``default_data_dir() / subdir`` when it is ``None``."""
    if path is None:
        return default_data_dir() / subdir
    return Path(path).expanduser()
