"""SST phrase labels carried over to dependency subtrees (Tai et al. 2015, section 5.1)."""
import pytest

from treenets import Tree
from treenets.data.label_transfer import (
    NO_LABEL, LabelTransferStats, transfer_all, transfer_labels, word_spans,
)
from treenets.data.parsed import load_parsed_sst
from treenets.formats import write_conllu

# "No one goes unindicted here ." as SST would bracket it:
# (2 (2 (2 No) (2 one)) (1 (1 (2 goes) (1 (1 unindicted) (2 here))) (2 .)))
SST = ("(2 (2 (2 No) (2 one)) (1 (1 (2 goes) (1 (1 unindicted) (2 here))) (2 .)))")
WORDS = ["No", "one", "goes", "unindicted", "here", "."]


def sst_tree():
    tree = Tree.from_brackets(SST)
    return tree.map_labels(int)


def test_word_spans_of_a_constituency_tree():
    tree = sst_tree()
    spans = word_spans(tree)
    assert spans[tree.root] == (0, 6)
    by_span = {spans[i]: tree.labels[i] for i in range(len(tree))}
    assert by_span[(0, 2)] == 2 and by_span[(2, 5)] == 1 and by_span[(3, 5)] == 1 and by_span[(2, 6)] == 1


def test_matching_spans_get_the_phrase_label():
    # No <- one <- goes ; unindicted <- goes ; here <- unindicted ; . <- goes
    dep = Tree.from_parents(WORDS, [2, 3, 0, 3, 4, 3], rels=["det", "nsubj", "root", "xcomp", "advmod", "punct"])
    out = transfer_labels(sst_tree(), dep)
    # spans: No (0,1)=2, one (0,2)=2, goes = root -> sentence label 2,
    # unindicted (3,5)=1, here (4,5)=2, . (5,6)=2
    assert out.labels == [2, 2, 2, 1, 2, 2]
    assert out.parents == dep.parents and out.tokens == dep.tokens and out.rels == dep.rels


def test_unmatched_spans_get_no_label():
    # one = root; No <- one; unindicted <- one; goes <- unindicted; here <- unindicted; . <- here
    dep = Tree.from_parents(WORDS, [2, 0, 4, 2, 4, 5])
    out = transfer_labels(sst_tree(), dep)
    # spans: No (0,1)=2, one = root -> 2, goes (2,3)=2, unindicted (2,6)=1,
    # here (4,6): "here ." is no SST phrase -> -1, . (5,6)=2
    assert out.labels == [2, 2, 2, 1, NO_LABEL, 2]


def test_root_always_takes_the_sentence_label():
    sst = Tree.from_brackets("(4 (3 A) (2 film))").map_labels(int)
    dep = Tree.from_parents(["A", "film"], [2, 0])
    assert transfer_labels(sst, dep).labels == [3, 4]


def test_non_projective_subtree_gets_no_label():
    # "unindicted" heads "No" and "here" but not "one"/"goes": its words {0, 3, 4} are not contiguous
    dep = Tree.from_parents(WORDS, [4, 0, 2, 2, 4, 2])
    assert word_spans(dep)[3] is None and word_spans(dep)[0] == (0, 1)
    out = transfer_labels(sst_tree(), dep)
    assert out.labels[3] == NO_LABEL and out.labels[dep.root] == 2 and out.labels[0] == 2
    stats = LabelTransferStats()
    stats.add(out)
    assert stats.non_projective == 1


def test_different_words_raise_and_name_the_sentence():
    dep = Tree.from_parents(["No", "one", "went", "unindicted", "here", "."], [2, 3, 0, 3, 4, 3])
    with pytest.raises(ValueError, match=r"train.txt:7.*No one goes.*word 3.*'went'.*'goes'"):
        transfer_labels(sst_tree(), dep, where="train.txt:7")
    short = Tree.from_parents(WORDS[:5], [2, 3, 0, 3, 4])
    with pytest.raises(ValueError, match="5 vs 6 words"):
        transfer_labels(sst_tree(), short)


def test_deep_trees_need_no_recursion():
    n = 5000
    words = [f"w{i}" for i in range(n)]
    # a right-branching SST tree: phrase node 2i covers words i..n-1 and has
    # children leaf 2i+1 (word i) and phrase 2i+2; the last word is leaf 2n-2
    parents, tokens = [], []
    for i in range(n - 1):
        parents += [-1 if i == 0 else 2 * (i - 1), 2 * i]
        tokens += [None, words[i]]
    parents.append(2 * (n - 2))
    tokens.append(words[-1])
    sst = Tree(parents, tokens, [3] * len(parents))
    assert sst.words == words and sst.height == n - 1
    # w_i <- w_{i+1}: the subtree of w_i spans words 0..i, an SST phrase only for w0 and the root
    chain = Tree.from_parents(words, [i + 2 for i in range(n - 1)] + [0])
    out = transfer_labels(sst, chain)
    assert out.labels[0] == 3 and out.labels[-1] == 3
    assert all(lab == NO_LABEL for lab in out.labels[1:-1])
    # w_i -> w_{i+1}: the subtree of w_i spans words i..n-1, always an SST phrase
    rev = Tree.from_parents(words, [0] + list(range(1, n)))
    assert all(lab == 3 for lab in transfer_labels(sst, rev).labels)


def test_transfer_all_reports_coverage():
    dep1 = Tree.from_parents(WORDS, [2, 3, 0, 3, 4, 3])
    dep2 = Tree.from_parents(WORDS, [2, 0, 4, 2, 4, 5])
    trees, stats = transfer_all([(sst_tree(), dep1), (sst_tree(), dep2)])
    assert len(trees) == 2 and stats.sentences == 2 and stats.nodes == 12
    labelled = sum(lab != NO_LABEL for t in trees for lab in t.labels)
    assert stats.labelled == labelled and stats.coverage == pytest.approx(labelled / 12)
    assert stats.as_dict()["coverage"] == round(labelled / 12, 4)


def test_written_trees_read_back_in_both_modes(tmp_path):
    dep = Tree.from_parents(WORDS, [2, 0, 4, 2, 4, 5], rels=["det", "root", "cop", "xcomp", "advmod", "punct"])
    pos = Tree.from_parents(["A", "film"], [2, 0], rels=["det", "root"])
    film = Tree.from_brackets("(4 (3 A) (2 film))").map_labels(int)
    trees = [transfer_labels(sst_tree(), dep), transfer_labels(film, pos)]
    (tmp_path / "train.conllu").write_text(write_conllu(trees), encoding="utf-8")
    fine = load_parsed_sst(tmp_path, "train")
    assert [t.labels for t in fine] == [t.labels for t in trees]
    assert fine[0].rels == dep.rels and fine[0].words == WORDS
    binary = load_parsed_sst(tmp_path / "train.conllu", mode="binary")
    assert len(binary) == 1  # the neutral-root sentence is dropped
    assert binary[0].labels == [1, 1]
    kept = load_parsed_sst(tmp_path, "train", mode="binary", drop_neutral=False)
    assert kept[0].labels == [-1 if lab in (-1, 2) else int(lab >= 3) for lab in trees[0].labels]
    three = load_parsed_sst(tmp_path, "train", mode="binary3")
    assert len(three) == 1 and three[0].labels == [2, 2]  # 3 and 4 -> positive (2)
    three = load_parsed_sst(tmp_path, "train", mode="binary3", drop_neutral=False)
    assert three[0].labels == [-1 if lab == -1 else {0: 0, 1: 0, 2: 1, 3: 2, 4: 2}[lab] for lab in trees[0].labels]
    with pytest.raises(ValueError, match="unknown SST mode"):
        load_parsed_sst(tmp_path, "train", mode="ternary")


def _conllu(labels, words=("A", "film"), heads=(2, 0)):
    rows = [f"{i + 1}\t{w}\t_\t_\t_\t_\t{h}\tdep\t_\t{lab}" for i, (w, h, lab) in enumerate(zip(words, heads, labels))]
    return "# text = x\n" + "\n".join(rows) + "\n\n"


@pytest.mark.parametrize("labels, match", [
    (["Label=7", "Label=2"], r"dev.conllu:2: word 1 \('A'\) has label '7'"),
    (["Label=\u00b2", "Label=2"], r"dev.conllu:2: word 1 \('A'\) has label '\u00b2'"),
    (["Label=2.7", "Label=2"], r"dev.conllu:2: word 1 \('A'\) has label '2.7'"),
    (["Label=1", "_"], r"dev.conllu:3: word 2 \('film'\) has label None"),
    (["Label=2", "Label=-1"], r"dev.conllu:3: the root has no label"),
    (["Label=2|Label=3", "Label=2"], r"dev.conllu:2: MISC .* holds 2 Label= items"),
])
def test_bad_labels_in_a_parsed_file(tmp_path, labels, match):
    """Labels written with a Unicode digit used to fail with int()'s message and no file or line."""
    (tmp_path / "dev.conllu").write_text(_conllu(labels), encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        load_parsed_sst(tmp_path, "dev")


def test_non_projective_parses_read_back_unchanged(tmp_path):
    """Brackets (the old .dtree files) read this tree back as 'w2 w1 w4 w3'."""
    tree = Tree.from_parents(["w1", "w2", "w3", "w4"], [3, 0, 2, 1], rels=["a", "root", "c", "d"],
                             labels=[1, 3, -1, 4])
    (tmp_path / "train.conllu").write_text(write_conllu([tree]), encoding="utf-8")
    (back,) = load_parsed_sst(tmp_path, "train")
    assert back == tree and back.words == ["w1", "w2", "w3", "w4"] and back.labels == [1, 3, -1, 4]


def test_old_bracket_files_say_how_to_regenerate(tmp_path):
    (tmp_path / "sst").mkdir()
    (tmp_path / "sst" / "dev.dtree").write_text("(2:root (3:det A) film)\n")
    with pytest.raises(FileNotFoundError, match=r"dev.conllu not found: .*dev.dtree .*prepare_parses.py --out "
                                                r".* --only sst"):
        load_parsed_sst(tmp_path, "dev")
    with pytest.raises(ValueError, match="lossy form"):
        load_parsed_sst(tmp_path / "sst" / "dev.dtree")
    with pytest.raises(FileNotFoundError, match="prepare_parses.py makes it"):
        load_parsed_sst(tmp_path, "test")
