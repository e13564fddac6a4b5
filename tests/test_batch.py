"""TreeBatch: packing, the level schedule, errors, device moves, networkx."""
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _cellcheck import random_trees
from treenets import Tree, TreeBatch, Vocab, default_label

SST = "(3 (2 (2 The) (2 Rock)) (4 (3 (2 is) (4 (2 destined) (2 great))) (2 .)))"


def level_of_each_node(batch):
    """Level index (0 = deepest, processed first) of every node, from order and level_sizes."""
    level = torch.empty(batch.num_nodes, dtype=torch.long)
    start = 0
    for k, size in enumerate(batch.level_sizes):
        level[batch.order[start:start + size]] = k
        start += size
    assert start == batch.num_nodes
    return level


def check_schedule(batch, trees=None):
    n = batch.num_nodes
    parent = batch.parent.tolist()
    assert sorted(batch.order.tolist()) == list(range(n))
    assert torch.equal(batch.position[batch.order], torch.arange(n))
    level = level_of_each_node(batch)
    starts = [sum(batch.level_sizes[:k]) for k in range(batch.num_levels)]
    order = batch.order.tolist()
    for k, node in enumerate(order):
        p = parent[node]
        if p < 0:
            assert batch.parent_slot[k] == -1
            assert level[node] == batch.num_levels - 1 - batch.depth[node]
            continue
        # every child is in the level right before its parent
        assert level[node] == level[p] - 1
        # and knows its parent's row within the parent's level
        assert batch.parent_slot[k] == batch.position[p] - starts[int(level[p])]
        assert batch.depth[node] == batch.depth[p] + 1
    # the first level holds leaves only; the last holds roots only
    assert all(batch.is_leaf[order[:batch.level_sizes[0]]])
    assert all(parent[v] < 0 for v in order[n - batch.level_sizes[-1]:])
    # within a level: the nodes with children first, then the leaves
    is_leaf = batch.is_leaf
    for k, (size, n_inner) in enumerate(zip(batch.level_sizes, batch.level_internal_sizes)):
        nodes = batch.order[starts[k]:starts[k] + size]
        assert not is_leaf[nodes[:n_inner]].any() and is_leaf[nodes[n_inner:]].all()
    assert torch.equal(batch.internal_order, batch.order[~is_leaf[batch.order]])
    assert torch.equal(batch.leaf_order, batch.order[is_leaf[batch.order]])
    assert torch.equal(batch.ordered_child_pos, batch.child_pos[batch.order])
    # leaves are exactly the nodes nobody points to
    pointed = set(p for p in parent if p >= 0)
    assert is_leaf.tolist() == [v not in pointed for v in range(n)]
    kids_per_node = torch.bincount(batch.parent[batch.parent >= 0], minlength=n)
    assert batch.max_children == (int(kids_per_node.max()) if n > batch.num_trees else 0)
    if trees is not None:
        offsets = [sum(len(t) for t in trees[:k]) for k in range(len(trees))]
        # roots in input order; depths and child positions as the trees say
        assert batch.roots.tolist() == [off + t.root for off, t in zip(offsets, trees)]
        assert batch.depth.tolist() == [d for t in trees for d in t.depths]
        assert batch.child_pos.tolist() == [p for t in trees for p in t.child_positions]
        assert batch.tree_index.tolist() == [k for k, t in enumerate(trees) for _ in range(len(t))]
        assert batch.num_trees == len(trees)


def test_small_batch_by_hand():
    a = Tree.from_brackets("(3 (2 a) (1 b))")  # root 0, leaves 1, 2
    b = Tree.from_parents(["x", "y"], [2, 0])  # root 1 -> node 4, leaf node 3
    batch = TreeBatch.from_trees([a, b])
    assert batch.parent.tolist() == [-1, 0, 0, 4, -1]
    assert batch.roots.tolist() == [0, 4]
    assert batch.level_sizes == [3, 2]
    assert set(batch.order[:3].tolist()) == {1, 2, 3}
    assert batch.child_pos.tolist() == [-1, 0, 1, 0, -1]
    assert batch.depth.tolist() == [0, 1, 1, 1, 0]
    assert batch.max_children == 2
    assert batch.num_nodes == 5 and batch.num_levels == 2
    assert batch.batch_num_nodes == [3, 2]
    check_schedule(batch, [a, b])
    assert "num_trees=2" in repr(batch)


@settings(max_examples=40, deadline=None)
@given(st.lists(random_trees(max_nodes=10), min_size=1, max_size=5))
def test_schedule_invariants_random(trees):
    check_schedule(TreeBatch.from_trees(trees), trees)


@settings(max_examples=30, deadline=None)
@given(trees=st.lists(random_trees(max_nodes=8), min_size=1, max_size=4), data=st.data())
def test_from_parent_tensor_shuffled_forest(trees, data):
    """The same forest with nodes interleaved across trees: same depths, roots by node id."""
    n = sum(map(len, trees))
    perm = data.draw(st.permutations(range(n)))  # old id -> new id
    parent = [0] * n
    depth = [0] * n
    off = 0
    for t in trees:
        for v, p in enumerate(t.parents):
            parent[perm[off + v]] = -1 if p < 0 else perm[off + p]
            depth[perm[off + v]] = t.depths[v]
        off += len(t)
    batch = TreeBatch.from_parent_tensor(torch.tensor(parent))
    check_schedule(batch)
    assert batch.depth.tolist() == depth
    assert batch.roots.tolist() == sorted(v for v in range(n) if parent[v] < 0)
    # siblings ordered by node id
    for v in range(n):
        if parent[v] >= 0:
            sibs = sorted(u for u in range(n) if parent[u] == parent[v])
            assert batch.child_pos[v] == sibs.index(v)
    # tree_index follows the roots
    for v in range(n):
        r = v
        while parent[r] >= 0:
            r = parent[r]
        assert batch.roots[batch.tree_index[v]] == r


def test_word_ids_and_labels():
    vocab = Vocab(["The", "Rock"])
    tree = Tree.from_brackets(SST)
    batch = TreeBatch.from_trees([tree], vocab)
    for node in range(len(tree)):
        tok = tree.tokens[node]
        assert batch.word_ids[node] == (-1 if tok is None else vocab[tok])
    assert batch.labels.tolist() == [int(lab) for lab in tree.labels]
    ptb = Tree.from_brackets("(S (NP (DT a)) (VP (VB b)))")
    nolab = Tree.from_parents(["x"], [0])
    batch = TreeBatch.from_trees([ptb, nolab])
    assert batch.word_ids.tolist() == [-1] * 6  # no vocab
    assert batch.labels.tolist() == [-1] * 6  # "NP" and None are no class
    mapped = TreeBatch.from_trees([ptb], label_fn=lambda lab: {"S": 0, "NP": 1}.get(lab, -1))
    assert mapped.labels.tolist() == [0, 1, -1, -1, -1]


def test_default_label():
    assert default_label(None) == -1
    assert default_label(3) == 3
    assert default_label("4") == 4
    assert default_label("-1") == -1
    assert default_label("NP") == -1


def test_bad_label_fn_names_tree_and_node():
    t = Tree.from_brackets("(3 (2 a) (x b))")
    with pytest.raises(ValueError, match="label 'x' of tree 0, node 2"):
        TreeBatch.from_trees([t], label_fn=int)


def test_plain_mapping_missing_token():
    trees = [Tree.from_parents(["a"], [0]), Tree.from_parents(["a", "zebra"], [0, 1])]
    with pytest.raises(ValueError, match=r"'zebra' \(tree 1, node 1\) is not in the vocabulary"):
        TreeBatch.from_trees(trees, {"a": 0})
    with pytest.raises(ValueError, match="zebra"):
        TreeBatch.from_trees(trees, Vocab(["a"], unk=None))
    assert TreeBatch.from_trees(trees, {"a": 0, "zebra": 7}).word_ids.tolist() == [0, 0, 7]


def test_from_trees_errors():
    with pytest.raises(ValueError, match="empty"):
        TreeBatch.from_trees([])
    with pytest.raises(ValueError, match="item 1 is a str"):
        TreeBatch.from_trees([Tree([-1]), "(2 a)"])


@pytest.mark.parametrize("kwargs, match", [
    ({"parent": [-1, 5]}, "parent 5 of node 1 is out of range"),
    ({"parent": [-1, -2]}, "out of range"),
    ({"parent": [-1, 1]}, "cycle"),                       # self-loop
    ({"parent": [-1, 2, 1]}, "cycle"),                    # two-cycle beside a root
    ({"parent": [1, 2, 3, 0]}, "cycle"),                  # one big cycle, no root
    ({"parent": []}, "at least one node"),
    ({"parent": [-1, 0, 0], "child_pos": [-1, 0, 0]}, "share one child position"),
    ({"parent": [-1, 0], "child_pos": [-1, -3]}, "negative"),
    ({"parent": [-1, 0, -1], "batch_num_nodes": [2, 2]}, "adds up to 4"),
    ({"parent": [-1, -1, 0], "batch_num_nodes": [2, 1]}, "exactly one root"),
    ({"parent": [-1, 2, -1], "batch_num_nodes": [2, 1]}, "root in another tree"),
    ({"parent": [-1, 0], "word_ids": [1, 2, 3]}, "word_ids has shape"),
    ({"parent": [-1, 0], "labels": [1]}, "labels has shape"),
])
def test_from_parent_tensor_errors(kwargs, match):
    kwargs = {k: torch.tensor(v, dtype=torch.long) if isinstance(v, list) and k != "batch_num_nodes" else v
              for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=match):
        TreeBatch.from_parent_tensor(**kwargs)


def test_from_parent_tensor_with_child_pos_and_sizes():
    batch = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0, -1, 3]), child_pos=torch.tensor([9, 1, 0, -1, 0]),
                                         word_ids=torch.tensor([-1, 4, 5, -1, 6]), batch_num_nodes=[3, 2])
    assert batch.child_pos.tolist() == [-1, 1, 0, -1, 0]  # roots get -1 whatever was given
    assert batch.roots.tolist() == [0, 3]
    assert batch.tree_index.tolist() == [0, 0, 0, 1, 1]
    assert batch.word_ids.tolist() == [-1, 4, 5, -1, 6]
    assert batch.labels.tolist() == [-1] * 5
    check_schedule(batch)


def test_single_node_trees():
    batch = TreeBatch.from_trees([Tree([-1], ["a"]), Tree([-1], ["b"])])
    assert batch.max_children == 0 and batch.level_sizes == [2]
    check_schedule(batch)


def test_to_device_cpu():
    tree = Tree.from_brackets(SST)
    batch = TreeBatch.from_trees([tree])
    moved = batch.to("cpu")
    assert moved is not batch
    assert moved.device == torch.device("cpu")
    for name in ("parent", "child_pos", "depth", "order", "position", "parent_slot", "roots", "word_ids"):
        assert torch.equal(getattr(moved, name), getattr(batch, name))
    assert moved.level_sizes == batch.level_sizes and moved.trees is batch.trees
    moved = batch.to(torch.device("cpu"))
    assert moved.num_nodes == batch.num_nodes


def test_networkx():
    pytest.importorskip("networkx")
    a = Tree.from_brackets("(3 (2 a) (1 b))")
    b = Tree.from_parents(["x", "y"], [2, 0])
    batch = TreeBatch.from_trees([a, b], Vocab(["a", "x"]))
    g = batch.to_networkx()
    assert g.number_of_nodes() == 5
    assert sorted(g.edges()) == [(1, 0), (2, 0), (3, 4)]  # child -> parent
    assert g.edges[2, 0]["child_pos"] == 1
    assert g.nodes[1] == {"word_id": 1, "label": 2, "tree": 0, "token": "a"}
    assert g.nodes[0]["token"] is None and g.nodes[0]["word_id"] == -1
    assert g.nodes[4]["tree"] == 1
    import networkx as nx

    assert nx.is_forest(g.to_undirected()) and nx.number_connected_components(g.to_undirected()) == 2
    # without trees: no tokens
    g2 = TreeBatch.from_parent_tensor(torch.tensor([-1, 0])).to_networkx()
    assert "token" not in g2.nodes[0]


def test_edge_index_is_child_to_parent_in_pyg_layout():
    trees = [Tree.from_brackets("(3 (2 a) (4 (1 b) (3 c)))"), Tree.from_parents(["x", "y"], [0, 1])]
    batch = TreeBatch.from_trees(trees)
    ei = batch.edge_index
    assert ei.shape == (2, batch.num_nodes - batch.num_trees)
    assert ei.tolist() == [[1, 2, 3, 4, 6], [0, 0, 2, 2, 5]]
    assert (batch.parent[ei[0]] == ei[1]).all()


# ------------------------------------------------- integers, never truncated
def _labelled(labels):
    return Tree([1, -1], ["a", "b"], labels)


@pytest.mark.parametrize("label, expected", [
    (3, 3), ("3", 3), (" 3 ", 3), (-1, -1), ("-1", -1), (None, -1), (3.0, 3),
    (torch.tensor(3), 3), (torch.tensor(2, dtype=torch.int32), 2), ("NP", -1), ("S1", -1), ("NP-SBJ-1", -1),
])
def test_default_label_keeps_integers_and_ignores_categories(label, expected):
    assert default_label(label) == expected
    np = pytest.importorskip("numpy")
    assert default_label(np.int64(4)) == 4 and default_label(np.array(1)) == 1


@pytest.mark.parametrize("label", [2.7, float("nan"), torch.tensor(2.5), torch.tensor([1, 2]), True, [3],
                                   "2.7", "\u00b2", "+3", "1e3", "nan", "\u0663", -2, "-2"])
def test_default_label_refuses_what_is_not_an_integer_class(label):
    """2.7, tensor(3.5), '²' ... used to become 'no label' (or a truncated class) in silence."""
    with pytest.raises(ValueError, match="label"):
        default_label(label)
    with pytest.raises(ValueError, match=r"tree 0, node 0"):
        TreeBatch.from_trees([_labelled([label, 1])])


def test_batch_labels_from_tensors_and_numpy():
    np = pytest.importorskip("numpy")
    batch = TreeBatch.from_trees([_labelled([torch.tensor(3), np.int64(1)])])
    assert batch.labels.tolist() == [3, 1]


def test_label_fn_results_are_checked():
    with pytest.raises(ValueError, match=r"tree 0, node 1: label_fn gave 2.7"):
        TreeBatch.from_trees([_labelled([1, 2])], label_fn=lambda lab: 2.7 if lab == 2 else lab)
    with pytest.raises(ValueError, match="label_fn gave -3"):
        TreeBatch.from_trees([_labelled([1, 2])], label_fn=lambda lab: -3)


@pytest.mark.parametrize("word_id", [-2, 1.5, "x", None])
def test_vocabulary_ids_must_be_integers_from_zero(word_id):
    with pytest.raises(ValueError, match=r"token 'a' \(tree 0, node 0\) has word id"):
        TreeBatch.from_trees([_labelled([1, 2])], {"a": word_id, "b": 1})


def test_parent_tensor_ids_below_minus_one_and_floats_are_refused():
    parent = torch.tensor([1, -1])
    with pytest.raises(ValueError, match="word_ids of node 0 is -2: below -1"):
        TreeBatch.from_parent_tensor(parent, word_ids=torch.tensor([-2, 0]))
    with pytest.raises(ValueError, match="labels of node 1 is -5: below -1"):
        TreeBatch.from_parent_tensor(parent, labels=torch.tensor([0, -5]))
    for name in ("word_ids", "labels"):
        with pytest.raises(ValueError, match=f"{name} must hold integers, got dtype torch.float32"):
            TreeBatch.from_parent_tensor(parent, **{name: torch.tensor([2.7, 1.0])})
    with pytest.raises(ValueError, match="parent must hold integers"):
        TreeBatch.from_parent_tensor(torch.tensor([1.9, -1.0]))
    with pytest.raises(ValueError, match="child_pos must hold integers"):
        TreeBatch.from_parent_tensor(parent, child_pos=torch.tensor([0.5, -1.0]))
    assert TreeBatch.from_parent_tensor([1, -1], word_ids=[0, -1]).word_ids.tolist() == [0, -1]


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.none(), st.integers(-3, 7), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                 st.text(max_size=4), st.sampled_from(["3", "-1", "2.7", "\u00b2", "NP", " 4 ", "+1", "1e2"]),
                 st.integers(-3, 7).map(torch.tensor), st.floats(-3, 7).map(torch.tensor)))
def test_default_label_is_a_class_no_label_or_an_error(label):
    """Whatever the label, the batch holds what it means, or the user hears why not."""
    try:
        value = default_label(label)
    except ValueError as err:
        assert "label" in str(err)
        return
    assert type(value) is int and value >= -1
    if label is None:
        assert value == -1
    elif isinstance(label, str):  # ASCII digits are a class, a category name is none
        assert value == (int(label.strip()) if re.fullmatch(r"-?[0-9]+", label.strip()) else -1)
    else:
        assert float(label) == value  # never truncated


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.integers(-4, 6), st.floats(-4, 6)), min_size=2, max_size=6))
def test_word_ids_and_labels_are_integers_from_minus_one_or_an_error(values):
    n = len(values)
    parent = torch.tensor([-1] + [0] * (n - 1))
    tensor = torch.tensor(values)
    for name in ("word_ids", "labels"):
        try:
            batch = TreeBatch.from_parent_tensor(parent, **{name: tensor})
        except ValueError as err:
            assert tensor.is_floating_point() or (tensor < -1).any(), err
            continue
        assert not tensor.is_floating_point() and getattr(batch, name).tolist() == values


@settings(max_examples=40, deadline=None)
@given(trees=st.lists(random_trees(max_nodes=12), min_size=1, max_size=5))
def test_from_trees_equals_the_checked_parent_array_path(trees):
    """from_trees takes depths and tree membership from the (already checked) Trees; the general path
    (pointer jumping, checks) over the same parent array gives the same batch, tensor for tensor."""
    fast = TreeBatch.from_trees(trees)
    offsets, parents, pos = 0, [], []
    for tree in trees:
        parents += [p + offsets if p >= 0 else -1 for p in tree.parents]
        pos += tree.child_positions
        offsets += len(tree)
    slow = TreeBatch.from_parent_tensor(torch.tensor(parents), child_pos=torch.tensor(pos),
                                        batch_num_nodes=[len(t) for t in trees])
    for name, value in vars(slow).items():
        if isinstance(value, torch.Tensor) and name not in ("word_ids", "labels"):
            assert torch.equal(getattr(fast, name), value), name
    assert (fast.level_sizes, fast.level_internal_sizes, fast.max_children) == (
        slow.level_sizes, slow.level_internal_sizes, slow.max_children)
