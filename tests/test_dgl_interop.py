"""TreeBatch <-> dgl.DGLGraph: round trips, batched graphs, data, child order, errors;
DGL's own SSTDataset layout (x, y, -1 for PAD and UNK); the cached conversion in cells.

DGL is an optional extra: without it these tests skip, unless
``TREENETS_REQUIRE_DGL=1`` (set by the DGL CI lane), where a missing or broken
DGL is an error.
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

from treenets import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, Tree, TreeBatch, TreeEncoder, Vocab  # noqa: E402


# ------------------------------------------------------------------ helpers
def random_parents(n, max_children, rng):
    """A random tree of ``n`` nodes with node ids scrambled (a parent's id may be larger or smaller)."""
    parents = [-1]
    kids = [0]
    for node in range(1, n):
        choices = [p for p in range(node) if kids[p] < max_children]
        p = rng.choice(choices)
        parents.append(p)
        kids[p] += 1
        kids.append(0)
    perm = list(range(n))
    rng.shuffle(perm)  # old id -> new id
    out = [0] * n
    for old, p in enumerate(parents):
        out[perm[old]] = -1 if p < 0 else perm[p]
    return out


def graph_from_parents(parents, rng, child_pos=None, **ndata):
    """A DGL graph child -> parent with edges inserted in a random order."""
    edges = [(c, p) for c, p in enumerate(parents) if p >= 0]
    rng.shuffle(edges)
    src = torch.tensor([e[0] for e in edges], dtype=torch.int64)
    dst = torch.tensor([e[1] for e in edges], dtype=torch.int64)
    g = dgl.graph((src, dst), num_nodes=len(parents))
    if child_pos is not None:
        g.edata["child_pos"] = torch.tensor([child_pos[c] for c, _ in edges], dtype=torch.int64)
    for key, value in ndata.items():
        g.ndata[key] = value
    return g


def shuffled_positions(parents, rng):
    """A child position per node (-1 at the root) that is NOT the node-id order in general."""
    pos = [-1] * len(parents)
    for p in set(parents) - {-1}:
        kids = [c for c, q in enumerate(parents) if q == p]
        slots = list(range(len(kids)))
        rng.shuffle(slots)
        for c, s in zip(kids, slots):
            pos[c] = s
    return pos


def edge_dict(g, key):
    src, dst = g.edges()
    return {(int(s), int(d)): g.edata[key][k].tolist() for k, (s, d) in enumerate(zip(src, dst))}


TREES = [
    Tree.from_parents(["a", "dog", "barks", "loudly"], [2, 3, 0, 3], labels=[1, 0, 2, None]),
    Tree.from_brackets("(3 (2 a) (4 (1 b) (2 c)))"),
    Tree.from_brackets("(1 (2 (2 x) (0 y)) (4 z))"),
    Tree.chain(["one"]),
]


def assert_same_structure(a, b):
    for name in ("parent", "child_pos", "depth", "tree_index", "word_ids", "labels", "roots"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


# --------------------------------------------------------------- round trips
def test_round_trip_from_trees():
    batch = TreeBatch.from_trees(TREES)
    g = batch.to_dgl()
    assert g.num_nodes() == batch.num_nodes and g.num_edges() == batch.num_nodes - len(TREES)
    assert g.batch_size == len(TREES)
    assert g.batch_num_nodes().tolist() == [len(t) for t in TREES]
    assert g.batch_num_edges().tolist() == [len(t) - 1 for t in TREES]
    src, dst = g.edges()
    assert torch.equal(dst, batch.parent[src])
    assert torch.equal(g.edata["child_pos"], batch.child_pos[src])
    back = TreeBatch.from_dgl(g)
    assert_same_structure(batch, back)
    assert back.batch_num_nodes == batch.batch_num_nodes


def test_round_trip_graph_keeps_everything():
    rng = random.Random(1)
    parents = random_parents(12, 3, rng)
    pos = shuffled_positions(parents, rng)
    n = len(parents)
    g = graph_from_parents(parents, rng, child_pos=pos, feat=torch.randn(n, 3), flag=torch.arange(n) % 2 == 0)
    g.edata["rel"] = torch.randint(0, 40, (g.num_edges(),))
    g.edata["w"] = torch.randn(g.num_edges(), 2)
    batch = TreeBatch.from_dgl(g)
    assert batch.child_pos.tolist() == pos
    assert batch.parent.tolist() == parents
    g2 = batch.to_dgl()
    assert g2.num_nodes() == n
    assert torch.equal(g2.ndata["feat"], g.ndata["feat"])
    assert torch.equal(g2.ndata["flag"], g.ndata["flag"])
    for key in ("child_pos", "rel", "w"):
        assert edge_dict(g2, key) == edge_dict(g, key), key
    # and once more: a fixed point
    g3 = TreeBatch.from_dgl(g2).to_dgl()
    assert [torch.equal(a, b) for a, b in zip(g3.edges(), g2.edges())] == [True, True]
    for key in g2.ndata:
        assert torch.equal(g3.ndata[key], g2.ndata[key]), key
    for key in g2.edata:
        assert torch.equal(g3.edata[key], g2.edata[key]), key


def test_child_order_ignores_edge_insertion_order():
    rng = random.Random(7)
    for _ in range(5):
        parents = random_parents(15, 4, rng)
        pos = shuffled_positions(parents, rng)
        # with child_pos: exactly the given positions, whatever the edge order
        for _ in range(3):
            batch = TreeBatch.from_dgl(graph_from_parents(parents, rng, child_pos=pos))
            assert batch.child_pos.tolist() == pos
        # without child_pos: siblings by child node id, whatever the edge order
        by_id = TreeBatch.from_parent_tensor(torch.tensor(parents)).child_pos
        for _ in range(3):
            batch = TreeBatch.from_dgl(graph_from_parents(parents, rng))
            assert torch.equal(batch.child_pos, by_id)
        for c, p in enumerate(parents):
            if p >= 0:
                older = [s for s in range(c) if parents[s] == p]
                assert int(by_id[c]) == len(older)


def test_child_pos_key_and_none():
    rng = random.Random(3)
    parents = random_parents(9, 3, rng)
    pos = shuffled_positions(parents, rng)
    g = graph_from_parents(parents, rng, child_pos=pos)
    g.edata["order"] = g.edata.pop("child_pos")
    batch = TreeBatch.from_dgl(g, child_pos_key="order")
    assert batch.child_pos.tolist() == pos
    assert edge_dict(batch.to_dgl(), "order") == edge_dict(g, "order")  # custom key written back
    ignored = TreeBatch.from_dgl(g, child_pos_key=None)
    assert torch.equal(ignored.child_pos, TreeBatch.from_parent_tensor(torch.tensor(parents)).child_pos)


# ------------------------------------------------------------ batched graphs
def test_batched_graph_from_dgl_batch():
    rng = random.Random(11)
    members, parent_lists, positions = [], [], []
    for size in (5, 1, 8, 3):
        parents = random_parents(size, 3, rng)
        pos = shuffled_positions(parents, rng)
        parent_lists.append(parents)
        positions.append(pos)
        members.append(graph_from_parents(parents, rng, child_pos=pos, feat=torch.randn(size, 2)))
    g = dgl.batch(members)
    batch = TreeBatch.from_dgl(g)
    assert batch.num_trees == 4
    assert batch.batch_num_nodes == [5, 1, 8, 3]
    offsets = [0, 5, 6, 14]
    expected_parent = [p + off if p >= 0 else -1 for parents, off in zip(parent_lists, offsets) for p in parents]
    assert batch.parent.tolist() == expected_parent
    assert batch.child_pos.tolist() == [p for pos in positions for p in pos]
    assert batch.tree_index.tolist() == [t for t, size in enumerate((5, 1, 8, 3)) for _ in range(size)]
    assert [int(batch.parent[r]) for r in batch.roots] == [-1] * 4
    assert batch.tree_index[batch.roots].tolist() == [0, 1, 2, 3]

    out = dgl.unbatch(batch.to_dgl())
    assert [m.num_nodes() for m in out] == [5, 1, 8, 3]
    for member, original in zip(out, members):
        assert torch.equal(member.ndata["feat"], original.ndata["feat"])
        assert edge_dict(member, "child_pos") == edge_dict(original, "child_pos")


def test_batched_graph_of_forests_round_trips():
    rng = random.Random(5)
    forest = [-1, 0, 0, -1, 3]  # two trees in one member
    tree = random_parents(4, 2, rng)
    a = graph_from_parents(forest, rng)
    b = graph_from_parents(tree, rng)
    g = dgl.batch([a, b, a])
    batch = TreeBatch.from_dgl(g)
    assert batch.num_trees == 5
    assert batch.roots.tolist() == [0, 3, 5 + tree.index(-1), 9, 12]
    assert batch.tree_index.tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4]
    g2 = batch.to_dgl()
    assert g2.batch_num_nodes().tolist() == [5, 4, 5]
    assert g2.batch_num_edges().tolist() == [3, 3, 3]
    assert [m.num_edges() for m in dgl.unbatch(g2)] == [3, 3, 3]


def test_plain_graph_with_a_forest():
    rng = random.Random(2)
    parents = [4, -1, 1, -1, -1, 3, 1, 4]  # roots 1, 3, 4
    g = graph_from_parents(parents, rng)
    batch = TreeBatch.from_dgl(g)
    assert batch.num_trees == 3
    assert batch.roots.tolist() == [1, 3, 4]
    assert batch.tree_index.tolist() == [2, 0, 0, 1, 2, 1, 0, 2]
    assert batch.batch_num_nodes is None
    g2 = batch.to_dgl()
    assert g2.batch_size == 1 and g2.num_nodes() == 8
    assert TreeBatch.from_dgl(g2).parent.tolist() == parents


def test_single_node_and_int32_graph():
    g = dgl.graph(([], []), num_nodes=1)
    batch = TreeBatch.from_dgl(g)
    assert batch.num_trees == 1 and batch.max_children == 0
    g32 = dgl.graph((torch.tensor([1, 2], dtype=torch.int32), torch.tensor([0, 0], dtype=torch.int32)),
                    idtype=torch.int32)
    assert TreeBatch.from_dgl(g32).parent.tolist() == [-1, 0, 0]


def test_word_ids_and_labels_below_minus_one_are_refused():
    """DGL's -1 means 'no word'; -2 used to mean the same, in silence."""
    g = dgl.graph((torch.tensor([1, 2]), torch.tensor([0, 0])))
    g.ndata["word_ids"] = torch.tensor([-1, 3, -2])
    with pytest.raises(ValueError, match="word_ids of node 2 is -2: below -1"):
        TreeBatch.from_dgl(g)
    g.ndata["word_ids"] = torch.tensor([-1, 3, 2])
    g.ndata["labels"] = torch.tensor([-5, 1, 1])
    with pytest.raises(ValueError, match="labels of node 0 is -5: below -1"):
        TreeBatch.from_dgl(g)


# -------------------------------------------------------------- SST graphs
def sst_style_graph(text, vocab, edges_reversed=False):
    """Mimic DGL's SSTDataset._build_tree: preorder ids, edges child -> parent,
    ndata x (word id, -1 at internal nodes), y (label) and mask (1 at leaves)."""
    import nltk

    root = nltk.Tree.fromstring(text)
    xs, ys, masks, edges = [-1], [int(root.label())], [0], []

    def build(nid, node):
        for child in node:
            cid = len(xs)
            if isinstance(child[0], str):
                xs.append(vocab[child[0].lower()])
                ys.append(int(child.label()))
                masks.append(1)
            else:
                xs.append(-1)
                ys.append(int(child.label()))
                masks.append(0)
                build(cid, child)
            edges.append((cid, nid))  # added after the child's subtree, as DGL does

    build(0, root)
    if edges_reversed:
        edges = edges[::-1]
    g = dgl.graph(([e[0] for e in edges], [e[1] for e in edges]), num_nodes=len(xs))
    g.ndata["x"] = torch.tensor(xs)
    g.ndata["y"] = torch.tensor(ys)
    g.ndata["mask"] = torch.tensor(masks)
    return g


def test_sst_style_graph():
    pytest.importorskip("nltk", reason="nltk builds the SST-style test tree")
    text = "(3 (2 (2 The) (2 film)) (4 (3 (3 is) (4 great)) (2 .)))"
    vocab = {"the": 0, "film": 1, "is": 2, "great": 3, ".": 4}
    tree = Tree.from_brackets(text)
    expected = TreeBatch.from_trees([tree], vocab={"The": 0, "film": 1, "is": 2, "great": 3, ".": 4})
    for reversed_edges in (False, True):
        g = sst_style_graph(text, vocab, edges_reversed=reversed_edges)
        batch = TreeBatch.from_dgl(g, word_key="x", label_key="y")
        assert batch.parent.tolist() == tree.parents
        assert batch.child_pos.tolist() == tree.child_positions
        assert torch.equal(batch.word_ids, g.ndata["x"])
        assert torch.equal(batch.labels, g.ndata["y"])
        assert torch.equal(batch.word_ids, expected.word_ids)
        assert torch.equal(batch.labels, expected.labels)
        assert torch.equal(batch.is_leaf, g.ndata["mask"].bool())
        back = batch.to_dgl()
        for key in ("x", "y", "mask"):  # DGL's own keys survive the round trip
            assert torch.equal(back.ndata[key], g.ndata[key]), key
        assert torch.equal(back.ndata["word_ids"], g.ndata["x"])
    # several sentences, as a DGL DataLoader would batch them
    g = dgl.batch([sst_style_graph(text, vocab), sst_style_graph("(1 (1 bad) (2 .))", {"bad": 5, ".": 4})])
    batch = TreeBatch.from_dgl(g, word_key="x", label_key="y")
    assert batch.num_trees == 2 and batch.roots.tolist() == [0, 9]
    assert batch.word_ids[9:].tolist() == [-1, 5, 4]


# -------------------------------------------------------------------- errors
def test_error_two_parents():
    g = dgl.graph(([1, 1, 2], [0, 2, 0]))
    with pytest.raises(ValueError, match="node 1 has 2 parents"):
        TreeBatch.from_dgl(g)


def test_error_edges_parent_to_child():
    g = dgl.graph(([0, 0, 2, 2], [1, 2, 3, 4]))  # root 0 -> children: the wrong way round
    with pytest.raises(ValueError, match="child -> parent.*dgl.reverse"):
        TreeBatch.from_dgl(g)


def test_error_cycle():
    with pytest.raises(ValueError, match="cycle"):
        TreeBatch.from_dgl(dgl.graph(([0, 1, 2], [1, 2, 0])))
    with pytest.raises(ValueError, match="cycle"):  # a cycle next to a proper tree
        TreeBatch.from_dgl(dgl.graph(([1, 2, 3, 4], [0, 3, 4, 2])))


def test_error_self_loop_and_duplicate_edge():
    with pytest.raises(ValueError, match="edge to itself"):
        TreeBatch.from_dgl(dgl.graph(([1, 2], [1, 0])))
    with pytest.raises(ValueError, match="same parent"):
        TreeBatch.from_dgl(dgl.graph(([1, 1], [0, 0])))


def test_error_bad_child_pos():
    g = dgl.graph(([1, 2], [0, 0]))
    g.edata["child_pos"] = torch.tensor([0, 0])
    with pytest.raises(ValueError, match="share one child position"):
        TreeBatch.from_dgl(g)
    g.edata["child_pos"] = torch.tensor([0.0, 1.0])
    with pytest.raises(ValueError, match="integer"):
        TreeBatch.from_dgl(g)


def test_error_not_a_homogeneous_dgl_graph():
    with pytest.raises(TypeError, match="DGLGraph"):
        TreeBatch.from_dgl({"parent": [-1, 0]})
    hg = dgl.heterograph({("word", "child_of", "word"): ([1], [0]), ("word", "rel", "tag"): ([0], [0])})
    with pytest.raises(ValueError, match="homogeneous"):
        TreeBatch.from_dgl(hg)
    with pytest.raises(ValueError, match="no nodes"):
        TreeBatch.from_dgl(dgl.graph(([], []), num_nodes=0))


# --------------------------------------------------------- cells on DGL graphs
@pytest.mark.parametrize("make", [
    lambda: ChildSumTreeLSTM(3, 4),
    lambda: NaryTreeLSTM(3, 4, n_ary=3),
    lambda: SLSTM(3, 4),
])
def test_cells_accept_dgl_graph(make):
    torch.manual_seed(0)
    cell = make().double()
    rng = random.Random(4)
    arity = 2 if isinstance(cell, SLSTM) else 3
    graphs = []
    for size in (6, 1, 9):
        parents = random_parents(size, arity, rng)
        graphs.append(graph_from_parents(parents, rng, child_pos=shuffled_positions(parents, rng)))
    g = dgl.batch(graphs)
    x = torch.randn(g.num_nodes(), 3, dtype=torch.float64)
    h, c = cell(g, x)
    h_ref, c_ref = cell(TreeBatch.from_dgl(g), x)
    assert h.shape == (g.num_nodes(), 4)
    assert torch.equal(h, h_ref) and torch.equal(c, c_ref)


# ------------------------------------------------- DGL's SSTDataset layout
def dgl_sst_graph(text, dgl_vocab):
    """A graph built by DGL's own ``SSTDataset._build_tree`` (dgl/data/tree.py), without downloading:
    preorder node ids, edges child -> parent, ``x`` the word id (``PAD_WORD = -1`` at phrase nodes,
    ``UNK_WORD = -1`` at out-of-vocabulary leaves), ``y`` the label, ``mask`` 1 at leaves."""
    import nltk
    from dgl.data import SSTDataset

    assert SSTDataset.PAD_WORD == -1 and SSTDataset.UNK_WORD == -1  # what the tests below rely on
    dataset = SSTDataset.__new__(SSTDataset)  # no download: only the vocabulary is needed
    dataset._vocab = dgl_vocab
    return dataset._build_tree(nltk.Tree.fromstring(text))


SST_TEXTS = ["(3 (2 (2 The) (2 film)) (4 (3 (3 is) (4 great)) (2 .)))",
             "(1 (2 A) (1 (1 (2 dull) (1 movie)) (2 .)))",
             "(3 (2 Not) (3 bad))"]


def sst_encoder(vocab_size, cell):
    torch.manual_seed(0)
    return TreeEncoder(torch.nn.Embedding(vocab_size, 3).double(), cell.double())


@pytest.mark.parametrize("make", [lambda: NaryTreeLSTM(3, 4, leaf_input_only=True), lambda: SLSTM(3, 4),
                                  lambda: ChildSumTreeLSTM(3, 4)], ids=["nary", "slstm", "child_sum"])
def test_dgl_sst_dataset_graph_encodes_like_the_tree_batch(make):
    trees = [Tree.from_brackets(t) for t in SST_TEXTS]
    vocab = Vocab.build([[w.lower() for w in t.words] for t in trees])  # "<unk>" is 0, as a real vocabulary has it
    dgl_vocab = {w: vocab[w] for w in vocab.itos if w != "."}  # "." is out of DGL's vocabulary: x = -1 there
    lowered = {w: vocab[w.lower()] for t in trees for w in t.words}
    expected = TreeBatch.from_trees(trees, {**lowered, ".": vocab.unk_index})
    graphs = [dgl_sst_graph(t, dgl_vocab) for t in SST_TEXTS]
    g = dgl.batch(graphs)
    assert g.ndata["x"][g.ndata["mask"] == 0].eq(-1).all()  # PAD_WORD at phrase nodes
    assert (g.ndata["x"][g.ndata["mask"] == 1] == -1).sum() == 2  # UNK_WORD at the two "."

    found = TreeBatch.from_dgl(g)  # finds x and y by themselves
    assert found.word_source == "ndata['x']"
    assert torch.equal(found.labels, expected.labels) and torch.equal(found.labels, g.ndata["y"])
    assert torch.equal(found.word_ids, g.ndata["x"])
    enc = sst_encoder(len(vocab), make())
    # the "." leaves have no word: refused, never encoded with a zero input
    with pytest.raises(ValueError, match=r"leaf node 8 \(tree 0\) has no word id.*UNK_WORD.*unk_id"):
        enc(g)
    with pytest.raises(ValueError, match="leaf node 8"):
        enc(found)
    batch = TreeBatch.from_dgl(g, unk_id=vocab.unk_index)
    assert torch.equal(batch.word_ids, expected.word_ids)
    h, c = enc(batch)
    h_ref, c_ref = enc(expected)
    torch.testing.assert_close(h, h_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=1e-12, rtol=0)
    # without out-of-vocabulary words, the graph itself goes straight into the encoder
    full = dgl.batch([dgl_sst_graph(t, {**dgl_vocab, ".": vocab["."]}) for t in SST_TEXTS])
    h2, c2 = enc(full)
    torch.testing.assert_close(h2, enc(TreeBatch.from_trees(trees, lowered))[0], atol=1e-12, rtol=0)
    torch.testing.assert_close(c2, enc(TreeBatch.from_trees(trees, lowered))[1], atol=1e-12, rtol=0)


def test_graph_without_word_ids_raises_but_a_cell_with_inputs_works():
    g = TreeBatch.from_trees(TREES[1:3]).to_dgl()
    for key in ("word_ids", "x"):
        g.ndata.pop(key, None)
    enc = TreeEncoder(torch.nn.Embedding(10, 3), ChildSumTreeLSTM(3, 4))
    with pytest.raises(ValueError, match=r"needs word ids.*ndata\['word_ids'\] or ndata\['x'\].*word_key="):
        enc(g)
    x = torch.randn(g.num_nodes(), 3)
    h, _ = enc.cell(g, x)  # explicit inputs: fine
    assert h.shape == (g.num_nodes(), 4)
    # float features under "x" are features, not word ids; the message says so
    g.ndata["x"] = x
    assert TreeBatch.from_dgl(g).word_source is None
    with pytest.raises(ValueError, match=r"ndata\['x'\] holds float features"):
        enc(g)
    torch.testing.assert_close(enc.cell(g, g.ndata["x"])[0], h)
    # a named key must exist, and hold ids
    with pytest.raises(ValueError, match=r"word_key='tokens' is not in the graph's ndata"):
        TreeBatch.from_dgl(g, word_key="tokens")
    with pytest.raises(ValueError, match=r"ndata\['x'\] must be a 1-D integer tensor"):
        TreeBatch.from_dgl(g, word_key="x")
    g.ndata["tokens"] = torch.arange(g.num_nodes())
    assert TreeBatch.from_dgl(g, word_key="tokens").word_source == "ndata['tokens']"
    with pytest.raises(ValueError, match="unk_id"):
        TreeBatch.from_dgl(g, unk_id=-1)


def test_treenets_keys_come_before_dgl_keys():
    batch = TreeBatch.from_trees(TREES[1:2], {"a": 1, "b": 2, "c": 3})
    g = batch.to_dgl()
    g.ndata["x"] = torch.full((g.num_nodes(),), 7)
    g.ndata["y"] = torch.full((g.num_nodes(),), 4)
    back = TreeBatch.from_dgl(g)
    assert back.word_source == "ndata['word_ids']"
    assert torch.equal(back.word_ids, batch.word_ids) and torch.equal(back.labels, batch.labels)
    g.ndata["word_ids"] = g.ndata["word_ids"].float()  # treenets' own key must hold ids
    with pytest.raises(ValueError, match=r"ndata\['word_ids'\] must be a 1-D integer tensor"):
        TreeBatch.from_dgl(g)


# ------------------------------------------------- the conversion cache
from treenets.structures import dgl_graph as dgl_graph_module  # noqa: E402
from treenets.structures.propagation import as_tree_batch  # noqa: E402


def counting_conversions(monkeypatch):
    calls = []
    real = dgl_graph_module.batch_from_dgl

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dgl_graph_module, "batch_from_dgl", counted)
    return calls


def test_a_graph_passed_again_is_not_converted_again(monkeypatch):
    calls = counting_conversions(monkeypatch)
    vocab = Vocab.build(t.words for t in TREES)
    g = TreeBatch.from_trees(TREES, vocab).to_dgl()
    cell = NaryTreeLSTM(3, 4, n_ary=3)
    x = torch.randn(g.num_nodes(), 3)
    h1, _ = cell(g, x)
    h2, _ = cell(g, x)
    assert len(calls) == 1
    assert as_tree_batch(g) is as_tree_batch(g)
    assert torch.equal(h1, h2)
    with g.local_scope():  # DGL's scoped writes of other keys do not touch the batch
        g.ndata["h"] = h1
        cell(g, x)
    g.ndata["h"] = h1  # nor does a new feature, the usual DGL pattern (key names are only re-read)
    cell(g, x)
    cell(g, x)
    assert len(calls) == 2
    other = TreeBatch.from_trees(TREES, vocab).to_dgl()  # an equal graph is another graph
    assert as_tree_batch(other) is not as_tree_batch(g)


def _add_leaf(g):
    g.add_nodes(1, data={"word_ids": torch.tensor([5]), "labels": torch.tensor([1]), "tree_index": torch.tensor([0])})
    g.add_edges(torch.tensor([g.num_nodes() - 1]), torch.tensor([0]), data={"child_pos": torch.tensor([7])})


def _remove_edge(g):
    g.remove_edges(torch.tensor([int(g.num_edges()) - 1]))


def _remove_leaf(g):
    g.remove_nodes(torch.tensor([int(g.num_nodes()) - 1]))


def _swap_child_pos_in_place(g):
    pos = g.edata["child_pos"]
    a, b = [k for k in range(g.num_edges()) if int(g.edges()[1][k]) == 0][:2]
    pos[a], pos[b] = pos[b].clone(), pos[a].clone()


def _reverse_child_pos(g):
    """A new child_pos tensor: every node's children in reverse order."""
    _, dst = g.edges()
    g.edata["child_pos"] = g.in_degrees()[dst] - 1 - g.edata["child_pos"]


MUTATIONS = {
    "add_nodes_and_edges": _add_leaf,
    "remove_edges": _remove_edge,
    "remove_nodes": _remove_leaf,
    "replace_word_ids": lambda g: g.ndata.__setitem__("word_ids", torch.arange(g.num_nodes())),
    "write_word_ids_in_place": lambda g: g.ndata["word_ids"].__setitem__(0, 9),
    "replace_labels": lambda g: g.ndata.__setitem__("labels", torch.zeros(g.num_nodes(), dtype=torch.long)),
    "write_child_pos_in_place": _swap_child_pos_in_place,
    "replace_child_pos": _reverse_child_pos,
    "drop_child_pos": lambda g: g.edata.pop("child_pos"),
    "drop_word_ids_for_x": lambda g: (g.ndata.__setitem__("x", g.ndata.pop("word_ids") + 1)),
    "set_batch_num_nodes": lambda g: (g.set_batch_num_nodes(torch.tensor([g.num_nodes()])),
                                      g.set_batch_num_edges(torch.tensor([g.num_edges()]))),
}


@pytest.mark.parametrize("mutate", list(MUTATIONS.values()), ids=list(MUTATIONS))
def test_a_mutated_graph_is_converted_again(mutate):
    """The cache never returns a stale batch: every kind of change rebuilds it."""
    rng = random.Random(3)
    parents = random_parents(9, 3, rng)
    pos = shuffled_positions(parents, rng)
    g = graph_from_parents(parents, rng, child_pos=pos, word_ids=torch.arange(9) % 4, labels=torch.arange(9) % 3)
    g = dgl.batch([g, graph_from_parents([-1, 0], rng, child_pos=[-1, 0], word_ids=torch.tensor([1, 2]),
                                         labels=torch.tensor([0, 1]))])
    cell = ChildSumTreeLSTM(3, 4) if mutate is MUTATIONS["set_batch_num_nodes"] else NaryTreeLSTM(3, 4, n_ary=8)
    cell = cell.double()
    before = as_tree_batch(g)
    cell(g, torch.randn(g.num_nodes(), 3, dtype=torch.float64))
    mutate(g)
    after = as_tree_batch(g)
    fresh = TreeBatch.from_dgl(g)
    assert after is not before
    assert_same_structure(after, fresh)
    assert after.batch_num_nodes == fresh.batch_num_nodes and after.word_source == fresh.word_source
    x = torch.randn(g.num_nodes(), 3, dtype=torch.float64)
    h, c = cell(g, x)
    h_ref, c_ref = cell(fresh, x)
    assert torch.equal(h, h_ref) and torch.equal(c, c_ref)
    assert as_tree_batch(g) is after  # and cached again


def test_the_cache_does_not_keep_graphs_alive():
    import gc
    import weakref

    g = TreeBatch.from_trees(TREES).to_dgl()
    as_tree_batch(g)
    assert g in dgl_graph_module._CACHE
    ref = weakref.ref(g)
    del g
    gc.collect()
    assert ref() is None


def test_cached_conversion_on_a_scoped_feature_change():
    g = TreeBatch.from_trees(TREES[1:3], {"a": 1, "b": 2, "c": 3, "x": 4, "y": 5, "z": 6}).to_dgl()
    for key in ("word_ids",):
        g.ndata["x"] = g.ndata.pop(key)
    outside = as_tree_batch(g)
    with g.local_scope():
        g.ndata["x"] = torch.zeros(g.num_nodes(), dtype=torch.long)
        inside = as_tree_batch(g)
        assert inside is not outside and inside.max_word_id == 0
    back = as_tree_batch(g)
    assert_same_structure(back, TreeBatch.from_dgl(g))
    assert back.max_word_id == 6


def test_benchmark_script_runs():
    """benchmarks/dgl_graph_input.py on a tiny workload (it checks the three routes give the same states)."""
    from benchmarks import dgl_graph_input as bench

    threads = torch.get_num_threads()
    try:
        (res,) = bench.main(["--batch", "3", "--repeats", "2", "--threads", "1"])
    finally:
        torch.set_num_threads(threads)
    assert res["batch"] == 3 and set(res["median_ms"]) == {"tree_batch", "dgl_cached", "dgl_uncached"}
