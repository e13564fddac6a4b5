"""Datasets for Tree-LSTMs: SST, SICK, and their download.

The data folder is :func:`default_data_dir`: the environment variable
``TREENETS_DATA_DIR``, else ``~/.cache/treenets/data``. Every reader takes an
explicit path too. Expected layout::

    <data dir>/sst/{train,dev,test}.txt
    <data dir>/sick/SICK_{train,trial,test_annotated}.txt
    <data dir>/sick/{train,dev,test}/{a,b}.{toks,parents,rels}, sim.txt, id.txt
    <data dir>/embeddings/glove.6B.50d.txt, glove.840B.300d.txt, ...

Example:
    >>> from treenets.data import download_sst, load_sst      # doctest: +SKIP
    >>> train = load_sst(download_sst(), "train", mode="binary")  # doctest: +SKIP
"""
from .download import (
    SICK_CHECKSUMS, SICK_MEMBERS, SICK_URLS, SST_CHECKSUMS, SST_MEMBERS, SST_URL,
    ChecksumError, DownloadError, download_sick, download_sst, download_url,
    file_checksum, verify_file,
)
from .command import download_all
from .glove import (
    DEFAULT_GLOVE_FILES, GLOVE_FILES, GLOVE_RELEASES, GloveRelease, VectorFile, download_glove, find_vectors,
)
from .label_transfer import LabelTransferStats, transfer_all, transfer_labels, word_spans
from .parsed import load_parsed_sick, load_parsed_sst
from ..utils.paths import DATA_DIR_ENV, DATA_DIR_HELP, default_data_dir
from .sick import (
    SICK_RAW_FILES, SICK_SPLITS, SickPair, SickSentencePair, load_sick, load_sick_raw,
    sick_raw_path, sick_split_dir,
)
from .sst import (
    SST_SPLITS, load_sst, load_sst_splits, mode_label, sst_binary_label, sst_path,
)

__all__ = [
    "DATA_DIR_ENV", "DATA_DIR_HELP", "default_data_dir",
    # SST
    "SST_SPLITS", "load_sst", "load_sst_splits", "sst_path", "sst_binary_label", "mode_label",
    # our own parses
    "load_parsed_sst", "load_parsed_sick", "transfer_labels", "transfer_all", "word_spans", "LabelTransferStats",
    # SICK
    "SICK_SPLITS", "SICK_RAW_FILES", "SickPair", "SickSentencePair",
    "load_sick", "load_sick_raw", "sick_split_dir", "sick_raw_path",
    # download
    "DownloadError", "ChecksumError", "SST_URL", "SST_MEMBERS", "SST_CHECKSUMS",
    "SICK_URLS", "SICK_MEMBERS", "SICK_CHECKSUMS",
    "download_sst", "download_sick", "download_all", "download_url", "file_checksum", "verify_file",
    # GloVe
    "GLOVE_RELEASES", "GLOVE_FILES", "DEFAULT_GLOVE_FILES", "GloveRelease", "VectorFile", "download_glove",
    "find_vectors",
]
