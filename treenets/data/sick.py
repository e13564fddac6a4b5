"""SICK (Marelli et al. 2014), SemEval-2014 Task 1: sentence pairs with relatedness scores.

Two readers:

* :func:`load_sick` reads the folders made by Tai et al.'s (2015) preprocessing
  scripts, one per split (``train/``, ``dev/``, ``test/``)::

      a.toks     tokens of sentence A, space-separated, one sentence per line
      a.parents  1-based head of every token (0 = root), one sentence per line
      a.rels     dependency relation of every token
      b.toks, b.parents, b.rels   the same for sentence B
      sim.txt    relatedness score (1..5), one per line
      id.txt     pair id, one per line

  Line ``k`` of every file belongs to pair ``k``. Each side becomes a
  dependency :class:`~treenets.Tree` (:meth:`Tree.from_parents`) whose nodes are
  the tokens in order, with relations.

* :func:`load_sick_raw` reads the official tab-separated files
  (``SICK_train.txt``, ``SICK_trial.txt``, ``SICK_test_annotated.txt``, or the
  full ``SICK.txt`` with its ``SemEval_set`` column) into sentence pairs with
  tokens but no trees, for users who parse with their own parser.

The trial set is the development split: the split names are ``"train"``,
``"dev"`` (alias ``"trial"``) and ``"test"``.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..formats.heads import read_heads_files
from ..formats.lines import read_lines
from ..structures.tree import Tree
from ..utils.paths import PathLike, resolve_dir

__all__ = [
    "SICK_SPLITS", "SICK_RAW_FILES", "SickPair", "SickSentencePair",
    "load_sick", "load_sick_raw", "sick_split_dir", "sick_raw_path",
]

#: Split names of the preprocessed folders.
SICK_SPLITS = ("train", "dev", "test")
#: The official file of each split.
SICK_RAW_FILES: Dict[str, str] = {
    "train": "SICK_train.txt",
    "dev": "SICK_trial.txt",
    "test": "SICK_test_annotated.txt",
}
_ALIASES = {"trial": "dev"}
_SEMEVAL_SET = {"train": "TRAIN", "dev": "TRIAL", "test": "TEST"}


@dataclass
class SickPair:
    """One SICK pair as dependency trees.

    Attributes:
        id: the pair id (``id.txt``), as a string.
        a: the dependency tree of sentence A (tokens and relations).
        b: the dependency tree of sentence B.
        score: the gold relatedness score, 1..5.
    """

    id: str
    a: Tree
    b: Tree
    score: float


@dataclass
class SickSentencePair:
    """One SICK pair as raw sentences, from the official tab-separated files.

    Attributes:
        id: ``pair_ID``.
        sentence_a, sentence_b: the sentences as written in the file.
        score: ``relatedness_score``, 1..5.
        entailment: ``entailment_judgment`` (``NEUTRAL``, ``ENTAILMENT`` or
            ``CONTRADICTION``), or ``None`` when the file has no such column.
        tokens_a, tokens_b: the tokenised sentences.
    """

    id: str
    sentence_a: str
    sentence_b: str
    score: float
    entailment: Optional[str] = None
    tokens_a: List[str] = field(default_factory=list)
    tokens_b: List[str] = field(default_factory=list)


def _split_name(split: str) -> str:
    name = _ALIASES.get(split, split)
    if name not in SICK_SPLITS:
        raise ValueError(f"unknown SICK split {split!r}; expected one of train, dev (or trial), test")
    return name


# ------------------------------------------------------------ preprocessed
def sick_split_dir(path: Optional[PathLike] = None, split: Optional[str] = None) -> Path:
    """The folder that :func:`load_sick` reads.

    Args:
        path: a split folder (holding ``a.toks`` ...), the SICK folder holding
            ``train/``, ``dev/``, ``test/``, or ``None`` for
            ``default_data_dir() / "sick"`` (set ``TREENETS_DATA_DIR``).
        split: ``"train"``, ``"dev"`` (or ``"trial"``) or ``"test"``; required
            unless ``path`` is itself a split folder.

    Returns:
        The split folder.

    Raises:
        ValueError: if a split is needed and missing, or unknown.
    """
    base = resolve_dir(path, "sick")
    if split is None:
        if (base / "a.toks").is_file():
            return base
        raise ValueError(f"{base} holds no a.toks: pass a split folder, or the SICK folder and a split "
                         f"(train, dev, test)")
    return base / _split_name(split)


def load_sick(
    path: Optional[PathLike] = None,
    split: Optional[str] = None,
    with_rels: bool = True,
    score_range: Optional[Tuple[float, float]] = (1.0, 5.0),
) -> List[SickPair]:
    """Read one split of SICK as preprocessed by Tai et al. into dependency-tree pairs.

    Args:
        path: a split folder, the SICK folder (with ``split``), or ``None`` for
            ``default_data_dir() / "sick"``; the environment variable
            ``TREENETS_DATA_DIR`` sets the data folder.
        split: ``"train"``, ``"dev"`` (or ``"trial"``) or ``"test"``.
        with_rels: read ``a.rels``/``b.rels`` into the trees' relations. With
            ``False`` the ``.rels`` files are not needed and trees have none.
        score_range: the allowed score range, inclusive; ``None`` for no check.

    Returns:
        The pairs in file order.

    Raises:
        FileNotFoundError: if one of the files is missing.
        ValueError: if the files differ in line count, a line has a different
            number of heads or relations than tokens, a head is not an integer
            or does not form a tree, a score is not a number or out of range, or
            a line is empty. The message names the file and line (and the token
            for a bad head).

    Example:
        >>> pairs = load_sick(split="dev")       # doctest: +SKIP
        >>> len(pairs), pairs[0].a.words[:3]     # doctest: +SKIP
        (500, ['The', 'young', 'boys'])
    """
    folder = sick_split_dir(path, split)
    sides = {side: read_heads_files(folder / f"{side}.toks", folder / f"{side}.parents",
                                    folder / f"{side}.rels" if with_rels else None) for side in ("a", "b")}
    sims, ids = read_lines(folder / "sim.txt"), read_lines(folder / "id.txt")
    n = len(sides["a"])
    for name, count in (("b.toks", len(sides["b"])), ("sim.txt", len(sims)), ("id.txt", len(ids))):
        if count != n:
            raise ValueError(f"{folder / name} has {count} lines but {folder / 'a.toks'} has {n}: "
                             f"every file needs one line per pair")
    pairs = []
    for k in range(n):
        where = f"{folder / 'sim.txt'}:{k + 1}"
        score = _score(sims[k], where, score_range)
        pair_id = ids[k].strip()
        if not pair_id:
            raise ValueError(f"{folder / 'id.txt'}:{k + 1}: empty pair id")
        pairs.append(SickPair(pair_id, sides["a"][k], sides["b"][k], score))
    return pairs


# a decimal number in ASCII ("4.5", "3", "1e0"); float() would also take "٤", "1_0" and " nan "
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _score(text: str, where: str, score_range: Optional[Tuple[float, float]]) -> float:
    if not _NUMBER.fullmatch(text.strip(" \t")):
        raise ValueError(f"{where}: score {text!r} is not a number (ASCII digits)")
    score = float(text)
    if not math.isfinite(score):
        raise ValueError(f"{where}: score {text!r} is not finite")
    if score_range is not None and not score_range[0] <= score <= score_range[1]:
        raise ValueError(f"{where}: score {score} is outside {score_range[0]}..{score_range[1]}")
    return score


# --------------------------------------------------------------------- raw
Tokenizer = Union[str, Callable[[str], Sequence[str]]]


def sick_raw_path(path: Optional[PathLike] = None, split: Optional[str] = None) -> Path:
    """The tab-separated file that :func:`load_sick_raw` reads.

    Args:
        path: a ``SICK_*.txt`` / ``SICK.txt`` file, the folder holding the
            official files, or ``None`` for ``default_data_dir() / "sick"``.
        split: with a folder: ``"train"`` (``SICK_train.txt``), ``"dev"`` or
            ``"trial"`` (``SICK_trial.txt``), ``"test"``
            (``SICK_test_annotated.txt``, else ``SICK_test.txt``). With no
            split file in the folder, ``SICK.txt`` is used.

    Returns:
        The file path.

    Raises:
        ValueError: if ``path`` is a folder and ``split`` is missing or unknown.
    """
    base = resolve_dir(path, "sick")
    if base.is_file() or (split is None and path is not None and not base.exists()):
        return base  # a missing file: open() names it
    if split is None:
        raise ValueError(f"{base} is a folder: name a split (train, dev, test) or pass a SICK_*.txt file")
    name = _split_name(split)
    for candidate in (SICK_RAW_FILES[name], "SICK_test.txt" if name == "test" else None, "SICK.txt"):
        if candidate is not None and (base / candidate).is_file():
            return base / candidate
    return base / SICK_RAW_FILES[name]


def load_sick_raw(
    path: Optional[PathLike] = None,
    split: Optional[str] = None,
    tokenize: Tokenizer = "whitespace",
    score_range: Optional[Tuple[float, float]] = (1.0, 5.0),
) -> List[SickSentencePair]:
    """Read an official SICK tab-separated file into sentence pairs (no trees).

    Columns are found by name in the header, so both the SemEval files
    (``pair_ID, sentence_A, sentence_B, relatedness_score,
    entailment_judgment``) and the full ``SICK.txt`` (``entailment_label`` and
    more columns) work. When the file has a ``SemEval_set`` column and a split
    is given, only that split's rows are kept (``TRAIN``, ``TRIAL``, ``TEST``).

    Args:
        path: a file, the folder with the official files (with ``split``), or
            ``None`` for ``default_data_dir() / "sick"`` (``TREENETS_DATA_DIR``).
        split: ``"train"``, ``"dev"``/``"trial"`` or ``"test"``; picks the file
            in a folder and the rows of a ``SICK.txt``.
        tokenize: ``"whitespace"`` (``str.split``), ``"nltk"`` (nltk's
            Treebank-style word tokenizer, which splits ``man's`` into ``man 's``
            like the Stanford tokenizer behind Tai et al.'s ``.toks``; needs no
            nltk data), or any callable from a sentence to tokens.
        score_range: the allowed score range, inclusive; ``None`` for no check.

    Returns:
        The pairs in file order.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: on a missing column, a row with the wrong number of fields,
            an empty sentence, or a bad score; the message names file and line.
    """
    file = sick_raw_path(path, split)
    tok = _tokenizer(tokenize)
    rows = _read_tsv(file)
    if not rows:
        raise ValueError(f"{file}:1: empty file: expected a header line")
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    col = {name: i for i, name in enumerate(header)}
    for need in ("pair_ID", "sentence_A", "sentence_B", "relatedness_score"):
        if need not in col:
            raise ValueError(f"{file}:1: no {need!r} column in the header {header}")
    ent_col = col.get("entailment_judgment", col.get("entailment_label"))
    set_col = col.get("SemEval_set")
    want_set = _SEMEVAL_SET[_split_name(split)] if (split is not None and set_col is not None) else None
    out: List[SickSentencePair] = []
    for lineno, fields in enumerate(rows[1:], 2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise ValueError(f"{file}:{lineno}: {len(fields)} tab-separated fields, but the header has "
                             f"{len(header)}")
        if want_set is not None and fields[set_col].strip() != want_set:
            continue
        where = f"{file}:{lineno}"
        sa, sb = fields[col["sentence_A"]].strip(), fields[col["sentence_B"]].strip()
        for name, sent in (("sentence_A", sa), ("sentence_B", sb)):
            if not sent:
                raise ValueError(f"{where}: empty {name}")
        pair_id = fields[col["pair_ID"]].strip()
        if not pair_id:
            raise ValueError(f"{where}: empty pair_ID")
        score = _score(fields[col["relatedness_score"]], where, score_range)
        ent = fields[ent_col].strip() if ent_col is not None else None
        out.append(SickSentencePair(pair_id, sa, sb, score, ent or None, list(tok(sa)), list(tok(sb))))
    return out


def _read_tsv(path: Path) -> List[List[str]]:
    """Rows of a tab-separated file (the csv module, no quoting: SICK's sentences hold quote marks).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: bytes that are not UTF-8 or a row the csv module refuses, naming ``file:line``.
    """
    lines = read_lines(path)
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        return list(reader)
    except csv.Error as err:
        raise ValueError(f"{path}:{reader.line_num}: {err}") from None


def _tokenizer(tokenize: Tokenizer) -> Callable[[str], Sequence[str]]:
    if callable(tokenize):
        return tokenize
    if tokenize == "whitespace":
        return str.split
    if tokenize == "nltk":
        from nltk.tokenize import NLTKWordTokenizer

        return NLTKWordTokenizer().tokenize
    raise ValueError(f"unknown tokenize {tokenize!r}; expected 'whitespace', 'nltk' or a callable")
