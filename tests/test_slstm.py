"""SLSTM against the per-node reference, in float64."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _cellcheck import (DTYPE, assert_batch_equals_single, assert_matches_reference, gradcheck_cell,
                        random_inputs, random_trees)
from treenets import SLSTM, Tree, TreeBatch

IN, H = 3, 4


def make_cell(**kwargs):
    torch.manual_seed(0)
    return SLSTM(IN, H, **kwargs).to(DTYPE)


BINARY_TREES = [
    Tree([-1], ["solo"]),
    Tree.from_brackets("(0 (1 l) (2 r))"),
    Tree.from_brackets("(3 (2 (2 a) (1 b)) (4 c))"),
    Tree.from_brackets("(1 (2 a) (3 (2 b) (4 c)))"),
    Tree.chain(["x", "y", "z"]),  # left children only
]


def test_leaf_input_only_is_the_default():
    assert SLSTM(3, 4).leaf_input_only is True


@pytest.mark.parametrize("tree", BINARY_TREES, ids=str)
@pytest.mark.parametrize("leaf_input_only", [True, False])
def test_hand_trees_match_reference(tree, leaf_input_only):
    cell = make_cell(leaf_input_only=leaf_input_only)
    assert_matches_reference(cell, [tree], random_inputs(len(tree), IN))


def test_leaf_by_hand():
    """A leaf: one LSTM step from a zero state, with the c peephole on o."""
    cell = make_cell()
    x = random_inputs(1, IN)
    h, c = cell(TreeBatch.from_trees([Tree([-1], ["w"])]), x)
    pre = cell.W.weight @ x[0] + cell.W.bias
    i, x_t, o_pre = torch.sigmoid(pre[:H]), pre[3 * H:4 * H], pre[4 * H:]
    c0 = i * torch.tanh(x_t)
    torch.testing.assert_close(c[0], c0)
    torch.testing.assert_close(h[0], torch.sigmoid(o_pre + cell.W_co.weight @ c0) * torch.tanh(c0))


def test_internal_node_by_hand():
    """Root with two leaves and no word input: the paper's equations, term by term."""
    cell = make_cell()
    tree = Tree.from_brackets("(0 (1 l) (2 r))")
    x = random_inputs(3, IN)
    h, c = cell(TreeBatch.from_trees([tree]), x)
    R = lambda k: slice(k * H, (k + 1) * H)  # noqa: E731
    L, Rt = slice(0, H), slice(H, 2 * H)
    Wh, Wc, b = cell.W_h.weight, cell.W_c.weight, cell.W.bias
    hL, cL, hR, cR = h[1], c[1], h[2], c[2]

    def gate(k, peephole=True):
        out = Wh[R(k), L] @ hL + Wh[R(k), Rt] @ hR + b[R(k)]
        if peephole:
            out = out + Wc[R(k), L] @ cL + Wc[R(k), Rt] @ cR
        return out

    i, f_l, f_r = torch.sigmoid(gate(0)), torch.sigmoid(gate(1)), torch.sigmoid(gate(2))
    x_t = gate(3, peephole=False)
    c0 = f_l * cL + f_r * cR + i * torch.tanh(x_t)
    o = torch.sigmoid(gate(4, peephole=False) + cell.W_co.weight @ c0)
    torch.testing.assert_close(c[0], c0)
    torch.testing.assert_close(h[0], o * torch.tanh(c0))


def test_missing_left_child_matches_reference():
    batch = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0, 2]), child_pos=torch.tensor([-1, 0, 1, 1]))
    assert_matches_reference(make_cell(), batch, random_inputs(4, IN))


@settings(max_examples=30, deadline=None)
@given(trees=st.lists(random_trees(max_nodes=9, max_children=2), min_size=1, max_size=3),
       leaf_input_only=st.booleans())
def test_random_trees_match_reference(trees, leaf_input_only):
    cell = make_cell(leaf_input_only=leaf_input_only)
    assert_matches_reference(cell, trees, random_inputs(sum(map(len, trees)), IN, seed=len(trees)))


def test_gradcheck():
    cell = make_cell()
    batch = TreeBatch.from_trees(BINARY_TREES[2:4])
    gradcheck_cell(cell, batch, random_inputs(batch.num_nodes, IN))


def test_gradcheck_word_input_everywhere():
    cell = make_cell(leaf_input_only=False)
    batch = TreeBatch.from_trees([BINARY_TREES[1], BINARY_TREES[4]])
    gradcheck_cell(cell, batch, random_inputs(batch.num_nodes, IN))


def test_batch_equals_each_tree_alone():
    assert_batch_equals_single(make_cell(), BINARY_TREES, IN)


def test_left_and_right_are_different():
    cell = make_cell()
    x = random_inputs(3, IN)
    parent = torch.tensor([-1, 0, 0])
    h, _ = cell(TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([-1, 0, 1])), x)
    h2, _ = cell(TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([-1, 1, 0])), x)
    assert (h[0] - h2[0]).abs().max() > 1e-6


def test_leaf_input_only_ignores_internal_inputs():
    tree = BINARY_TREES[3]
    batch = TreeBatch.from_trees([tree])
    x = random_inputs(len(tree), IN)
    x2 = x.clone()
    x2[[0, 2]] += 2.0
    torch.testing.assert_close(make_cell()(batch, x), make_cell()(batch, x2))
    plain = make_cell(leaf_input_only=False)
    assert not torch.allclose(plain(batch, x)[0], plain(batch, x2)[0])


def test_three_children_raise_naming_the_node():
    tree = Tree.from_parents(["a", "b", "c", "d"], [2, 0, 2, 2])
    with pytest.raises(ValueError, match=r"node 1 \(tree 0\).*more than 2 children"):
        make_cell()(TreeBatch.from_trees([tree]), random_inputs(4, IN))


@pytest.mark.parametrize("shape", [(5, IN + 1), (6, IN), (5,)])
def test_x_of_wrong_shape(shape):
    with pytest.raises(ValueError, match="x has shape"):
        make_cell()(TreeBatch.from_trees([BINARY_TREES[3]]), torch.zeros(shape, dtype=DTYPE))
