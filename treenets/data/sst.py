"""The Stanford Sentiment Treebank (Socher et al. 2013) in PTB bracket form.

The official release (``trainDevTestTrees_PTB.zip``, see
:func:`treenets.data.download_sst`) holds ``train.txt`` (8,544 trees),
``dev.txt`` (1,101) and ``test.txt`` (2,210). Each line is one binarised
tree whose every node carries a sentiment class from 0 (very negative) to 4
(very positive)::

    (3 (2 (2 The) (2 Rock)) (4 (3 (2 is) ...

:func:`load_sst` reads such a file into :class:`~treenets.Tree` objects whose
labels are Python ``int`` s, ready for ``TreeBatch.from_trees`` (its default
``label_fn`` keeps ints and treats ``-1`` as "no target").

Two label modes, as in Tai et al. (2015):

* ``"fine"``: the five classes 0..4 on every node.
* ``"binary"``: 0 and 1 become 0 (negative), 3 and 4 become 1 (positive) and
  the neutral 2 becomes ``-1`` (no target). Sentences whose *root* is neutral
  are dropped; neutral *phrase* nodes are kept with label ``-1``, so they are
  encoded but carry no loss.

Tokens. The bracket reader (:meth:`Tree.from_brackets`) removes backslash
escapes, so ``writer\\/director`` in the file becomes ``writer/director``.
PTB bracket escapes stay as they are (``-LRB-``, ``-RRB-``, `````,
``''``). GloVe was trained on text where brackets are plain ``(`` and ``)``:
pass :func:`treenets.formats.ptb.glove_forms` as ``candidates`` to
:func:`treenets.nn.embeddings.build_embedding_matrix` so that ``-LRB-`` finds
the vector of ``(``, or map tokens yourself with :func:`treenets.formats.ptb.ptb_unescape`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from ..formats.brackets import read_bracket_lines
from ..formats.lines import read_lines
from ..structures.tree import Tree, as_int
from ..utils.paths import PathLike, resolve_dir

__all__ = [
    "SST_SPLITS", "sst_binary_label", "load_sst", "load_sst_splits", "sst_path",
]

#: Split names; split ``s`` is the file ``<dir>/<s>.txt``.
SST_SPLITS = ("train", "dev", "test")

_MODES = ("fine", "binary", "binary3")


def sst_binary_label(label: Union[int, str]) -> int:
    """Map a fine-grained SST class to the binary task.

    Args:
        label: a class 0..4, as an ``int`` or a string such as ``"3"``.

    Returns:
        ``0`` for 0 and 1 (negative), ``1`` for 3 and 4 (positive), ``-1`` for
        the neutral 2 (no target).

    Raises:
        ValueError: if ``label`` is not an integer from 0 to 4.

    Example:
        >>> [sst_binary_label(x) for x in (0, 1, 2, 3, "4")]
        [0, 0, -1, 1, 1]
    """
    value = _fine_label(label)
    if value is None:
        raise ValueError(f"SST label {label!r} is not an integer from 0 to 4")
    return -1 if value == 2 else int(value >= 3)


def _fine_label(label: object) -> Optional[int]:
    """``label`` as an int 0..4, or ``None`` when it is not one."""
    if isinstance(label, str):
        label = label.strip()
    elif not isinstance(label, int) or isinstance(label, bool):
        return None
    value = as_int(label)  # ASCII digits only: "²".isdigit() is True, but it is no SST class
    return value if value is not None and 0 <= value <= 4 else None


def sst_path(path: Optional[PathLike] = None, split: Optional[str] = None) -> Path:
    """The file that :func:`load_sst` reads for ``path`` and ``split``.

    Args:
        path: an SST tree file, a folder holding ``train.txt``, ``dev.txt`` and
            ``test.txt``, or ``None`` for ``default_data_dir() / "sst"``
            (see :func:`treenets.data.default_data_dir`; set
            ``TREENETS_DATA_DIR`` to choose it).
        split: ``"train"``, ``"dev"`` or ``"test"``; required for a folder,
            not allowed with a file.

    Returns:
        The path of the tree file (not checked for existence).

    Raises:
        ValueError: for a missing or unknown split, or a split given with a file.
    """
    base = resolve_dir(path, "sst")
    if base.is_file():
        if split is not None:
            raise ValueError(f"{base} is a file, so split={split!r} has no meaning; "
                             f"pass the folder to choose a split")
        return base
    if split is None:
        if base.is_dir() or path is None:
            raise ValueError(f"{base} is a folder: name a split, one of {', '.join(SST_SPLITS)}")
        return base  # a missing file: open() names it
    if split not in SST_SPLITS:
        raise ValueError(f"unknown SST split {split!r}; expected one of {', '.join(SST_SPLITS)}")
    return base / f"{split}.txt"


def load_sst(
    path: Optional[PathLike] = None,
    split: Optional[str] = None,
    mode: str = "fine",
    drop_neutral: Optional[bool] = None,
) -> List[Tree]:
    """Read SST trees, one per line, with integer sentiment labels on every node.

    Args:
        path: a tree file, a folder with ``train.txt``/``dev.txt``/``test.txt``,
            or ``None`` for ``default_data_dir() / "sst"`` (the environment
            variable ``TREENETS_DATA_DIR`` sets the data folder).
        split: ``"train"``, ``"dev"`` or ``"test"`` when ``path`` is a folder
            (or ``None``); must be ``None`` when ``path`` is a file.
        mode: ``"fine"`` for classes 0..4, ``"binary"`` for 0/1 with neutral
            nodes labelled ``-1`` (see :func:`sst_binary_label`), or
            ``"binary3"`` for the paper code's binary task: 0 negative,
            1 neutral, 2 positive, so that neutral phrases are still trained on
            (pair it with ``NodeClassifier(masked_classes=(1,))``).
        drop_neutral: drop sentences whose root is neutral. Defaults to
            ``True`` in the binary modes, as in the paper; must stay ``None`` or
            ``False`` in fine mode, where every sentence is kept.

    Returns:
        The trees in file order. Node ``i``'s label is an ``int``; its token is
        the word (leaves) or ``None`` (phrases). Blank lines are skipped.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: on an unknown mode or split, a malformed tree, text that is
            not UTF-8, or a node whose label is not 0..4 in ASCII digits; the
            message names ``file:line`` and the token or phrase.

    Example:
        >>> trees = load_sst(split="dev", mode="binary")   # doctest: +SKIP
        >>> len(trees)                                       # doctest: +SKIP
        872
    """
    drop_neutral = check_mode(mode, drop_neutral)
    file = sst_path(path, split)
    lines = read_lines(file)
    source = str(file)
    trees = read_bracket_lines(lines, source=source)
    linenos = [i for i, line in enumerate(lines, 1) if line.strip()]
    out: List[Tree] = []
    for tree, lineno in zip(trees, linenos):
        labels = [mode_label(lab, mode) for lab in _int_labels(tree, f"{source}:{lineno}")]
        if drop_neutral and labels[tree.root] == NEUTRAL[mode]:
            continue
        out.append(Tree(tree.parents, tree.tokens, labels, tree.rels))
    return out


#: The label a neutral node gets in each mode.
NEUTRAL = {"fine": 2, "binary": -1, "binary3": 1}


def check_mode(mode: str, drop_neutral: Optional[bool]) -> bool:
    """Validate an SST label mode; returns ``drop_neutral`` with its default filled in."""
    if mode not in _MODES:
        raise ValueError(f"unknown SST mode {mode!r}; expected 'fine', 'binary' or 'binary3'")
    if drop_neutral is None:
        return mode in ("binary", "binary3")
    if drop_neutral and mode == "fine":
        raise ValueError("drop_neutral=True needs a binary mode: fine-grained SST keeps neutral sentences")
    return drop_neutral


def mode_label(label: int, mode: str) -> int:
    """A fine-grained class 0..4 (or -1, no label) in ``mode``'s classes.

    ``fine`` keeps it; ``binary`` is :func:`sst_binary_label`; ``binary3`` gives
    0 negative, 1 neutral, 2 positive. -1 stays -1.
    """
    if label < 0 or mode == "fine":
        return label
    if mode == "binary":
        return sst_binary_label(label)
    return 0 if label < 2 else 1 if label == 2 else 2


def load_sst_splits(path: Optional[PathLike] = None, mode: str = "fine",
                    splits: Sequence[str] = SST_SPLITS) -> Dict[str, List[Tree]]:
    """Read several SST splits from one folder with :func:`load_sst`.

    Args:
        path: the folder with the split files, or ``None`` for
            ``default_data_dir() / "sst"``.
        mode: ``"fine"`` or ``"binary"``.
        splits: the splits to read.

    Returns:
        ``{split: trees}`` in the order of ``splits``.
    """
    return {s: load_sst(path, s, mode=mode) for s in splits}


def _int_labels(tree: Tree, where: str) -> List[int]:
    labels: List[int] = []
    for node, label in enumerate(tree.labels):
        value = _fine_label(label)
        if value is None:
            raise ValueError(f"{where}: {_node_name(tree, node)} has label {label!r}; "
                             f"SST labels are integers from 0 to 4")
        labels.append(value)
    return labels


def _node_name(tree: Tree, node: int) -> str:
    token = tree.tokens[node]
    if token is not None:
        return f"token {token!r} (node {node})"
    text = " ".join(tree.subtree(node).words)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"phrase {text!r} (node {node})"
