"""Child-Sum Tree-LSTM (Tai, Socher and Manning 2015, section 3.1)."""
from __future__ import annotations

import torch
from torch import nn

from .base import TreeCell, sum_children
from .fused import LeafKernel, grad_c, shared_rows, write_h


class ChildSumTreeLSTM(TreeCell):
    r"""Child-Sum Tree-LSTM, for dependency trees or any unordered children.

    From *Improved Semantic Representations From Tree-Structured Long
    Short-Term Memory Networks* (Tai et al., ACL 2015)::

        h~_j = sum_{k in C(j)} h_k
        i_j  = sigmoid(W_i x_j + U_i h~_j + b_i)
        f_jk = sigmoid(W_f x_j + U_f h_k  + b_f)      one forget gate per child
        o_j  = sigmoid(W_o x_j + U_o h~_j + b_o)
        u_j  = tanh   (W_u x_j + U_u h~_j + b_u)
        c_j  = i_j * u_j + sum_k f_jk * c_k
        h_j  = o_j * tanh(c_j)

    Child order does not matter. On a chain it is a standard LSTM.

    Args:
        in_size: input size.
        hidden_size: size of ``h`` and ``c``.
        output_gate: with ``False``, ``h_j = tanh(c_j)`` (the paper code's
            SICK configuration).
        leaf_input_only: zero ``x`` at nodes with children.
        dropout: dropout on ``x``.

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` with ``N`` nodes
        - x: ``[N, in_size]``
        - output: ``(h, c)``, each ``[N, hidden_size]``
    """

    def __init__(self, in_size: int, hidden_size: int, *, output_gate: bool = True,
                 leaf_input_only: bool = False, dropout: float = 0.0) -> None:
        super().__init__(in_size, hidden_size, leaf_input_only=leaf_input_only, dropout=dropout)
        self.output_gate = output_gate
        # gates in the order i, o, u, f; W carries every bias
        self.W = nn.Linear(in_size, 4 * hidden_size)
        self.U_iou = nn.Linear(hidden_size, 3 * hidden_size, bias=False)
        self.U_f = nn.Linear(hidden_size, hidden_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.W, self.U_iou, self.U_f):
            lin.reset_parameters()

    def level_step(self, wx, h_child, c_child, slot, pos):
        H = self.hidden_size
        n = wx.shape[0]
        wx_iou, wx_f = wx.split([3 * H, H], dim=1)
        h_sum = sum_children(h_child, slot, n)  # [n, H]
        i, o, u = (wx_iou + self.U_iou(h_sum)).chunk(3, dim=1)  # each [n, H]
        # [m, H] one forget gate per child, from its parent's input and its own h
        f = torch.sigmoid(wx_f.index_select(0, slot) + self.U_f(h_child))
        c = torch.sigmoid(i) * torch.tanh(u) + sum_children(f * c_child, slot, n)
        h = torch.sigmoid(o) * torch.tanh(c) if self.output_gate else torch.tanh(c)
        return h, c

    @property
    def leaf_size(self) -> int:
        return 3 * self.hidden_size  # a leaf has no children, so no forget gate: i, o, u

    def fused_kernel(self) -> "ChildSumFusedKernel":
        return ChildSumFusedKernel(self.hidden_size, self.output_gate)

    def fused_weights(self):
        return (self.U_iou.weight, self.U_f.weight)

    def leaf_step(self, wx):
        H = self.hidden_size
        i, o, u = wx[:, :3 * H].chunk(3, dim=1)  # each [n, H]; no children, so no U terms
        c = torch.sigmoid(i) * torch.tanh(u)
        h = torch.sigmoid(o) * torch.tanh(c) if self.output_gate else torch.tanh(c)
        return h, c

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.output_gate else ", output_gate=False")


class ChildSumFusedKernel:
    r"""The Child-Sum level step and its hand-derived backward, for the fused engine (:mod:`treenets.cells.fused`).

    Gates ``u, i, o`` (``U_iou``'s rows reordered once per call) from the
    children's summed ``h``; one forget gate per child. With
    ``dc = g_c + (g_h o) (1 - tanh(c)^2)`` at the parent (``g_h`` alone without an output gate)::

        d u = dc * i,   d i = dc * u,   d o = g_h * tanh(c)
        per child k of j:   d c_k = dc_j * f_jk,   d f_jk = dc_j * c_k
        d h_k = (d pre_iou @ U_iou)_j + d pre_f,k @ U_f
        d U_iou = (sum over levels) d pre_iou^T h~,   d U_f = (sum over levels) d pre_f^T h_child
    """

    def __init__(self, hidden_size: int, output_gate: bool) -> None:
        self.H, self.output_gate = hidden_size, output_gate
        self.leaf = LeafKernel(hidden_size, output_gate)
        self.recording = False  # set by propagate_fused: whether a backward pass will follow

    def begin(self, wx, weights, plan) -> None:
        H = self.H
        U_iou, U_f = weights  # [3H, H] rows i, o, u; [H, H]
        self.Up = torch.cat([U_iou[2 * H:], U_iou[:2 * H]])  # rows u, i, o
        self.U_f = U_f
        # right-hand sides of the forward products: F.linear's layout for predictions (as the eager step, so
        # that results do not depend on the batch or the thread count), contiguous copies in training (faster)
        self.Upt = self.Up.t().contiguous() if self.recording else self.Up.t()
        self.U_ft = U_f.t().contiguous() if self.recording else U_f.t()
        self.wx_in = wx  # [n_internal or 1, 4H] columns i, o, u, f
        self.wx_iou = torch.cat([wx[:, 2 * H:3 * H], wx[:, :2 * H]], dim=1)  # columns u, i, o
        self.wx_f = wx[:, 3 * H:]
        n = plan.num_internal
        self.h_sum = wx.new_zeros(n, H)  # h~ of every node with children
        self.act = wx.new_empty(n, 3 * H)  # activations u, i, o
        self.tc = wx.new_empty(n, H)  # tanh(c)
        self.f = wx.new_empty(plan.num_nodes, H)  # each child's forget gate, at the child's row
        self.d_act = self.d_f = None  # gradients, allocated by the backward pass, if any
        self.levels = plan.levels
        # every node below the top level is a child of a node of the next level, and those rows come first
        self.children = plan.levels[-1].rows[0] if plan.levels else 0

    def forward_level(self, level, h_prev, c_prev, h_out, c_out) -> None:
        H = self.H
        a, n, slot = level.inner, level.n, level.slot
        hs = self.h_sum[a:a + n]
        hs.index_add_(0, slot, h_prev)
        act = self.act[a:a + n]
        wx_iou = self.wx_iou if self.wx_iou.shape[0] == 1 else self.wx_iou[a:a + n]
        if self.recording:  # training: one addmm
            torch.addmm(wx_iou, hs, self.Upt, out=act)
        else:  # predictions: the products, then W x added, as the eager step adds them
            torch.mm(hs, self.Upt, out=act).add_(wx_iou)
        u, i, o, sig = act[:, :H], act[:, H:2 * H], act[:, 2 * H:], act[:, H:]
        u.tanh_()
        sig.sigmoid_()
        f = self.f[level.prev[0]:level.prev[1]]  # [m, H] one forget gate per child
        wx_f = self.wx_f if self.wx_f.shape[0] == 1 else self.wx_f[a:a + n].index_select(0, slot)
        if self.recording:
            torch.addmm(wx_f, h_prev, self.U_ft, out=f).sigmoid_()
        else:
            torch.mm(h_prev, self.U_ft, out=f).add_(wx_f).sigmoid_()
        torch.mul(i, u, out=c_out)
        c_out.index_add_(0, slot, f * c_prev)
        tc = self.tc[a:a + n]
        write_h(c_out, o, tc, h_out, self.output_gate)
        level.saved = (u, i, o, sig, f, c_prev, tc)

    def backward_level(self, level, gh, gc, gh_prev, gc_prev) -> None:
        H = self.H
        a, n, slot = level.inner, level.n, level.slot
        u, i, o, sig, f, c_prev, tc = level.saved
        d = self._grads()[a:a + n]
        dc = grad_c(gh, gc, o, tc, d[:, 2 * H:], self.output_gate)  # [n, H] gradient of c
        d_u = d[:, :H]
        torch.mul(dc, i, out=d_u)
        torch.mul(dc, u, out=d[:, H:2 * H])
        torch.ops.aten.tanh_backward.grad_input(d_u, u, grad_input=d_u)  # through the nonlinearities, in place
        d_sig = d[:, H:]
        torch.ops.aten.sigmoid_backward.grad_input(d_sig, sig, grad_input=d_sig)
        dc_kids = dc.index_select(0, slot)  # [m, H] the parent's dc at each child
        gc_prev.addcmul_(dc_kids, f)
        d_f = self.d_f[level.prev[0]:level.prev[1]]
        torch.mul(dc_kids, c_prev, out=d_f)
        torch.ops.aten.sigmoid_backward.grad_input(d_f, f, grad_input=d_f)
        d_hs = torch.mm(d, self.Up)  # [n, H] gradient of h~
        gh_prev.add_(torch.addmm(d_hs.index_select(0, slot), d_f, self.U_f))

    def _grads(self):
        if self.d_act is None:
            self.d_act = torch.zeros_like(self.act)  # pre-activations u, i, o; o's stay zero without an output gate
            self.d_f = torch.zeros_like(self.f)  # each child's forget-gate pre-activation
        return self.d_act

    def finish(self):
        H = self.H
        d = self._grads()  # [n_internal, 3H] columns u, i, o
        d_up = torch.mm(d.t(), self.h_sum)  # [3H, H]
        d_iou = torch.cat([d_up[H:], d_up[:H]])  # back to rows i, o, u
        kids = self.children
        d_uf = torch.mm(self.d_f[:kids].t(), self.h_all[:kids])  # [H, H]
        d_wf = self.d_f.new_zeros(d.shape[0], H)  # W_f x of each parent: the sum over its children
        for level in self.levels:
            d_wf[level.inner:level.inner + level.n].index_add_(0, level.slot, self.d_f[level.prev[0]:level.prev[1]])
        d_wx = torch.cat([d[:, H:], d[:, :H], d_wf], dim=1)  # columns i, o, u, f
        return shared_rows(d_wx, self.wx_in), d_iou, d_uf
