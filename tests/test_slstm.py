"""What only the S-LSTM does: left and right children, its leaf and internal equations by hand.

The checks every cell passes (the oracle, gradcheck, batching, options, errors) run
over the table of cells in ``test_cells.py``.
"""
import torch

from _cellcheck import DTYPE, assert_matches_reference, random_inputs
from treenets import SLSTM, Tree, TreeBatch

IN, H = 3, 4


def make_cell(**kwargs):
    torch.manual_seed(0)
    return SLSTM(IN, H, **kwargs).to(DTYPE)


def test_leaf_input_only_is_the_default():
    assert SLSTM(3, 4).leaf_input_only is True


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


def test_left_and_right_are_different():
    cell = make_cell()
    x = random_inputs(3, IN)
    parent = torch.tensor([-1, 0, 0])
    h, _ = cell(TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([-1, 0, 1])), x)
    h2, _ = cell(TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([-1, 1, 0])), x)
    assert (h[0] - h2[0]).abs().max() > 1e-6
