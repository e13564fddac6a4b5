"""treenets.formats.conllu: CoNLL-U read and written with every column, no stanza needed."""
import textwrap

import pytest

import treenets as tn
from treenets.formats import read_conllu, read_conllu_sentences, read_conllu_string, write_conllu, write_dot
from treenets.parsers import ParsedSentence

CONLLU = textwrap.dedent("""\
    # text = I don't know.
    1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_
    2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
    2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
    3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
    4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_
    4.1\tknew\tknow\tVERB\tVB\t_\t_\t_\t_\t_
    5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

    # text = Hi there
    1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_
    2\tthere\tthere\tADV\tRB\t_\t1\tadvmod\t_\t_
    """)


def test_sentences_keep_every_column():
    first, second = read_conllu_sentences(CONLLU.splitlines())
    assert first.words == ["I", "do", "n't", "know", "."]
    assert first.tokens == ["I", "don't", "know", "."] and first.word_to_token == [0, 1, 1, 2, 3]
    assert first.lemmas == ["I", "do", "not", "know", "."]
    assert first.upos == ["PRON", "AUX", "PART", "VERB", "PUNCT"] and first.xpos[1] == "VBP"
    assert first.feats == [None] * 5 and first.text == "I don't know."
    assert first.dependency.parents == [3, 3, 3, -1, 3]
    assert second.dependency == tn.Tree.from_parents(["Hi", "there"], [0, 1], rels=["root", "advmod"])


def test_write_then_read_is_the_same():
    sentences = read_conllu_sentences(CONLLU.splitlines())
    text = write_conllu(sentences)
    again = read_conllu_sentences(text.splitlines())
    assert again == sentences
    assert "2-3\tdon't" in text and "\tnot\tPART\tRB\t" in text


def test_write_a_bare_tree_and_errors():
    tree = tn.Tree.from_parents(["a", "dog", "barks"], [2, 3, 0], rels=["det", "nsubj", "root"])
    text = write_conllu([tree])
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    assert [(r[1], r[6], r[7]) for r in rows] == [("a", "2", "det"), ("dog", "3", "nsubj"), ("barks", "0", "root")]
    assert read_conllu_string(text) == [tree]
    with pytest.raises(ValueError, match="CoNLL-U needs a word at every node"):
        write_conllu([tn.Tree.from_brackets("(S (NP a) (VP b))")])
    with pytest.raises(ValueError, match="tab or line break"):
        write_conllu([tn.Tree.from_parents(["a\tb"], [0])])
    sent = ParsedSentence(words=["x"], dependency=tn.Tree.from_parents(["x"], [0]), lemmas=["x\ny"])
    with pytest.raises(ValueError, match="lemma 'x\\\\ny' of word 1"):
        write_conllu([sent])


def test_dot():
    tree = tn.Tree.from_parents(["a", "dog", "barks"], [2, 3, 0], rels=["det", "nsubj", "root"])
    dot = write_dot(tree)
    assert dot.startswith("digraph") and "n2 -> n1;" in dot and "n1 -> n0;" in dot


def test_read_conllu_file(tmp_path):
    path = tmp_path / "two.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    trees = read_conllu(path)
    assert [t.words for t in trees] == [["I", "do", "n't", "know", "."], ["Hi", "there"]]
    assert trees[0].rels[3] == "root"
    empty = tmp_path / "empty.conllu"
    empty.write_text("\n", encoding="utf-8")
    assert read_conllu(empty) == []
    with pytest.raises(FileNotFoundError, match="nope.conllu"):
        read_conllu(tmp_path / "nope.conllu")


@pytest.mark.parametrize("old, new, message", [
    ("4\tknow\tknow\tVERB\tVB\t_\t0", "4\tknow\tknow\tVERB\tVB\t0", r"bad\.conllu:6: expected 10 tab-separated fields"),
    ("2\tdo\tdo\tAUX\tVBP\t_\t4", "2\tdo\tdo\tAUX\tVBP\t_\tx", r"bad\.conllu:4: bad HEAD 'x'"),
    ("2\tthere\tthere\tADV\tRB\t_\t1", "2\tthere\tthere\tADV\tRB\t_\t7", r"bad\.conllu:12: HEAD 7 of word 2 is out of range"),
    ("4\tknow\tknow\tVERB\tVB\t_\t0", "4\tknow\tknow\tVERB\tVB\t_\t1", r"bad\.conllu:2: sentence 1 .*cycle"),
    ("1\tHi\thi\tINTJ\tUH\t_\t0", "1\tHi\thi\tINTJ\tUH\t_\t_", r"bad\.conllu:11: sentence 2 .*no head"),
    # token ranges that used to be dropped in silence: past the words, overlapping
    ("1\tHi\thi", "5-6\tyo\t_\t_\t_\t_\t_\t_\t_\t_\n1\tHi\thi", r"bad\.conllu:11: token range 5-6 goes past the words 1-2"),
    ("4\tknow\tknow", "3-4\tn'tknow\t_\t_\t_\t_\t_\t_\t_\t_\n4\tknow\tknow", r"bad\.conllu:6: token range 3-4 overlaps"),
])
def test_read_conllu_errors_name_file_and_line(tmp_path, old, new, message):
    assert old in CONLLU
    path = tmp_path / "bad.conllu"
    path.write_text(CONLLU.replace(old, new), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_conllu(path)


def test_read_conllu_deep_chain_no_recursion():
    n = 3000
    lines = [f"{i}\tw{i}\t_\tX\tX\t_\t{i + 1 if i < n else 0}\tdep\t_\t_" for i in range(1, n + 1)]
    (tree,) = read_conllu_string("\n".join(lines) + "\n")
    assert len(tree) == n and tree.height == n - 1


def test_unicode_digits_are_not_integers(tmp_path):
    path = tmp_path / "sup.conllu"
    path.write_text("1\ta\t_\t_\t_\t_\t\u00b2\tdep\t_\t_\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"sup\.conllu:1: bad HEAD '\u00b2'"):
        read_conllu(path)


def test_heads_files_round_trip(tmp_path):
    from treenets.formats import read_heads_files, write_heads_files

    trees = [tn.Tree.from_parents(["A", "dog", "barks"], [2, 3, 0], rels=["det", "nsubj", "root"]),
             tn.Tree.from_parents(["w1", "w2", "w3", "w4"], [3, 0, 2, 1], rels=["a", "b", "c", "d"])]
    paths = [tmp_path / "x.toks", tmp_path / "x.parents", tmp_path / "x.rels"]
    write_heads_files(trees, *paths)
    assert read_heads_files(*paths) == trees  # non-projective trees too: heads arrays are lossless
    with pytest.raises(ValueError, match="cannot be written"):
        write_heads_files([tn.Tree.from_parents(["a b"], [0])], *paths[:2])
    paths[1].write_text("2 3 0\n3 0 2 \u00b2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.parents:2: head '\u00b2' of token 4 \('w4'\) is not an integer"):
        read_heads_files(*paths)
