"""Fuzzing the dataset readers: SST, SICK (Tai et al.'s folders and the official files), the re-parsed datasets.

Round trips: data written in a reader's format reads back unchanged. Arbitrary
bytes in any of a dataset's files end in data or in a ValueError (or
FileNotFoundError) that names the file, never another exception or a hang.
Counts as in ``tests/_fuzz.py``.
"""
import pytest
from hypothesis import assume
from hypothesis import strategies as st

from _fuzz import BYTES, COUNTS, build, expect_documented, fuzz, preorder_parents, read_or_fail_well, shapes, text
from treenets import Tree
from treenets.data import SickPair, load_sick, load_sick_raw, load_sst
from treenets.data.parsed import load_parsed_sick, load_parsed_sst
from treenets.formats import write_brackets, write_conllu


# --------------------------------------------------------------------- SST
@st.composite
def sst_trees(draw):
    """Binary trees as SST has them: words at the leaves, a class 0..4 on every node."""
    parents = draw(preorder_parents(max_nodes=9, max_children=2))
    kids = Tree(parents).children
    n = len(parents)
    tokens = [draw(text(min_size=1)) if not kids[i] else None for i in range(n)]
    labels = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    return build(parents, tokens, labels)


def written(path, trees, text_of) -> list:
    """The trees a Tree accepted (at least one), written to ``path`` as ``text_of(trees)``."""
    trees = [t for t in trees if t is not None]
    assume(trees)
    path.write_text(text_of(trees), encoding="utf-8")
    return trees


@pytest.mark.parametrize("examples", COUNTS)
def test_sst_round_trip(examples, tmp_path):
    path = tmp_path / "train.txt"

    def check(trees):
        trees = written(path, trees, lambda ts: "".join(write_brackets(t) + "\n" for t in ts))
        assert load_sst(path) == trees
        binary = load_sst(path, mode="binary3", drop_neutral=False)
        assert [[{0: 0, 1: 0, 2: 1, 3: 2, 4: 2}[x] for x in t.labels] for t in trees] == [t.labels for t in binary]

    fuzz(examples, st.lists(sst_trees(), min_size=1, max_size=4))(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_sst_from_arbitrary_bytes(examples, tmp_path):
    """A label written as '²' used to fail inside int() with no file or line."""
    path = tmp_path / "train.txt"
    labels = st.sampled_from(["2", "\u00b2", "\u0663", "2.0", "-1", "7", "_", "NP", "+3"])
    labelled = st.lists(labels, min_size=1, max_size=4).map(
        lambda labs: ("(3 " + " ".join(f"({lab} w{k})" for k, lab in enumerate(labs)) + ")\n").encode())

    fuzz(examples, st.one_of(BYTES, labelled), st.sampled_from(["fine", "binary", "binary3"]))(
        lambda data, mode: read_or_fail_well(load_sst, path, data, mode=mode))


# ------------------------------------------------------- SICK, Tai et al.
# no white space (the files separate words with it) and nothing a Tree refuses
_WORD = text(min_size=1, max_size=4, alphabet=st.one_of(
    st.sampled_from("()\\_:|=\u00b2\u0663#-.,'\"{}"),
    st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")))).filter(
    lambda s: not any(ch.isspace() for ch in s))


@st.composite
def sick_trees(draw):
    tree = draw(shapes(max_nodes=6))
    n = len(tree)
    return build(tree.parents, draw(st.lists(_WORD, min_size=n, max_size=n)),
                 None, draw(st.lists(_WORD, min_size=n, max_size=n)))


_SCORE = st.floats(1.0, 5.0)
_ID = text(min_size=1, max_size=4).filter(lambda s: s.strip() == s and s and "\n" not in s and "\r" not in s)


def _write_split(folder, pairs):
    """Tai et al.'s files, written plainly (write_heads_files is fuzzed in test_fuzz_formats)."""
    folder.mkdir(exist_ok=True)
    for side in ("a", "b"):
        trees = [getattr(p, side) for p in pairs]
        for ext, rows in (("toks", [t.tokens for t in trees]), ("rels", [t.rels for t in trees]),
                          ("parents", [[str(k + 1) for k in t.parents] for t in trees])):
            (folder / f"{side}.{ext}").write_text("".join(" ".join(r) + "\n" for r in rows), encoding="utf-8")
    (folder / "sim.txt").write_text("".join(repr(p.score) + "\n" for p in pairs), encoding="utf-8")
    (folder / "id.txt").write_text("".join(p.id + "\n" for p in pairs), encoding="utf-8")


@pytest.mark.parametrize("examples", COUNTS)
def test_sick_round_trip(examples, tmp_path):
    folder = tmp_path / "train"

    def check(items):
        pairs = [SickPair(i, a, b, s) for i, a, b, s in items if a is not None and b is not None]
        assume(pairs)
        try:
            _write_split(folder, pairs)
        except UnicodeEncodeError:  # an id with a lone surrogate: not a file's content
            assume(False)
        assert load_sick(folder) == pairs

    fuzz(examples, st.lists(st.tuples(_ID, sick_trees(), sick_trees(), _SCORE), min_size=1, max_size=3),
         scale=0.5)(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_sick_from_arbitrary_bytes(examples, tmp_path):
    folder = tmp_path / "train"
    good = [SickPair("1", Tree.from_parents(["A", "dog"], [2, 0], rels=["det", "root"]),
                     Tree.from_parents(["Dogs"], [0], rels=["root"]), 3.5)] * 2
    names = ["a.toks", "a.parents", "a.rels", "b.toks", "b.parents", "b.rels", "sim.txt", "id.txt"]

    _write_split(folder, good)
    original = {name: (folder / name).read_bytes() for name in names}

    def check(name, data):
        (folder / name).write_bytes(data)
        try:
            load_sick(folder)
        except Exception as err:  # noqa: BLE001
            expect_documented(err, str(folder))
        finally:
            (folder / name).write_bytes(original[name])

    numbers = st.lists(st.sampled_from(["1", "2", "0", "3.5", "\u00b2", "\u0664.5", "1_0", "nan", "inf", "-1", "x"]),
                       max_size=3).map(lambda xs: "\n".join(xs).encode())
    fuzz(examples, st.sampled_from(names), st.one_of(BYTES, numbers))(check)


# ----------------------------------------------------- SICK, official files
_SENTENCE = text(min_size=1, max_size=12).filter(lambda s: not any(ch in s for ch in "\t\n\r") and s.strip())
HEADER = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"


@pytest.mark.parametrize("examples", COUNTS)
def test_sick_raw_round_trip(examples, tmp_path):
    path = tmp_path / "SICK_train.txt"

    def check(rows):
        lines = [f"{i}\t{a}\t{b}\t{s!r}\t{e}\n" for i, a, b, s, e in rows]
        try:
            path.write_text(HEADER + "".join(lines), encoding="utf-8")
        except UnicodeEncodeError:
            assume(False)
        got = load_sick_raw(path)
        assert [(p.id, p.sentence_a, p.sentence_b, p.score, p.entailment) for p in got] == [
            (i, a.strip(), b.strip(), s, e or None) for i, a, b, s, e in rows]
        assert [p.tokens_a for p in got] == [a.split() for _, a, _, _, _ in rows]

    fuzz(examples, st.lists(st.tuples(_ID.filter(lambda s: "\t" not in s), _SENTENCE, _SENTENCE, _SCORE,
                                      st.sampled_from(["NEUTRAL", "ENTAILMENT", "CONTRADICTION", ""])),
                            min_size=1, max_size=4))(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_sick_raw_from_arbitrary_bytes(examples, tmp_path):
    path = tmp_path / "SICK_train.txt"
    rows = st.lists(st.lists(st.one_of(text(max_size=4), st.sampled_from(["1", "3.5", "\u00b2", "nan", "", "\x00"])),
                             min_size=3, max_size=6).map("\t".join), max_size=4).map(
        lambda rs: (HEADER + "\n".join(rs)).encode("utf-8", "surrogatepass"))

    fuzz(examples, st.one_of(BYTES, rows))(lambda data: read_or_fail_well(load_sick_raw, path, data))


# ------------------------------------------------------- re-parsed datasets
@st.composite
def parsed_sst_trees(draw):
    tree = draw(shapes())
    n = len(tree)
    labels = draw(st.lists(st.integers(-1, 4), min_size=n, max_size=n))
    labels[tree.root] = draw(st.integers(0, 4))
    tokens = draw(st.lists(text(min_size=1).filter(lambda s: "\t" not in s), min_size=n, max_size=n))
    return build(tree.parents, tokens, labels, ["dep" if p >= 0 else "root" for p in tree.parents])


@pytest.mark.parametrize("examples", COUNTS)
def test_parsed_sst_round_trip(examples, tmp_path):
    """Non-projective trees included: the old bracket files read them back with the words reordered."""
    path = tmp_path / "train.conllu"

    def check(trees):
        trees = written(path, trees, write_conllu)
        back = load_parsed_sst(path)
        assert back == trees and [t.words for t in back] == [t.words for t in trees]

    fuzz(examples, st.lists(parsed_sst_trees(), min_size=1, max_size=3))(check)


@pytest.mark.parametrize("examples", COUNTS)
def test_parsed_datasets_from_arbitrary_bytes(examples, tmp_path):
    sst = tmp_path / "train.conllu"
    sick = tmp_path / "sick" / "train"
    sick.mkdir(parents=True)
    good = [SickPair("1", Tree.from_parents(["A", "dog"], [2, 0], rels=["det", "root"]),
                     Tree.from_parents(["Dogs"], [0], rels=["root"]), 3.5)]
    (tmp_path / "tai").mkdir()
    _write_split(tmp_path / "tai" / "train", good)
    constituency = write_brackets(Tree([-1, 0, 0], [None, "A", "dog"], ["NP", "DT", "NN"]))

    def check(data, side):
        read_or_fail_well(load_parsed_sst, sst, data)
        (sick / "a.ctree").write_text(constituency + "\n", encoding="utf-8")
        (sick / "b.ctree").write_text("(NN Dogs)\n", encoding="utf-8")
        (sick / f"{side}.ctree").write_bytes(data)
        try:
            load_parsed_sick(tmp_path, "train", tmp_path / "tai")
        except Exception as err:  # noqa: BLE001
            expect_documented(err, str(sick))

    fuzz(examples, BYTES, st.sampled_from(["a", "b"]))(check)

