"""Penn Treebank bracket files, read with nltk, and PTB clean-up.

* :func:`parse_ptb`: one bracketed tree from a string (``nltk.Tree.fromstring``).
* :func:`read_ptb` / :func:`read_ptb_file`: bracket files with nltk's
  ``BracketParseCorpusReader`` (Penn Treebank ``.mrg`` files, SST, the output
  of ``str(tree)``). Unlike nltk's reader, a malformed tree is an error naming
  the file and line, not a silent "recovered" flat parse (``strict=True``).
* :func:`clean_ptb`: remove ``-NONE-`` traces (and constituents left empty)
  and strip function tags and indices (``NP-SBJ-1`` -> ``NP``, ``NP=2`` ->
  ``NP``), as usual before training on real PTB.
* PTB escapes, the one place that knows them: :func:`unescape_word`
  (backslashes: ``1\\/2``), :func:`ptb_unescape` (also ``-LRB-`` -> ``(``,
  quotes; what vocabularies and contextual features look words up by) and
  :func:`glove_forms` (the forms to try in a vector file).

Binarization is :meth:`treenets.Tree.binarize` (nltk's ``chomsky_normal_form``).
The clean-up is iterative, so very deep trees work.
"""
from __future__ import annotations

import io
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Union

from ..structures.tree import Tree, check_binarize
from .lines import bom_tolerant

__all__ = [
    "parse_ptb",
    "read_ptb",
    "read_ptb_file",
    "clean_ptb",
    "strip_function_tag",
    "unescape_word",
    "PTB_ESCAPES",
    "ptb_unescape",
    "glove_forms",
]

_TAG_SPLIT = re.compile(r"[-=]")


def strip_function_tag(label: str) -> str:
    """Drop PTB function tags and co-indices from a label.

    ``NP-SBJ-1`` -> ``NP``, ``S-TPC-2`` -> ``S``, ``NP=2`` -> ``NP``,
    ``PP-LOC-CLR`` -> ``PP``. Labels that start with ``-`` (``-NONE-``,
    ``-LRB-``, ``-RRB-``) and the empty label are returned unchanged.

    Args:
        label: a node label.

    Returns:
        The bare category.
    """
    if not label or label.startswith("-"):
        return label
    base = _TAG_SPLIT.split(label, 1)[0]
    return base or label


def clean_ptb(tree: Any, strip_traces: bool = True, strip_function_tags: bool = True) -> Any:
    """Return a cleaned copy of a PTB ``nltk.Tree``.

    Args:
        tree: an ``nltk.Tree`` as read from a Penn Treebank file.
        strip_traces: remove ``-NONE-`` preterminals (traces, null elements)
            and every constituent left with no children by that.
        strip_function_tags: replace every label by
            :func:`strip_function_tag` of it.

    Returns:
        A new ``nltk.Tree``; the input is not modified.

    Raises:
        ValueError: if nothing is left (the tree held only null elements).
        TypeError: if ``tree`` is not an ``nltk.Tree``.
    """
    import nltk

    if not isinstance(tree, nltk.Tree):
        raise TypeError(f"clean_ptb expects an nltk.Tree, not {type(tree).__name__}")
    result = None
    frames: List[list] = [[tree, 0, []]]  # node, next child, rebuilt children
    while frames:
        frame = frames[-1]
        node, i, kids = frame
        if i < len(node):
            frame[1] += 1
            child = node[i]
            if isinstance(child, nltk.Tree):
                frames.append([child, 0, []])
            else:
                kids.append(child)
            continue
        frames.pop()
        label = node.label()
        if strip_traces and (label == "-NONE-" or (len(node) > 0 and not kids)):
            new = None
        else:
            if strip_function_tags and isinstance(label, str):
                label = strip_function_tag(label)
            new = nltk.Tree(label, kids)
        if frames:
            if new is not None:
                frames[-1][2].append(new)
        else:
            result = new
    if result is None:
        raise ValueError(f"nothing left after removing -NONE- elements from {' '.join(str(tree).split())[:80]!r}")
    return result


_ESCAPED = re.compile(r"\\(.)")

#: PTB escapes of whole tokens and the characters they stand for.
PTB_ESCAPES: Dict[str, str] = {
    "-LRB-": "(", "-RRB-": ")",
    "-LSB-": "[", "-RSB-": "]",
    "-LCB-": "{", "-RCB-": "}",
    "``": '"', "''": '"',
}


def unescape_word(word: str) -> str:
    """Undo PTB backslash escapes: ``1\\/2`` -> ``1/2``, ``\\*`` -> ``*``.

    Any backslash-escaped character is unescaped, as :meth:`Tree.from_brackets`
    does; ``-LRB-`` and friends are left alone.

    Args:
        word: a leaf as written in the file.

    Returns:
        The word.
    """
    return _ESCAPED.sub(r"\1", word) if "\\" in word else word


def _finish(tree: Any, clean: bool, strip_traces: bool, strip_function_tags: bool,
            binarize_factor: Optional[str], collapse_unary: bool, markov: Optional[int],
            unescape: bool = True) -> Tree:
    if clean and (strip_traces or strip_function_tags):
        tree = clean_ptb(tree, strip_traces=strip_traces, strip_function_tags=strip_function_tags)
    out = Tree.from_nltk(tree)
    if unescape and any(t is not None and "\\" in t for t in out.tokens):
        out = Tree(out.parents, [None if t is None else unescape_word(t) for t in out.tokens], out.labels, out.rels)
    if binarize_factor is not None:
        out = out.binarize(factor=binarize_factor, collapse_unary=collapse_unary, markov=markov)
    return out


def parse_ptb(text: str, strip_traces: bool = True, strip_function_tags: bool = True,
              binarize: Optional[str] = None, collapse_unary: bool = True,
              markov: Optional[int] = None, unescape: bool = True) -> Tree:
    """Read one bracketed tree with ``nltk.Tree.fromstring``.

    An unlabelled outer bracket, as in PTB files ``( (S ...) )``, is removed.

    Args:
        text: the tree in bracket notation.
        strip_traces: remove ``-NONE-`` elements (see :func:`clean_ptb`).
        strip_function_tags: strip function tags (see :func:`clean_ptb`).
        binarize: ``None``, ``"left"`` or ``"right"``.
        collapse_unary: with ``binarize``, merge unary chains too.
        markov: with ``binarize``, nltk's horizontal Markov order.
        unescape: undo backslash escapes in words (see :func:`unescape_word`).

    Returns:
        The tree.

    Raises:
        ValueError: for malformed brackets (nltk's message), an empty result,
            or a bad ``binarize``.
    """
    import nltk

    check_binarize(binarize)
    if not isinstance(text, str):
        raise TypeError(f"parse_ptb expects a string, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("empty input: no tree to read")
    try:
        tree = nltk.Tree.fromstring(text)
    except ValueError as err:
        raise ValueError(f"malformed bracketed tree: {err}") from None
    if isinstance(tree, nltk.Tree) and tree.label() == "" and len(tree) == 1 and isinstance(tree[0], nltk.Tree):
        tree = tree[0]
    return _finish(tree, True, strip_traces, strip_function_tags, binarize, collapse_unary, markov, unescape)


_ONE_CHAR_LEAF = re.compile(r"\((.)\)")
_THREE_ATOM_LEAF = re.compile(r"\(([^\s()]+) ([^\s()]+) [^\s()]+\)")


def _normalize(block: str) -> str:
    """nltk BracketParseCorpusReader's normalisation: ``(,)`` -> ``(, ,)``, ``(T w root)`` -> ``(T w)``."""
    return _THREE_ATOM_LEAF.sub(r"(\1 \2)", _ONE_CHAR_LEAF.sub(r"(\1 \1)", block))


class _BadTree(ValueError):
    def __init__(self, block: str, err: Exception) -> None:
        super().__init__(str(err))
        self.block = block
        self.err = err


def _parse_block(block: str) -> Any:
    import nltk

    try:
        tree = nltk.Tree.fromstring(_normalize(block))
    except ValueError as err:
        raise _BadTree(block, err) from None
    if isinstance(tree, nltk.Tree) and tree.label() == "" and len(tree) == 1 and isinstance(tree[0], nltk.Tree):
        return tree[0]  # PTB's unlabelled outer bracket "( (S ...) )"
    return tree


def _strict_reader_class():
    from nltk.corpus.reader import BracketParseCorpusReader

    class StrictBracketParseCorpusReader(BracketParseCorpusReader):
        """nltk's reader, except that a malformed tree raises instead of being guessed."""

        def _parse(self, t):
            return _parse_block(t)

    return StrictBracketParseCorpusReader


def _line_of(text: str, block: str, start: int = 0) -> Optional[int]:
    probe = block.strip()[:60]
    idx = text.find(probe, start) if probe else -1
    return None if idx < 0 else text.count("\n", 0, idx) + 1


def _file_text(path: str, encoding: str) -> str:
    try:
        with open(path, encoding=bom_tolerant(encoding)) as fin:
            return fin.read()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not {encoding} text ({err})") from None


def read_ptb(root: Union[str, os.PathLike], fileids: Union[str, Sequence[str]] = r"(?!\.).*",
             strip_traces: bool = True, strip_function_tags: bool = True,
             binarize: Optional[str] = None, collapse_unary: bool = True, markov: Optional[int] = None,
             strict: bool = True, comment_char: Optional[str] = None, detect_blocks: str = "unindented_paren",
             encoding: str = "utf8", unescape: bool = True) -> List[Tree]:
    """Read a bracketed corpus with nltk's ``BracketParseCorpusReader``.

    nltk (3.9.3 and later) only lets its corpus readers open directories in
    its data path (``nltk.data.path`` or ``$NLTK_DATA``), e.g. nltk's own
    ``corpora/treebank/combined``. For a file anywhere else use
    :func:`read_ptb_file`, or authorise the directory with
    ``nltk.data.path.append(root)``.

    Args:
        root: the corpus directory (e.g. ``.../treebank/combined``).
        fileids: a regular expression or a list of file names under ``root``
            (default: every file not starting with a dot).
        strip_traces: remove ``-NONE-`` elements (see :func:`clean_ptb`).
        strip_function_tags: strip function tags and indices.
        binarize: ``None``, ``"left"`` or ``"right"``.
        collapse_unary: with ``binarize``, merge unary chains too.
        markov: with ``binarize``, nltk's horizontal Markov order.
        strict: raise on a malformed tree (nltk's own reader prints a warning
            and returns a flat guess instead).
        comment_char: nltk's ``comment_char``.
        detect_blocks: nltk's ``detect_blocks`` (``"unindented_paren"``
            needs every tree to start at column 0; use ``"sexpr"`` otherwise).
        encoding: file encoding.
        unescape: undo backslash escapes in words (``1\\/2`` -> ``1/2``), as
            :meth:`Tree.from_brackets` does; see :func:`unescape_word`.

    Returns:
        Every tree of every file, in file order.

    Raises:
        FileNotFoundError: if ``root`` is not a directory.
        PermissionError: nltk refuses to read ``root`` (not in its data path).
        ValueError: no file matches ``fileids``, a malformed tree
            (``file:line: ...``), a tree of only null elements, or a bad
            ``binarize``.
    """
    from nltk.corpus.reader import BracketParseCorpusReader

    check_binarize(binarize)
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"treebank directory not found: {root}")
    cls = _strict_reader_class() if strict else BracketParseCorpusReader
    try:
        reader = cls(root, fileids, comment_char=comment_char, detect_blocks=detect_blocks, encoding=encoding)
    except PermissionError as err:
        raise PermissionError(
            f"nltk refuses to read {root}: its corpus readers only open directories in nltk's data path "
            f"({err}). Authorise it with nltk.data.path.append({root!r}) or $NLTK_DATA, or read single "
            f"files with treenets.formats.read_ptb_file(path)") from None
    names = reader.fileids()
    if not names:
        raise ValueError(f"no files in {root} match {fileids!r}")
    out: List[Tree] = []
    for name in names:
        path = os.path.join(root, name)
        count = 0
        try:
            for tree in reader.parsed_sents(name):
                count += 1
                out.append(_finish(tree, True, strip_traces, strip_function_tags, binarize, collapse_unary, markov, unescape))
        except _BadTree as err:
            line = _line_of(_file_text(path, encoding), err.block)
            where = f"{path}:{line}" if line is not None else f"{path} (tree {count + 1})"
            raise ValueError(f"{where}: malformed bracketed tree: {err.err}") from None
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not {encoding} text ({err})") from None
        except ValueError as err:
            raise ValueError(f"{path}: tree {count}: {err}") from None
    return out


def read_ptb_file(path: Union[str, os.PathLike], strip_traces: bool = True, strip_function_tags: bool = True,
                  binarize: Optional[str] = None, collapse_unary: bool = True, markov: Optional[int] = None,
                  comment_char: Optional[str] = None, detect_blocks: str = "unindented_paren",
                  encoding: str = "utf8", unescape: bool = True) -> List[Tree]:
    """Read one bracket file (PTB ``.mrg``, SST, ``str(tree)`` output) anywhere on disk.

    The file is opened with plain Python I/O and split into trees with the
    block readers of nltk's ``BracketParseCorpusReader``; each tree is read
    with ``nltk.Tree.fromstring``. A malformed tree is an error naming the
    file and line.

    Args:
        path: the file.
        strip_traces: remove ``-NONE-`` elements (see :func:`clean_ptb`).
        strip_function_tags: strip function tags and indices.
        binarize: ``None``, ``"left"`` or ``"right"``.
        collapse_unary: with ``binarize``, merge unary chains too.
        markov: with ``binarize``, nltk's horizontal Markov order.
        comment_char: lines starting with it are ignored.
        detect_blocks: ``"unindented_paren"`` (a tree starts at every ``(`` in
            column 0), ``"sexpr"`` (balanced brackets) or ``"blankline"``.
        encoding: file encoding.
        unescape: undo backslash escapes in words (``1\\/2`` -> ``1/2``), as
            :meth:`Tree.from_brackets` does; see :func:`unescape_word`.

    Returns:
        Its trees, in order (``[]`` for an empty file).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: a malformed tree or one of only null elements
            (``file:line: ...``), not-decodable text, a bad ``binarize`` or
            ``detect_blocks``.
    """
    from nltk.corpus.reader.util import read_blankline_block, read_regexp_block, read_sexpr_block

    check_binarize(binarize)
    readers = {
        "unindented_paren": lambda st: read_regexp_block(st, start_re=r"^\("),
        "sexpr": lambda st: read_sexpr_block(st, comment_char=comment_char),
        "blankline": read_blankline_block,
    }
    if detect_blocks not in readers:
        raise ValueError(f"detect_blocks must be one of {sorted(readers)}, not {detect_blocks!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"treebank file not found: {path}")
    text = _file_text(path, encoding)
    body = text
    if comment_char:
        body = re.sub("(?m)^" + re.escape(comment_char) + ".*$", "", text)
    stream = io.StringIO(body)
    out: List[Tree] = []
    while True:
        pos = stream.tell()
        blocks = readers[detect_blocks](stream)
        if not blocks:
            break
        for block in blocks:
            if not block.strip():
                continue
            line = _line_of(body, block, pos)
            where = path if line is None else f"{path}:{line}"
            try:
                tree = _parse_block(block)
            except _BadTree as err:
                raise ValueError(f"{where}: malformed bracketed tree: {err.err}") from None
            try:
                out.append(_finish(tree, True, strip_traces, strip_function_tags, binarize, collapse_unary, markov, unescape))
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
    return out


def ptb_unescape(token: str) -> str:
    """Undo PTB escaping of one token, for looking words up in GloVe.

    ``-LRB-``/``-RRB-`` become ``(``/``)`` (likewise ``-LSB-``, ``-RSB-``,
    ``-LCB-``, ``-RCB-``), the quotes ````` and ``''`` become ``"``, and
    backslash escapes (``\\/``, ``\\*``) lose the backslash. The bracket
    escapes are matched in any case, so a lowercasing vocabulary's ``-lrb-``
    works too.

    Args:
        token: a token as it appears in a PTB or SST tree.

    Returns:
        The plain-text form of the token (``token`` itself when nothing applies).

    Example:
        >>> ptb_unescape("-LRB-"), ptb_unescape("``"), ptb_unescape("and\\\\/or")
        ('(', '"', 'and/or')
    """
    plain = PTB_ESCAPES.get(token.upper() if token.startswith("-") else token)
    if plain is not None:
        return plain
    return unescape_word(token)


def glove_forms(token: str) -> List[str]:
    """Forms of a PTB token to try, in order, when looking up a word vector.

    Pass as ``candidates`` to :func:`treenets.nn.embeddings.build_embedding_matrix`.
    The token itself comes first (GloVe 6B has ````` and ``''`` as words), then
    its :func:`ptb_unescape` form (``-LRB-`` -> ``(``).

    Args:
        token: a token as it appears in a PTB or SST tree.

    Returns:
        One or two distinct strings.
    """
    plain = ptb_unescape(token)
    return [token] if plain == token else [token, plain]
