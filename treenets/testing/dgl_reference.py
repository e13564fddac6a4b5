"""Reference Tree-LSTMs run by DGL's own machinery: ``dgl.prop_nodes_topo``.

An oracle for the tests and the DGL baseline of the benchmarks; it lives in
``treenets.testing`` (with the per-node :mod:`treenets.testing.reference`),
outside the main ``treenets`` namespace. It needs DGL, imported only when a
module is built.

This is "the DGL approach" of DGL's official ``tree_lstm`` example
(``examples/pytorch/tree_lstm``): trees are batched into one graph with
``dgl.batch``, edges run child -> parent, and ``dgl.prop_nodes_topo`` visits
the nodes frontier by frontier in topological order. For each frontier a
*message* function sends every child's ``h`` and ``c`` along its edge, a
*reduce* function combines a node's mailbox into the children's terms, and an
*apply* function computes the node's gates and states.

The modules here do not own parameters: they wrap a treenets cell and use its
fused weights as they are, so ``DGLChildSumTreeLSTM(cell)(g, x)`` computes the
same function as ``cell(g, x)`` by an independent route (gradients flow into
the cell's parameters). They serve as a correctness reference for treenets'
level-synchronous propagation and as the DGL baseline in benchmarks.

Parameter layouts (see the cells' docstrings):

* :class:`~treenets.ChildSumTreeLSTM`: ``W`` ``Linear(in, 4H)`` with rows
  ``i, o, u, f`` and every bias; ``U_iou`` ``Linear(H, 3H)``; ``U_f``
  ``Linear(H, H)``.
* :class:`~treenets.NaryTreeLSTM`: ``W`` ``Linear(in, 4H)`` rows ``i, o, u, f``;
  ``U`` ``Linear(N*H, (3+N)*H)`` on the children's ``h`` concatenated by child
  position, rows ``i, o, u, f_1..f_N``.
* :class:`~treenets.SLSTM`: ``W`` ``Linear(in, 5H)`` rows ``i, f^L, f^R, x, o``;
  ``W_h`` ``Linear(2H, 5H)`` on ``[h^L, h^R]``; ``W_c`` ``Linear(2H, 3H)`` on
  ``[c^L, c^R]`` rows ``i, f^L, f^R``; ``W_co`` ``Linear(H, H)``.

Child order for N-ary and S-LSTM comes from ``edata["child_pos"]`` (written by
:meth:`treenets.TreeBatch.to_dgl`); the reduce functions place each message by
the position it carries, never by its place in DGL's mailbox. A graph without
``child_pos`` orders siblings by child node id, as :meth:`TreeBatch.from_dgl`
does.

Example::

    import dgl
    from treenets import NaryTreeLSTM, TreeBatch
    from treenets.testing.dgl_reference import dgl_reference

    cell = NaryTreeLSTM(300, 150, n_ary=2)
    g = dgl.batch([TreeBatch.from_trees([t]).to_dgl() for t in trees])
    h, c = dgl_reference(cell)(g, x)          # same as cell(g, x)
"""
from __future__ import annotations

import warnings
from typing import Tuple

import torch
from torch import nn

from ..cells import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, TreeCell
from ..structures.dgl_graph import _import_dgl

Tensor = torch.Tensor

__all__ = ["DGLTreeLSTM", "DGLChildSumTreeLSTM", "DGLNaryTreeLSTM", "DGLSLSTM", "dgl_reference",
           "sibling_positions"]


def sibling_positions(graph) -> Tensor:
    """``[E]`` each edge's source position among its destination's in-edges, by source node id."""
    src, dst = graph.edges(order="eid")
    n = graph.num_nodes()
    src, dst = src.long(), dst.long()
    num_edges = src.numel()
    order = torch.argsort(dst * n + src)  # edges grouped by parent, children by id
    dst_sorted = dst[order]
    first = torch.ones(num_edges, dtype=torch.bool, device=src.device)
    first[1:] = dst_sorted[1:] != dst_sorted[:-1]
    idx = torch.arange(num_edges, device=src.device)
    group_start = torch.cummax(torch.where(first, idx, torch.zeros_like(idx)), 0).values
    pos = torch.empty_like(src)
    pos[order] = idx - group_start
    return pos


class DGLTreeLSTM(nn.Module):
    """Base: run a wrapped treenets cell's equations with ``dgl.prop_nodes_topo``.

    Subclasses define ``reduce_func`` (children's terms, from the mailbox) and
    ``apply_node_func`` (the node's gates and states), in the style of DGL's
    ``tree_lstm`` example. ``forward`` leaves the caller's graph untouched
    (it works in ``graph.local_scope()``).

    Args:
        cell: the treenets cell whose parameters are used (not copied).
        child_pos_key: edge data holding sibling positions; without it,
            siblings are ordered by child node id.
    """

    cell_type = TreeCell
    uses_positions = False

    def __init__(self, cell: TreeCell, child_pos_key: str = "child_pos") -> None:
        super().__init__()
        if not isinstance(cell, self.cell_type):
            raise TypeError(f"{type(self).__name__} wraps a {self.cell_type.__name__}, "
                            f"not a {type(cell).__name__}")
        self.cell = cell
        self.child_pos_key = child_pos_key
        _import_dgl()  # fail here, not at the first forward, when DGL is missing

    @property
    def hidden_size(self) -> int:
        return self.cell.hidden_size

    # ------------------------------------------------------------ DGL UDFs
    def message_func(self, edges):
        msg = {"h": edges.src["h"], "c": edges.src["c"]}
        if self.uses_positions:
            msg["pos"] = edges.data["pos"]
        return msg

    def reduce_func(self, nodes):  # pragma: no cover - abstract
        raise NotImplementedError

    def apply_node_func(self, nodes):  # pragma: no cover - abstract
        raise NotImplementedError

    def init_reduced(self, n: int, like: Tensor) -> dict:
        """Zeros for what ``reduce_func`` returns: the value at leaves."""
        raise NotImplementedError  # pragma: no cover - abstract

    def check_positions(self, pos: Tensor, graph) -> None:
        """Hook: reject positions the cell cannot take."""

    def by_position(self, mailbox: Tensor, pos: Tensor, arity: int) -> Tensor:
        """``[n, deg, H]`` mailbox -> ``[n, arity, H]`` laid out by child position, zeros where missing."""
        n, _, hidden = mailbox.shape
        index = pos.long().unsqueeze(-1).expand(-1, -1, hidden)  # [n, deg, H]
        return mailbox.new_zeros(n, arity, hidden).scatter(1, index, mailbox)

    # ------------------------------------------------------------- forward
    def forward(self, graph, x: Tensor) -> Tuple[Tensor, Tensor]:
        """``(h, c)``, each ``[num_nodes, hidden_size]``, for every node of ``graph``.

        Args:
            graph: a ``dgl.DGLGraph`` (plain or batched) of trees with edges
                child -> parent, on the same device as ``x``.
            x: ``[num_nodes, in_size]`` node inputs.
        """
        dgl = _import_dgl()
        if not isinstance(graph, dgl.DGLGraph):
            raise TypeError(f"expected a dgl.DGLGraph, not {type(graph).__name__}")
        cell = self.cell
        n = graph.num_nodes()
        if x.dim() != 2 or x.shape[0] != n or x.shape[1] != cell.in_size:
            raise ValueError(f"x has shape {tuple(x.shape)}, expected [num_nodes={n}, in_size={cell.in_size}]")
        with graph.local_scope():
            if self.uses_positions:
                if self.child_pos_key in graph.edata:
                    pos = graph.edata[self.child_pos_key].long()
                else:
                    pos = sibling_positions(graph)
                self.check_positions(pos, graph)
                graph.edata["pos"] = pos
            x = cell.dropout(x)
            if cell.leaf_input_only:
                x = x * (graph.in_degrees() == 0).unsqueeze(1).to(x.dtype)
            H = self.hidden_size
            graph.ndata["wx"] = cell.W(x)  # [N, G] as in the cell: one matmul for all nodes
            graph.ndata["h"] = x.new_zeros(n, H)
            graph.ndata["c"] = x.new_zeros(n, H)
            for key, value in self.init_reduced(n, x).items():
                graph.ndata[key] = value
            with warnings.catch_warnings():
                # The first frontier is the leaves, which have no in-edges: DGL
                # warns that the message function got no edges. That is expected.
                warnings.filterwarnings("ignore", message=".*does not contain valid edges")
                dgl.prop_nodes_topo(graph, self.message_func, self.reduce_func,
                                    apply_node_func=self.apply_node_func)
            return graph.ndata["h"], graph.ndata["c"]

    def extra_repr(self) -> str:
        return f"child_pos_key={self.child_pos_key!r}" if self.uses_positions else ""


class DGLChildSumTreeLSTM(DGLTreeLSTM):
    """Child-Sum Tree-LSTM (:class:`~treenets.ChildSumTreeLSTM`) by ``prop_nodes_topo``."""

    cell_type = ChildSumTreeLSTM

    def init_reduced(self, n, like):
        H = self.hidden_size
        return {"u_iou": like.new_zeros(n, 3 * H), "fc": like.new_zeros(n, H)}

    def reduce_func(self, nodes):
        H = self.hidden_size
        h_kids = nodes.mailbox["h"]  # [n, deg, H]
        c_kids = nodes.mailbox["c"]
        h_tild = h_kids.sum(dim=1)  # [n, H]
        wx_f = nodes.data["wx"][:, 3 * H:]  # [n, H]
        f = torch.sigmoid(wx_f.unsqueeze(1) + self.cell.U_f(h_kids))  # [n, deg, H] one gate per child
        return {"u_iou": self.cell.U_iou(h_tild), "fc": (f * c_kids).sum(dim=1)}

    def apply_node_func(self, nodes):
        H = self.hidden_size
        iou = nodes.data["wx"][:, :3 * H] + nodes.data["u_iou"]
        i, o, u = iou.chunk(3, dim=1)
        c = torch.sigmoid(i) * torch.tanh(u) + nodes.data["fc"]
        h = torch.sigmoid(o) * torch.tanh(c) if self.cell.output_gate else torch.tanh(c)
        return {"h": h, "c": c}


class DGLNaryTreeLSTM(DGLTreeLSTM):
    """N-ary Tree-LSTM (:class:`~treenets.NaryTreeLSTM`) by ``prop_nodes_topo``.

    The reduce function lays the mailbox out by each message's ``child_pos``,
    so child ``l`` meets ``U``'s block ``l`` whatever order DGL delivers it in.
    """

    cell_type = NaryTreeLSTM
    uses_positions = True

    def check_positions(self, pos, graph):
        arity = self.cell.n_ary
        if pos.numel() and (int(pos.min()) < 0 or int(pos.max()) >= arity):
            bad = int(torch.nonzero((pos < 0) | (pos >= arity))[0])
            src, dst = graph.find_edges(bad)
            raise ValueError(f"edge {int(src)} -> {int(dst)} has child position {int(pos[bad])}, "
                             f"outside 0..{arity - 1} for n_ary={arity}")

    def init_reduced(self, n, like):
        H, N = self.hidden_size, self.cell.n_ary
        return {"u": like.new_zeros(n, (3 + N) * H), "c_kids": like.new_zeros(n, N, H)}

    def reduce_func(self, nodes):
        H, N = self.hidden_size, self.cell.n_ary
        pos = nodes.mailbox["pos"]  # [n, deg]
        h_kids = self.by_position(nodes.mailbox["h"], pos, N)  # [n, N, H]
        c_kids = self.by_position(nodes.mailbox["c"], pos, N)
        n = h_kids.shape[0]
        return {"u": self.cell.U(h_kids.reshape(n, N * H)), "c_kids": c_kids}

    def apply_node_func(self, nodes):
        H, N = self.hidden_size, self.cell.n_ary
        wx = nodes.data["wx"]
        u_all = nodes.data["u"]  # [n, (3 + N) H]
        n = wx.shape[0]
        i, o, u = (wx[:, :3 * H] + u_all[:, :3 * H]).chunk(3, dim=1)
        f = torch.sigmoid(wx[:, 3 * H:].unsqueeze(1) + u_all[:, 3 * H:].view(n, N, H))  # [n, N, H]
        c = torch.sigmoid(i) * torch.tanh(u) + (f * nodes.data["c_kids"]).sum(dim=1)
        h = torch.sigmoid(o) * torch.tanh(c) if self.cell.output_gate else torch.tanh(c)
        return {"h": h, "c": c}


class DGLSLSTM(DGLTreeLSTM):
    """S-LSTM (:class:`~treenets.SLSTM`) by ``prop_nodes_topo``; ``child_pos`` 0 is left, 1 right."""

    cell_type = SLSTM
    uses_positions = True

    def check_positions(self, pos, graph):
        if pos.numel() and (int(pos.min()) < 0 or int(pos.max()) > 1):
            bad = int(torch.nonzero((pos < 0) | (pos > 1))[0])
            src, dst = graph.find_edges(bad)
            raise ValueError(f"edge {int(src)} -> {int(dst)} has child position {int(pos[bad])}; "
                             f"S-LSTM needs binary trees (positions 0 and 1)")

    def init_reduced(self, n, like):
        H = self.hidden_size
        return {"wh": like.new_zeros(n, 5 * H), "wc": like.new_zeros(n, 3 * H), "c_kids": like.new_zeros(n, 2, H)}

    def reduce_func(self, nodes):
        H = self.hidden_size
        pos = nodes.mailbox["pos"]
        h_kids = self.by_position(nodes.mailbox["h"], pos, 2)  # [n, 2, H]: left, right
        c_kids = self.by_position(nodes.mailbox["c"], pos, 2)
        n = h_kids.shape[0]
        return {"wh": self.cell.W_h(h_kids.reshape(n, 2 * H)),
                "wc": self.cell.W_c(c_kids.reshape(n, 2 * H)),
                "c_kids": c_kids}

    def apply_node_func(self, nodes):
        H = self.hidden_size
        pre = nodes.data["wx"] + nodes.data["wh"]  # [n, 5H]: i, f^L, f^R, x, o
        i, f_l, f_r = torch.sigmoid(pre[:, :3 * H] + nodes.data["wc"]).chunk(3, dim=1)
        x_t, o_pre = pre[:, 3 * H:].chunk(2, dim=1)
        c_kids = nodes.data["c_kids"]
        c = f_l * c_kids[:, 0] + f_r * c_kids[:, 1] + i * torch.tanh(x_t)
        o = torch.sigmoid(o_pre + self.cell.W_co(c))
        return {"h": o * torch.tanh(c), "c": c}


def dgl_reference(cell: TreeCell, child_pos_key: str = "child_pos") -> DGLTreeLSTM:
    """The DGL reference module for ``cell`` (``SequentialLSTM`` counts as Child-Sum)."""
    for cls in (DGLNaryTreeLSTM, DGLSLSTM, DGLChildSumTreeLSTM):
        if isinstance(cell, cls.cell_type):
            return cls(cell, child_pos_key=child_pos_key)
    raise TypeError(f"no DGL reference for {type(cell).__name__}; "
                    f"supported: ChildSumTreeLSTM, NaryTreeLSTM, SLSTM (and SequentialLSTM)")
