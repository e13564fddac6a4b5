"""PyTorch Geometric interop: ``edge_index`` and ``Data`` in, ``Batch`` out, through ``TreeBatch``.

:func:`batch_from_edge_index` needs only torch; :func:`batch_from_pyg` reads
a ``torch_geometric.data.Data`` (or ``Batch``) by attribute, and
:func:`batch_to_pyg` imports ``torch_geometric`` when called (it is the
optional extra ``pip install "treenets[pyg]"``). Nothing else in treenets
imports PyG.

Conventions:

* ``edge_index`` is PyG's ``[2, E]`` layout with **row 0 the child and row 1
  the parent**, the direction treenets' cells propagate in
  (:attr:`treenets.TreeBatch.edge_index` gives it back). PyG's own
  message passing (``flow="source_to_target"``) then sends messages from
  children to parents too.
* Sibling order comes from ``child_pos`` (per node or per edge), else from
  the children's node ids, never from the order of the edges.
* PyG's ``batch`` vector (sorted, one graph per tree) numbers the trees:
  tree ``g``'s root is ``roots[g]``.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch

from .dgl_graph import LABEL_KEYS, WORD_KEYS  # the same names in a PyG Data's attributes (no DGL import)

Tensor = torch.Tensor


def _import_pyg():
    try:
        import torch_geometric.data as pyg_data
    except ImportError as err:
        raise ImportError("PyTorch Geometric is not installed. It is an optional extra: "
                          "pip install 'treenets[pyg]'. Without it, use batch.edge_index (child -> parent) and "
                          f"batch.tree_index (PyG's batch vector) directly. Import error: {err}") from err
    return pyg_data


def _id_vector(name: str, value, n: Optional[int]) -> Tensor:
    value = torch.as_tensor(value)
    if value.dim() != 1 or value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
        raise ValueError(f"{name} must be a 1-D integer tensor, got dtype {value.dtype} and shape "
                         f"{tuple(value.shape)}")
    if n is not None and value.shape[0] != n:
        raise ValueError(f"{name} has {value.shape[0]} entries but there are {n} nodes")
    return value.cpu().long()


def batch_from_edge_index(cls, edge_index, num_nodes: Optional[int] = None, *, child_pos=None, word_ids=None,
                          labels=None, batch=None):
    """``[2, E]`` edges child -> parent -> ``TreeBatch`` (see :meth:`treenets.TreeBatch.from_edge_index`)."""
    edge_index = torch.as_tensor(edge_index)
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.is_floating_point():
        raise ValueError(f"edge_index must be an integer tensor of shape [2, num_edges] (row 0 child, row 1 "
                         f"parent), got dtype {edge_index.dtype} and shape {tuple(edge_index.shape)}")
    device = edge_index.device
    src, dst = edge_index.cpu().long()
    num_edges = src.numel()

    given = [(name, value) for name, value in (("batch", batch), ("word_ids", word_ids), ("labels", labels))
             if value is not None]
    if num_nodes is None:
        if given:
            num_nodes = len(given[0][1])
        elif num_edges:
            num_nodes = int(torch.maximum(src.max(), dst.max())) + 1
        else:
            raise ValueError("an empty edge_index does not say how many nodes there are: pass num_nodes")
    n = int(num_nodes)
    if n <= 0:
        raise ValueError(f"num_nodes must be positive, got {num_nodes}")
    vectors = {name: _id_vector(name, value, n) for name, value in given}

    if num_edges and (int(torch.minimum(src.min(), dst.min())) < 0 or int(torch.maximum(src.max(), dst.max())) >= n):
        k = int(torch.nonzero((src < 0) | (src >= n) | (dst < 0) | (dst >= n))[0])
        raise ValueError(f"edge {k} ({int(src[k])} -> {int(dst[k])}) has a node id outside 0..{n - 1}")
    out_deg = torch.bincount(src, minlength=n)
    if (out_deg > 1).any():
        bad = int(torch.nonzero(out_deg > 1)[0])
        targets = sorted(set(dst[src == bad].tolist()))
        raise ValueError(f"node {bad} has {int(out_deg[bad])} parents {targets[:10]}; edge_index must run child -> "
                         f"parent (row 0 the child, row 1 the parent), one edge per non-root node. If yours run "
                         f"parent -> child, flip them: edge_index.flip(0)")
    if (src == dst).any():
        bad = int(src[src == dst][0])
        raise ValueError(f"node {bad} has an edge to itself; a tree has no self-loops")
    parent = torch.full((n,), -1, dtype=torch.long)
    parent[src] = dst

    pos = None
    if child_pos is not None:
        child_pos = torch.as_tensor(child_pos)
        if child_pos.dim() != 1 or child_pos.is_floating_point():
            raise ValueError(f"child_pos must be a 1-D integer tensor, got dtype {child_pos.dtype} and shape "
                             f"{tuple(child_pos.shape)}")
        child_pos = child_pos.cpu().long()
        if child_pos.shape[0] == n:  # per node (a forest has fewer edges than nodes, so never ambiguous)
            pos = child_pos
        elif child_pos.shape[0] == num_edges:  # per edge: the position of each edge's child
            pos = torch.full((n,), -1, dtype=torch.long)
            pos[src] = child_pos
        else:
            raise ValueError(f"child_pos has {child_pos.shape[0]} entries; expected one per node ({n}) or one "
                             f"per edge ({num_edges})")

    sizes = None
    if "batch" in vectors:
        graph_of = vectors["batch"]
        if n and int(graph_of.min()) < 0:
            raise ValueError("batch has a negative graph id")
        if (graph_of[1:] < graph_of[:-1]).any():
            k = int(torch.nonzero(graph_of[1:] < graph_of[:-1])[0]) + 1
            raise ValueError(f"batch must be sorted, as torch_geometric.data.Batch makes it: node {k} is in graph "
                             f"{int(graph_of[k])} after a node of graph {int(graph_of[k - 1])}")
        counts = torch.bincount(graph_of)
        if (counts == 0).any():
            raise ValueError(f"graph {int(torch.nonzero(counts == 0)[0])} of batch has no nodes, so no tree")
        crossing = graph_of[src] != graph_of[dst]
        if crossing.any():
            k = int(torch.nonzero(crossing)[0])
            raise ValueError(f"edge {int(src[k])} -> {int(dst[k])} joins graphs {int(graph_of[src[k]])} and "
                             f"{int(graph_of[dst[k]])} of batch")
        sizes = counts.tolist()
    try:
        out = cls._build(parent, pos, vectors.get("word_ids"), vectors.get("labels"), batch_num_nodes=sizes)
    except ValueError as err:
        raise ValueError(f"edge_index is not a forest of trees with edges child -> parent: {err}") from None
    if word_ids is not None:
        out.word_source = "word_ids"
    else:
        out.missing_words_help = "pass word_ids= to TreeBatch.from_edge_index"
    if device.type != "cpu":
        out = out.to(device)
    return out


def _get(data, key: str):
    return data[key] if key in data else None


def _find(data, key: Optional[str], candidates, what: str, n: int):
    """``(key, ids)`` of word or label ids in ``data``; ``(None, None)`` if none."""
    if key is not None:
        if key not in data:
            raise ValueError(f"from_pyg: {what}_key={key!r} is not an attribute of the data (it has "
                             f"{sorted(data.keys())})")
        return key, _id_vector(f"data.{key}", data[key], n)
    own = candidates[0]  # treenets' own name must hold ids; PyG's "x" / "y" may hold features or graph targets
    if own in data:
        return own, _id_vector(f"data.{own}", data[own], n)
    for candidate in candidates[1:]:
        value = _get(data, candidate)
        if isinstance(value, Tensor) and value.dim() == 1 and value.shape[0] == n \
                and not value.is_floating_point() and value.dtype != torch.bool:
            return candidate, value.cpu().long()
    return None, None


def batch_from_pyg(cls, data, word_key: Optional[str] = None, label_key: Optional[str] = None,
                   child_pos_key: str = "child_pos"):
    """``torch_geometric.data.Data`` -> ``TreeBatch`` (see :meth:`treenets.TreeBatch.from_pyg`)."""
    if not hasattr(data, "edge_index") or not hasattr(data, "keys"):
        raise TypeError(f"from_pyg expects a torch_geometric.data.Data or Batch, not {type(data).__name__}")
    edge_index = _get(data, "edge_index")
    n = data.num_nodes
    if n is None:
        raise ValueError("from_pyg: the data does not say how many nodes it has (set data.num_nodes)")
    if edge_index is None:
        edge_index = torch.zeros(2, 0, dtype=torch.long)
    found_word, word_ids = _find(data, word_key, WORD_KEYS, "word", n)
    found_label, labels = _find(data, label_key, LABEL_KEYS, "label", n)
    out = batch_from_edge_index(cls, edge_index, n, child_pos=_get(data, child_pos_key), word_ids=word_ids,
                                labels=labels, batch=_get(data, "batch"))
    if found_word is not None:
        out.word_source = f"data.{found_word}"
    else:
        looked = " or ".join(f"data.{k}" for k in WORD_KEYS)
        out.missing_words_help = (f"the PyG data has no integer word ids in {looked} (it has {sorted(data.keys())}); "
                                  f"name yours with TreeBatch.from_pyg(data, word_key='...')")
    return out


def batch_to_pyg(batch, x: Optional[Tensor] = None, node_data: Optional[Dict[str, Tensor]] = None):
    """``TreeBatch`` -> ``torch_geometric.data.Batch`` (see :meth:`treenets.TreeBatch.to_pyg`)."""
    pyg_data = _import_pyg()
    n = batch.num_nodes
    fields: Dict[str, Tensor] = {"word_ids": batch.word_ids, "y": batch.labels, "child_pos": batch.child_pos}
    if x is not None:
        fields["x"] = x
    for key, value in (node_data or {}).items():
        fields[key] = value
    for key, value in fields.items():
        if not isinstance(value, Tensor) or value.dim() == 0 or value.shape[0] != n:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"to_pyg: {key} must be a tensor with one row per node ({n}), got {shape}")
    edge_index = batch.edge_index  # [2, E], edges numbered by child id
    tree_index = batch.tree_index
    contiguous = bool((tree_index[1:] >= tree_index[:-1]).all())
    if not contiguous:  # interleaved trees: one Data holding the forest, node ids kept
        return pyg_data.Data(edge_index=edge_index, num_nodes=n, batch=tree_index, root_index=batch.roots, **fields)
    sizes = torch.bincount(tree_index, minlength=batch.num_trees).tolist()
    starts = [0]
    for size in sizes[:-1]:
        starts.append(starts[-1] + size)
    # children sorted by id and trees contiguous, so each tree's edges are contiguous too
    edges_per_tree = torch.bincount(tree_index[edge_index[0]], minlength=batch.num_trees).tolist()
    edge_chunks = edge_index.split(edges_per_tree, dim=1)
    roots = batch.roots.tolist()
    members = []
    for t, (start, size) in enumerate(zip(starts, sizes)):
        local = {key: value[start:start + size] for key, value in fields.items()}
        members.append(pyg_data.Data(edge_index=edge_chunks[t] - start, num_nodes=size,
                                     root_index=torch.tensor([roots[t] - start], device=batch.device), **local))
    return pyg_data.Batch.from_data_list(members)
