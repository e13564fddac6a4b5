"""What only the Child-Sum Tree-LSTM does: its equations by hand, order invariance, chains as LSTM steps.

The checks every cell passes (the oracle, gradcheck, batching, options, errors) run
over the table of cells in ``test_cells.py``.
"""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _cellcheck import DTYPE, random_inputs, random_trees
from treenets import ChildSumTreeLSTM, Tree, TreeBatch

IN, H = 3, 4


def make_cell(**kwargs):
    torch.manual_seed(0)
    return ChildSumTreeLSTM(IN, H, **kwargs).to(DTYPE)


def test_single_leaf_by_hand():
    """One node, no children: the LSTM step from a zero state, from the fused weights directly."""
    cell = make_cell()
    x = random_inputs(1, IN)
    h, c = cell(TreeBatch.from_trees([Tree([-1], ["w"])]), x)
    W, b = cell.W.weight, cell.W.bias
    pre = W @ x[0] + b
    i, o, u = torch.sigmoid(pre[:H]), torch.sigmoid(pre[H:2 * H]), torch.tanh(pre[2 * H:3 * H])
    torch.testing.assert_close(c[0], i * u)
    torch.testing.assert_close(h[0], o * torch.tanh(i * u))


def test_two_children_by_hand():
    """A root with two leaves, written out with the per-gate slices."""
    cell = make_cell()
    tree = Tree.from_parents(["l", "root", "r"], [2, 0, 2])
    x = random_inputs(3, IN)
    h, c = cell(TreeBatch.from_trees([tree]), x)
    W, b, U, Uf = cell.W.weight, cell.W.bias, cell.U_iou.weight, cell.U_f.weight
    sl = [slice(k * H, (k + 1) * H) for k in range(4)]
    ht = h[0] + h[2]
    i = torch.sigmoid(W[sl[0]] @ x[1] + U[sl[0]] @ ht + b[sl[0]])
    o = torch.sigmoid(W[sl[1]] @ x[1] + U[sl[1]] @ ht + b[sl[1]])
    u = torch.tanh(W[sl[2]] @ x[1] + U[sl[2]] @ ht + b[sl[2]])
    f0 = torch.sigmoid(W[sl[3]] @ x[1] + Uf @ h[0] + b[sl[3]])
    f2 = torch.sigmoid(W[sl[3]] @ x[1] + Uf @ h[2] + b[sl[3]])
    c1 = i * u + f0 * c[0] + f2 * c[2]
    torch.testing.assert_close(c[1], c1)
    torch.testing.assert_close(h[1], o * torch.tanh(c1))


@settings(max_examples=30, deadline=None)
@given(tree=random_trees(max_nodes=10), data=st.data())
def test_renumbering_children_changes_nothing(tree, data):
    """Child-Sum ignores child order: the same tree renumbered gives the same states."""
    n = len(tree)
    perm = data.draw(st.permutations(range(n)))  # old id -> new id
    parents = [0] * n
    tokens = [None] * n
    for old in range(n):
        p = tree.parents[old]
        parents[perm[old]] = -1 if p < 0 else perm[p]
        tokens[perm[old]] = tree.tokens[old]
    renumbered = Tree(parents, tokens)
    cell = make_cell()
    x = random_inputs(n, IN)
    x_new = torch.empty_like(x)
    x_new[list(perm)] = x
    h, c = cell(TreeBatch.from_trees([tree]), x)
    h2, c2 = cell(TreeBatch.from_trees([renumbered]), x_new)
    torch.testing.assert_close(h2[list(perm)], h, atol=1e-12, rtol=0)
    torch.testing.assert_close(c2[list(perm)], c, atol=1e-12, rtol=0)


def test_swapping_sibling_positions_changes_nothing():
    cell = make_cell()
    parent = torch.tensor([1, -1, 1, 1])
    x = random_inputs(4, IN)
    h, _ = cell(TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([0, -1, 1, 2])), x)
    h2, _ = cell(TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([2, -1, 0, 1])), x)
    torch.testing.assert_close(h, h2, atol=1e-12, rtol=0)


def test_chain_is_an_lstm_step_by_step():
    """On a chain each node is one LSTM step: forget gate times the previous cell."""
    cell = make_cell()
    tree = Tree.chain(["a", "b", "c", "d"])
    x = random_inputs(4, IN)
    h, c = cell(TreeBatch.from_trees([tree]), x)
    W, b, U, Uf = cell.W.weight, cell.W.bias, cell.U_iou.weight, cell.U_f.weight
    h_prev, c_prev = torch.zeros(H, dtype=DTYPE), torch.zeros(H, dtype=DTYPE)
    for t in range(4):
        gi = W @ x[t] + b
        i = torch.sigmoid(gi[:H] + U[:H] @ h_prev)
        o = torch.sigmoid(gi[H:2 * H] + U[H:2 * H] @ h_prev)
        u = torch.tanh(gi[2 * H:3 * H] + U[2 * H:] @ h_prev)
        f = torch.sigmoid(gi[3 * H:] + Uf @ h_prev)
        c_prev = i * u + f * c_prev
        h_prev = o * torch.tanh(c_prev)
        torch.testing.assert_close(h[t], h_prev)
        torch.testing.assert_close(c[t], c_prev)
