"""Read the re-parsed datasets written by ``examples/prepare_parses.py``.

That script gives each dataset the tree kind it does not ship with, as in Tai
et al. (2015):

* SST as dependency trees, ``<dir>/sst/{train,dev,test}.conllu``: CoNLL-U
  (:mod:`treenets.formats.conllu`), a node per word, with UD relations and the
  SST label carried over from the phrase with the same span in the MISC column
  (``Label=3``; ``Label=-1`` where no phrase matches, see
  :mod:`treenets.data.label_transfer`). Read with :func:`load_parsed_sst`.
* SICK as binarized constituency trees, ``<dir>/sick/{split}/a.ctree`` and
  ``b.ctree``: one bracketed tree per line (:meth:`Tree.from_brackets`), one
  line per pair in the order of the Tai et al. files. Read with
  :func:`load_parsed_sick`, which takes ids and scores from the SICK folder.

Both forms are lossless: a tree reads back exactly as it was parsed. CoNLL-U
keeps non-projective dependency trees (subtrees whose words are not
contiguous), which brackets cannot hold; constituency trees, numbered in
pre-order, print as brackets and read back unchanged. Earlier versions wrote
SST's dependency trees as brackets (``.dtree``), which reorders the words of
non-projective trees; such files are refused with a message saying how to
make the CoNLL-U files instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from ..formats.brackets import read_brackets
from ..formats.conllu import read_conllu
from ..formats.lines import read_lines
from ..structures.tree import Tree, as_int
from ..utils.paths import PathLike
from .sick import SickPair, _split_name, load_sick
from .sst import NEUTRAL, SST_SPLITS, check_mode, mode_label

__all__ = ["load_parsed_sst", "load_parsed_sick", "parsed_sst_path", "PARSED_SST_SUFFIX"]

#: The file suffix of the parsed SST splits.
PARSED_SST_SUFFIX = ".conllu"
_OLD_SUFFIX = ".dtree"


def parsed_sst_path(path: PathLike, split: Optional[str] = None) -> Path:
    """The ``.conllu`` file for ``split``: ``path`` may be the file, the ``sst/`` folder or its parent."""
    base = Path(path)
    if base.is_file():
        if split is not None:
            raise ValueError(f"{base} is a file, so split={split!r} has no meaning")
        return base
    if split not in SST_SPLITS:
        raise ValueError(f"unknown SST split {split!r}; expected one of {', '.join(SST_SPLITS)}")
    if (base / "sst").is_dir() and not any((base / f"{split}{ext}").exists() for ext in (PARSED_SST_SUFFIX, _OLD_SUFFIX)):
        base = base / "sst"
    return base / f"{split}{PARSED_SST_SUFFIX}"


def _regenerate(old: Path) -> str:
    out = old.parent.parent if old.parent.name == "sst" else old.parent
    return (f"{old} holds SST dependency trees as brackets, the lossy form of earlier versions (a non-projective "
            f"tree reads back with its words reordered); make the lossless CoNLL-U files with "
            f"`python examples/prepare_parses.py --out {out} --only sst` (parses already made come from its cache)")


def _word_lines(file: Path) -> List[List[int]]:
    """The line numbers of every sentence's word lines, as the CoNLL-U reader counts them."""
    blocks: List[List[int]] = []
    current: List[int] = []
    with open(file, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                if current:
                    blocks.append(current)
                current = []
                continue
            ident = line.split("\t", 1)[0]
            if ident.isascii() and ident.isdigit():
                current.append(number)
    if current:
        blocks.append(current)
    return blocks


def load_parsed_sst(path: PathLike, split: Optional[str] = None, mode: str = "fine",
                    drop_neutral: Optional[bool] = None) -> List[Tree]:
    """Read SST dependency trees with transferred labels.

    Args:
        path: a ``.conllu`` file, the folder holding ``{split}.conllu``, or the
            ``prepare_parses.py`` output folder (with ``sst/`` inside).
        split: ``"train"``, ``"dev"`` or ``"test"`` for a folder.
        mode: as in :func:`treenets.data.load_sst`: ``"fine"`` (labels
            0..4), ``"binary"`` (0/1 through :func:`sst_binary_label`, neutral
            nodes ``-1``) or ``"binary3"`` (0 negative, 1 neutral, 2 positive:
            the paper code's binary task). Nodes without a transferred label
            stay ``-1`` in every mode.
        drop_neutral: drop sentences whose root is neutral; default ``True``
            in the binary modes, as :func:`load_sst` does.

    Returns:
        The trees in file order, ``int`` labels, ``-1`` on nodes without a target.

    Raises:
        FileNotFoundError: if the file does not exist (or only an old
            ``.dtree`` file does; the message says how to regenerate it).
        ValueError: malformed CoNLL-U, a label that is not -1..4 in ASCII
            digits, a node without a label, or an unlabelled root; the message
            names ``file:line`` and the word. An old ``.dtree`` file.
    """
    drop_neutral = check_mode(mode, drop_neutral)
    file = parsed_sst_path(path, split)
    if file.suffix == _OLD_SUFFIX:
        raise ValueError(_regenerate(file))
    if not file.is_file():
        old = file.with_suffix(_OLD_SUFFIX)
        if old.is_file():
            raise FileNotFoundError(f"{file} not found: {_regenerate(old)}")
        raise FileNotFoundError(f"parsed SST file not found: {file} (examples/prepare_parses.py makes it)")
    trees = read_conllu(file)
    lines = _word_lines(file)
    out: List[Tree] = []
    for tree, word_lines in zip(trees, lines):
        fine = []
        for node, label in enumerate(tree.labels):
            value = None if label is None else as_int(label)
            if value is None or not -1 <= value <= 4:
                raise ValueError(f"{file}:{word_lines[node]}: word {node + 1} ({tree.tokens[node]!r}) has label "
                                 f"{label!r}; expected Label= an SST class 0..4 or -1 (no label) in MISC")
            fine.append(value)
        labels = [mode_label(value, mode) for value in fine]
        if fine[tree.root] < 0:
            raise ValueError(f"{file}:{word_lines[tree.root]}: the root has no label; the root carries the "
                             f"sentence label")
        if drop_neutral and labels[tree.root] == NEUTRAL[mode]:
            continue
        out.append(Tree(tree.parents, tree.tokens, labels, tree.rels))
    return out


def load_parsed_sick(parsed_dir: PathLike, split: str, sick_dir: Optional[PathLike] = None,
                     ext: str = "ctree", limit: Optional[int] = None) -> List[SickPair]:
    """Read SICK pairs with the trees of ``prepare_parses.py`` instead of the given dependency parses.

    Args:
        parsed_dir: the ``prepare_parses.py`` output folder (holding
            ``sick/{split}/a.ctree``), or its ``sick/`` folder.
        split: ``"train"``, ``"dev"`` (or ``"trial"``) or ``"test"``.
        sick_dir: the SICK folder with Tai et al.'s files (ids, scores and
            tokens come from there); ``None`` for ``default_data_dir() / "sick"``.
        ext: the tree files' extension: ``a.<ext>``, ``b.<ext>``.
        limit: read only the first ``limit`` pairs (the tree files may then
            hold just those, as ``prepare_parses.py --limit`` writes them).

    Returns:
        :class:`SickPair` objects in file order, ``a`` and ``b`` being the parsed trees.

    Raises:
        FileNotFoundError: if a file is missing.
        ValueError: if the tree files do not have one line per pair, a tree
            is malformed, or its words (in order) differ from the ``.toks``
            words (parsed from other data); the message names ``file:line``.
    """
    name = _split_name(split)
    base = Path(parsed_dir)
    if (base / "sick").is_dir():
        base = base / "sick"
    folder = base / name
    pairs = load_sick(sick_dir, name, with_rels=False)
    if limit is not None:
        pairs = pairs[:limit]
    sides = {}
    for side in ("a", "b"):
        file = folder / f"{side}.{ext}"
        numbered = [(k, line) for k, line in enumerate(read_lines(file), 1) if line.strip()]
        if len(numbered) < len(pairs) or (limit is None and len(numbered) != len(pairs)):
            raise ValueError(f"{file} has {len(numbered)} trees but SICK {name} has {len(pairs)} pairs: "
                             f"was it prepared with --limit, or from other data?")
        trees = []
        for (lineno, line), pair in zip(numbered, pairs):
            try:
                tree = read_brackets(line)
            except ValueError as err:
                raise ValueError(f"{file}:{lineno}: {err}") from None
            want = getattr(pair, side).words
            if tree.words != want:
                raise ValueError(f"{file}:{lineno}: the tree's words {' '.join(tree.words)!r} are not the words of "
                                 f"pair {pair.id} ({' '.join(want)!r})")
            trees.append(tree)
        sides[side] = trees
    return [SickPair(p.id, a, b, p.score) for p, a, b in zip(pairs, sides["a"], sides["b"])]
