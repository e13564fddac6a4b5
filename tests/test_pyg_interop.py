"""TreeBatch <-> PyTorch Geometric: ``from_edge_index`` (torch only), ``from_pyg`` and ``to_pyg``.

``from_edge_index`` needs no PyG and runs everywhere. The tests that build or
read ``torch_geometric`` objects skip with a reason where PyG is not installed
(it is the optional extra ``treenets[pyg]``; the core environment has it).
"""
import importlib.util
import random
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _cellcheck import random_trees
from treenets import ChildSumTreeLSTM, NaryTreeLSTM, Tree, TreeBatch, TreeEncoder, Vocab

HAS_PYG = importlib.util.find_spec("torch_geometric") is not None
needs_pyg = pytest.mark.skipif(not HAS_PYG, reason="torch_geometric is an optional extra (pip install "
                                                   "'treenets[pyg]'); the core environment runs these tests")

TREES = [
    Tree.from_brackets("(3 (2 The) (4 (3 (2 movie) (4 rocks)) (2 .)))"),
    Tree.from_parents(["a", "dog", "barks", "loudly"], [2, 3, 0, 3], labels=[1, 0, 2, None]),
    Tree.chain(["one"]),
]
VOCAB = Vocab.build(t.words for t in TREES)


def assert_same_structure(a, b):
    for name in ("parent", "child_pos", "depth", "tree_index", "word_ids", "labels", "roots"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


def shuffled_edges(batch, rng):
    """``batch.edge_index`` with its columns in a random order, and the per-edge child positions."""
    ei = batch.edge_index
    perm = list(range(ei.shape[1]))
    rng.shuffle(perm)
    ei = ei[:, perm]
    return ei, batch.child_pos[ei[0]]


# ------------------------------------------------------------ from_edge_index
def test_from_edge_index_matches_from_trees():
    expected = TreeBatch.from_trees(TREES, VOCAB)
    rng = random.Random(0)
    for _ in range(3):
        ei, pos_per_edge = shuffled_edges(expected, rng)
        sizes = torch.tensor([len(t) for t in TREES])
        graph_of = torch.repeat_interleave(torch.arange(len(TREES)), sizes)
        for pos in (expected.child_pos, pos_per_edge):  # per node or per edge
            got = TreeBatch.from_edge_index(ei, child_pos=pos, word_ids=expected.word_ids, labels=expected.labels,
                                            batch=graph_of)
            assert_same_structure(got, expected)
            assert got.batch_num_nodes == expected.batch_num_nodes
            assert got.word_source == "word_ids"


@settings(max_examples=30, deadline=None)
@given(trees=st.lists(random_trees(max_nodes=9), min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_sibling_order_is_child_pos_or_node_id_never_edge_order(trees, seed):
    from_trees = TreeBatch.from_trees(trees)
    rng = random.Random(seed)
    ei, pos = shuffled_edges(from_trees, rng)
    n = from_trees.num_nodes
    with_pos = TreeBatch.from_edge_index(ei, n, child_pos=pos)
    assert torch.equal(with_pos.child_pos, from_trees.child_pos)
    assert torch.equal(with_pos.parent, from_trees.parent)
    by_id = TreeBatch.from_edge_index(ei, n)
    assert torch.equal(by_id.child_pos, TreeBatch.from_parent_tensor(from_trees.parent).child_pos)
    ei2, _ = shuffled_edges(from_trees, rng)
    assert torch.equal(TreeBatch.from_edge_index(ei2, n).child_pos, by_id.child_pos)


def test_n_ary_states_follow_child_pos_not_edge_order():
    torch.manual_seed(0)
    cell = NaryTreeLSTM(3, 4).double()
    x = torch.randn(3, 3, dtype=torch.float64)
    ei = torch.tensor([[1, 2], [0, 0]])
    h_a, _ = cell(TreeBatch.from_edge_index(ei, child_pos=torch.tensor([0, 1])), x)
    h_b, _ = cell(TreeBatch.from_edge_index(ei.flip(1), child_pos=torch.tensor([1, 0])), x)  # same tree
    h_c, _ = cell(TreeBatch.from_edge_index(ei, child_pos=torch.tensor([1, 0])), x)  # children swapped
    torch.testing.assert_close(h_a, h_b, atol=0, rtol=0)
    assert not torch.allclose(h_a[0], h_c[0])


def test_num_nodes_is_inferred():
    ei = torch.tensor([[1, 2], [0, 0]])
    assert TreeBatch.from_edge_index(ei).num_nodes == 3
    assert TreeBatch.from_edge_index(ei, word_ids=torch.tensor([1, 2, 3, 4])).num_trees == 2  # node 3 alone
    assert TreeBatch.from_edge_index(torch.zeros(2, 0, dtype=torch.long), 2).num_trees == 2


@pytest.mark.parametrize("kwargs, match", [
    ({"edge_index": torch.tensor([1, 0])}, r"shape \[2, num_edges\]"),
    ({"edge_index": torch.tensor([[1.0], [0.0]])}, "integer"),
    ({"edge_index": torch.tensor([[1, 3], [0, 0]]), "num_nodes": 3}, r"edge 1 \(3 -> 0\) has a node id outside"),
    ({"edge_index": torch.tensor([[1, 1], [0, 2]])}, r"node 1 has 2 parents \[0, 2\].*edge_index.flip\(0\)"),
    ({"edge_index": torch.tensor([[0, 0], [1, 2]])}, r"node 0 has 2 parents.*child -> parent"),
    ({"edge_index": torch.tensor([[1], [1]]), "num_nodes": 2}, "node 1 has an edge to itself"),
    ({"edge_index": torch.tensor([[0, 1, 2], [1, 2, 0]])}, "not a forest.*cycle"),
    ({"edge_index": torch.zeros(2, 0, dtype=torch.long)}, "pass num_nodes"),
    ({"edge_index": torch.tensor([[1, 2], [0, 0]]), "child_pos": torch.tensor([0, 1, 2, 3])}, "one per node"),
    ({"edge_index": torch.tensor([[1, 2], [0, 0]]), "child_pos": torch.tensor([0, 0])}, "share one child position"),
    ({"edge_index": torch.tensor([[1, 2], [0, 0]]), "num_nodes": 3, "word_ids": torch.tensor([1, 2])},
     "word_ids has 2 entries but there are 3 nodes"),
    ({"edge_index": torch.tensor([[1, 2], [0, 0]]), "labels": torch.tensor([1.0, 2.0, 0.0])}, "labels must be"),
    ({"edge_index": torch.tensor([[1, 2], [0, 0]]), "word_ids": torch.tensor([-1, 3, -2])},
     "word_ids of node 2 is -2: below -1"),
    ({"edge_index": torch.tensor([[1, 2], [0, 0]]), "labels": torch.tensor([-7, 3, 1])}, "labels of node 0 is -7"),
    ({"edge_index": torch.tensor([[1, 3], [0, 2]]), "batch": torch.tensor([0, 0, 1, 0])}, "batch must be sorted"),
    ({"edge_index": torch.tensor([[1, 2], [0, 0]]), "batch": torch.tensor([0, 0, 1])}, r"edge 2 -> 0 joins graphs 1 and 0"),
    ({"edge_index": torch.tensor([[1], [0]]), "batch": torch.tensor([0, 0, 0])}, "exactly one root"),
    ({"edge_index": torch.tensor([[1], [0]]), "batch": torch.tensor([0, 0, 2])}, "graph 1 of batch has no nodes"),
])
def test_from_edge_index_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TreeBatch.from_edge_index(**kwargs)


def test_from_edge_index_without_words_cannot_be_encoded():
    enc = TreeEncoder(torch.nn.Embedding(5, 3), ChildSumTreeLSTM(3, 4))
    batch = TreeBatch.from_edge_index(torch.tensor([[1, 2], [0, 0]]))
    with pytest.raises(ValueError, match="pass word_ids= to TreeBatch.from_edge_index"):
        enc(batch)
    assert enc.cell(batch, torch.randn(3, 3))[0].shape == (3, 4)


def test_pyg_data_given_to_a_cell_says_how_to_convert_it():
    class Data:  # stands in for torch_geometric.data.Data: only the name matters
        pass

    with pytest.raises(TypeError, match=r"TreeBatch.from_pyg\(data\)"):
        ChildSumTreeLSTM(3, 4)(Data(), torch.zeros(1, 3))


def test_to_pyg_without_pyg_says_what_to_use(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_geometric.data", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"treenets\[pyg\].*batch.edge_index.*batch.tree_index"):
        TreeBatch.from_trees(TREES).to_pyg()


# ----------------------------------------------------------- to/from PyG
@needs_pyg
def test_to_pyg_is_a_batch_of_one_graph_per_tree():
    from torch_geometric.data import Batch

    batch = TreeBatch.from_trees(TREES, VOCAB)
    h = torch.randn(batch.num_nodes, 5)
    data = batch.to_pyg(x=h, weight=torch.arange(batch.num_nodes))
    assert isinstance(data, Batch) and data.num_graphs == len(TREES)
    assert torch.equal(data.edge_index, batch.edge_index)  # node ids unchanged
    assert torch.equal(data.batch, batch.tree_index)
    assert torch.equal(data.root_index, batch.roots)
    assert torch.equal(data.x, h) and torch.equal(data.y, batch.labels) and torch.equal(data.word_ids, batch.word_ids)
    assert torch.equal(data.weight, torch.arange(batch.num_nodes))
    members = data.to_data_list()
    for tree, member in zip(TREES, members):
        single = TreeBatch.from_trees([tree], VOCAB)
        assert torch.equal(member.edge_index, single.edge_index)
        assert int(member.root_index) == tree.root
    back = TreeBatch.from_pyg(data)
    assert_same_structure(back, batch)
    assert back.batch_num_nodes == batch.batch_num_nodes and back.word_source == "data.word_ids"
    with pytest.raises(ValueError, match=r"to_pyg: x must be a tensor with one row per node"):
        batch.to_pyg(x=h[:3])


@needs_pyg
def test_to_pyg_of_an_interleaved_forest_keeps_node_ids():
    from torch_geometric.data import Batch, Data

    batch = TreeBatch.from_parent_tensor(torch.tensor([2, -1, -1, 1, 2]), word_ids=torch.arange(5))
    assert batch.tree_index.tolist() == [1, 0, 1, 0, 1]
    data = batch.to_pyg()
    assert isinstance(data, Data) and not isinstance(data, Batch)
    assert torch.equal(data.batch, batch.tree_index) and torch.equal(data.root_index, batch.roots)
    assert_same_structure(TreeBatch.from_edge_index(data.edge_index, data.num_nodes, child_pos=data.child_pos,
                                                    word_ids=data.word_ids, labels=data.y), batch)


@needs_pyg
def test_a_pyg_layer_receives_children_at_their_parents():
    """edge_index runs child -> parent, so PyG's sum aggregation gives each node the sum of its children."""
    from torch_geometric.nn import SimpleConv

    batch = TreeBatch.from_trees(TREES)
    h = torch.randn(batch.num_nodes, 4)
    out = SimpleConv(aggr="sum")(h, batch.to_pyg(x=h).edge_index)
    expected = torch.zeros_like(h).index_add(0, batch.parent.clamp(min=0)[batch.parent >= 0], h[batch.parent >= 0])
    torch.testing.assert_close(out, expected)


@needs_pyg
def test_from_pyg_finds_ids_in_x_and_y_and_ignores_features():
    from torch_geometric.data import Batch, Data

    expected = TreeBatch.from_trees(TREES[:2], VOCAB)
    datas = []
    for tree in TREES[:2]:
        single = TreeBatch.from_trees([tree], VOCAB)
        datas.append(Data(edge_index=single.edge_index, x=single.word_ids, y=single.labels,
                          child_pos=single.child_pos, num_nodes=len(tree)))
    data = Batch.from_data_list(datas)
    got = TreeBatch.from_pyg(data)
    assert got.word_source == "data.x"
    assert_same_structure(got, expected)
    # float features under x, and a graph-level y, are not ids
    feats = Data(edge_index=expected.edge_index, x=torch.randn(expected.num_nodes, 3), y=torch.tensor([1]),
                 num_nodes=expected.num_nodes)
    plain = TreeBatch.from_pyg(feats)
    assert plain.word_source is None and plain.labels.eq(-1).all()
    enc = TreeEncoder(torch.nn.Embedding(len(VOCAB), 3), ChildSumTreeLSTM(3, 4))
    with pytest.raises(ValueError, match=r"no integer word ids in data.word_ids or data.x.*word_key="):
        enc(plain)
    assert enc.cell(plain, feats.x)[0].shape == (expected.num_nodes, 4)
    feats.tokens = expected.word_ids
    assert torch.equal(TreeBatch.from_pyg(feats, word_key="tokens").word_ids, expected.word_ids)
    with pytest.raises(ValueError, match="word_key='missing' is not an attribute"):
        TreeBatch.from_pyg(feats, word_key="missing")
    with pytest.raises(TypeError, match="from_pyg expects"):
        TreeBatch.from_pyg(expected)


@needs_pyg
def test_encoding_a_pyg_data_equals_encoding_the_trees():
    torch.manual_seed(0)
    enc = TreeEncoder(torch.nn.Embedding(len(VOCAB), 3), NaryTreeLSTM(3, 4, n_ary=3)).double()
    batch = TreeBatch.from_trees(TREES, VOCAB)
    h, c = enc(batch)
    h2, c2 = enc(TreeBatch.from_pyg(batch.to_pyg()))
    assert torch.equal(h, h2) and torch.equal(c, c2)
