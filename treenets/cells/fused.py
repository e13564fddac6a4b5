"""The fused engine: a cell's whole level loop as one autograd function with a hand-derived backward.

The eager engine runs a cell's ``level_step`` through autograd: a dozen small
operations per level, each recorded in the graph and each with its own
backward node, and one weight-gradient product per level (summed into the
weight's gradient one level at a time). For the level sizes of sentence
batches on a CPU that bookkeeping costs more than the gate arithmetic. The
fused engine runs the same equations with

* one matrix product per level for all gates (then the input projection
  added, in the eager step's order, so that predictions do not depend on the
  batch or the thread count), the gate nonlinearities in place, states
  written straight into one ``[N, H]`` buffer (no concatenation per level);
* a backward written by hand from the cell's equations, level by level from
  the roots down, so nothing is recorded during the forward pass;
* each weight's gradient as **one** matrix product over all levels at the end
  (the saved child states of every level are contiguous), instead of one
  small product and one accumulation per level.

The leaves run inside the same function (:class:`LeafKernel`: their gates and
the hand-derived backward). A cell opts in by returning a kernel from :meth:`TreeCell.fused_kernel`
(:class:`~treenets.cells.NaryTreeLSTM`, :class:`~treenets.cells.ChildSumTreeLSTM`
and so :class:`~treenets.cells.SequentialLSTM`). A kernel holds the cell's
hand-derived level step; this module holds the loop, which is the same for
every kernel. A kernel has a ``leaf`` (a :class:`LeafKernel`) and four methods, called in this order::

    begin(wx_inner, weights, plan)                    # reorder weights, allocate saved buffers
    forward_level(level, h_prev, c_prev, h_out, c_out)  # one level, writing h_out and c_out
    backward_level(level, gh, gc, gh_prev, gc_prev)   # one level, adding into the children's gradients
    finish() -> (grad_wx_inner, *grad_weights)        # gradients of the projections and weights

Only first derivatives are defined (``backward`` is once-differentiable); the
eager engine remains for double backward. Results equal the eager engine's up
to floating-point rounding: every kernel is tested against the float64
per-node oracle, values and gradients, and with ``gradcheck``
(``tests/test_cells.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from torch.autograd.function import once_differentiable

from ..structures.batch import TreeBatch

Tensor = torch.Tensor

__all__ = ["Level", "LevelPlan", "LeafKernel", "propagate_fused", "shared_rows", "write_h", "grad_c"]


@dataclass
class Level:
    """One level that has nodes with children, in processing order (see :class:`LevelPlan`).

    Attributes:
        rows: ``(start, stop)`` rows of the level's nodes with children in the ``[N, H]`` state buffer.
        prev: ``(start, stop)`` rows of the level before it: exactly this level's children.
        inner: offset of the level's first node among all nodes with children (rows of ``wx_inner``).
        n: number of nodes with children.
        m: number of children.
        below: index of the level of the children in ``TreeBatch.level_sizes``.
        slot: ``[m]`` each child's parent, as a row ``0..n-1`` of this level.
        pos: ``[m]`` each child's position among its siblings.
        index, saved: what a kernel works out for the level in its forward pass and reads again in its
            backward pass (``None`` until then).
    """

    rows: Tuple[int, int]
    prev: Tuple[int, int]
    inner: int
    n: int
    m: int
    below: int
    slot: Tensor
    pos: Tensor
    index: Optional[Tensor] = None
    saved: Optional[tuple] = None


class LevelPlan:
    """What the fused loop needs of a batch, worked out once per call.

    States live in one ``[N, H]`` buffer in the batch's processing order
    (:attr:`TreeBatch.order`: deepest level first, within a level the nodes
    with children before the leaves), so a level's nodes and its children are
    each one contiguous block of rows.
    """

    def __init__(self, batch: TreeBatch) -> None:
        self.num_nodes = batch.num_nodes
        self.num_internal = int(batch.internal_order.numel())
        self.order = batch.order  # [N] processing row -> node
        self.position = batch.position  # [N] node -> processing row
        self.leaf_rows = batch.position.index_select(0, batch.leaf_order)  # [n_leaves] rows of the leaves
        self.parent_slot = batch.parent_slot  # [N] processing order
        self.child_pos = batch.ordered_child_pos  # [N] processing order
        self.level_sizes = batch.level_sizes
        slots = batch.parent_slot.split(batch.level_sizes)
        positions = batch.ordered_child_pos.split(batch.level_sizes)
        self.levels: List[Level] = []
        start = inner = 0
        for k, (size, n) in enumerate(zip(batch.level_sizes, batch.level_internal_sizes)):
            if n:
                prev = (start - batch.level_sizes[k - 1], start)
                self.levels.append(Level((start, start + n), prev, inner, n, batch.level_sizes[k - 1], k - 1,
                                         slots[k - 1], positions[k - 1]))
            start += size
            inner += n


def _run_forward(kernel, plan: LevelPlan, wx_leaf: Tensor, wx_inner: Tensor,
                 weights: Sequence[Tensor], leaf_index: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """``(h_all, c_all)``: ``[N, H]`` states in processing order."""
    h_leaf, c_leaf = kernel.leaf.forward(wx_leaf)  # [n_leaves, H], or one row per distinct input
    if leaf_index is not None:
        h_leaf, c_leaf = h_leaf.index_select(0, leaf_index), c_leaf.index_select(0, leaf_index)
    hidden = h_leaf.shape[1]
    h_all = h_leaf.new_empty(plan.num_nodes, hidden)
    c_all = h_leaf.new_empty(plan.num_nodes, hidden)
    h_all.index_copy_(0, plan.leaf_rows, h_leaf)
    c_all.index_copy_(0, plan.leaf_rows, c_leaf)
    kernel.begin(wx_inner, weights, plan)
    for level in plan.levels:
        (a, b), (p, q) = level.rows, level.prev
        kernel.forward_level(level, h_all[p:q], c_all[p:q], h_all[a:b], c_all[a:b])
    return h_all, c_all


class _FusedLevels(torch.autograd.Function):
    """Every node of one cell over one batch; inputs ``W x`` of the leaves and of the other nodes and the
    weights the level step reads, outputs ``(h, c)`` in node order."""

    @staticmethod
    def forward(ctx, kernel, plan: LevelPlan, wx_leaf: Tensor, wx_inner: Tensor,
                *weights: Tensor) -> Tuple[Tensor, Tensor]:
        h_all, c_all = _run_forward(kernel, plan, wx_leaf, wx_inner, weights)
        kernel.h_all, kernel.c_all = h_all, c_all
        ctx.kernel, ctx.plan = kernel, plan
        ctx.set_materialize_grads(False)  # c is often unused (a loss on h): no zeros made and reordered for it
        return h_all.index_select(0, plan.position), c_all.index_select(0, plan.position)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_h: Tensor, grad_c: Tensor):
        kernel, plan = ctx.kernel, ctx.plan
        # nothing is freed here: backward may run again on the same graph (retain_graph=True, gradcheck);
        # the kernel's buffers go when autograd frees the graph
        h_all = kernel.h_all
        # [N, H] processing order; zeros for an output that got no gradient
        gh_all = h_all.new_zeros(h_all.shape) if grad_h is None else grad_h.index_select(0, plan.order)
        gc_all = h_all.new_zeros(h_all.shape) if grad_c is None else grad_c.index_select(0, plan.order)
        for level in reversed(plan.levels):
            (a, b), (p, q) = level.rows, level.prev
            kernel.backward_level(level, gh_all[a:b], gc_all[a:b], gh_all[p:q], gc_all[p:q])
        grad_wx, *grad_weights = kernel.finish()
        need = ctx.needs_input_grad
        grad_leaf = None
        if need[2]:
            grad_leaf = kernel.leaf.backward(gh_all.index_select(0, plan.leaf_rows),
                                             gc_all.index_select(0, plan.leaf_rows))
        return (None, None, grad_leaf, grad_wx if need[3] else None,
                *(g if n else None for g, n in zip(grad_weights, need[4:])))


def propagate_fused(kernel, batch: TreeBatch, wx_leaf: Tensor, wx_inner: Tensor,
                    weights: Sequence[Tensor], leaf_index: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """Run ``kernel`` over every node of ``batch``: the leaves, then the levels.

    Args:
        kernel: a fresh kernel from the cell's ``fused_kernel()`` (it keeps what the backward pass needs).
        batch: the trees, on the inputs' device.
        wx_leaf: ``[n_leaves, G_leaf]`` the projected inputs of the leaves (the gates a leaf reads), in
            ``batch.leaf_order``; with ``leaf_index``, ``[V, G_leaf]`` one row per distinct input.
        wx_inner: ``[n_internal, G]`` the projected inputs of the nodes with children, in
            ``batch.internal_order``, or ``[1, G]``: one row for all of them (the bias alone).
        weights: the parameters the level step reads, in the kernel's order.
        leaf_index: ``[n_leaves]`` each leaf's row of ``wx_leaf`` (``None``: one row per leaf). Without a
            backward pass to follow, the leaf step runs once per row of ``wx_leaf`` and the states are
            gathered; with one, the rows are gathered first (their gradients add up in autograd).

    Returns:
        ``(h, c)``, each ``[num_nodes, H]`` in node order.
    """
    plan = LevelPlan(batch)
    if torch.is_grad_enabled() and any(t.requires_grad for t in (wx_leaf, wx_inner, *weights)):
        kernel.recording = True  # a backward pass will follow
        if leaf_index is not None:
            wx_leaf = wx_leaf.index_select(0, leaf_index)
        return _FusedLevels.apply(kernel, plan, wx_leaf, wx_inner, *weights)
    kernel.recording = False
    with torch.no_grad():
        h_all, c_all = _run_forward(kernel, plan, wx_leaf, wx_inner, weights, leaf_index)
    return h_all.index_select(0, plan.position), c_all.index_select(0, plan.position)


def write_h(c: Tensor, o: Tensor, tc: Tensor, h_out: Tensor, output_gate: bool) -> None:
    """``tc = tanh(c)`` and ``h = o * tc`` (``h = tc`` without an output gate), written into ``tc`` and ``h_out``."""
    torch.tanh(c, out=tc)
    if output_gate:
        torch.mul(o, tc, out=h_out)
    else:
        h_out.copy_(tc)


def grad_c(gh: Tensor, gc: Tensor, o: Tensor, tc: Tensor, d_o: Tensor, output_gate: bool) -> Tensor:
    """The gradient of ``c`` from those of ``h`` and ``c`` (through ``h = o tanh(c)``); with an output gate,
    the gradient of ``o``'s activation is written into ``d_o``."""
    if output_gate:
        torch.mul(gh, tc, out=d_o)
        gh = gh * o
    return torch.ops.aten.tanh_backward(gh, tc).add_(gc)


class LeafKernel:
    r"""The leaf step of the Child-Sum and N-ary cells and its backward, for the fused engine.

    A leaf has no children, so no forget gate: ``W x`` has the columns ``i, o, u``
    and (``linear=False``, the equations) ``c = sigmoid(i) tanh(u)``, or
    (``linear=True``, the N-ary paper code's leaf) ``c = u``; then
    ``h = sigmoid(o) tanh(c)``, or ``tanh(c)`` without an output gate.
    """

    def __init__(self, hidden_size: int, output_gate: bool, linear: bool = False) -> None:
        self.H, self.output_gate, self.linear = hidden_size, output_gate, linear

    def forward(self, wx: Tensor) -> Tuple[Tensor, Tensor]:
        H = self.H
        act = torch.empty_like(wx)  # sigmoid(i), sigmoid(o), tanh(u) (u itself for the linear leaf)
        torch.sigmoid(wx[:, :2 * H], out=act[:, :2 * H])
        if self.linear:
            act[:, 2 * H:].copy_(wx[:, 2 * H:])
            c = act[:, 2 * H:].clone()
        else:
            torch.tanh(wx[:, 2 * H:], out=act[:, 2 * H:])
            c = act[:, :H] * act[:, 2 * H:]
        tc, h = torch.empty_like(c), torch.empty_like(c)
        write_h(c, act[:, H:2 * H], tc, h, self.output_gate)
        self.act, self.tc = act, tc
        return h, c

    def backward(self, gh: Tensor, gc: Tensor) -> Tensor:
        H, act, tc = self.H, self.act, self.tc
        i, o, u = act[:, :H], act[:, H:2 * H], act[:, 2 * H:]
        d = torch.zeros_like(act)  # columns i, o, u; o's stay zero without an output gate
        dc = grad_c(gh, gc, o, tc, d[:, H:2 * H], self.output_gate)
        if self.linear:
            d[:, 2 * H:].copy_(dc)
        else:
            torch.mul(dc, u, out=d[:, :H])
            d_u = d[:, 2 * H:]
            torch.mul(dc, i, out=d_u)
            torch.ops.aten.tanh_backward.grad_input(d_u, u, grad_input=d_u)
        d_io = d[:, :2 * H]
        torch.ops.aten.sigmoid_backward.grad_input(d_io, act[:, :2 * H], grad_input=d_io)
        return d


def shared_rows(grad: Tensor, wx: Tensor) -> Tensor:
    """``grad`` (``[n_internal, G]``) for an input ``wx`` of one row shared by every node (``[1, G]``:
    the bias alone, with ``leaf_input_only``) is summed over the nodes; otherwise returned as it is."""
    if wx.shape[0] == 1 and grad.shape[0] != 1:
        return grad.sum(dim=0, keepdim=True)
    return grad

