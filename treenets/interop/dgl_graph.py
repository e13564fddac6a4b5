"""DGL interop: a ``TreeBatch`` enters and leaves DGL here, so there is one engine.

DGL is an optional extra (``pip install "treenets[dgl]"``); nothing else in
treenets imports it, and this module imports it only when called.

Conventions (the same as DGL's own tree examples and ``SSTDataset``):

* Edges run from **child to parent**: every node has at most one out-edge,
  roots have none.
* Sibling order comes from ``edata["child_pos"]`` (0-based position of the
  edge's source among its parent's children) when the graph has it, else from
  the children's node ids (smaller id = further left). It never depends on
  the order in which edges were added, which DGL does not promise to keep
  meaningful (``dgl.reverse``, ``dgl.add_edges``, ``dgl.to_simple``... reorder
  or renumber edges).
* Node ids are kept. Edge ids are not: :func:`batch_to_dgl` numbers edges by
  child node id, so edge ``k`` of the result is the out-edge of the ``k``-th
  non-root node. Edge data stays with its (child, parent) edge.
* A batched graph (``dgl.batch``) gives one segment per member graph; each
  member may hold one tree or a forest. :func:`batch_to_dgl` writes the batch
  information back, so ``dgl.unbatch`` splits the result into the same members.
  A plain graph may hold any forest; its trees are numbered by root node id.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch

Tensor = torch.Tensor

# node data that to_dgl always writes from the batch itself
_RESERVED_NODE = ("word_ids", "labels", "tree_index")
_RESERVED_EDGE = ("child_pos",)


def _import_dgl():
    try:
        import dgl
    except ImportError as err:  # pragma: no cover - exercised only without DGL
        raise ImportError(
            "DGL is not installed. It is an optional extra: pip install 'treenets[dgl]' "
            f"(dgl 2.1.0 needs torch 2.2.x; see the README). Import error: {err}") from err
    return dgl


def _segments(batch) -> Optional[list]:
    """Member sizes of the DGL batch this batch came from / should become, or None."""
    if batch.batch_num_nodes is not None:
        return list(batch.batch_num_nodes)
    return batch.dgl_batch_num_nodes


def batch_to_dgl(batch):
    """``TreeBatch`` -> ``dgl.DGLGraph`` (see :meth:`treenets.TreeBatch.to_dgl`)."""
    dgl = _import_dgl()
    child, par = batch.edge_index  # edges numbered by child id
    g = dgl.graph((child, par), num_nodes=batch.num_nodes, idtype=torch.int64, device=batch.device)
    g.ndata["word_ids"] = batch.word_ids
    g.ndata["labels"] = batch.labels
    g.ndata["tree_index"] = batch.tree_index
    for key, value in batch.node_data.items():
        if key not in _RESERVED_NODE:
            g.ndata[key] = value
    g.edata["child_pos"] = batch.child_pos[child]
    for key, value in batch.edge_data.items():  # stored per child node
        if key not in _RESERVED_EDGE:
            g.edata[key] = value[child]
    sizes = _segments(batch)
    if sizes is not None and len(sizes) > 1:
        sizes_t = torch.tensor(sizes, dtype=torch.int64, device=batch.device)
        seg = torch.repeat_interleave(torch.arange(len(sizes), device=batch.device), sizes_t)
        # Children are sorted by id and no edge leaves its member, so each
        # member's edges are contiguous, as DGL requires of a batched graph.
        edges_per_member = torch.bincount(seg[child], minlength=len(sizes))
        g.set_batch_num_nodes(sizes_t)
        g.set_batch_num_edges(edges_per_member)
    return g


def _check_homogeneous(graph) -> None:
    if len(graph.ntypes) != 1 or len(graph.canonical_etypes) != 1:
        raise ValueError(f"from_dgl needs a homogeneous graph (one node type, one edge type); this one has "
                         f"node types {graph.ntypes} and edge types {graph.canonical_etypes}")


def _per_node(src: Tensor, value: Tensor, n: int) -> Tensor:
    """Edge data -> one row per child node (each child has one out-edge); zeros at roots."""
    out = torch.zeros((n,) + tuple(value.shape[1:]), dtype=value.dtype)
    out[src] = value.cpu()
    return out


def batch_from_dgl(cls, graph, word_key: Optional[str] = "word_ids", label_key: Optional[str] = "labels",
                   child_pos_key: Optional[str] = "child_pos"):
    """``dgl.DGLGraph`` -> ``TreeBatch`` (see :meth:`treenets.TreeBatch.from_dgl`)."""
    dgl = _import_dgl()
    if not isinstance(graph, dgl.DGLGraph):
        raise TypeError(f"from_dgl expects a dgl.DGLGraph, not {type(graph).__name__}")
    _check_homogeneous(graph)
    n = graph.num_nodes()
    if n == 0:
        raise ValueError("from_dgl: the graph has no nodes")
    src, dst = graph.edges(order="eid")
    src, dst = src.cpu().long(), dst.cpu().long()

    # One out-edge per node: child -> parent.
    out_deg = torch.bincount(src, minlength=n)
    if (out_deg > 1).any():
        bad = int(torch.nonzero(out_deg > 1)[0])
        targets = sorted(set(dst[src == bad].tolist()))
        if len(targets) == 1:
            raise ValueError(f"node {bad} has {int(out_deg[bad])} edges to the same parent {targets[0]}; "
                             f"a tree graph has one edge per child (remove duplicates, e.g. dgl.to_simple)")
        raise ValueError(f"node {bad} has {int(out_deg[bad])} parents {targets[:10]}; a tree graph has edges "
                         f"child -> parent, one per non-root node (if its edges run parent -> child, "
                         f"use dgl.reverse(graph, copy_ndata=True, copy_edata=True))")
    self_loop = src == dst
    if self_loop.any():
        bad = int(src[self_loop][0])
        raise ValueError(f"node {bad} has an edge to itself; a tree graph has no self-loops")
    parent = torch.full((n,), -1, dtype=torch.long)
    parent[src] = dst

    # Edge data, one row per child node.
    child_pos = None
    edge_data: Dict[str, Tensor] = {}
    for key, value in graph.edata.items():
        per_node = _per_node(src, value, n)
        if key == child_pos_key:
            if value.is_floating_point() or value.dim() != 1:
                raise ValueError(f"edata[{key!r}] must be a 1-D integer tensor of child positions, "
                                 f"got dtype {value.dtype} and shape {tuple(value.shape)}")
            child_pos = per_node.long()
        if key not in _RESERVED_EDGE:  # to_dgl writes "child_pos" from the batch
            edge_data[key] = per_node

    # Node data. Custom word / label keys (DGL's SST uses "x" and "y") stay in
    # node_data too, so to_dgl gives back every key the graph came with.
    node_data = {k: v.cpu() for k, v in graph.ndata.items()}
    word_ids = node_data.get(word_key) if word_key is not None else None
    labels = node_data.get(label_key) if label_key is not None else None
    for key, value in (("word", word_ids), ("label", labels)):
        if value is not None and (value.is_floating_point() or value.dim() != 1):
            name = word_key if key == "word" else label_key
            raise ValueError(f"ndata[{name!r}] must be a 1-D integer tensor of {key} ids (-1 for none), "
                             f"got dtype {value.dtype} and shape {tuple(value.shape)}")
    for key in _RESERVED_NODE:
        node_data.pop(key, None)

    # Members of a batched graph: one tree each -> batch_num_nodes; forests
    # are allowed too, remembered only to write the batch back in to_dgl.
    sizes = graph.batch_num_nodes().tolist() if graph.batch_size > 1 else None
    single_trees = None
    if sizes is not None:
        seg = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes, dtype=torch.long))
        crossing = seg[src] != seg[dst]
        if crossing.any():
            k = int(torch.nonzero(crossing)[0])
            raise ValueError(f"edge {int(src[k])} -> {int(dst[k])} joins two members of a batched graph")
        roots_per_member = torch.bincount(seg[parent < 0], minlength=len(sizes))
        single_trees = bool((roots_per_member == 1).all())

    try:
        batch = cls._build(parent, child_pos, word_ids, labels,
                           batch_num_nodes=sizes if single_trees else None)
    except ValueError as err:
        raise ValueError(f"graph is not a forest of trees with edges child -> parent: {err}") from None
    if sizes is not None and not single_trees:
        batch.dgl_batch_num_nodes = sizes
    batch.node_data = node_data
    batch.edge_data = edge_data
    if graph.device.type != "cpu":
        batch = batch.to(graph.device)
    return batch
