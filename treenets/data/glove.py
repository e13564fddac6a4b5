"""GloVe word vectors (Pennington et al. 2014): where to get them, and where they are.

* :func:`download_glove` fetches the official zips from Stanford and extracts
  the text files asked for (``glove.6B.50d.txt``, ``glove.840B.300d.txt``, ...)
  into ``<root>/embeddings/``, through the checked, atomic machinery of
  :mod:`treenets.data.download`, with a progress bar.
* :func:`find_vectors` turns what a user types (``glove.6B.50d.txt``, a path,
  a zip, ``ZIP:MEMBER``) into a :class:`VectorFile`, looking in the data
  folder's ``embeddings/`` for the file and inside its official zip, and names
  the command that downloads it when it is nowhere.

Checksums. The archives' sha256 (:data:`GLOVE_RELEASES`) are the ones
published for the files at ``nlp.stanford.edu/data`` by other projects that
pin them (torchtext's ``CHECKSUMS_GLOVE``, Keras ``get_file`` calls, Hugging
Face mirrors of the official zips); Stanford publishes none itself. The sizes
in bytes come from the same kind of sources. An archive whose checksum
matches fixes its members, and the zip's CRC-32 checks each member as it is
extracted; the members' own sha256 are pinned only where several independent
sources agree on them (``glove.6B.50d.txt``, ``glove.6B.100d.txt``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..formats.vectors import zip_member, zip_members
from ..utils.paths import PathLike
from .download import data_root, fetch_archive

__all__ = ["GloveRelease", "GLOVE_RELEASES", "GLOVE_FILES", "DEFAULT_GLOVE_FILES", "VectorFile", "download_glove",
           "find_vectors", "glove_release"]


@dataclass(frozen=True)
class GloveRelease:
    """One of Stanford's GloVe zips.

    Attributes:
        name: ``"6B"``, ``"42B"`` or ``"840B"``.
        url: the official download.
        size: the zip's size in bytes.
        sha256: the zip's checksum (``sha256:...``).
        members: the text files inside -> their checksum, or ``None`` where
            none is pinned (the archive's checksum vouches for them).
        about: corpus, vocabulary and casing.
    """

    name: str
    url: str
    size: int
    sha256: str
    members: Mapping[str, Optional[str]]
    about: str

    @property
    def archive(self) -> str:
        """The zip's file name."""
        return self.url.rsplit("/", 1)[-1]


#: The GloVe zips treenets can fetch.
GLOVE_RELEASES: Dict[str, GloveRelease] = {
    "6B": GloveRelease(
        "6B", "https://nlp.stanford.edu/data/glove.6B.zip", 862_182_613,
        "sha256:617afb2fe6cbd085c235baf7a465b96f4112bd7f7ccb2b2cbd649fed9cbcf2fb",
        {"glove.6B.50d.txt": "sha256:d8f717f8dd4b545cb7f418ef9f3d0c3e6e68a6f48b97d32f8b7aae40cb31f96f",
         "glove.6B.100d.txt": "sha256:95dde4dfd627ab26608d33e76d1195ec059734bd29089ea52cadb08d07c64544",
         "glove.6B.200d.txt": None, "glove.6B.300d.txt": None},
        "Wikipedia 2014 + Gigaword 5, 400k words, uncased; 50, 100, 200 and 300 dimensions"),
    "42B": GloveRelease(
        "42B", "https://nlp.stanford.edu/data/glove.42B.300d.zip", 1_877_800_501,
        "sha256:03d5d7fa28e58762ace4b85fb71fe86a345ef0b5ff39f5390c14869da0fc1970",
        {"glove.42B.300d.txt": None},
        "Common Crawl, 42B tokens, 1.9M words, uncased, 300 dimensions"),
    "840B": GloveRelease(
        "840B", "https://nlp.stanford.edu/data/glove.840B.300d.zip", 2_176_768_927,
        "sha256:c06db255e65095393609f19a4cfca20bf3a71e20cc53e892aafa490347e3849f",
        {"glove.840B.300d.txt": None},
        "Common Crawl, 840B tokens, 2.2M words, cased, 300 dimensions (Tai et al. 2015's vectors)"),
}

#: What ``python -m treenets.data`` fetches by default: the vectors of the
#: training examples' defaults (SST: glove.6B.50d.txt; SICK: glove.840B.300d.txt, the paper's).
DEFAULT_GLOVE_FILES: Tuple[str, ...] = ("glove.6B.50d.txt", "glove.840B.300d.txt")

#: Every official GloVe text file -> its release.
GLOVE_FILES: Dict[str, str] = {member: name for name, r in GLOVE_RELEASES.items() for member in r.members}


def glove_release(file: str) -> GloveRelease:
    """The release holding the official file ``file`` (e.g. ``glove.6B.50d.txt``).

    Raises:
        ValueError: not an official GloVe file name (the message lists them).
    """
    if file not in GLOVE_FILES:
        raise ValueError(f"{file!r} is not an official GloVe file; choose from {', '.join(GLOVE_FILES)}")
    return GLOVE_RELEASES[GLOVE_FILES[file]]


def download_glove(
    root: Optional[PathLike] = None,
    files: Sequence[str] = ("glove.6B.50d.txt",),
    overwrite: bool = False,
    timeout: float = 60.0,
    keep_archive: bool = False,
    progress: bool = True,
    urls: Optional[Mapping[str, str]] = None,
) -> List[Path]:
    """Download GloVe zips and extract ``files`` into ``<root>/embeddings``.

    Each zip is checked against its sha256 (:data:`GLOVE_RELEASES`) and each
    extracted file against its own where one is pinned; both are written
    atomically. Files already present are kept (checked where a checksum is
    pinned), and a zip already in the folder (``keep_archive`` of an earlier
    call) is used again after its checksum is checked.

    Args:
        root: the data folder; ``None`` for :func:`treenets.data.default_data_dir`.
        files: official file names (:data:`GLOVE_FILES`); the files of one
            release come from one download of its zip.
        overwrite: download again even if valid files are present.
        timeout: socket timeout in seconds.
        keep_archive: keep the zips in ``<root>/embeddings`` (glove.6B.zip is
            822 MB, glove.840B.300d.zip 2.0 GB).
        progress: show progress bars on stderr.
        urls: release name (``"6B"``, ...) -> URL, for a mirror or ``file://`` copy.

    Returns:
        The extracted files, in the order of ``files``.

    Raises:
        ValueError: an unknown file name.
        DownloadError: on an HTTP error, unreachable host, truncated body, or a
            damaged archive.
        ChecksumError: an archive or file differs from the official one.
    """
    by_release: Dict[str, List[str]] = {}
    for file in files:
        by_release.setdefault(glove_release(file).name, []).append(file)
    folder = data_root(root) / "embeddings"
    out: Dict[str, Path] = {}
    for name, members in by_release.items():
        release = GLOVE_RELEASES[name]
        url = (urls or {}).get(name, release.url)
        paths = fetch_archive(url, folder, {m: m for m in members}, {m: release.members[m] for m in members},
                               overwrite, timeout, archive_checksum=release.sha256, keep_archive=keep_archive,
                               progress=progress)
        out.update(zip(members, paths))
    return [out[f] for f in files]


@dataclass(frozen=True)
class VectorFile:
    """A word-vector text file: ``path``, or the file ``member`` inside the zip ``path``."""

    path: Path
    member: Optional[str] = None

    @property
    def name(self) -> str:
        """The text file's name (a zip member's base name)."""
        return self.member.rsplit("/", 1)[-1] if self.member else self.path.name

    def __str__(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)


def _split_member(spec: str) -> Tuple[str, Optional[str]]:
    head, sep, tail = spec.rpartition(".zip:")
    return (head + ".zip", tail) if sep and tail else (spec, None)


def find_vectors(spec: PathLike, folder: PathLike, root: Optional[PathLike] = None,
                 alternatives: Sequence[str] = ()) -> VectorFile:
    """The word-vector file that ``spec`` names.

    ``spec`` may be:

    * a path to a text file (``.txt``, ``.txt.gz``, ...), or to a zip holding
      one (``glove.840B.300d.zip``; a zip of several files needs the member);
    * ``ZIP:MEMBER`` (``glove.6B.zip:glove.6B.50d.txt``);
    * a file name found in ``folder`` (the data folder's ``embeddings/``), or
      an official GloVe file name (``glove.6B.50d.txt``) found inside its zip
      in ``folder`` (``glove.6B.zip``, kept by ``python -m treenets.data
      --keep-archives``), or, failing those, one of ``alternatives`` in
      ``folder`` (e.g. a copy trimmed to a vocabulary).

    Args:
        spec: what the user gave.
        folder: where names are looked up.
        root: the data folder, for the download command in the error
            (default: ``folder``'s parent).
        alternatives: file names to use when ``spec`` is nowhere.

    Raises:
        FileNotFoundError: nothing found; the message names where it looked
            and, for an official GloVe file, the command that downloads it.
        ValueError: a zip of several files with no member named, or without
            the member named.
    """
    text = str(spec)
    folder = Path(folder)
    zip_spec, member = _split_member(text)
    if member is not None:
        for path in (Path(zip_spec), folder / zip_spec):
            if path.is_file():
                return VectorFile(path, zip_member(path, member))
        raise FileNotFoundError(f"no zip {zip_spec} (looked in . and {folder})")
    looked: List[str] = []
    candidates = [Path(text)] + ([folder / text] if Path(text).name == text else [])
    for path in candidates:
        looked.append(str(path))
        if path.is_file():
            return VectorFile(path, zip_member(path, None) if path.suffix == ".zip" else None)
    name = Path(text).name
    if name in GLOVE_FILES:
        archive = folder / glove_release(name).archive
        looked.append(f"{archive}:{name}")
        if archive.is_file() and any(m.rsplit("/", 1)[-1] == name for m in zip_members(archive)):
            return VectorFile(archive, zip_member(archive, name))
    for alt in alternatives:
        looked.append(str(folder / alt))
        if (folder / alt).is_file():
            return VectorFile(folder / alt)
    where = ", ".join(dict.fromkeys(looked))
    if name in GLOVE_FILES:
        data = Path(root) if root is not None else folder.parent
        raise FileNotFoundError(f"word vectors {name} not found (looked for {where}); download them with: "
                                f"python -m treenets.data --root {data} --only glove --glove {name}")
    raise FileNotFoundError(f"word vectors {text} not found (looked for {where}); give a GloVe or word2vec text "
                            f"file, a zip holding one, or an official GloVe name ({', '.join(GLOVE_FILES)})")

