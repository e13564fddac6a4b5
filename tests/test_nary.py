"""What only the N-ary Tree-LSTM does: child order by ``child_pos``, missing children, its leaves.

The checks every cell passes (the oracle, gradcheck, batching, options, errors) run
over the table of cells in ``test_cells.py``.
"""
import pytest
import torch

from _cellcheck import DTYPE, assert_matches_reference, gradcheck_cell, random_inputs
from treenets import NaryTreeLSTM, Tree, TreeBatch

IN, H = 3, 4


def make_cell(n_ary=2, **kwargs):
    torch.manual_seed(0)
    return NaryTreeLSTM(IN, H, n_ary, **kwargs).to(DTYPE)


def test_missing_left_child_matches_reference():
    """A node whose only child sits at position 1: position 0 counts as zeros."""
    batch = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0, 2]), child_pos=torch.tensor([-1, 0, 1, 1]))
    cell = make_cell()
    assert_matches_reference(cell, batch, random_inputs(4, IN))
    # and it differs from the same child at position 0
    moved = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0, 2]), child_pos=torch.tensor([-1, 0, 1, 0]))
    x = random_inputs(4, IN)
    assert not torch.allclose(cell(batch, x)[0][2], cell(moved, x)[0][2])


def test_two_leaves_by_hand():
    """Root with a left and a right leaf, written out with U^{kl} blocks."""
    cell = make_cell()
    tree = Tree.from_brackets("(0 (1 l) (2 r))")  # pre-order: root 0, left 1, right 2
    x = random_inputs(3, IN)
    h, c = cell(TreeBatch.from_trees([tree]), x)
    W, b, U = cell.W.weight, cell.W.bias, cell.U.weight
    R = lambda k: slice(k * H, (k + 1) * H)  # noqa: E731
    kids = [(h[1], c[1]), (h[2], c[2])]

    def pre(gate_row, w_row):
        return W[R(w_row)] @ x[0] + b[R(w_row)] + sum(U[R(gate_row), R(l)] @ kids[l][0] for l in range(2))

    i, o, u = torch.sigmoid(pre(0, 0)), torch.sigmoid(pre(1, 1)), torch.tanh(pre(2, 2))
    f = [torch.sigmoid(pre(3 + k, 3)) for k in range(2)]
    c0 = i * u + f[0] * c[1] + f[1] * c[2]
    torch.testing.assert_close(c[0], c0)
    torch.testing.assert_close(h[0], o * torch.tanh(c0))


def test_gradcheck_ternary_with_gaps():
    cell = make_cell(3, output_gate=False)
    batch = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0, 1]), child_pos=torch.tensor([-1, 2, 0, 1]))
    gradcheck_cell(cell, batch, random_inputs(4, IN))


def test_swapping_children_changes_the_result():
    cell = make_cell()
    x = random_inputs(3, IN)
    parent = torch.tensor([-1, 0, 0])
    h, c = cell(TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([-1, 0, 1])), x)
    h2, c2 = cell(TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([-1, 1, 0])), x)
    torch.testing.assert_close(h[1:], h2[1:])  # the leaves are the same
    assert (h[0] - h2[0]).abs().max() > 1e-6
    assert (c[0] - c2[0]).abs().max() > 1e-6


def test_swapping_children_in_brackets_changes_the_result():
    cell = make_cell()
    a = Tree.from_brackets("(0 (1 good) (2 bad))")
    b = Tree.from_brackets("(0 (2 bad) (1 good))")
    x = random_inputs(3, IN)
    x_b = x[[0, 2, 1]]
    h_a, _ = cell(TreeBatch.from_trees([a]), x)
    h_b, _ = cell(TreeBatch.from_trees([b]), x_b)
    assert (h_a[0] - h_b[0]).abs().max() > 1e-6


def test_bad_arity():
    with pytest.raises(ValueError, match="n_ary"):
        NaryTreeLSTM(3, 4, 0)


def test_linear_leaf_is_the_paper_codes_leaf_module():
    """leaf='linear': c = W_u x + b_u and h = o * tanh(c) at leaves; internal nodes unchanged."""
    tree = Tree.from_brackets("(0 (1 l) (2 r))")
    x = random_inputs(3, IN)
    lstm, linear = make_cell(), make_cell(leaf="linear")
    h, c = linear(TreeBatch.from_trees([tree]), x)
    W, b = linear.W.weight, linear.W.bias
    R = lambda k: slice(k * H, (k + 1) * H)  # noqa: E731
    for leaf in (1, 2):
        c_leaf = W[R(2)] @ x[leaf] + b[R(2)]
        torch.testing.assert_close(c[leaf], c_leaf)
        torch.testing.assert_close(h[leaf], torch.sigmoid(W[R(1)] @ x[leaf] + b[R(1)]) * torch.tanh(c_leaf))
    h_lstm, _ = lstm(TreeBatch.from_trees([tree]), x)
    assert not torch.allclose(h_lstm[1], h[1])
    with pytest.raises(ValueError, match="leaf must be"):
        make_cell(leaf="gru")
