"""Tree: construction, validation, brackets, nltk, binarisation, deep trees."""
import nltk
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _cellcheck import random_trees
from _fuzz import projective_parents
from treenets import ChildSumTreeLSTM, NaryTreeLSTM, Tree, TreeBatch
from treenets.formats import read_bracket_lines

SST = "(3 (2 (2 The) (2 Rock)) (4 (3 (2 is) (4 (2 destined) (2 (2 to) (2 (2 be) (2 great))))) (2 .)))"
PTB = "(ROOT (S (NP (DT The) (JJ big) (NN movie)) (VP (VBZ is) (ADJP (RB very) (JJ good))) (: ;) (. .)))"


# ------------------------------------------------------------------ building
def test_from_parents_basic():
    t = Tree.from_parents(["a", "dog", "barks"], [2, 3, 0], rels=["det", "nsubj", "root"])
    assert t.parents == [1, 2, -1]
    assert t.root == 2
    assert t.children == [[], [0], [1]]
    assert t.depths == [2, 1, 0]
    assert t.height == 2
    assert t.words == ["a", "dog", "barks"]
    assert t.rels == ["det", "nsubj", "root"]
    assert t.leaves() == [0]
    assert t.postorder() == [0, 1, 2]
    assert t.preorder() == [2, 1, 0]


def test_children_are_ordered_by_node_id():
    t = Tree.from_parents(list("abcde"), [3, 3, 0, 3, 3])
    assert t.children[2] == [0, 1, 3, 4]
    assert t.child_positions == [0, 1, -1, 2, 3]
    assert t.max_children == 4


@pytest.mark.parametrize("heads, match", [
    ([2, 3, 1], "no root"),                     # every token has a head: a cycle through all
    ([0, 3, 2], r"cycle: node 1 \('b'\) -> node 2 \('c'\)|cycle: node 2"),
    ([0, 2, 1], "its own parent"),              # token 2 heads itself
    ([0, 0, 1], "2 roots"),
    ([0, 4, 1], r"head 4 of token 2 \('b'\) is out of range 0..3"),
    ([0, -1, 1], "out of range"),
    ([0, "x", 1], "not an integer"),
])
def test_from_parents_errors(heads, match):
    with pytest.raises(ValueError, match=match):
        Tree.from_parents(["a", "b", "c"], heads)


def test_from_parents_count_mismatch_and_empty():
    with pytest.raises(ValueError, match="2 heads for 3 tokens"):
        Tree.from_parents(["a", "b", "c"], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        Tree.from_parents([], [])
    with pytest.raises(ValueError, match="empty"):
        Tree([])
    with pytest.raises(ValueError, match="empty"):
        Tree.chain([])
    with pytest.raises(ValueError, match="2 rels for 3 nodes"):
        Tree.from_parents(["a", "b", "c"], [0, 1, 1], rels=["x", "y"])


def test_chain():
    t = Tree.chain(["a", "b", "c"], labels=[None, None, 1])
    assert t.parents == [1, 2, -1]
    assert t.root == 2 and t.labels[2] == 1


def test_subtree_and_map_labels():
    t = Tree.from_brackets(SST)
    sub = t.subtree(1)
    assert str(sub) == "(2 (2 The) (2 Rock))"
    assert sub.words == ["The", "Rock"]
    doubled = t.map_labels(lambda lab: int(lab) * 2)
    assert doubled.labels[0] == 6 and doubled.tokens == t.tokens


# ------------------------------------------------------------------ brackets
@pytest.mark.parametrize("text", [SST, PTB, "(2 word)", "(: ;)", "(_ (S (NP x) (VP y)))"])
def test_brackets_round_trip_text(text):
    t = Tree.from_brackets(text)
    assert str(t) == text
    assert Tree.from_brackets(str(t)) == t


def test_sst_tree_structure():
    t = Tree.from_brackets(SST)
    assert t.words == "The Rock is destined to be great .".split()
    assert t.labels[0] == "3" and t.tokens[0] is None
    assert t.max_children == 2
    assert len(t) == 15  # 8 words + 7 phrases
    # constituency trees are numbered in pre-order
    assert t.preorder() == list(range(len(t)))


def test_ptb_tree_keeps_colon_tags():
    t = Tree.from_brackets(PTB)
    assert t.rels is None
    assert ":" in t.labels and "ROOT" in t.labels
    assert t.words == ["The", "big", "movie", "is", "very", "good", ";", "."]
    single = Tree.from_brackets("(: --)")
    assert single.labels == [":"] and single.rels is None


def test_unlabelled_ptb_wrapper():
    t = Tree.from_brackets("( (S (NP (DT a) (NN b)) (VP (VBZ c))))")
    assert t.labels[0] is None and t.labels[1] == "S"
    assert t.words == ["a", "b", "c"]


def test_dependency_tree_with_rels_round_trip():
    t = Tree.from_parents(["a", "dog", "barks", "."], [2, 3, 0, 3],
                          rels=["det", "nmod:poss", "root", None], labels=["1", None, "3", "_"])
    text = str(t)
    assert text.startswith("(3:root (_:nmod:poss (1:det a) dog) barks")
    back = Tree.from_brackets(text)
    assert back == t
    assert back.rels == ["det", "nmod:poss", "root", None]
    assert back.labels == ["1", None, "3", "_"]


def test_escaped_tokens_round_trip():
    t = Tree.from_parents(["(", ")", "a b", "back\\slash", "tab\there", "x:y"], [2, 3, 0, 3, 3, 3])
    back = Tree.from_brackets(str(t))
    assert back == t and back.words == t.words


def test_colon_labels_round_trip():
    t = Tree.from_brackets("(S (NP x) (VP y))").map_labels(lambda lab: lab + ":tag")
    assert Tree.from_brackets(str(t)) == t and Tree.from_brackets(str(t)).rels is None


_TEXT = st.text(alphabet="ab:_()\\ \t.", min_size=1, max_size=5)


@st.composite
def projective_trees(draw, max_nodes=8):
    """Random dependency trees whose every subtree covers contiguous words.

    Each node's own word is put at a random slot among its children, and nodes
    are numbered in the resulting word order.
    """
    parents = draw(projective_parents(max_nodes))
    return Tree(parents, [f"w{k}" for k in range(len(parents))])


@st.composite
def labelled_trees(draw):
    """Random trees, numbered so that str/from_brackets gives them back (dependency or pre-order)."""
    if draw(st.booleans()):  # dependency style: every node has a word
        tree = draw(projective_trees())
        n = len(tree)
        tokens = draw(st.lists(_TEXT, min_size=n, max_size=n))
        parents = tree.parents
    else:  # constituency style: renumber in pre-order, words at some leaves only
        tree = draw(random_trees(max_nodes=8))
        n = len(tree)
        order = tree.preorder()
        new = {old: k for k, old in enumerate(order)}
        parents = [-1 if tree.parents[old] < 0 else new[tree.parents[old]] for old in order]
        kids = Tree(parents).children
        tokens = [draw(st.one_of(st.none(), _TEXT)) if not kids[k] else None for k in range(n)]
    labels = draw(st.lists(st.one_of(st.none(), _TEXT), min_size=n, max_size=n))
    rels = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), _TEXT), min_size=n, max_size=n)))
    return Tree(parents, tokens, labels, rels)


@settings(max_examples=60, deadline=None)
@given(labelled_trees())
def test_brackets_round_trip_random(tree):
    assert Tree.from_brackets(str(tree)) == tree


@pytest.mark.parametrize("text, match", [
    ("", "empty input"),
    ("   \n", "empty input"),
    ("(3 (2 a)", r"not closed.*offset 8.*opened at offset 0"),
    ("(3 (2 a) (1 (2 b)", r"2 '\(' not closed.*opened at offset 9"),
    ("(3 (2 a)))", r"'\)' at offset 9 closes nothing"),
    (")", r"'\)' at offset 0 closes nothing"),
    ("(3 (2 a b))", "two words in one bracket at offset 8"),
    ("(3 ())", r"empty bracket '\(\)' at offset 4"),
    ("word", "word 'word' at offset 0 is outside any bracket"),
    ("(3 (2 a)) x", "text after the end of the tree at offset 10"),
    ("(2 a) (2 b)", "text after the end of the tree at offset 6"),
])
def test_bracket_errors_name_the_location(text, match):
    with pytest.raises(ValueError, match=match):
        Tree.from_brackets(text)


def test_from_brackets_wants_a_string():
    with pytest.raises(TypeError):
        Tree.from_brackets(None)


def test_bracket_lines_names_source_and_line():
    trees = read_bracket_lines(["(2 a)", "", "(3 (2 b) (2 c))"], source="x.txt")
    assert [t.words for t in trees] == [["a"], ["b", "c"]]
    with pytest.raises(ValueError, match=r"x.txt:3: unbalanced"):
        read_bracket_lines(["(2 a)", "", "(3 (2 b)"], source="x.txt")


# --------------------------------------------------------------------- nltk
def test_from_nltk_and_to_nltk():
    nt = nltk.Tree.fromstring(PTB)
    t = Tree.from_nltk(nt)
    assert t == Tree.from_brackets(PTB)
    assert t.to_nltk() == nt
    sst = Tree.from_brackets(SST)
    assert str(sst.to_nltk()).split() == str(nltk.Tree.fromstring(SST)).split()
    assert Tree.from_nltk(sst.to_nltk()) == sst


def test_dependency_tree_to_nltk_keeps_word_order():
    t = Tree.from_parents(["a", "dog", "barks", "loudly"], [2, 3, 0, 3])
    nt = t.to_nltk()
    assert nt.leaves() == ["a", "dog", "barks", "loudly"]


def test_from_nltk_errors_and_bare_word():
    assert Tree.from_nltk("word").tokens == ["word"]
    with pytest.raises(TypeError):
        Tree.from_nltk(42)


# ----------------------------------------------------------------- binarize
@pytest.mark.parametrize("factor", ["left", "right"])
@pytest.mark.parametrize("text", [PTB, SST, "(S (A a) (B b) (C c) (D d) (E e))", "(X (Y (Z z)))"])
def test_binarize(factor, text):
    t = Tree.from_brackets(text)
    b = t.binarize(factor)
    assert b.words == t.words
    assert b.max_children <= 2
    assert all(len(kids) != 1 for kids in b.children), "collapse_unary leaves no unary node"
    assert all((b.tokens[i] is not None) == (not kids) for i, kids in enumerate(b.children))


def test_binarize_factor_direction():
    t = Tree.from_brackets("(S (A a) (B b) (C c))")
    left, right = t.binarize("left"), t.binarize("right")
    # left factoring nests the first children, right factoring the last ones
    assert left.children[left.root] and len(left.children[left.children[left.root][0]]) == 2
    assert len(right.children[right.children[right.root][1]]) == 2
    assert left != right
    with pytest.raises(ValueError, match="factor"):
        t.binarize("middle")


def test_binarize_without_collapse_keeps_unary_nodes():
    t = Tree.from_brackets(PTB)
    b = t.binarize(collapse_unary=False)
    assert b.max_children <= 2 and b.words == t.words
    assert any(len(kids) == 1 for kids in b.children)


@settings(max_examples=25, deadline=None)
@given(tree=projective_trees(max_nodes=12), factor=st.sampled_from(["left", "right"]))
def test_binarize_random_dependency_trees(tree, factor):
    b = tree.binarize(factor)
    assert b.words == tree.words
    assert b.max_children <= 2
    assert all(len(kids) != 1 for kids in b.children)


def nltk_binarize(tree, factor, collapse_unary=True, markov=None):
    """The oracle: nltk's own transforms on the nltk.Tree of ``tree`` (Tree.binarize's earlier code)."""
    import nltk.tree.tree as nltk_tree

    out = tree.to_nltk()
    old = nltk_tree.MAX_TREE_DEPTH
    nltk_tree.MAX_TREE_DEPTH = max(old, 2 * len(tree) + 10)
    try:
        out.chomsky_normal_form(factor=factor, horzMarkov=markov)
        if collapse_unary:
            out.collapse_unary(collapsePOS=True, collapseRoot=True, joinChar="+")
    finally:
        nltk_tree.MAX_TREE_DEPTH = old
    return Tree.from_nltk(out)


@st.composite
def wide_constituency_trees(draw):
    """Constituency trees in pre-order with wide nodes, unary chains, words at the leaves, labels from a few."""
    tree = draw(random_trees(max_nodes=16))
    order = tree.preorder()
    new = {old: k for k, old in enumerate(order)}
    parents = [-1 if tree.parents[old] < 0 else new[tree.parents[old]] for old in order]
    kids = Tree(parents).children
    tokens = [None if kids[k] else f"w{k}" for k in range(len(parents))]
    labels = draw(st.lists(st.sampled_from([None, "S", "NP", "VP", "a-b", "X|<Y>", "A+B"]),
                           min_size=len(parents), max_size=len(parents)))
    return Tree(parents, tokens, labels)


@settings(max_examples=300, deadline=None)
@given(tree=st.one_of(wide_constituency_trees(), labelled_trees(), projective_trees(max_nodes=12)),
       factor=st.sampled_from(["left", "right"]), collapse=st.booleans(),
       markov=st.sampled_from([None, 1, 2]))
def test_binarize_is_nltks_transforms(tree, factor, collapse, markov):
    assert tree.binarize(factor, collapse_unary=collapse, markov=markov) == nltk_binarize(tree, factor, collapse,
                                                                                           markov)


@pytest.mark.parametrize("factor", ["left", "right"])
@pytest.mark.parametrize("text", [PTB, SST, "(S (A a) (B b) (C c) (D d) (E e))", "(X (Y (Z z)))", "(X x)"])
def test_binarize_is_nltks_transforms_on_examples(factor, text):
    tree = Tree.from_brackets(text)
    for markov in (None, 1):
        for collapse in (True, False):
            got = tree.binarize(factor, collapse_unary=collapse, markov=markov)
            assert got == nltk_binarize(tree, factor, collapse, markov)
            assert got.labels == nltk_binarize(tree, factor, collapse, markov).labels


def test_binarize_imports_no_nltk():
    import subprocess
    import sys

    code = ("import sys; from treenets import Tree; "
            "Tree.from_brackets('(S (A a) (B b) (C c))').binarize(); print('nltk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_non_projective_trees_print_in_tree_order():
    """Brackets cannot cross: a non-projective tree prints its words in tree order (documented)."""
    crossing = Tree.from_parents(["a", "b", "c", "d"], [3, 0, 2, 2])  # c's subtree {a, c} skips b
    assert crossing.words == ["a", "b", "c", "d"]
    assert crossing.to_nltk().leaves() == ["b", "a", "c", "d"]
    assert Tree.from_brackets(str(crossing)).words == ["b", "a", "c", "d"]


# ---------------------------------------------------------------- deep trees
@pytest.fixture
def one_thread():
    """Thousands of tiny ops: intra-op threads only add contention on a shared machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_five_thousand_token_chain(one_thread):
    n = 5000
    tokens = [f"w{i}" for i in range(n)]
    chain = Tree.from_parents(tokens, list(range(2, n + 1)) + [0])
    assert chain.height == n - 1
    assert chain.postorder() == list(range(n))
    back = Tree.from_brackets(str(chain))
    assert back == chain
    binary = chain.binarize()
    assert binary.words == tokens and binary.max_children == 2
    assert binary.height == n - 1
    batch = TreeBatch.from_trees([chain])
    assert batch.num_levels == n
    torch.manual_seed(0)
    x = torch.randn(n, 3, requires_grad=True)
    h, c = ChildSumTreeLSTM(3, 4)(batch, x)
    h[batch.roots].sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad[-2].abs().sum() > 0
    # the binarised chain (10k nodes, 5k levels) through a binary cell
    bbatch = TreeBatch.from_trees([binary])
    xb = torch.randn(len(binary), 3, requires_grad=True)
    hb, _ = NaryTreeLSTM(3, 4, 2)(bbatch, xb)
    hb[bbatch.roots].sum().backward()
    assert torch.isfinite(xb.grad).all()


# ------------------------------------------------------------------- misc
def test_equality_and_hash():
    a = Tree.from_brackets("(3 (2 a) (1 b))")
    b = Tree([-1, 0, 0], [None, "a", "b"], [3, 2, 1])  # int labels equal their strings
    assert a == b and hash(a) == hash(b)
    assert a != Tree.from_brackets("(3 (2 a) (0 b))")
    assert "Tree(" in repr(a)


# ------------------------------------------------- integers and printable fields
@pytest.mark.parametrize("heads, match", [
    ([2.9, 0], r"head 2.9 of token 1 \('a'\) is not an integer"),
    (["\u00b2", 0], r"head '\u00b2' of token 1"),
    ([2, float("nan")], "head nan of token 2"),
    ([True, 0], "head True of token 1"),
])
def test_heads_that_are_not_integers_are_refused(heads, match):
    """A head of 2.9 used to become 2 (zero-based 1) in silence."""
    with pytest.raises(ValueError, match=match):
        Tree.from_parents(["a", "b"], heads)


def test_integral_heads_of_other_types_are_read():
    np = pytest.importorskip("numpy")
    assert Tree.from_parents(["a", "b"], [2.0, torch.tensor(0)]).parents == [1, -1]
    assert Tree.from_parents(["a", "b"], np.array([2, 0])).parents == [1, -1]
    assert Tree(torch.tensor([1, -1])).parents == [1, -1]
    with pytest.raises(ValueError, match="parent 0.5 of node 0 is not an integer"):
        Tree([0.5, -1])


@pytest.mark.parametrize("field", ["tokens", "labels", "rels"])
@pytest.mark.parametrize("value", ["", "a\nb", "a\rb", "\x00", "x\x85", "\u2028", "\ud800", "\x1b[0m"])
def test_fields_that_cannot_print_on_one_line_are_refused(field, value):
    """Tree([-1], [None], [""]) used to print '()', which its own reader rejects."""
    kwargs = {"tokens": ["w"], "labels": [None], "rels": [None], field: [value]}
    with pytest.raises(ValueError, match=r"(token|label|relation) .* of node 0 (is empty|holds the character)"):
        Tree([-1], **kwargs)


def test_tokens_and_relations_are_strings_and_tabs_round_trip():
    with pytest.raises(ValueError, match="token 5 of node 0 is a int, not a str"):
        Tree([-1], [5])
    with pytest.raises(ValueError, match="relation 1.5 of node 0 is a float"):
        Tree([-1], ["a"], rels=[1.5])
    t = Tree([-1], ["a\tb"], ["x\ty"], ["r\t"])
    assert Tree.from_brackets(str(t)) == t
    with pytest.raises(ValueError, match="label"):
        Tree([-1], ["a"], [torch.tensor([[1, 2], [3, 4]])])  # prints over two lines


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(-1, 4), st.floats(-1, 4), st.sampled_from(["1", "\u00b2", "2.0", "x"])),
                min_size=1, max_size=4))
def test_heads_are_integers_in_range_or_an_error(heads):
    tokens = [f"w{i}" for i in range(len(heads))]
    try:
        tree = Tree.from_parents(tokens, heads)
    except ValueError as err:
        assert "head" in str(err) or "root" in str(err) or "cycle" in str(err) or "parent" in str(err)
        return
    assert [p + 1 for p in tree.parents] == [int(h) if not isinstance(h, float) else h for h in heads]
