"""Read the re-parsed datasets written by ``examples/prepare_parses.py``.

That script gives each dataset the tree kind it does not ship with, as in Tai
et al. (2015):

* SST as dependency trees, ``<dir>/sst/{train,dev,test}.dtree``: one bracketed
  tree per line (:meth:`Tree.from_brackets`), a node per word, with UD
  relations and the SST label carried over from the phrase with the same span
  (``-1`` where no phrase matches; see :mod:`treenets.data.label_transfer`).
  Read with :func:`load_parsed_sst`.
* SICK as binarized constituency trees, ``<dir>/sick/{split}/a.ctree`` and
  ``b.ctree``, one line per pair in the order of the Tai et al. files. Read with
  :func:`load_parsed_sick`, which takes ids and scores from the SICK folder.

A non-projective dependency tree (one with a subtree whose words are not
contiguous) cannot be written as brackets in sentence order: it is written,
and read back, in tree order (see :meth:`Tree.__str__`). Its nodes, relations
and labels are unchanged; only the order of the words differs, which a
Child-Sum Tree-LSTM does not see (it sums over children).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from ..formats.brackets import read_bracket_lines
from ..tree import Tree
from ..paths import PathLike
from .sick import SickPair, _split_name, load_sick
from .sst import NEUTRAL, SST_SPLITS, check_mode, mode_label

__all__ = ["load_parsed_sst", "load_parsed_sick", "parsed_sst_path"]


def parsed_sst_path(path: PathLike, split: Optional[str] = None) -> Path:
    """The ``.dtree`` file for ``split``: ``path`` may be the file, the ``sst/`` folder or its parent."""
    base = Path(path)
    if base.is_file():
        if split is not None:
            raise ValueError(f"{base} is a file, so split={split!r} has no meaning")
        return base
    if split not in SST_SPLITS:
        raise ValueError(f"unknown SST split {split!r}; expected one of {', '.join(SST_SPLITS)}")
    if (base / "sst").is_dir() and not (base / f"{split}.dtree").exists():
        base = base / "sst"
    return base / f"{split}.dtree"


def load_parsed_sst(path: PathLike, split: Optional[str] = None, mode: str = "fine",
                    drop_neutral: Optional[bool] = None) -> List[Tree]:
    """Read SST dependency trees with transferred labels.

    Args:
        path: a ``.dtree`` file, the folder holding ``{split}.dtree``, or the
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
        FileNotFoundError: if the file does not exist.
        ValueError: on a malformed tree, a label outside -1..4, or an
            unlabelled root; the message names ``file:line``.
    """
    drop_neutral = check_mode(mode, drop_neutral)
    file = parsed_sst_path(path, split)
    with open(file, encoding="utf-8") as f:
        lines = f.read().split("\n")
    trees = read_bracket_lines(lines, source=str(file))
    linenos = [i for i, line in enumerate(lines, 1) if line.strip()]
    out: List[Tree] = []
    for tree, lineno in zip(trees, linenos):
        labels = []
        for node, label in enumerate(tree.labels):
            text = "" if label is None else str(label).strip()
            if not text.lstrip("-").isdigit() or not -1 <= int(text) <= 4:
                raise ValueError(f"{file}:{lineno}: node {node} ({tree.tokens[node]!r}) has label {label!r}; "
                                 f"expected an SST class 0..4 or -1 (no label)")
            labels.append(mode_label(int(text), mode))
        if int(str(tree.labels[tree.root])) < 0:
            raise ValueError(f"{file}:{lineno}: the root has no label; the root carries the sentence label")
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
        ValueError: if the tree files do not have one line per pair, or a
            tree's words differ from the ``.toks`` words (parsed from other
            data); the message names ``file:line``.
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
        with open(file, encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line.strip()]
        if len(lines) < len(pairs) or (limit is None and len(lines) != len(pairs)):
            raise ValueError(f"{file} has {len(lines)} trees but SICK {name} has {len(pairs)} pairs: "
                             f"was it prepared with --limit, or from other data?")
        trees = read_bracket_lines(lines[:len(pairs)], source=str(file))
        for k, (tree, pair) in enumerate(zip(trees, pairs)):
            want = getattr(pair, side).words
            if sorted(tree.words) != sorted(want):
                raise ValueError(f"{file}:{k + 1}: the tree's words {' '.join(tree.words)!r} are not the words of "
                                 f"pair {pair.id} ({' '.join(want)!r})")
        sides[side] = trees
    return [SickPair(p.id, a, b, p.score) for p, a, b in zip(pairs, sides["a"], sides["b"])]
