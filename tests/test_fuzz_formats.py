"""Fuzzing every reader and writer in treenets/formats: round trips, and arbitrary input.

Round trips: whatever a writer accepts, its reader gives back unchanged; what
a writer cannot store, it refuses with a ValueError naming the sentence or
node; what a Tree cannot hold (an empty field, a line break), the Tree refuses.
Arbitrary text or bytes given to a reader end in a tree or in a documented
exception (ValueError, naming the file for file readers; FileNotFoundError),
never another exception or a hang.

Each test runs ``QUICK`` examples by default and ``MANY`` under ``-m slow``
(see ``tests/_fuzz.py``).
"""
import re

import numpy as np
import pytest
from hypothesis import assume
from hypothesis import strategies as st

from _fuzz import (
    BYTES, COUNTS, TEXT, build, expect_documented, fuzz, preorder_parents, projective_parents, read_or_fail_well,
    shapes, text, valid_field,
)
from treenets import Tree, Vocab
from treenets.formats import (
    parse_ptb, read_bracket_file, read_brackets, read_conllu, read_conllu_string, read_heads_files, read_ptb_file,
    read_vectors, read_vocab, write_brackets, write_conllu, write_dot, write_heads_files,
)


# ---------------------------------------------------------------- brackets
@st.composite
def bracket_trees(draw):
    """Trees numbered so that brackets hold them (projective dependency, or constituency in pre-order), any fields."""
    if draw(st.booleans()):
        parents = draw(projective_parents())
        tokens = draw(st.lists(text(), min_size=len(parents), max_size=len(parents)))
    else:
        parents = draw(preorder_parents())
        n = len(parents)
        tokens = [draw(st.one_of(st.none(), text())) for _ in range(n)]
        assume(any(t is None for t in tokens))  # a word at every node reads as a dependency tree
    n = len(parents)
    labels = draw(st.lists(st.one_of(st.none(), text(), st.integers(-2, 5)), min_size=n, max_size=n))
    rels = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), text()), min_size=n, max_size=n)))
    return parents, tokens, labels, rels


@pytest.mark.parametrize("examples", COUNTS)
def test_brackets_round_trip_or_refuse_at_construction(examples):
    """An empty label used to print '()' and a newline in a token broke line files."""
    def check(drawn):
        tree = build(*drawn)
        if tree is None:
            return
        line = write_brackets(tree)
        assert "\n" not in line and "\r" not in line and str(tree) == line
        assert read_brackets(line) == tree

    fuzz(examples, bracket_trees())(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_non_projective_trees_print_a_readable_display_form(examples):
    def check(tree, tokens):
        tree = build(tree.parents, tokens)
        if tree is None:
            return
        back = read_brackets(write_brackets(tree))
        assert sorted(back.words) == sorted(tree.words) and len(back) == len(tree)
        assert read_brackets(write_brackets(back)) == back

    fuzz(examples, shapes(), st.lists(text(min_size=1), min_size=9, max_size=9).map(lambda t: t))(
        lambda tree, tokens: check(tree, tokens[:len(tree)]))


@pytest.mark.parametrize("examples", COUNTS)
def test_brackets_from_arbitrary_text(examples):
    def check(data):
        try:
            tree = read_brackets(data)
        except Exception as err:  # noqa: BLE001 - the point is which exceptions
            expect_documented(err)
            return
        assert isinstance(tree, Tree)

    fuzz(examples, st.one_of(TEXT, BYTES.map(lambda b: b.decode("utf-8", "replace"))))(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_bracket_files_from_arbitrary_bytes(examples, tmp_path):
    fuzz(examples, BYTES)(lambda data: read_or_fail_well(read_bracket_file, tmp_path / "trees.txt", data))


# --------------------------------------------------------------------- PTB
_PTB_ATOM = text(min_size=1, max_size=4, alphabet=st.sampled_from("abcXYZ019.,;'`$%&*+=!?\u00e9\u00b2"))


@st.composite
def ptb_trees(draw):
    """Constituency trees as PTB files have them: a label on every node, a word at every leaf, none elsewhere."""
    parents = draw(preorder_parents())
    n = len(parents)
    kids = Tree(parents).children
    tokens = [draw(_PTB_ATOM) if not kids[k] else None for k in range(n)]
    labels = [draw(_PTB_ATOM) for _ in range(n)]
    return Tree(parents, tokens, labels)


@pytest.mark.parametrize("examples", COUNTS)
def test_ptb_round_trip(examples, tmp_path):
    path = tmp_path / "trees.mrg"

    def check(trees):
        lines = [write_brackets(t) for t in trees]
        for tree, line in zip(trees, lines):
            assert parse_ptb(line, strip_traces=False, strip_function_tags=False) == tree
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        assert read_ptb_file(path, strip_traces=False, strip_function_tags=False) == trees

    fuzz(examples, st.lists(ptb_trees(), min_size=1, max_size=3), scale=0.5)(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_ptb_from_arbitrary_input(examples, tmp_path):
    path = tmp_path / "trees.mrg"

    def check(data):
        try:
            parse_ptb(data.decode("utf-8", "replace"))
        except Exception as err:  # noqa: BLE001
            expect_documented(err)
        for blocks in ("unindented_paren", "sexpr", "blankline"):
            read_or_fail_well(read_ptb_file, path, data, detect_blocks=blocks)

    fuzz(examples, BYTES, scale=0.5)(check)


# ----------------------------------------------------------------- CoNLL-U
@st.composite
def dependency_fields(draw):
    """Any dependency tree (projective or not) with arbitrary words, relations (or none) and labels (or none)."""
    tree = draw(shapes())
    n = len(tree)
    tokens = draw(st.lists(text(min_size=1), min_size=n, max_size=n))
    rels = draw(st.one_of(st.none(), st.lists(text(min_size=1), min_size=n, max_size=n)))
    labels = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), text(), st.integers(-1, 4)),
                                                 min_size=n, max_size=n)))
    return tree.parents, tokens, labels, rels


def _conllu_can_hold(tree: Tree) -> bool:
    fields = tree.tokens + (tree.rels or [])
    labels = [str(lab) for lab in tree.labels if lab is not None]
    return (not any("\t" in f for f in fields + labels) and not any("|" in lab for lab in labels)
            and "_" not in (tree.rels or []))


@pytest.mark.parametrize("examples", COUNTS)
def test_conllu_round_trip_or_refuse(examples, tmp_path):
    """A token with a tab used to be written as invalid CoNLL-U; non-projective trees must come back as they were."""
    path = tmp_path / "trees.conllu"

    def check(drawn):
        tree = build(*drawn)
        if tree is None:
            return
        if not _conllu_can_hold(tree):
            with pytest.raises(ValueError, match=r"sentence 1: .*(word|label|relation)"):
                write_conllu([tree])
            return
        text_ = write_conllu([tree])
        expected = tree if tree.rels is not None else Tree(
            tree.parents, tree.tokens, tree.labels, ["root" if p < 0 else "dep" for p in tree.parents])
        assert read_conllu_string(text_) == [expected]
        path.write_text(text_, encoding="utf-8")
        (back,) = read_conllu(path)
        assert back == expected and back.words == tree.words

    fuzz(examples, dependency_fields())(check)


# a word line: ten columns (or a few more or fewer), each a likely value, a broken one, or arbitrary text
word_line = st.tuples(
    st.one_of(st.sampled_from(["1", "2", "3"]), st.sampled_from(["1-2", "2-3", "1.1", "0", "\u00b2", "x"]), text(max_size=2)),
    st.one_of(st.sampled_from(["a", "_", ""]), text(max_size=3)),
    *[st.one_of(st.just("_"), text(max_size=3))] * 4,
    st.one_of(st.sampled_from(["0", "1", "2", "3"]), st.sampled_from(["-1", "\u00b2", "\u0663", "1_0", "2.0", "_", ""]),
              text(max_size=2)),
    st.one_of(st.sampled_from(["root", "dep", "_"]), text(max_size=3)),
    st.just("_"),
    st.one_of(st.sampled_from(["_", "Label=3", "Label=", "Label=1|Label=2", "SpaceAfter=No|Label=-1"]), text(max_size=4)),
    st.sampled_from([10, 10, 10, 10, 9, 11]),  # how many columns the line keeps
).map(lambda f: "\t".join((list(f[:10]) + ["x"])[:f[10]]))


_BAD_VALUES = ["\u00b2", "\u0663", "1_0", "2.0", "-1", "99", "_", "", "Label=", "Label=1|Label=2"]


def _mutate(fields, line: int, column: int, value: str) -> str:
    """Valid CoNLL-U (of a random tree) with one column of one word line replaced."""
    tree = build(*fields)
    if tree is None or not _conllu_can_hold(tree):
        return ""
    lines = write_conllu([tree]).split("\n")
    words = [k for k, row in enumerate(lines) if row and not row.startswith("#")]
    row = lines[words[line % len(words)]].split("\t")
    row[column] = value
    lines[words[line % len(words)]] = "\t".join(row)
    return "\n".join(lines)


@pytest.mark.parametrize("examples", COUNTS)
def test_conllu_from_arbitrary_input(examples, tmp_path):
    """'²' in HEAD used to fail inside int() with no file or line."""
    path = tmp_path / "in.conllu"
    rows = st.lists(st.one_of(word_line, st.sampled_from(["", "# text = x", "#"])), max_size=8).map("\n".join)
    mutated = st.builds(_mutate, dependency_fields(), st.integers(0, 20), st.sampled_from([6, 0, 6, 1, 6, 7, 9]),
                        st.one_of(st.sampled_from(_BAD_VALUES), st.sampled_from(_BAD_VALUES), text(max_size=2)))

    def check(data):
        try:
            read_conllu_string(data, source="fuzz.conllu")
        except Exception as err:  # noqa: BLE001
            expect_documented(err, "fuzz.conllu")
        path.write_bytes(data.encode("utf-8", "surrogatepass"))
        try:
            read_conllu(path)
        except Exception as err:  # noqa: BLE001
            expect_documented(err, str(path))

    fuzz(examples, st.one_of(mutated, mutated, mutated, rows, TEXT, BYTES.map(lambda b: b.decode("utf-8", "replace"))),
         scale=3)(check)


# ------------------------------------------------------------------- heads
@pytest.mark.parametrize("examples", COUNTS)
def test_heads_files_round_trip_or_refuse(examples, tmp_path):
    paths = [tmp_path / "x.toks", tmp_path / "x.parents", tmp_path / "x.rels"]

    def check(drawn_trees):
        trees = [t for t in (build(*d) for d in drawn_trees) if t is not None]
        storable = all(t.rels is not None and all(f and not any(ch.isspace() for ch in f) for f in t.tokens + t.rels)
                       for t in trees)
        if not storable:
            with pytest.raises(ValueError, match=r"tree \d+, node \d+: (token|relation)"):
                write_heads_files(trees, *paths)
            return
        write_heads_files(trees, *paths)
        back = read_heads_files(*paths)
        assert back == [Tree(t.parents, t.tokens, None, t.rels) for t in trees]  # heads files hold no labels

    fuzz(examples, st.lists(dependency_fields(), min_size=1, max_size=3))(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_heads_files_from_arbitrary_input(examples, tmp_path):
    paths = [tmp_path / "x.toks", tmp_path / "x.parents", tmp_path / "x.rels"]
    heads = st.lists(st.lists(st.sampled_from(["0", "1", "2", "3", "-1", "\u00b2", "x", "2.5"]), max_size=4)
                     .map(" ".join), max_size=3).map("\n".join).map(str.encode)

    def check(toks, parents, rels):
        for path, data in zip(paths, (toks, parents, rels)):
            path.write_bytes(data)
        try:
            read_heads_files(*paths)
        except Exception as err:  # noqa: BLE001
            expect_documented(err, "x.")

    fuzz(examples, BYTES, st.one_of(heads, BYTES), BYTES)(check)


# ----------------------------------------------------------------- vectors
def _utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_VECTOR_TOKEN = text(min_size=1, max_size=6).filter(
    lambda s: "\n" not in s and s.strip(" \t\r") == s and s.strip() and _utf8(s))


@pytest.mark.parametrize("examples", COUNTS)
def test_vectors_round_trip(examples, tmp_path):
    path = tmp_path / "vecs.txt"
    floats = st.floats(width=32, allow_nan=False, allow_infinity=False)

    def check(dim, rows, header):
        lines = [f"{len(rows)} {dim}"] if header else []
        lines += [w + " " + " ".join(repr(float(x)) for x in values[:dim]) for w, values in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        vectors = read_vectors(path, fmt="word2vec" if header else "glove", dim=dim)
        first = {}
        for w, values in rows:
            first.setdefault(w, values[:dim])
        assert vectors.words == list(first) and vectors.duplicates == len(rows) - len(first)
        assert np.array_equal(vectors.vectors.numpy(), np.array(list(first.values()), dtype=np.float32).reshape(-1, dim))

    fuzz(examples, st.integers(1, 4), st.lists(st.tuples(_VECTOR_TOKEN, st.lists(floats, min_size=4, max_size=4)),
                                                min_size=1, max_size=5), st.booleans())(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_vectors_refuse_non_finite_values(examples, tmp_path):
    """'the nan 1.0' used to be read, and one NaN vector made a whole training run NaN."""
    path = tmp_path / "vecs.txt"

    def check(bad, position):
        values = ["0.5", "1.0", "-2"]
        values[position] = bad
        path.write_text("a 1 2 3\nthe " + " ".join(values) + "\n", encoding="utf-8")
        with pytest.raises(ValueError, match=r"vecs\.txt:2: value .* of token 'the' is not (finite|a number)"):
            read_vectors(path)

    fuzz(examples, st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1e400", "\u0663", "1_0",
                                    "\u00b2", "0x1"]), st.integers(0, 2), scale=0.5)(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_vectors_from_arbitrary_bytes(examples, tmp_path):
    """A header written with a Unicode digit used to fail inside int() with no file or line."""
    path = tmp_path / "vecs.txt"
    headed = st.tuples(st.sampled_from([b"2 3", b"\xc2\xb2 3", b"2 \xc2\xb2", b"0 0", b"1 1", b"x 2"]), BYTES).map(
        lambda t: t[0] + b"\n" + t[1])

    fuzz(examples, st.one_of(BYTES, headed), st.sampled_from(["auto", "glove", "word2vec"]))(
        lambda data, fmt: read_or_fail_well(read_vectors, path, data, fmt=fmt))


# ------------------------------------------------------------------- vocab
@pytest.mark.parametrize("examples", COUNTS)
def test_vocab_round_trip(examples, tmp_path):
    """Tokens holding '\\r' or '\\n' used to be split in two by save/load."""
    path = tmp_path / "vocab.txt"

    def check(tokens):
        if not all(_utf8(t) for t in tokens):  # a lone surrogate (and maybe a token twice: either is named)
            with pytest.raises(ValueError, match="lone surrogate|is also token"):
                Vocab.from_itos(tokens, unk=None).save(path)
            return
        if len(set(tokens)) != len(tokens):  # a token twice: two ids for one word, refused
            with pytest.raises(ValueError, match="is also token"):
                Vocab.from_itos(tokens, unk=None).save(path)
            return
        Vocab.from_itos(tokens, unk=None).save(path)
        assert read_vocab(path) == tokens

    fuzz(examples, st.lists(text(max_size=5), max_size=8))(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_vocab_from_arbitrary_bytes(examples, tmp_path):
    path = tmp_path / "vocab.txt"

    def check(data):
        tokens = read_or_fail_well(read_vocab, path, data)
        assert tokens is None or all(isinstance(t, str) for t in tokens)

    fuzz(examples, BYTES)(check)


# --------------------------------------------------------------------- dot
_DOT_NODE = re.compile(r'  n(\d+) \[label="((?:[^"\\]|\\.)*)"\];')
_DOT_EDGE = re.compile(r"  n(\d+) -> n(\d+);")


@pytest.mark.parametrize("examples", COUNTS)
def test_dot_is_well_formed_and_says_every_field(examples):
    def check(drawn):
        tree = build(*drawn)
        if tree is None:
            return
        lines = write_dot(tree).splitlines()
        assert lines[0].startswith("digraph ") and lines[-1] == "}"
        nodes = [_DOT_NODE.fullmatch(line) for line in lines if "[label=" in line]
        edges = [_DOT_EDGE.fullmatch(line) for line in lines if "->" in line]
        assert all(nodes) and all(edges) and len(nodes) == len(tree) and len(edges) == len(tree) - 1
        assert len(lines) == 3 + len(nodes) + len(edges)
        for m in nodes:
            i = int(m.group(1))
            label = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), m.group(2))
            parts = [str(p) for p in (tree.labels[i], tree.rels[i] if tree.rels else None, tree.tokens[i])
                     if p is not None]
            assert label == (" | ".join(parts) or str(i))
        assert sorted((int(m.group(2)), int(m.group(1))) for m in edges) == sorted(
            (i, p) for i, p in enumerate(tree.parents) if p >= 0)

    fuzz(examples, bracket_trees())(check)


# --------------------------------------------------------------- fields
@pytest.mark.parametrize("examples", COUNTS)
def test_a_tree_refuses_exactly_the_fields_no_format_can_hold(examples):
    def check(value, field):
        kwargs = {"tokens": ["w"], "labels": None, "rels": None, field: [value]}
        tree = build([-1], kwargs["tokens"], kwargs["labels"], kwargs["rels"])
        assert (tree is not None) == valid_field(value)

    fuzz(examples, st.one_of(text(), st.just("\ud800")), st.sampled_from(["tokens", "labels", "rels"]))(check)
