"""treenets' cells against a reference run by DGL itself (dgl.prop_nodes_topo).

The reference (treenets.testing.dgl_reference) uses the cell's own parameters,
so on the same graph both must give the same h, c and gradients. DGL is an
optional extra: without it these tests skip, unless ``TREENETS_REQUIRE_DGL=1``
(set by the DGL CI lane), where a missing or broken DGL is an error.
"""
import os
import random

import pytest
import torch

if os.environ.get("TREENETS_REQUIRE_DGL") == "1":
    import dgl  # noqa: F401  the DGL lane must run these tests, not skip them
else:
    dgl = pytest.importorskip("dgl", reason="DGL is an optional extra (pip install 'treenets[dgl]'); "
                                            "the DGL CI lane runs these tests")

from treenets import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, SequentialLSTM, Tree, TreeBatch  # noqa: E402
from treenets.testing.dgl_reference import (  # noqa: E402
    DGLChildSumTreeLSTM, DGLNaryTreeLSTM, DGLSLSTM, dgl_reference, sibling_positions)

TOL = dict(rtol=0, atol=1e-6)
IN, HID = 5, 4


def random_tree_graph(n, max_children, rng, with_child_pos=True):
    """A random tree, node ids scrambled, edges child -> parent inserted in a random
    order, sibling positions shuffled (so they differ from edge and node-id order)."""
    parents, kids = [-1], [0]
    for node in range(1, n):
        p = rng.choice([q for q in range(node) if kids[q] < max_children])
        parents.append(p)
        kids[p] += 1
        kids.append(0)
    perm = list(range(n))
    rng.shuffle(perm)
    new_parents = [0] * n
    for old, p in enumerate(parents):
        new_parents[perm[old]] = -1 if p < 0 else perm[p]
    pos = [-1] * n
    for p in set(new_parents) - {-1}:
        children = [c for c, q in enumerate(new_parents) if q == p]
        slots = rng.sample(range(max_children), len(children)) if rng.random() < 0.5 else \
            rng.sample(range(len(children)), len(children))  # sometimes gaps (missing children)
        for c, s in zip(children, slots):
            pos[c] = s
    edges = [(c, p) for c, p in enumerate(new_parents) if p >= 0]
    rng.shuffle(edges)
    g = dgl.graph(([e[0] for e in edges], [e[1] for e in edges]), num_nodes=n, idtype=torch.int64)
    if with_child_pos:
        g.edata["child_pos"] = torch.tensor([pos[c] for c, _ in edges], dtype=torch.int64)
    return g


def random_batch(rng, max_children, sizes=(1, 2, 7, 13, 20), with_child_pos=True):
    return dgl.batch([random_tree_graph(s, max_children, rng, with_child_pos) for s in sizes])


CELLS = {
    "child_sum": (lambda: ChildSumTreeLSTM(IN, HID), 5),
    "child_sum_no_output_gate_leaf_input": (lambda: ChildSumTreeLSTM(IN, HID, output_gate=False,
                                                                      leaf_input_only=True), 4),
    "nary2": (lambda: NaryTreeLSTM(IN, HID, n_ary=2), 2),
    "nary3_leaf_input": (lambda: NaryTreeLSTM(IN, HID, n_ary=3, leaf_input_only=True), 3),
    "nary4_no_output_gate": (lambda: NaryTreeLSTM(IN, HID, n_ary=4, output_gate=False), 4),
    "slstm": (lambda: SLSTM(IN, HID), 2),
    "slstm_all_inputs": (lambda: SLSTM(IN, HID, leaf_input_only=False), 2),
}


def compare(cell, ref, g, seed):
    """Same h, c and gradients (inputs and every parameter) from both routes."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(g.num_nodes(), IN, dtype=torch.float64, generator=gen)
    wh = torch.randn(g.num_nodes(), HID, dtype=torch.float64, generator=gen)
    wc = torch.randn(g.num_nodes(), HID, dtype=torch.float64, generator=gen)
    results = []
    for run in (lambda x: cell(g, x), lambda x: ref(g, x)):
        cell.zero_grad()
        x_ = x.clone().requires_grad_(True)
        h, c = run(x_)
        ((h * wh).sum() + (c * wc).sum()).backward()
        grads = {name: p.grad.clone() for name, p in cell.named_parameters()}
        results.append((h.detach(), c.detach(), x_.grad.clone(), grads))
    (h1, c1, gx1, gp1), (h2, c2, gx2, gp2) = results
    torch.testing.assert_close(h2, h1, **TOL)
    torch.testing.assert_close(c2, c1, **TOL)
    torch.testing.assert_close(gx2, gx1, **TOL)
    assert gp1.keys() == gp2.keys() and gp1
    for name in gp1:
        torch.testing.assert_close(gp2[name], gp1[name], **TOL, msg=lambda m: f"grad of {name}: {m}")
    return h1, c1


@pytest.mark.parametrize("name", sorted(CELLS))
def test_same_states_and_gradients_on_random_trees(name):
    make, max_children = CELLS[name]
    rng = random.Random(sum(map(ord, name)))
    for trial in range(3):
        torch.manual_seed(trial)
        cell = make().double()
        ref = dgl_reference(cell)
        g = random_batch(rng, max_children)
        h, c = compare(cell, ref, g, seed=trial)
        assert torch.isfinite(h).all() and h.abs().sum() > 0


@pytest.mark.parametrize("name", ["child_sum", "nary3_leaf_input", "slstm"])
def test_same_states_without_child_pos(name):
    """No edata['child_pos']: both order siblings by child node id."""
    make, max_children = CELLS[name]
    rng = random.Random(17)
    torch.manual_seed(0)
    cell = make().double()
    g = random_batch(rng, max_children, with_child_pos=False)
    assert "child_pos" not in g.edata
    compare(cell, dgl_reference(cell), g, seed=1)
    src, _ = g.edges()
    assert torch.equal(sibling_positions(g), TreeBatch.from_dgl(g).child_pos[src])


def test_from_trees_and_dgl_batch_of_single_trees():
    """The benchmark's DGL route: one graph per tree, dgl.batch, prop_nodes_topo."""
    trees = [Tree.from_brackets("(3 (2 a) (4 (1 b) (2 c)))"),
             Tree.from_brackets("(1 (2 (2 x) (0 y)) (4 (2 z) (2 (1 w) (3 v))))"),
             Tree.from_brackets("(2 solo)")]
    torch.manual_seed(0)
    for cell in (NaryTreeLSTM(IN, HID, leaf_input_only=True).double(), SLSTM(IN, HID).double(),
                 ChildSumTreeLSTM(IN, HID).double()):
        batch = TreeBatch.from_trees(trees)
        g = dgl.batch([TreeBatch.from_trees([t]).to_dgl() for t in trees])
        x = torch.randn(batch.num_nodes, IN, dtype=torch.float64)
        h, c = cell(batch, x)
        h_ref, c_ref = dgl_reference(cell)(g, x)
        torch.testing.assert_close(h_ref, h, **TOL)
        torch.testing.assert_close(c_ref, c, **TOL)


def test_mailbox_is_ordered_by_child_pos():
    """Swapping two children's positions changes N-ary results, and the reference follows."""
    torch.manual_seed(3)
    cell = NaryTreeLSTM(IN, HID, n_ary=2).double()
    ref = DGLNaryTreeLSTM(cell)
    x = torch.randn(3, IN, dtype=torch.float64)
    outs = []
    for src, pos in (([1, 2], [0, 1]), ([2, 1], [1, 0]), ([1, 2], [1, 0]), ([2, 1], [0, 1])):
        g = dgl.graph((src, [0, 0]), num_nodes=3)
        g.edata["child_pos"] = torch.tensor(pos)
        h, _ = ref(g, x)
        torch.testing.assert_close(h, cell(g, x)[0], **TOL)
        outs.append(h[0])
    # node 1 first in both of the first two graphs, node 2 first in the last two
    torch.testing.assert_close(outs[0], outs[1], **TOL)
    torch.testing.assert_close(outs[2], outs[3], **TOL)
    assert not torch.allclose(outs[0], outs[2])


def test_sequential_lstm_is_child_sum_on_chains():
    torch.manual_seed(0)
    cell = SequentialLSTM(IN, HID).double()
    ref = dgl_reference(cell)
    assert isinstance(ref, DGLChildSumTreeLSTM)
    trees = SequentialLSTM.chains([Tree.from_brackets("(3 (2 a) (4 (1 b) (2 c)))"), Tree.chain(["x", "y"])])
    g = TreeBatch.from_trees(trees).to_dgl()
    compare(cell, ref, g, seed=2)


def test_graph_is_left_untouched():
    cell = SLSTM(IN, HID)
    g = TreeBatch.from_trees([Tree.from_brackets("(3 (2 a) (4 b))")]).to_dgl()
    keys = (set(g.ndata.keys()), set(g.edata.keys()))
    DGLSLSTM(cell)(g, torch.randn(3, IN))
    assert (set(g.ndata.keys()), set(g.edata.keys())) == keys


def test_errors():
    with pytest.raises(TypeError, match="wraps a NaryTreeLSTM"):
        DGLNaryTreeLSTM(ChildSumTreeLSTM(IN, HID))
    with pytest.raises(TypeError, match="no DGL reference"):
        dgl_reference(torch.nn.Linear(2, 2))
    g = dgl.graph(([1, 2, 3], [0, 0, 0]))  # three children
    x = torch.randn(4, IN)
    with pytest.raises(ValueError, match="n_ary=2"):
        dgl_reference(NaryTreeLSTM(IN, HID, n_ary=2))(g, x)
    with pytest.raises(ValueError, match="binary"):
        dgl_reference(SLSTM(IN, HID))(g, x)
    with pytest.raises(ValueError, match="x has shape"):
        dgl_reference(ChildSumTreeLSTM(IN, HID))(g, torch.randn(3, IN))
