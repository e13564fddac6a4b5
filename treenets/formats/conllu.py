"""CoNLL-U: dependency trees with every word column, read and written without stanza.

A sentence is a block of word lines ended by a blank line; each word line has
ten tab-separated fields (https://universaldependencies.org/format.html)::

    ID  FORM  LEMMA  UPOS  XPOS  FEATS  HEAD  DEPREL  DEPS  MISC

Multi-word token lines (``2-3  don't``) give the surface tokens; empty nodes
(``4.1``) are skipped, as they are not part of the basic tree. ``# text = ...``
gives the sentence text.

Node labels (:attr:`Tree.labels`, e.g. an SST sentiment class carried over
to a dependency node) are kept in the MISC column as ``Label=VALUE``; other
MISC items are ignored. A dependency tree written here reads back as the same
tree (nodes, words, heads, relations, labels), projective or not, so this is
the lossless file form of dependency trees (brackets are not: see
:func:`treenets.formats.write_brackets`). Two things are filled in on the way:
a tree without relations is written with ``root`` and ``dep``, which come
back as its relations, and the ``# text`` comment has its whitespace runs made
single spaces, as it must stay on one line (the words keep theirs).

The reader and the writer are written here rather than taken from stanza
(reading a text file should not need stanza's pipeline stack) or from the
``conllu`` package (its errors carry no line numbers and it accepts spaces as
separators): every error names the file and line, and what the writer writes
the reader reads back to the same words, columns and tree.
"""
from __future__ import annotations

import os
from typing import Iterable, List, Optional, Sequence, Union

from ..structures.sentence import ParsedSentence
from ..structures.tree import Tree
from .lines import bom_tolerant

__all__ = ["read_conllu", "read_conllu_string", "read_conllu_sentences", "write_conllu"]

PathLike = Union[str, "os.PathLike[str]"]
_FORBIDDEN = ("\t", "\n", "\r")
#: The MISC key that holds a node's label.
LABEL_KEY = "Label"


#: The most characters of an ID or HEAD field (a range "a-b" of two 18-digit numbers); a longer one is refused
#: by line before it is converted (Python refuses integers of over 4,300 digits with no file or line).
_MAX_NUMBER = 40


def _is_int(text: str) -> bool:
    # ASCII digits only: str.isdigit() accepts superscripts and other scripts' digits
    return text.isascii() and text.isdigit()


def _field(value: Optional[str]) -> Optional[str]:
    return None if value == "_" else value


def _parse_lines(lines: Iterable[str], source: str) -> List[ParsedSentence]:
    sentences: List[ParsedSentence] = []
    block: List[tuple] = []  # (line number, fields) of word lines
    mwt: List[tuple] = []  # (line number, first, last, form)
    text: Optional[str] = None
    start: Optional[int] = None

    def finish() -> None:
        nonlocal block, mwt, text, start
        if block:
            sentences.append(_sentence(block, mwt, text, source, len(sentences)))
        block, mwt, text, start = [], [], None, None

    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip():
            finish()
            continue
        if start is None:
            start = number
        if line.startswith("#"):
            key, sep, value = line[1:].partition("=")
            if sep and key.strip() == "text":
                text = value.strip()
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise ValueError(f"{source}:{number}: expected 10 tab-separated fields, found {len(fields)}: "
                             f"{line[:60]!r}")
        ident = fields[0]
        for column, value in (("ID", ident), ("HEAD", fields[6])):
            if len(value) > _MAX_NUMBER:
                raise ValueError(f"{source}:{number}: the {column} column holds {len(value):,} characters "
                                 f"({value[:12]}...); IDs and heads are word numbers")
        if "." in ident:
            continue  # an empty node: not part of the basic tree
        if "-" in ident:
            first, _, last = ident.partition("-")
            if not (_is_int(first) and _is_int(last)) or int(first) > int(last):
                raise ValueError(f"{source}:{number}: bad ID {ident!r}: expected an integer or a range like 2-3")
            mwt.append((number, int(first), int(last), fields[1]))
            continue
        if not _is_int(ident):
            raise ValueError(f"{source}:{number}: bad ID {ident!r}: expected an integer or a range like 2-3")
        if int(ident) != len(block) + 1:
            raise ValueError(f"{source}:{number}: word ID {ident} out of order: expected {len(block) + 1} "
                             f"(word IDs run 1, 2, ... in each sentence)")
        head = fields[6]
        if head != "_" and not _is_int(head):
            raise ValueError(f"{source}:{number}: bad HEAD {head!r} for word {ident}: expected an integer or _")
        if fields[1] == "":
            raise ValueError(f"{source}:{number}: word {ident} has an empty FORM")
        fields.append(_misc_label(fields[9], f"{source}:{number}"))  # fields[10]: the node label or None
        block.append((number, fields))
    finish()
    return sentences


def _misc_label(misc: str, where: str) -> Optional[str]:
    """The ``Label=`` value of a MISC column, or ``None``."""
    if misc == "_" or LABEL_KEY + "=" not in misc:
        return None
    values = [item[len(LABEL_KEY) + 1:] for item in misc.split("|") if item.startswith(LABEL_KEY + "=")]
    if len(values) > 1:
        raise ValueError(f"{where}: MISC {misc!r} holds {len(values)} {LABEL_KEY}= items; a node has one label")
    if values and not values[0]:
        raise ValueError(f"{where}: MISC {misc!r} has an empty {LABEL_KEY}=")
    return values[0] if values else None


def _sentence(block: List[tuple], mwt: List[tuple], text: Optional[str], source: str,
              index: int) -> ParsedSentence:
    n = len(block)
    words = [f[1] for _, f in block]
    shown = text if text is not None else " ".join(words)
    label = f"sentence {index + 1} ({shown[:57] + '...' if len(shown) > 60 else shown!r})"
    heads = [f[6] for _, f in block]
    # tokens: multi-word ranges replace their words
    tokens: List[str] = []
    word_to_token = [-1] * n
    ranges = {}
    previous_last = 0
    for number, first, last, form in sorted(mwt, key=lambda r: r[1]):
        if first < 1 or last > n:
            raise ValueError(f"{source}:{number}: token range {first}-{last} goes past the words 1-{n}")
        if first <= previous_last:
            raise ValueError(f"{source}:{number}: token range {first}-{last} overlaps the range before it")
        ranges[first] = (last, form, number)
        previous_last = last
    k = 1
    while k <= n:
        if k in ranges:
            last, form, number = ranges[k]
            for w in range(k, last + 1):
                word_to_token[w - 1] = len(tokens)
            tokens.append(form)
            k = last + 1
        else:
            word_to_token[k - 1] = len(tokens)
            tokens.append(words[k - 1])
            k += 1
    sent = ParsedSentence(
        words=words, text=text if text is not None else " ".join(tokens),
        lemmas=[_field(f[2]) for _, f in block], upos=[_field(f[3]) for _, f in block],
        xpos=[_field(f[4]) for _, f in block], feats=[_field(f[5]) for _, f in block],
        tokens=tokens, word_to_token=word_to_token, index=index)
    if all(h == "_" for h in heads):
        return sent  # no dependency annotation
    for (number, f), head in zip(block, heads):
        if head == "_":
            raise ValueError(f"{source}:{number}: {label}: word {f[0]} ({f[1]!r}) has no head "
                             f"while other words do")
        if not 0 <= int(head) <= n:
            raise ValueError(f"{source}:{number}: HEAD {head} of word {f[0]} is out of range 0..{n} "
                             f"(the sentence has {n} words)")
    labels = [f[10] for _, f in block]
    try:
        sent.dependency = Tree.from_parents(words, [int(h) for h in heads], rels=[_field(f[7]) for _, f in block],
                                            labels=labels if any(lab is not None for lab in labels) else None)
    except ValueError as err:
        raise ValueError(f"{source}:{block[0][0]}: {label}: {err} (node k is word ID k + 1: nodes count from "
                         f"0)") from None
    return sent


def read_conllu_sentences(path_or_lines: Union[PathLike, Iterable[str]], source: Optional[str] = None,
                          encoding: str = "utf-8") -> List[ParsedSentence]:
    """Read CoNLL-U into :class:`~treenets.parsers.ParsedSentence` objects with every column.

    Args:
        path_or_lines: a file path, or an iterable of lines.
        source: the name used in error messages (default: the path, or ``<input>``).

    Returns:
        One sentence per block, with ``dependency`` set when the block has heads.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: malformed CoNLL-U (wrong field count, bad ID or HEAD, heads
            that do not form a tree) or undecodable text, naming ``file:line``.
    """
    if isinstance(path_or_lines, (str, os.PathLike)):
        path = os.fspath(path_or_lines)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"CoNLL-U file not found: {path}")
        try:
            with open(path, encoding=bom_tolerant(encoding)) as f:
                return _parse_lines(f, source or path)
        except UnicodeDecodeError as err:
            raise ValueError(f"{source or path}: not {encoding} text ({err})") from None
    return _parse_lines(path_or_lines, source or "<input>")


def read_conllu(path: PathLike, encoding: str = "utf-8") -> List[Tree]:
    """The dependency trees of a CoNLL-U file, one per sentence (``tokens`` = FORM, ``rels`` = DEPREL).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: malformed CoNLL-U or a sentence without heads, naming ``file:line``.
    """
    return [_tree_of(s, os.fspath(path)) for s in read_conllu_sentences(path, encoding=encoding)]


def read_conllu_string(text: str, source: str = "<string>") -> List[Tree]:
    """The dependency trees of CoNLL-U text; errors name ``source`` and the line.

    Lines end at ``\\n`` (or ``\\r\\n``) only, as in a file: other Unicode
    line separators are text.
    """
    return [_tree_of(s, source) for s in read_conllu_sentences(text.split("\n"), source)]


def _tree_of(sentence: ParsedSentence, source: str) -> Tree:
    if sentence.dependency is None:
        raise ValueError(f"{source}: sentence {sentence.index + 1} ({sentence.text!r}) has no HEAD column values")
    return sentence.dependency


def _column(values: Optional[Sequence[Optional[str]]], k: int, name: str, where: str) -> str:
    """Column value ``values[k]`` as written: ``_`` when missing; a tab or line break is an error."""
    value = None if values is None or k >= len(values) else values[k]
    if value is None or value == "":
        return "_"
    value = str(value)
    if any(ch in value for ch in _FORBIDDEN):
        raise ValueError(f"{where}: {name} {value!r} of word {k + 1} holds a tab or line break, "
                         f"which CoNLL-U cannot store")
    return value


def write_conllu(sentences: Iterable[Union[Tree, ParsedSentence]], start: int = 1) -> str:
    """CoNLL-U text for dependency trees or parsed sentences, every column filled that is known.

    A :class:`ParsedSentence` gives LEMMA, UPOS, XPOS, FEATS, the ``# text``
    comment and the multi-word token lines; a bare :class:`Tree` gives FORM,
    HEAD and DEPREL, the other columns ``_``. A missing relation is written as
    ``root`` at the root and ``dep`` elsewhere. Node labels go into MISC as
    ``Label=VALUE`` (``str(label)``).

    Args:
        sentences: dependency trees (a word at every node) or parsed sentences
            with a dependency tree.
        start: the ``# sent_id`` of the first sentence.

    Raises:
        ValueError: a tree without a word at every node (a constituency tree),
            a sentence without a dependency tree, a value holding a tab or
            line break, a relation ``_`` (which reads back as none), or a label
            holding ``|`` (the MISC separator); naming the sentence and word.
    """
    out: List[str] = []
    for k, item in enumerate(sentences):
        where = f"sentence {start + k}"
        sent = item if isinstance(item, ParsedSentence) else None
        tree = sent.dependency if sent is not None else item
        if not isinstance(tree, Tree):
            raise ValueError(f"{where} has no dependency tree to write as CoNLL-U")
        if any(tok is None for tok in tree.tokens):
            raise ValueError(f"{where}: CoNLL-U needs a word at every node (a dependency tree); "
                             f"write constituency trees as brackets or dot")
        words = [str(t) for t in tree.tokens]
        for i, w in enumerate(words):
            if w == "" or any(ch in w for ch in _FORBIDDEN):
                raise ValueError(f"{where}: word {i + 1} {w!r} is empty or holds a tab or line break, "
                                 f"which CoNLL-U cannot store")
        text = sent.text if sent is not None and sent.text else " ".join(words)
        lines = [f"# sent_id = {start + k}", "# text = " + " ".join(text.split())]
        ranges = {}
        if sent is not None and sent.tokens and len(sent.word_to_token) == len(words):
            for tok_index, form in enumerate(sent.tokens):
                members = [i for i, t in enumerate(sent.word_to_token) if t == tok_index]
                if len(members) > 1:
                    ranges[members[0]] = (members[-1], form)
        rels = [r if tree.rels is not None and tree.rels[i] not in (None, "") else ("root" if p < 0 else "dep")
                for i, (r, p) in enumerate(zip(tree.rels or [None] * len(words), tree.parents))]
        misc = ["_"] * len(words)
        for i, (rel, lab) in enumerate(zip(rels, tree.labels)):
            if rel == "_":
                raise ValueError(f"{where}: relation '_' of word {i + 1} would read back as no relation")
            if lab is not None:
                text_label = str(lab)
                if "|" in text_label or any(ch in text_label for ch in _FORBIDDEN):
                    raise ValueError(f"{where}: label {text_label!r} of word {i + 1} holds '|', a tab or a line "
                                     f"break, which the MISC column cannot store")
                misc[i] = f"{LABEL_KEY}={text_label}"
        for i, (word, parent) in enumerate(zip(words, tree.parents)):
            if i in ranges:
                last, form = ranges[i]
                lines.append("\t".join([f"{i + 1}-{last + 1}", _column([form], 0, "token", where)] + ["_"] * 8))
            lines.append("\t".join([
                str(i + 1), word,
                _column(sent and sent.lemmas, i, "lemma", where),
                _column(sent and sent.upos, i, "UPOS", where),
                _column(sent and sent.xpos, i, "XPOS", where),
                _column(sent and sent.feats, i, "FEATS", where),
                str(parent + 1), _column(rels, i, "DEPREL", where), "_", misc[i]]))
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)
