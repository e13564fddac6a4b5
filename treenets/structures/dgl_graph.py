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
* Word ids and labels are read from treenets' keys (``word_ids``, ``labels``)
  or DGL's (``x``, ``y``, as ``dgl.data.SSTDataset`` writes them), see
  :meth:`treenets.TreeBatch.from_dgl`.

A cell or encoder given a DGL graph converts it through
:func:`cached_batch_from_dgl`: the TreeBatch is kept (weakly keyed by the
graph) and reused while the graph's structure and the data it was read from
are unchanged, so a graph passed again is not converted again.
"""
from __future__ import annotations

import weakref
from typing import Dict, Optional, Tuple

import torch

Tensor = torch.Tensor

# node data that to_dgl always writes from the batch itself
_RESERVED_NODE = ("word_ids", "labels", "tree_index")
_RESERVED_EDGE = ("child_pos",)
# where from_dgl looks for word ids and labels when no key is named:
# treenets' own names first, then DGL's (dgl.data.SSTDataset: x, y)
WORD_KEYS = ("word_ids", "x")
LABEL_KEYS = ("labels", "y")


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


def _is_id_vector(value: Tensor, n: int) -> bool:
    return value.dim() == 1 and value.shape[0] == n and not value.is_floating_point() \
        and not value.is_complex() and value.dtype != torch.bool


def _find_key(ndata: Dict[str, Tensor], key: Optional[str], candidates: Tuple[str, ...], what: str,
              n: int) -> Tuple[Optional[str], Optional[Tensor]]:
    """The key to read ``what`` (word or label ids) from, and its tensor; ``(None, None)`` if none."""
    if key is not None:
        if key not in ndata:
            raise ValueError(f"from_dgl: {what}_key={key!r} is not in the graph's ndata "
                             f"(it has {sorted(ndata)})")
        value = ndata[key]
        if not _is_id_vector(value, n):
            raise ValueError(f"ndata[{key!r}] must be a 1-D integer tensor of {what} ids (-1 for none), "
                             f"got dtype {value.dtype} and shape {tuple(value.shape)}")
        return key, value
    own = candidates[0]  # treenets' own name must hold ids; DGL's "x" / "y" may hold features
    if own in ndata:
        return _find_key(ndata, own, candidates, what, n)
    for candidate in candidates[1:]:
        if candidate in ndata and _is_id_vector(ndata[candidate], n):
            return candidate, ndata[candidate]
    return None, None


def _missing_words_help(ndata: Dict[str, Tensor]) -> str:
    looked = " or ".join(f"ndata[{k!r}]" for k in WORD_KEYS)
    have = sorted(ndata)
    floats = [k for k in WORD_KEYS if k in ndata and ndata[k].is_floating_point()]
    note = (f" ({', '.join(f'ndata[{k!r}]' for k in floats)} holds float features, not word ids)"
            if floats else "")
    return (f"the DGL graph has no integer word ids in {looked}{note}; its ndata has {have}. Name your key: "
            f"TreeBatch.from_dgl(g, word_key='...'), and pass that batch")


def batch_from_dgl(cls, graph, word_key: Optional[str] = None, label_key: Optional[str] = None,
                   child_pos_key: Optional[str] = "child_pos", *, unk_id: Optional[int] = None,
                   keep_data: bool = True):
    """``dgl.DGLGraph`` -> ``TreeBatch`` (see :meth:`treenets.TreeBatch.from_dgl`).

    ``keep_data=False`` skips copying the other node and edge data into the
    batch (a cell's forward needs only the structure and the word ids).
    """
    dgl = _import_dgl()
    if not isinstance(graph, dgl.DGLGraph):
        raise TypeError(f"from_dgl expects a dgl.DGLGraph, not {type(graph).__name__}")
    _check_homogeneous(graph)
    if unk_id is not None and (isinstance(unk_id, bool) or not isinstance(unk_id, int) or unk_id < 0):
        raise ValueError(f"unk_id must be a non-negative int (your vocabulary's unknown-word id), got {unk_id!r}")
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
        keep = keep_data and key not in _RESERVED_EDGE  # to_dgl writes "child_pos" from the batch
        if key != child_pos_key and not keep:
            continue
        per_node = _per_node(src, value, n)
        if key == child_pos_key:
            if value.is_floating_point() or value.dim() != 1:
                raise ValueError(f"edata[{key!r}] must be a 1-D integer tensor of child positions, "
                                 f"got dtype {value.dtype} and shape {tuple(value.shape)}")
            child_pos = per_node.long()
        if keep:
            edge_data[key] = per_node

    # Node data. Custom word / label keys (DGL's SST uses "x" and "y") stay in
    # node_data too, so to_dgl gives back every key the graph came with.
    ndata = dict(graph.ndata.items())
    found_word_key, word_ids = _find_key(ndata, word_key, WORD_KEYS, "word", n)
    found_label_key, labels = _find_key(ndata, label_key, LABEL_KEYS, "label", n)
    word_ids = None if word_ids is None else word_ids.cpu().long()
    labels = None if labels is None else labels.cpu().long()

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

    if word_ids is not None and unk_id is not None:
        # DGL's SSTDataset: -1 is PAD_WORD at phrase nodes and UNK_WORD at leaves
        is_leaf = torch.ones(n, dtype=torch.bool)
        is_leaf[dst] = False
        word_ids = torch.where(is_leaf & (word_ids < 0), torch.full_like(word_ids, unk_id), word_ids)
    try:
        batch = cls._build(parent, child_pos, word_ids, labels,
                           batch_num_nodes=sizes if single_trees else None)
    except ValueError as err:
        raise ValueError(f"graph is not a forest of trees with edges child -> parent: {err}") from None
    if sizes is not None and not single_trees:
        batch.dgl_batch_num_nodes = sizes
    if found_word_key is not None:
        batch.word_source = f"ndata[{found_word_key!r}]"
    else:
        batch.missing_words_help = _missing_words_help(ndata)
    if keep_data:
        batch.node_data = {k: v.cpu() for k, v in ndata.items() if k not in _RESERVED_NODE}
        batch.edge_data = edge_data
    if graph.device.type != "cpu":
        batch = batch.to(graph.device)
    return batch


# ------------------------------------------------------------------ the cache
# graph -> (fingerprint objects, their versions, batch). Weak keys: an entry
# goes when its graph does. Entries hold no reference to their graph.
_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _fingerprint(graph) -> Optional[Tuple[tuple, tuple]]:
    """What the conversion reads, as objects compared by identity plus their tensors' versions.

    DGL replaces ``graph._graph`` (the structure) on every in-place mutation
    (``add_nodes``, ``add_edges``, ``remove_nodes``, ``remove_edges``) and
    ``_batch_num_nodes`` / ``_batch_num_edges`` on ``set_batch_num_*``; a
    replaced ``ndata`` / ``edata`` entry is a new tensor, and an in-place write
    to one bumps its version. ``None`` (do not cache) if DGL's internals are
    not as expected.
    """
    gidx = getattr(graph, "_graph", None)
    if gidx is None or not hasattr(graph, "_batch_num_nodes") or not hasattr(graph, "_batch_num_edges"):
        return None
    objects = [gidx]
    for sizes in (graph._batch_num_nodes, graph._batch_num_edges):
        objects.extend((None,) if sizes is None else (sizes.get(k) for k in sorted(sizes)))
    ndata, edata = graph.ndata, graph.edata
    objects.extend(ndata[k] if k in ndata else None for k in WORD_KEYS + LABEL_KEYS)
    objects.extend(edata[k] if k in edata else None for k in _RESERVED_EDGE)
    versions = tuple(o._version if isinstance(o, Tensor) else None for o in objects)
    # the key names too: errors about missing word ids list them
    return tuple(objects), versions + (tuple(ndata.keys()),)


def cached_batch_from_dgl(cls, graph):
    """:func:`batch_from_dgl` with the default keys, reused while ``graph`` is unchanged.

    A changed structure (edges or nodes added or removed, new batch sizes) or
    a replaced or modified ``word_ids`` / ``x`` / ``labels`` / ``y`` /
    ``child_pos`` rebuilds the batch. The batch carries no other node or edge
    data (a forward pass does not read it).
    """
    fingerprint = _fingerprint(graph)
    if fingerprint is None:
        return batch_from_dgl(cls, graph, keep_data=False)
    objects, versions = fingerprint
    entry = _CACHE.get(graph)
    if entry is not None:
        cached_objects, cached_versions, batch = entry
        if versions == cached_versions and len(objects) == len(cached_objects) \
                and all(a is b for a, b in zip(objects, cached_objects)):
            return batch
    batch = batch_from_dgl(cls, graph, keep_data=False)
    # again after converting: DGL fills its batch sizes lazily when first asked
    objects, versions = _fingerprint(graph)
    _CACHE[graph] = (objects, versions, batch)
    return batch
