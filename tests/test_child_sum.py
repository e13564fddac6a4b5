"""ChildSumTreeLSTM against the per-node reference, in float64."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _cellcheck import (DTYPE, assert_batch_equals_single, assert_matches_reference, gradcheck_cell,
                        random_inputs, random_trees)
from treenets import ChildSumTreeLSTM, Tree, TreeBatch
from treenets.reference import RecursiveTreeLSTM, reference_forward

IN, H = 3, 4


def make_cell(**kwargs):
    torch.manual_seed(0)
    return ChildSumTreeLSTM(IN, H, **kwargs).to(DTYPE)


HAND_TREES = [
    Tree([-1], ["solo"]),
    Tree.from_parents(["a", "b", "c"], [2, 0, 2]),
    Tree.from_parents(["a", "b", "c", "d"], [2, 0, 2, 2]),  # three children
    Tree.from_parents(["a", "b", "c", "d", "e"], [2, 0, 2, 3, 3]),
    Tree.from_brackets("(3 (2 (2 a) (1 b)) (4 c))"),
    Tree.chain(["x", "y", "z"]),
]


@pytest.mark.parametrize("tree", HAND_TREES, ids=str)
@pytest.mark.parametrize("opts", [{}, {"output_gate": False}, {"leaf_input_only": True}])
def test_hand_trees_match_reference(tree, opts):
    cell = make_cell(**opts)
    x = random_inputs(len(tree), IN)
    assert_matches_reference(cell, [tree], x)


def test_batch_of_hand_trees_matches_reference():
    cell = make_cell()
    batch = TreeBatch.from_trees(HAND_TREES)
    assert_matches_reference(cell, HAND_TREES, random_inputs(batch.num_nodes, IN))


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
@given(trees=st.lists(random_trees(max_nodes=9), min_size=1, max_size=3),
       opts=st.sampled_from([{}, {"output_gate": False}, {"leaf_input_only": True}]))
def test_random_trees_match_reference(trees, opts):
    cell = make_cell(**opts)
    x = random_inputs(sum(len(t) for t in trees), IN, seed=len(trees))
    assert_matches_reference(cell, trees, x)


def test_gradcheck():
    cell = make_cell()
    trees = [Tree.from_parents(["a", "b", "c", "d"], [2, 0, 2, 2]), Tree.chain(["x", "y"])]
    batch = TreeBatch.from_trees(trees)
    gradcheck_cell(cell, batch, random_inputs(batch.num_nodes, IN))


def test_gradcheck_no_output_gate():
    cell = make_cell(output_gate=False, leaf_input_only=True)
    batch = TreeBatch.from_trees([Tree.from_brackets("(3 (2 (2 a) (1 b)) (4 c))")])
    gradcheck_cell(cell, batch, random_inputs(batch.num_nodes, IN))


def test_batch_equals_each_tree_alone():
    assert_batch_equals_single(make_cell(), HAND_TREES, IN)


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


def test_output_gate_false_is_tanh_c():
    cell = make_cell(output_gate=False)
    tree = HAND_TREES[3]
    h, c = cell(TreeBatch.from_trees([tree]), random_inputs(len(tree), IN))
    torch.testing.assert_close(h, torch.tanh(c))
    h_gate, _ = make_cell()(TreeBatch.from_trees([tree]), random_inputs(len(tree), IN))
    assert not torch.allclose(h, h_gate)


def test_leaf_input_only_ignores_internal_inputs():
    tree = HAND_TREES[3]  # internal nodes 1 and 2
    batch = TreeBatch.from_trees([tree])
    x = random_inputs(len(tree), IN)
    x2 = x.clone()
    x2[[1, 2]] += 5.0
    cell = make_cell(leaf_input_only=True)
    torch.testing.assert_close(cell(batch, x)[0], cell(batch, x2)[0])
    plain = make_cell()
    assert not torch.allclose(plain(batch, x)[0], plain(batch, x2)[0])


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


def test_dropout_eval_matches_reference_and_train_differs():
    torch.manual_seed(0)
    cell = ChildSumTreeLSTM(IN, H, dropout=0.5).to(DTYPE)
    tree = HAND_TREES[3]
    x = random_inputs(len(tree), IN)
    batch = TreeBatch.from_trees([tree])
    with pytest.raises(ValueError, match="eval"):
        reference_forward(cell, [tree], x)
    h_train, _ = cell(batch, x)
    cell.eval()
    h_eval, _ = cell(batch, x)
    assert not torch.allclose(h_train, h_eval)
    assert_matches_reference(cell, [tree], x)


def test_recursive_baseline_module():
    cell = make_cell()
    rec = RecursiveTreeLSTM(cell)
    assert set(dict(rec.named_parameters())) == {"cell." + k for k, _ in cell.named_parameters()}
    trees = HAND_TREES[1:4]
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, IN)
    torch.testing.assert_close(rec(trees, x)[0], cell(batch, x)[0])
    torch.testing.assert_close(rec(batch, x)[0], cell(batch, x)[0])


@pytest.mark.parametrize("shape", [(5, IN + 1), (4, IN), (6, IN), (5,), (5, IN, 1)])
def test_x_of_wrong_shape(shape):
    cell = make_cell()
    batch = TreeBatch.from_trees([HAND_TREES[3]])
    with pytest.raises(ValueError, match="x has shape"):
        cell(batch, torch.zeros(shape, dtype=DTYPE))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError):
        ChildSumTreeLSTM(0, 4)
    with pytest.raises(ValueError):
        ChildSumTreeLSTM(3, 0)
    with pytest.raises(ValueError):
        ChildSumTreeLSTM(3, 4, dropout=1.0)


def test_not_a_batch():
    with pytest.raises(TypeError, match="TreeBatch"):
        make_cell()([Tree([-1], ["a"])], torch.zeros(1, IN, dtype=DTYPE))


def test_reference_handles_deep_trees_without_recursion():
    n = 2000
    tree = Tree.chain([f"w{i}" for i in range(n)])
    cell = make_cell()
    x = random_inputs(n, IN)
    h_ref, c_ref = reference_forward(cell, [tree], x)
    h, c = cell(TreeBatch.from_trees([tree]), x)
    torch.testing.assert_close(h, h_ref, atol=1e-10, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=1e-10, rtol=0)
