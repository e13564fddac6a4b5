"""Tests for treenets.formats.ptb and structures.nltk: nltk.Tree in/out, PTB files, clean-up, binarization."""
import textwrap

import pytest

nltk = pytest.importorskip("nltk", reason="nltk is not installed")

from treenets.formats import (  # noqa: E402
    clean_ptb,
    parse_ptb,
    read_bracket_lines,
    read_ptb,
    read_ptb_file,
    strip_function_tag,
    to_nltk,
)
from treenets.structures.tree import Tree  # noqa: E402


def binarize(tree, factor="right", **options):
    """Tree.binarize on a Tree or an nltk.Tree."""
    return (tree if isinstance(tree, Tree) else Tree.from_nltk(tree)).binarize(factor=factor, **options)

WSJ = textwrap.dedent("""\
    ( (S
        (NP-SBJ
          (NP (NNP Pierre) (NNP Vinken) )
          (, ,)
          (ADJP
            (NP (CD 61) (NNS years) )
            (JJ old) )
          (, ,) )
        (VP (MD will)
          (VP (VB join)
            (NP (DT the) (NN board) )
            (PP-CLR (IN as)
              (NP (DT a) (JJ nonexecutive) (NN director) ))
            (NP-TMP (NNP Nov.) (CD 29) )))
        (. .) ))
    ( (S
        (NP-SBJ-1 (-NONE- *-2) )
        (VP (VBZ is)
          (NP-PRD (NNP Mr.) (NNP Vinken) ))
        (-LRB- -LRB-) (. .) ))
    """)

WORDS_0 = "Pierre Vinken , 61 years old , will join the board as a nonexecutive director Nov. 29 .".split()


def test_nltk_round_trip():
    nt = nltk.Tree.fromstring("(S (NP (DT the) (NN dog)) (VP (VBZ barks)))")
    tree = Tree.from_nltk(nt)
    assert tree.words == ["the", "dog", "barks"]
    assert tree.labels[:2] == ["S", "NP"]
    assert to_nltk(tree) == nt
    assert Tree.from_nltk(to_nltk(tree)) == tree
    with pytest.raises(TypeError):
        to_nltk(nt)


@pytest.mark.parametrize("label, bare", [
    ("NP-SBJ", "NP"), ("NP-SBJ-1", "NP"), ("S-TPC-2", "S"), ("NP=2", "NP"), ("PP-LOC-CLR", "PP"),
    ("-NONE-", "-NONE-"), ("-LRB-", "-LRB-"), ("NN", "NN"), ("PRP$", "PRP$"), ("3", "3"), ("", ""),
])
def test_strip_function_tag(label, bare):
    assert strip_function_tag(label) == bare


def test_parse_ptb_strips_traces_and_tags():
    tree = parse_ptb(WSJ.split("( (S\n    (NP-SBJ-1")[0].strip())
    assert tree.words == WORDS_0
    assert "NP-SBJ" not in tree.labels and "PP" in tree.labels and "NP" in tree.labels
    raw = parse_ptb("( (S (NP-SBJ-1 (-NONE- *-2)) (VP (VBZ is))) )", strip_traces=False, strip_function_tags=False)
    assert raw.words == ["*-2", "is"] and "NP-SBJ-1" in raw.labels
    clean = parse_ptb("( (S (NP-SBJ-1 (-NONE- *-2)) (VP (VBZ is))) )")
    assert str(clean) == "(S (VP (VBZ is)))"


def test_parse_ptb_errors():
    with pytest.raises(ValueError, match="empty"):
        parse_ptb("  ")
    with pytest.raises(ValueError, match="malformed"):
        parse_ptb("(S (NP (DT a)")
    with pytest.raises(ValueError, match="nothing left"):
        parse_ptb("(S (NP (-NONE- *)))")
    with pytest.raises(ValueError, match="binarize"):
        parse_ptb("(S (X a))", binarize="up")


def test_clean_ptb_does_not_modify_input():
    nt = nltk.Tree.fromstring("(S (NP-SBJ (-NONE- *)) (VP-1 (VB go)))")
    before = nt.copy(deep=True)
    out = clean_ptb(nt)
    assert nt == before
    assert str(out) == "(S (VP (VB go)))"
    with pytest.raises(TypeError):
        clean_ptb("(S (X a))")


def test_clean_ptb_is_iterative_on_deep_trees():
    depth = 5000
    node = nltk.Tree("-NONE-", ["*"])
    node = nltk.Tree("X-1", [nltk.Tree("W", ["w"]), node])
    for _ in range(depth):
        node = nltk.Tree("X-1", [node])
    out = Tree.from_nltk(clean_ptb(node))
    assert out.words == ["w"] and len(out) == depth + 2 and out.labels[0] == "X"


def test_read_ptb_file(tmp_path):
    path = tmp_path / "wsj_0001.mrg"
    path.write_text(WSJ, encoding="utf-8")
    trees = read_ptb_file(path)
    assert len(trees) == 2
    assert trees[0].words == WORDS_0
    assert trees[1].words == ["is", "Mr.", "Vinken", "-LRB-", "."]
    assert all(not (lab or "").startswith("NP-") for t in trees for lab in t.labels)
    raw = read_ptb_file(path, strip_traces=False, strip_function_tags=False)
    assert raw[1].words[0] == "*-2" and "NP-SBJ-1" in raw[1].labels
    assert read_ptb_file(path, detect_blocks="sexpr") == trees
    empty = tmp_path / "empty.mrg"
    empty.write_text("", encoding="utf-8")
    assert read_ptb_file(empty) == []


def test_read_ptb_file_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.mrg"
    path.write_text("(S (NP (DT a)) (VP (VB b)))\n\n(S (NP (DT c)) (VP (VB d))\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.mrg:3: malformed bracketed tree"):
        read_ptb_file(path)
    nulls = tmp_path / "nulls.mrg"
    nulls.write_text("(S (X a))\n(S (NP (-NONE- *)))\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"nulls\.mrg:2: nothing left"):
        read_ptb_file(nulls)
    with pytest.raises(FileNotFoundError, match="missing.mrg"):
        read_ptb_file(tmp_path / "missing.mrg")
    with pytest.raises(ValueError, match="detect_blocks"):
        read_ptb_file(path, detect_blocks="lines")


def test_read_ptb_file_comments(tmp_path):
    path = tmp_path / "c.mrg"
    path.write_text("# a comment (with brackets\n(S (X a))\n# another\n(S (Y b))\n", encoding="utf-8")
    assert [t.words for t in read_ptb_file(path, comment_char="#", detect_blocks="sexpr")] == [["a"], ["b"]]


def test_read_ptb_with_nltk_reader(tmp_path, monkeypatch):
    (tmp_path / "a.mrg").write_text(WSJ, encoding="utf-8")
    (tmp_path / "b.mrg").write_text("(S (X c))\n", encoding="utf-8")
    monkeypatch.setattr(nltk.data, "path", list(nltk.data.path) + [str(tmp_path)])
    trees = read_ptb(tmp_path, fileids=r".*\.mrg")
    assert [len(t.words) for t in trees] == [18, 5, 1]
    assert trees[:2] == read_ptb_file(tmp_path / "a.mrg")
    assert read_ptb(tmp_path, fileids=["b.mrg"])[0].words == ["c"]
    with pytest.raises(ValueError, match="no files"):
        read_ptb(tmp_path, fileids=r".*\.xyz")
    (tmp_path / "c.mrg").write_text("(S (X a))\n(S (X b)\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.mrg:2: malformed"):
        read_ptb(tmp_path, fileids=["c.mrg"])
    with pytest.raises(FileNotFoundError):
        read_ptb(tmp_path / "nope")


def test_read_ptb_outside_nltk_data_path_is_a_clear_error(tmp_path):
    pathsec = pytest.importorskip("nltk.pathsec", reason="this nltk has no path sandbox")
    if not getattr(pathsec, "ENFORCE", False):
        pytest.skip("nltk path sandbox not enforced")
    (tmp_path / "a.mrg").write_text("(S (X a))\n", encoding="utf-8")
    with pytest.raises(PermissionError, match=r"nltk\.data\.path\.append.*read_ptb_file"):
        read_ptb(tmp_path)


@pytest.mark.parametrize("factor", ["left", "right"])
def test_binarize(factor):
    tree = parse_ptb(WSJ.split("( (S\n    (NP-SBJ-1")[0].strip())
    assert tree.max_children > 2
    for source in (tree, to_nltk(tree)):
        out = binarize(source, factor=factor)
        assert out.max_children == 2
        assert all(len(k) != 1 for k in out.children)
        assert out.words == tree.words
    assert parse_ptb(WSJ.split("( (S\n    (NP-SBJ-1")[0].strip(), binarize=factor) == binarize(tree, factor)
    assert binarize(tree, "left") != binarize(tree, "right")


def test_sst_file_matches_tree_reader(data_dir):
    path = data_dir / "sst" / "dev.txt"
    with open(path, encoding="utf-8") as fin:
        lines = fin.readlines()
    expected = read_bracket_lines(lines, str(path))
    got = read_ptb_file(path, strip_traces=False, strip_function_tags=False)
    assert got == expected
    assert all(isinstance(t, Tree) for t in got)


def test_ptb_escapes_are_undone():
    tree = parse_ptb(r"(S (CD 1\/2) (SYM \*) (-LRB- -LRB-))")
    assert tree.words == ["1/2", "*", "-LRB-"]
    assert parse_ptb(r"(S (CD 1\/2))", unescape=False).words == [r"1\/2"]
