"""DGL interop: a ``TreeBatch`` enters and leaves DGL here, so there is one engine.

DGL is an optional extra (``pip install "treenets[dgl]"``); nothing else in
treenets imports it.
"""
from __future__ import annotations

import torch

_RESERVED_NODE = ("word_ids", "labels", "tree_index")


def _import_dgl():
    try:
        import dgl
    except ImportError as err:  # pragma: no cover - exercised only without DGL
        raise ImportError(
            "DGL is not installed. It is an optional extra: pip install 'treenets[dgl]' "
            "(dgl 2.1.0 needs torch 2.2.1; see the README)") from err
    return dgl


def batch_to_dgl(batch):
    dgl = _import_dgl()
    parent = batch.parent
    child = torch.nonzero(parent >= 0).flatten()
    g = dgl.graph((child, parent[child]), num_nodes=batch.num_nodes, idtype=torch.int64, device=batch.device)
    g.ndata["word_ids"] = batch.word_ids
    g.ndata["labels"] = batch.labels
    g.ndata["tree_index"] = batch.tree_index
    for key, value in batch.node_data.items():
        if key not in _RESERVED_NODE:
            g.ndata[key] = value
    g.edata["child_pos"] = batch.child_pos[child]
    for key, value in batch.edge_data.items():  # stored per child node
        if key != "child_pos":
            g.edata[key] = value[child]
    if batch.batch_num_nodes is not None:
        sizes = torch.tensor(batch.batch_num_nodes, dtype=torch.int64, device=batch.device)
        g.set_batch_num_nodes(sizes)
        edges_per_tree = sizes - 1  # a tree of k nodes has k - 1 edges, ordered by child id
        g.set_batch_num_edges(edges_per_tree)
    return g


def batch_from_dgl(cls, graph, word_key, label_key, child_pos_key):
    dgl = _import_dgl()
    if not isinstance(graph, dgl.DGLGraph):
        raise TypeError(f"from_dgl expects a dgl.DGLGraph, not {type(graph).__name__}")
    n = graph.num_nodes()
    src, dst = graph.edges(order="eid")
    src, dst = src.cpu().long(), dst.cpu().long()
    out_deg = torch.bincount(src, minlength=n)
    if (out_deg > 1).any():
        bad = int(torch.nonzero(out_deg > 1)[0])
        raise ValueError(f"node {bad} has {int(out_deg[bad])} parents; a tree graph has edges child -> parent, "
                         f"one per non-root node (reverse the graph if its edges run parent -> child)")
    parent = torch.full((n,), -1, dtype=torch.long)
    parent[src] = dst
    child_pos = None
    edge_data = {}
    for key, value in graph.edata.items():
        per_node = torch.zeros((n,) + tuple(value.shape[1:]), dtype=value.dtype)
        per_node[src] = value.cpu()
        if key == child_pos_key:
            child_pos = per_node.long()
        else:
            edge_data[key] = per_node
    # A batched graph gives one tree per member graph; a plain graph may hold a forest.
    sizes = graph.batch_num_nodes().tolist() if graph.batch_size > 1 else None
    node_data = {k: v.cpu() for k, v in graph.ndata.items()}
    word_ids = node_data.pop(word_key, None)
    labels = node_data.pop(label_key, None)
    try:
        batch = cls._build(parent, child_pos, word_ids, labels, batch_num_nodes=sizes)
    except ValueError as err:
        raise ValueError(f"graph is not a forest of trees with edges child -> parent: {err}") from None
    node_data.pop("tree_index", None)
    batch.node_data = node_data
    batch.edge_data = edge_data
    return batch
