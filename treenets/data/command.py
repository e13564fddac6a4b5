"""``python -m treenets.data``: SST, SICK and GloVe into one data folder (:func:`download_all`, :func:`main`).

The downloads themselves are :mod:`treenets.data.download` (SST, SICK, the
fetching, checking and atomic writing) and :mod:`treenets.data.glove`.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

from ..utils.paths import PathLike
from .download import SICK_URLS, SST_URL, DownloadError, data_root, download_sick, download_sst
from .glove import DEFAULT_GLOVE_FILES, GLOVE_FILES, download_glove, glove_release

__all__ = ["download_all", "main"]


def download_all(root: Optional[PathLike] = None, overwrite: bool = False, timeout: float = 60.0,
                 glove: Sequence[str] = (), progress: bool = True) -> Path:
    """:func:`download_sst`, :func:`download_sick` and (``glove``) GloVe files into one data folder.

    Args:
        root: the data folder; ``None`` for :func:`treenets.data.default_data_dir`.
        overwrite: download again even if valid files are present.
        timeout: socket timeout in seconds.
        glove: official GloVe file names for :func:`treenets.data.glove.download_glove`
            (e.g. :data:`treenets.data.glove.DEFAULT_GLOVE_FILES`).
        progress: show progress bars on stderr.

    Returns:
        The data folder (set ``TREENETS_DATA_DIR`` to it to make it the default).
    """
    download_sst(root, overwrite=overwrite, timeout=timeout)
    download_sick(root, overwrite=overwrite, timeout=timeout)
    if glove:
        download_glove(root, glove, overwrite=overwrite, timeout=timeout, progress=progress)
    return data_root(root)


def _mirrored(mirror: Optional[str], url: str) -> str:
    return url if not mirror else mirror.rstrip("/") + "/" + url.rsplit("/", 1)[-1]


def _mib(size: int) -> str:
    return f"{size / 2 ** 20:,.0f} MiB" if size >= 2 ** 20 else f"{size:,} bytes"


def main(argv=None) -> int:
    """``python -m treenets.data [--root DIR] [--only sst sick glove] [--glove FILE ...]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m treenets.data",
        description="Download SST, SICK and GloVe word vectors from their official sources, check their "
                    "checksums, write atomically.")
    parser.add_argument("--root", default=None, help="data folder (default: $TREENETS_DATA_DIR or ~/.cache/treenets/data)")
    parser.add_argument("--only", nargs="+", choices=["sst", "sick", "glove"], default=None,
                        help="fetch only these (default: all three)")
    parser.add_argument("--glove", nargs="+", choices=list(GLOVE_FILES), default=list(DEFAULT_GLOVE_FILES),
                        metavar="FILE",
                        help="GloVe files to extract into ROOT/embeddings/ (default: "
                             f"{' '.join(DEFAULT_GLOVE_FILES)}, the training examples' defaults); one of "
                             f"{', '.join(GLOVE_FILES)}")
    parser.add_argument("--keep-archives", action="store_true",
                        help="keep the GloVe zips in ROOT/embeddings/ (the examples read vectors from them too)")
    parser.add_argument("--mirror", default=None, metavar="URL",
                        help="fetch every file from URL/<official file name> instead (a mirror, or file:///folder); "
                             "the official checksums still apply")
    parser.add_argument("--overwrite", action="store_true", help="download again even if valid files are present")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    only = args.only or ["sst", "sick", "glove"]
    progress = not args.no_progress
    try:
        if "sst" in only:
            folder = download_sst(args.root, url=_mirrored(args.mirror, SST_URL), overwrite=args.overwrite,
                                  timeout=args.timeout)
            print(f"SST: {folder}", flush=True)
        if "sick" in only:
            urls = {split: _mirrored(args.mirror, url) for split, url in SICK_URLS.items()}
            folder = download_sick(args.root, urls=urls, overwrite=args.overwrite, timeout=args.timeout)
            print(f"SICK: {folder}", flush=True)
        if "glove" in only:
            releases = {glove_release(f).name: glove_release(f) for f in args.glove}
            for r in releases.values():
                wanted = [f for f in args.glove if GLOVE_FILES[f] == r.name]
                print(f"GloVe {r.name} ({r.about}): {', '.join(wanted)} from {_mirrored(args.mirror, r.url)} "
                      f"({_mib(r.size)}, unless already here)", flush=True)
            paths = download_glove(args.root, args.glove, overwrite=args.overwrite, timeout=args.timeout,
                                   keep_archive=args.keep_archives, progress=progress,
                                   urls={name: _mirrored(args.mirror, r.url) for name, r in releases.items()})
            for path in paths:
                print(f"GloVe: {path}", flush=True)
    except DownloadError as err:
        print(f"download failed: {err}", file=sys.stderr)
        return 1
    print(f"done; set TREENETS_DATA_DIR={data_root(args.root)} to use it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
