"""Download SST and SICK, verified by checksum, written atomically.

* :func:`download_sst` fetches the official ``trainDevTestTrees_PTB.zip``
  from Stanford and extracts ``trees/{train,dev,test}.txt`` into
  ``<root>/sst/``.
* :func:`download_sick` fetches the SemEval-2014 Task 1 zips (the URLs used by
  Tai et al.'s ``scripts/download.py``) and extracts ``SICK_train.txt``,
  ``SICK_trial.txt`` and ``SICK_test_annotated.txt`` into ``<root>/sick/``.
  The dependency-parsed folders (``train/``, ``dev/``, ``test/`` with
  ``a.toks``, ``a.parents`` ...) are not downloadable: Tai et al. make them
  with the Stanford parser (``scripts/preprocess-sick.py`` in their
  repository); parse the raw files with your parser of choice otherwise
  (:func:`treenets.data.load_sick_raw` reads them). The full corpus
  (``SICK.txt``, with a ``SemEval_set`` column) is also on Zenodo
  (``https://zenodo.org/record/2787612/files/SICK.zip``);
  :func:`~treenets.data.load_sick_raw` reads it too, but it is not checked here.

``root`` defaults to :func:`treenets.data.default_data_dir`
(``$TREENETS_DATA_DIR``). Every URL is a parameter, so a mirror or a local
copy (``file:///path/to/trainDevTestTrees_PTB.zip``) works the same way.

Guarantees:

* Every extracted file is checked against a checksum table
  (:data:`SST_CHECKSUMS`, :data:`SICK_CHECKSUMS`) whatever the URL; a
  mismatch raises :class:`ChecksumError` naming the URL and the expected and
  actual digests. The archives themselves are not pinned by default (pass
  ``archive_checksum``), since the member checksums already fix the content.
* Files are written to a temporary name in the target folder
  (``.NAME.PID.RANDOM.part``, :func:`treenets.utils.atomic.temp_name`) and moved into
  place with :func:`os.replace` only after every check passed: an interrupted
  or failed download leaves no partial file and never clobbers a good one.
  The ``.part`` files of a killed download are removed by the next download
  into that folder (:func:`treenets.utils.atomic.remove_stale`).
* HTTP errors, unreachable hosts, truncated bodies and damaged archives
  (including damaged deflate data) raise :class:`DownloadError` naming the URL.
* Large files show a tqdm progress bar on stderr (``progress=False`` turns it off).

GloVe (:mod:`treenets.data.glove`) is downloaded by the same machinery.
Fetching uses the standard library (``urllib``); tqdm draws the bars.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ..utils.atomic import remove_stale, temp_name
from ..utils.paths import PathLike, default_data_dir

__all__ = [
    "DownloadError", "ChecksumError",
    "SST_URL", "SST_MEMBERS", "SST_CHECKSUMS",
    "SICK_URLS", "SICK_MEMBERS", "SICK_CHECKSUMS",
    "file_checksum", "verify_file", "download_url", "download_sst", "download_sick", "fetch_archive", "data_root",
]

#: The official SST release (Socher et al. 2013).
SST_URL = "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip"
#: Output name -> member of the SST zip.
SST_MEMBERS: Dict[str, str] = {
    "train.txt": "trees/train.txt",
    "dev.txt": "trees/dev.txt",
    "test.txt": "trees/test.txt",
}
#: Checksums of the extracted SST files (``algorithm:hexdigest``); all must match.
SST_CHECKSUMS: Dict[str, Tuple[str, ...]] = {
    "train.txt": ("md5:b12d531b1b913a3bb49719ba5cc1f67a",
                  "sha256:e2f3f41b0b1e6d4dddc0effe3bfc2d27ed8928079aa9a03d652311614fc5feb7"),
    "dev.txt": ("md5:c405f1d724964e6f72314b5a51fea691",
                "sha256:0e9336aed6e4730e19f58d00a77b3f0297efdb755f7b5e598c98a05e3f97ea40"),
    "test.txt": ("md5:97b75f6ca1ae58b4d52fbf9381dc6f8c",
                 "sha256:6e54806dee95cf80cd918e7dfb3f6770f6df24bf826f289a4d1f709e1c8f6761"),
}

_SEMEVAL = "http://alt.qcri.org/semeval2014/task1/data/uploads/"
#: The SemEval-2014 Task 1 release of SICK, by split (as in Tai et al.'s scripts).
SICK_URLS: Dict[str, str] = {
    "train": _SEMEVAL + "sick_train.zip",
    "trial": _SEMEVAL + "sick_trial.zip",
    "test": _SEMEVAL + "sick_test_annotated.zip",
}
#: Split -> the file taken from that split's zip (found by base name).
SICK_MEMBERS: Dict[str, str] = {
    "train": "SICK_train.txt",
    "trial": "SICK_trial.txt",
    "test": "SICK_test_annotated.txt",
}
#: Checksums of the extracted SICK files.
SICK_CHECKSUMS: Dict[str, Tuple[str, ...]] = {
    "SICK_train.txt": ("sha256:266cf8047149bd1d68138dd30439f3122bff30069740ac6705bb6197d9f1b48e",),
    "SICK_trial.txt": ("sha256:5a88cfb62f8c6bd2a3cce0f2421ba2cb8c2be5ab4a800f6f01e2c64aafb7db56",),
    "SICK_test_annotated.txt": ("sha256:2b8aa806658d6fc23c6824c83776c2d4fee7556000817b5ec0f982861413b7d0",),
}

Checksums = Union[str, Sequence[str]]
_CHUNK = 1 << 16
_USER_AGENT = "treenets-downloader/0.1 (+python urllib)"


class DownloadError(OSError):
    """A download failed: HTTP error, unreachable host, truncated body, bad archive."""


class ChecksumError(DownloadError):
    """Downloaded or existing content does not match its checksum.

    Attributes:
        url: where the content came from (a path for an existing file).
        name: the file or archive member checked.
        expected: the expected ``algorithm:hexdigest``.
        got: the actual ``algorithm:hexdigest``.
    """

    def __init__(self, url: str, name: str, expected: str, got: str, hint: str = "") -> None:
        self.url, self.name, self.expected, self.got = url, name, expected, got
        super().__init__(f"checksum mismatch for {name} from {url}: expected {expected}, got {got}{hint}")


# ---------------------------------------------------------------- checksums
def _parse(spec: str) -> Tuple[str, str]:
    alg, sep, digest = spec.partition(":")
    alg = alg.lower()
    if not sep or not digest or alg not in hashlib.algorithms_available:
        raise ValueError(f"checksum {spec!r} must be 'algorithm:hexdigest', e.g. 'sha256:ab12...'")
    return alg, digest.lower()


def _specs(checksums: Optional[Checksums]) -> List[Tuple[str, str]]:
    if checksums is None:
        return []
    if isinstance(checksums, str):
        checksums = [checksums]
    return [_parse(c) for c in checksums]


class _Hasher:
    def __init__(self, specs: Iterable[Tuple[str, str]]) -> None:
        self.specs = list(specs)
        self.hashes = {alg: hashlib.new(alg) for alg, _ in self.specs}

    def update(self, data: bytes) -> None:
        for h in self.hashes.values():
            h.update(data)

    def check(self, url: str, name: str, hint: str = "") -> None:
        for alg, digest in self.specs:
            got = self.hashes[alg].hexdigest()
            if got != digest:
                raise ChecksumError(url, name, f"{alg}:{digest}", f"{alg}:{got}", hint)


def file_checksum(path: PathLike, algorithm: str = "sha256") -> str:
    """The ``algorithm:hexdigest`` of a file.

    Args:
        path: the file.
        algorithm: any :mod:`hashlib` algorithm name.

    Returns:
        For example ``"sha256:e2f3..."``.
    """
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return f"{algorithm}:{h.hexdigest()}"


def verify_file(path: PathLike, checksums: Checksums) -> None:
    """Check a file against one or more ``algorithm:hexdigest`` strings.

    Args:
        path: the file.
        checksums: one spec or a sequence of specs; all must match.

    Raises:
        ChecksumError: on the first mismatch (naming the path, expected and got).
        FileNotFoundError: if the file does not exist.
    """
    hasher = _Hasher(_specs(checksums))
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            hasher.update(chunk)
    hasher.check(str(path), Path(path).name)


# ------------------------------------------------------------------ fetching
def _open_url(url: str, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"download of {url} failed: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise DownloadError(f"download of {url} failed: {err.reason}") from None
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise DownloadError(f"download of {url} failed: {err}") from None


def _temp_in(folder: Path, name: str) -> Path:
    """A new empty ``.NAME.PID.RANDOM.part`` file in ``folder`` (removed by the caller on failure,
    and by :func:`~treenets.utils.atomic.remove_stale` if the process is killed)."""
    tmp = temp_name(folder / name, "part")
    tmp.touch(exist_ok=False)
    return tmp


def _bar(total: Optional[int], desc: str, enabled: bool):
    """A tqdm byte counter on stderr, or ``None``."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                file=sys.stderr, dynamic_ncols=True)


def _fetch_to(url: str, tmp: Path, checksums: Optional[Checksums], timeout: float, progress: bool = False) -> None:
    """Stream ``url`` into ``tmp``, check its length and checksums."""
    hasher = _Hasher(_specs(checksums))
    received = 0
    response = _open_url(url, timeout)
    bar = None
    try:
        with response, open(tmp, "wb") as out:
            length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            size = int(length) if length is not None and length.strip().isdigit() else None
            bar = _bar(size, _url_name(url, "download"), progress)
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as err:
                    raise DownloadError(f"download of {url} failed after {received} bytes: {err}") from None
                if not chunk:
                    break
                out.write(chunk)
                hasher.update(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    except DownloadError:
        raise
    except OSError as err:  # writing the temporary file
        raise DownloadError(f"download of {url} failed while writing {tmp}: {err}") from None
    finally:
        if bar is not None:
            bar.close()
    if length is not None and length.strip().isdigit() and received != int(length):
        raise DownloadError(f"download of {url} is truncated: got {received} of {int(length)} bytes")
    hasher.check(url, _url_name(url, url))


def _url_name(url: str, default: str) -> str:
    """The last path segment of a URL (no query), for messages and temporary names."""
    name = urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isalnum() or ch in "._-")
    return name or default


def _unlink(path: Optional[Path]) -> None:
    if path is not None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def download_url(url: str, dest: PathLike, checksum: Optional[Checksums] = None,
                 timeout: float = 60.0, overwrite: bool = False, progress: bool = False) -> Path:
    """Download one file atomically, optionally checking its checksum.

    Args:
        url: ``http(s)://`` or ``file://`` URL.
        dest: the output file; its folder is created.
        checksum: ``algorithm:hexdigest`` (or several); ``None`` for no check.
        timeout: socket timeout in seconds.
        overwrite: replace an existing ``dest``. Without it an existing file is
            kept (and checked when ``checksum`` is given).
        progress: show a progress bar on stderr.

    Returns:
        ``dest`` as a Path.

    Raises:
        DownloadError: on an HTTP error, unreachable host or truncated body.
        ChecksumError: if the content does not match ``checksum``.
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        if checksum is not None:
            _verify_existing(dest, checksum)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(dest.parent)
    tmp = _temp_in(dest.parent, dest.name)
    try:
        _fetch_to(url, tmp, checksum, timeout, progress)
        os.replace(tmp, dest)
        tmp = None
    finally:
        _unlink(tmp)
    return dest


def _verify_existing(path: Path, checksums: Checksums) -> None:
    hasher = _Hasher(_specs(checksums))
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            hasher.update(chunk)
    hasher.check(str(path), path.name, hint="; delete it or pass overwrite=True to download it again")


def _find_member(archive: zipfile.ZipFile, member: str, url: str) -> zipfile.ZipInfo:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    for info in infos:
        if info.filename == member:
            return info
    base = member.rsplit("/", 1)[-1]
    matches = [i for i in infos if i.filename.rsplit("/", 1)[-1] == base]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DownloadError(f"the archive from {url} has no member {member!r}")
    raise DownloadError(f"the archive from {url} has several members named {base!r}: "
                        f"{', '.join(i.filename for i in matches)}")


def fetch_archive(
    url: str,
    folder: Path,
    members: Mapping[str, str],
    checksums: Mapping[str, Optional[Checksums]],
    overwrite: bool,
    timeout: float,
    archive_checksum: Optional[Checksums] = None,
    keep_archive: bool = False,
    progress: bool = False,
) -> List[Path]:
    """Download the zip at ``url`` and extract ``members`` (output name -> member) into ``folder``.

    Existing outputs are checked and kept unless ``overwrite``; nothing is
    downloaded when all of them are present and valid. A member may go
    without a checksum (``None``) only when the archive has one: then the
    archive's checksum and the zip's CRC-32 of the member vouch for it. A zip
    kept by an earlier call (``keep_archive``) is used again, after its
    checksum is checked, instead of being downloaded again.
    """
    for name in members:
        if checksums.get(name) is None and archive_checksum is None:
            raise ValueError(f"no checksum for {name!r}: every extracted file needs one, or the archive one")
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale(folder)
    targets = {name: folder / name for name in members}
    todo = dict(members)
    if not overwrite:
        for name, path in targets.items():
            if path.exists():
                if checksums.get(name) is not None:
                    _verify_existing(path, checksums[name])
                del todo[name]
        if not todo:
            return list(targets.values())
    archive_name = _url_name(url, "download.zip")
    kept = folder / archive_name
    archive_tmp: Optional[Path] = None
    temps: Dict[str, Path] = {}
    try:
        if kept.is_file() and archive_checksum is not None and not overwrite:
            _verify_existing(kept, archive_checksum)
            archive_path = kept
        else:
            archive_tmp = archive_path = _temp_in(folder, archive_name)
            _fetch_to(url, archive_tmp, archive_checksum, timeout, progress)
        try:
            archive = zipfile.ZipFile(archive_path)
        except zipfile.BadZipFile as err:
            raise DownloadError(f"{url} is not a zip archive: {err}") from None
        with archive:
            for name, member in todo.items():
                info = _find_member(archive, member, url)
                temps[name] = _temp_in(folder, name)
                hasher = _Hasher(_specs(checksums.get(name)))
                bar = _bar(info.file_size, f"extracting {name}", progress and info.file_size > (64 << 20))
                try:
                    with archive.open(info) as src, open(temps[name], "wb") as out:
                        for chunk in iter(lambda: src.read(_CHUNK), b""):
                            out.write(chunk)
                            hasher.update(chunk)
                            if bar is not None:
                                bar.update(len(chunk))
                except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as err:
                    raise DownloadError(f"{info.filename} in the archive from {url} is damaged: "
                                        f"{type(err).__name__}: {err}") from None
                finally:
                    if bar is not None:
                        bar.close()
                hasher.check(url, info.filename)
        for name in list(temps):
            os.replace(temps.pop(name), targets[name])
        if keep_archive and archive_tmp is not None:
            os.replace(archive_tmp, kept)
            archive_tmp = None
    finally:
        for tmp in temps.values():
            _unlink(tmp)
        _unlink(archive_tmp)
    return list(targets.values())


def data_root(root: Optional[PathLike]) -> Path:
    """The data folder: ``root``, or :func:`treenets.utils.paths.default_data_dir` when it is ``None``."""
    return default_data_dir() if root is None else Path(root).expanduser()


def download_sst(
    root: Optional[PathLike] = None,
    url: str = SST_URL,
    overwrite: bool = False,
    timeout: float = 60.0,
    archive_checksum: Optional[Checksums] = None,
    keep_archive: bool = False,
    checksums: Mapping[str, Checksums] = SST_CHECKSUMS,
) -> Path:
    """Download the Stanford Sentiment Treebank into ``<root>/sst``.

    Extracts ``trees/train.txt``, ``trees/dev.txt`` and ``trees/test.txt`` of
    ``trainDevTestTrees_PTB.zip`` as ``train.txt``, ``dev.txt``, ``test.txt``
    and checks each against :data:`SST_CHECKSUMS` (md5 and sha256).

    Args:
        root: the data folder; ``None`` for :func:`treenets.data.default_data_dir`
            (``$TREENETS_DATA_DIR``).
        url: where to get the zip (a mirror or ``file://`` URL works).
        overwrite: download again even if valid files are present.
        timeout: socket timeout in seconds.
        archive_checksum: optional ``algorithm:hexdigest`` of the zip itself.
        keep_archive: also keep the zip in ``<root>/sst``.
        checksums: output name -> checksums; defaults to the official files.

    Returns:
        The folder ``<root>/sst``, ready for :func:`treenets.data.load_sst`.

    Raises:
        DownloadError: on an HTTP error, unreachable host, truncated body, or an
            archive that is not a zip or lacks a member.
        ChecksumError: if a file differs from the official one (also for an
            existing file when ``overwrite`` is false).
    """
    folder = data_root(root) / "sst"
    fetch_archive(url, folder, SST_MEMBERS, checksums, overwrite, timeout, archive_checksum, keep_archive)
    return folder


def download_sick(
    root: Optional[PathLike] = None,
    urls: Optional[Mapping[str, str]] = None,
    overwrite: bool = False,
    timeout: float = 60.0,
    archive_checksums: Optional[Mapping[str, Checksums]] = None,
    checksums: Mapping[str, Checksums] = SICK_CHECKSUMS,
) -> Path:
    """Download the SemEval-2014 SICK files into ``<root>/sick``.

    Fetches one zip per split (:data:`SICK_URLS`) and extracts
    ``SICK_train.txt``, ``SICK_trial.txt`` and ``SICK_test_annotated.txt``,
    each checked against :data:`SICK_CHECKSUMS`. The ``readme.txt`` files in
    the zips are not extracted.

    Args:
        root: the data folder; ``None`` for :func:`treenets.data.default_data_dir`.
        urls: split (``"train"``, ``"trial"``, ``"test"``) -> URL, overriding
            :data:`SICK_URLS` for the splits given.
        overwrite: download again even if valid files are present.
        timeout: socket timeout in seconds.
        archive_checksums: optional split -> ``algorithm:hexdigest`` of the zips.
        checksums: output name -> checksums; defaults to the official files.

    Returns:
        The folder ``<root>/sick``, ready for :func:`treenets.data.load_sick_raw`.

    Raises:
        ValueError: for an unknown split in ``urls``.
        DownloadError: on an HTTP error, unreachable host, truncated body, or a
            bad archive. Splits already written stay (they are complete and
            verified).
        ChecksumError: if a file differs from the official one.
    """
    chosen = dict(SICK_URLS)
    for split, url in (urls or {}).items():
        if split not in SICK_URLS:
            raise ValueError(f"unknown SICK split {split!r} in urls; expected train, trial or test")
        chosen[split] = url
    folder = data_root(root) / "sick"
    for split, url in chosen.items():
        member = SICK_MEMBERS[split]
        fetch_archive(url, folder, {member: member}, checksums, overwrite, timeout,
                       (archive_checksums or {}).get(split))
    return folder
