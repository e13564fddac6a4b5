"""SequentialLSTM equals torch.nn.LSTM on chains, with the weights copied over."""
import pytest
import torch
from torch import nn

from _cellcheck import DTYPE, random_inputs
from treenets import SequentialLSTM, Tree, TreeBatch

IN, H = 3, 5


def lstm_and_cell():
    torch.manual_seed(0)
    lstm = nn.LSTM(IN, H).to(DTYPE)
    cell = SequentialLSTM(IN, H).to(DTYPE)
    # nn.LSTM rows: i, f, g, o; ours: W rows i, o, u, f; U_iou rows i, o, u; U_f
    w_ih, w_hh = lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach()
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
    i, f, g, o = (slice(k * H, (k + 1) * H) for k in range(4))
    with torch.no_grad():
        cell.W.weight.copy_(torch.cat([w_ih[i], w_ih[o], w_ih[g], w_ih[f]]))
        cell.W.bias.copy_(torch.cat([bias[i], bias[o], bias[g], bias[f]]))
        cell.U_iou.weight.copy_(torch.cat([w_hh[i], w_hh[o], w_hh[g]]))
        cell.U_f.weight.copy_(w_hh[f])
    return lstm, cell


@pytest.mark.parametrize("lengths", [[1], [6], [4, 1, 7]])
def test_equals_nn_lstm(lengths):
    lstm, cell = lstm_and_cell()
    chains = [Tree.chain([f"w{k}" for k in range(n)]) for n in lengths]
    batch = TreeBatch.from_trees(chains)
    x = random_inputs(batch.num_nodes, IN)
    h, c = cell(batch, x)
    start = 0
    for t, n in enumerate(lengths):
        out, (h_n, c_n) = lstm(x[start:start + n].unsqueeze(1))  # [n, 1, H]
        torch.testing.assert_close(h[start:start + n], out[:, 0])
        root = int(batch.roots[t])
        assert root == start + n - 1  # the last word is the root
        torch.testing.assert_close(h[root], h_n[0, 0])
        torch.testing.assert_close(c[root], c_n[0, 0])
        start += n


def test_gradients_equal_nn_lstm():
    lstm, cell = lstm_and_cell()
    batch = TreeBatch.from_trees([Tree.chain(list("abcde"))])
    x = random_inputs(5, IN)
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    target = random_inputs(5, H, seed=7)
    (cell(batch, x1)[0] * target).sum().backward()
    (lstm(x2.unsqueeze(1))[0][:, 0] * target).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    i, f, g, o = lstm.weight_hh_l0.grad.split(H)
    torch.testing.assert_close(cell.U_f.weight.grad, f)
    torch.testing.assert_close(cell.U_iou.weight.grad, torch.cat([i, o, g]))
    i, f, g, o = lstm.weight_ih_l0.grad.split(H)
    torch.testing.assert_close(cell.W.weight.grad, torch.cat([i, o, g, f]))
    i, f, g, o = lstm.bias_ih_l0.grad.split(H)
    torch.testing.assert_close(cell.W.bias.grad, torch.cat([i, o, g, f]))


def test_no_output_gate():
    _, cell = lstm_and_cell()
    cell.output_gate = False
    h, c = cell(TreeBatch.from_trees([Tree.chain(list("abc"))]), random_inputs(3, IN))
    torch.testing.assert_close(h, torch.tanh(c))


def test_chains_from_parse_trees():
    trees = [Tree.from_brackets("(3 (2 (2 a) (1 b)) (4 c))"), Tree.from_parents(["x", "y"], [0, 1], rels=None)]
    chains = SequentialLSTM.chains(trees)
    assert [ch.words for ch in chains] == [["a", "b", "c"], ["x", "y"]]
    assert chains[0].parents == [1, 2, -1]
    assert chains[0].labels == [None, None, "3"]
    assert SequentialLSTM.chains(trees, labels_at_root=False)[0].labels == [None, None, None]


def test_refuses_a_branching_tree():
    cell = SequentialLSTM(IN, H).to(DTYPE)
    tree = Tree.from_parents(["a", "b", "c"], [2, 0, 2])
    with pytest.raises(ValueError, match="chains"):
        cell(TreeBatch.from_trees([tree]), random_inputs(3, IN))


def test_reference_treats_it_as_child_sum():
    from treenets.testing.reference import reference_forward

    _, cell = lstm_and_cell()
    chains = [Tree.chain(list("abcd")), Tree.chain(list("xy"))]
    batch = TreeBatch.from_trees(chains)
    x = random_inputs(batch.num_nodes, IN)
    torch.testing.assert_close(reference_forward(cell, chains, x), cell(batch, x))
