"""SpanMean, the no-tree baseline, against its plain per-node reference (treenets.testing.reference)."""
from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from _cellcheck import (DTYPE, assert_batch_equals_single, assert_matches_reference, gradcheck_cell,
                        random_inputs, random_trees)
from treenets import SentimentModel, SpanMean, Tree, TreeBatch, Vocab
from treenets.models import build_cell

IN, H = 3, 4


def make(seed: int = 0, **opts) -> SpanMean:
    torch.manual_seed(seed)
    return SpanMean(IN, H, **opts).to(DTYPE)


def hand_built():
    return [
        Tree.from_brackets("(3 (2 (2 The) (2 movie)) (4 (2 was) (4 (3 really) (4 great))))"),  # words at leaves
        Tree.from_parents(["a", "dog", "barks", "loudly"], [2, 3, 0, 3]),  # a word at every node
        Tree.from_parents(["w0", "w1", "w2", "w3", "w4"], [3, 4, 0, 3, 3]),  # non-projective, 3 children
        Tree([3, 3, 3, -1, 3, 3, 3], ["a", "b", "c", None, "e", "f", "g"]),  # a wordless root, 6 children
        Tree.from_brackets("(2 alone)"),  # one node
        Tree([-1, 0, 0, 1], [None, None, "word", None]),  # a wordless leaf and a wordless subtree
    ]


@pytest.mark.parametrize("index", range(len(hand_built())))
def test_matches_reference_on_hand_built_trees(index):
    tree = hand_built()[index]
    assert_matches_reference(make(), [tree], random_inputs(len(tree), IN))


def test_matches_reference_on_a_batch_of_every_hand_built_tree():
    trees = hand_built()
    assert_matches_reference(make(1), trees, random_inputs(sum(map(len, trees)), IN, seed=2))
    assert_batch_equals_single(make(1), trees, IN)


@st.composite
def trees_with_some_words(draw):
    """Random trees where any node may lack a word (constituency-like, dependency-like, or neither)."""
    tree = draw(random_trees(max_nodes=12))
    keep = draw(st.lists(st.booleans(), min_size=len(tree), max_size=len(tree)))
    return Tree(tree.parents, [t if k else None for t, k in zip(tree.tokens, keep)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(random_trees(max_nodes=12), trees_with_some_words()), min_size=1, max_size=4),
       st.integers(0, 2 ** 16))
def test_matches_reference_on_hypothesis_trees(trees, seed):
    assume(any(t is not None for tree in trees for t in tree.tokens))  # else x gets no gradient (see below)
    n = sum(map(len, trees))
    assert_matches_reference(make(seed % 7), trees, random_inputs(n, IN, seed=seed))


def test_a_tree_without_words_gets_the_bias_alone():
    cell = make()
    tree = Tree([-1, 0, 0], [None, None, None])
    h, _ = cell(TreeBatch.from_trees([tree]), random_inputs(3, IN))
    torch.testing.assert_close(h, torch.tanh(cell.W.bias).expand(3, H), atol=0, rtol=0)


def test_gradcheck():
    trees = hand_built()[:3]
    batch = TreeBatch.from_trees(trees)
    gradcheck_cell(make(), batch, random_inputs(batch.num_nodes, IN))


def test_the_root_is_the_projected_sentence_mean_whatever_the_tree():
    cell = make()
    words = ["the", "film", "is", "not", "bad"]
    x_words = random_inputs(len(words), IN, seed=5)
    left = Tree.from_brackets("(2 (2 (2 (2 the) (2 film)) (2 is)) (2 (2 not) (2 bad)))")
    chain = Tree.from_parents(words, [2, 3, 0, 5, 3])
    roots = []
    for tree in (left, chain):
        x = torch.zeros(len(tree), IN, dtype=DTYPE)
        word_nodes = [i for i, t in enumerate(tree.tokens) if t is not None]
        assert [tree.tokens[i] for i in word_nodes] == words
        x[word_nodes] = x_words
        h, c = cell(TreeBatch.from_trees([tree]), x)
        roots.append(h[tree.root])
        assert torch.equal(c, torch.zeros_like(c))
    want = torch.tanh(cell.W(x_words.mean(0)))
    torch.testing.assert_close(roots[0], want, atol=1e-12, rtol=0)
    torch.testing.assert_close(roots[1], want, atol=1e-12, rtol=0)


def test_rows_of_wordless_nodes_are_ignored():
    tree = hand_built()[0]
    batch = TreeBatch.from_trees([tree])
    x = random_inputs(len(tree), IN)
    noisy = x.clone()
    phrases = [i for i, t in enumerate(tree.tokens) if t is None]
    noisy[phrases] = 100.0
    cell = make()
    torch.testing.assert_close(cell(batch, x)[0], cell(batch, noisy)[0], atol=0, rtol=0)
    noisy[phrases] = float("nan")  # not multiplied by zero: selected away (NaN * 0 is NaN)
    torch.testing.assert_close(cell(batch, x)[0], cell(batch, noisy)[0], atol=0, rtol=0)
    vocab_batch = TreeBatch.from_trees([tree], Vocab.build([tree.words]))  # the mask from word ids
    torch.testing.assert_close(cell(vocab_batch, noisy)[0], cell(batch, x)[0], atol=0, rtol=0)


def test_words_from_word_ids_when_the_batch_has_no_trees():
    tree = hand_built()[0]
    vocab = Vocab.build([tree.words])
    with_trees = TreeBatch.from_trees([tree], vocab)
    ids_only = TreeBatch.from_parent_tensor(with_trees.parent, with_trees.child_pos, word_ids=with_trees.word_ids)
    x = random_inputs(len(tree), IN)
    cell = make()
    torch.testing.assert_close(cell(ids_only, x)[0], cell(with_trees, x)[0], atol=0, rtol=0)
    with pytest.raises(ValueError, match="which nodes hold a word"):
        cell(TreeBatch.from_parent_tensor(with_trees.parent, with_trees.child_pos), x)


def test_dropout_and_shape_errors():
    cell = make(dropout=0.5)
    batch = TreeBatch.from_trees(hand_built()[:2])
    x = random_inputs(batch.num_nodes, IN)
    cell.train()
    assert not torch.equal(cell(batch, x)[0], cell(batch, x)[0])
    cell.eval()
    assert torch.equal(cell(batch, x)[0], cell(batch, x)[0])
    with pytest.raises(ValueError, match="x has shape"):
        cell(batch, x[:, :2])
    assert "3, 4" in repr(cell)


def test_a_model_with_the_span_mean_cell():
    trees = [Tree.from_brackets("(3 (2 a) (4 film))"), Tree.from_brackets("(1 (2 dull) (1 (2 and) (1 slow)))")]
    assert isinstance(build_cell("span-mean", 4, 3), SpanMean)
    model = SentimentModel(Vocab.build(t.words for t in trees), 4, 3, cell="span-mean")
    loss = model.loss(model.batch(trees))
    loss.backward()
    assert torch.isfinite(loss) and model.encoder.cell.W.weight.grad.abs().sum() > 0
