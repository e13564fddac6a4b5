"""N-ary Tree-LSTM (Tai, Socher and Manning 2015, section 3.2)."""
from __future__ import annotations

import torch
from torch import nn

from ..structures.batch import TreeBatch
from .base import TreeCell, children_by_position
from .fused import LeafKernel, grad_c, shared_rows, write_h


class NaryTreeLSTM(TreeCell):
    r"""N-ary Tree-LSTM over ordered children; ``n_ary=2`` is the Constituency Tree-LSTM.

    From Tai et al. (ACL 2015). Child ``l`` (``l = 1..N``, by position) of
    node ``j`` has states ``h_jl, c_jl``; a missing child counts as zeros::

        i_j  = sigmoid(W_i x_j + sum_l U_i^l h_jl + b_i)
        f_jk = sigmoid(W_f x_j + sum_l U_f^{kl} h_jl + b_f)   k = 1..N, full N x N U_f
        o_j  = sigmoid(W_o x_j + sum_l U_o^l h_jl + b_o)
        u_j  = tanh   (W_u x_j + sum_l U_u^l h_jl + b_u)
        c_j  = i_j * u_j + sum_l f_jl * c_jl
        h_j  = o_j * tanh(c_j)

    All ``U`` matrices are fused into one ``Linear(N * H, (3 + N) * H)`` applied
    to the concatenated children. Child order is the batch's ``child_pos``.

    **Leaves.** By default a leaf follows the equations with every child
    missing: ``c = i * u``. ``leaf="linear"`` uses instead the leaf module of
    the paper's own code (``BinaryTreeLSTM.lua``): ``c = W_u x + b_u`` (no input
    gate, no squashing) and ``h = o * tanh(c)``.

    Args:
        in_size: input size.
        hidden_size: size of ``h`` and ``c``.
        n_ary: the most children a node may have.
        output_gate: with ``False``, ``h_j = tanh(c_j)``.
        leaf_input_only: zero ``x`` at nodes with children (the paper's
            sentiment setup).
        dropout: dropout on ``x``.
        leaf: ``"lstm"`` (the equations) or ``"linear"`` (the paper code's leaf).

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` with ``N`` nodes, at most
          ``n_ary`` children per node
        - x: ``[N, in_size]``
        - output: ``(h, c)``, each ``[N, hidden_size]``
    """

    def __init__(self, in_size: int, hidden_size: int, n_ary: int = 2, *, output_gate: bool = True,
                 leaf_input_only: bool = False, dropout: float = 0.0, leaf: str = "lstm") -> None:
        super().__init__(in_size, hidden_size, leaf_input_only=leaf_input_only, dropout=dropout)
        if n_ary < 1:
            raise ValueError(f"n_ary must be at least 1, got {n_ary}")
        if leaf not in ("lstm", "linear"):
            raise ValueError(f"leaf must be 'lstm' or 'linear', not {leaf!r}")
        self.leaf = leaf
        self.n_ary = n_ary
        self.output_gate = output_gate
        # gates i, o, u, f (f's input term is shared by the N forget gates)
        self.W = nn.Linear(in_size, 4 * hidden_size)
        # [N*H] -> [3H for i, o, u | N*H for f_1..f_N]
        self.U = nn.Linear(n_ary * hidden_size, (3 + n_ary) * hidden_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.W.reset_parameters()
        self.U.reset_parameters()

    def check(self, batch: TreeBatch) -> None:
        if batch.max_children > self.n_ary:
            node = int(torch.nonzero(batch.child_pos >= self.n_ary)[0])
            parent = int(batch.parent[node])
            tree = int(batch.tree_index[parent])
            raise ValueError(f"node {parent} (tree {tree}) has more than {self.n_ary} children; "
                             f"binarize constituency trees first (Tree.binarize()) or raise n_ary")

    def level_step(self, wx, h_child, c_child, slot, pos):
        H, N = self.hidden_size, self.n_ary
        n = wx.shape[0]
        wx_iou, wx_f = wx.split([3 * H, H], dim=1)
        h_kids = children_by_position(h_child, slot, pos, n, N)  # [n, N, H]
        c_kids = children_by_position(c_child, slot, pos, n, N)  # [n, N, H]
        gates = self.U(h_kids.reshape(n, N * H))  # [n, (3 + N) * H]
        i, o, u = (wx_iou + gates[:, :3 * H]).chunk(3, dim=1)  # each [n, H]
        f = torch.sigmoid(wx_f.unsqueeze(1) + gates[:, 3 * H:].view(n, N, H))  # [n, N, H]
        c = torch.sigmoid(i) * torch.tanh(u) + (f * c_kids).sum(dim=1)
        h = torch.sigmoid(o) * torch.tanh(c) if self.output_gate else torch.tanh(c)
        return h, c

    @property
    def leaf_size(self) -> int:
        return 3 * self.hidden_size  # a leaf has no children, so no forget gate: i, o, u

    def fused_kernel(self) -> "NaryFusedKernel":
        return NaryFusedKernel(self.hidden_size, self.n_ary, self.output_gate, self.leaf == "linear")

    def fused_weights(self):
        return (self.U.weight,)

    def leaf_step(self, wx):
        H = self.hidden_size
        i, o, u = wx[:, :3 * H].chunk(3, dim=1)  # each [n, H]; missing children are zeros
        c = u if self.leaf == "linear" else torch.sigmoid(i) * torch.tanh(u)
        h = torch.sigmoid(o) * torch.tanh(c) if self.output_gate else torch.tanh(c)
        return h, c

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", n_ary={self.n_ary}" + ("" if self.output_gate else ", output_gate=False")
                + ("" if self.leaf == "lstm" else f", leaf={self.leaf!r}"))


class NaryFusedKernel:
    r"""The N-ary level step and its hand-derived backward, for the fused engine (:mod:`treenets.cells.fused`).

    Gates are kept in the order ``u, i, o, f_1..f_N`` (``U``'s rows reordered
    once per call), so one ``tanh`` and one ``sigmoid`` cover them. With
    ``k_h, k_c`` the children's states laid out by position and
    ``dc = g_c + (g_h o) (1 - tanh(c)^2)`` (``g_h`` alone without an output gate)::

        d u = dc * i,   d i = dc * u,   d o = g_h * tanh(c),   d f_l = dc * c_l,   d c_l = dc * f_l
        d pre = d act * (1 - u^2 | s (1 - s)),   d k_h = d pre @ U,   d U = (sum over levels) d pre^T k_h
    """

    def __init__(self, hidden_size: int, n_ary: int, output_gate: bool, linear_leaf: bool = False) -> None:
        self.H, self.N, self.output_gate = hidden_size, n_ary, output_gate
        self.leaf = LeafKernel(hidden_size, output_gate, linear=linear_leaf)
        self.recording = False  # set by propagate_fused: whether a backward pass will follow

    def begin(self, wx, weights, plan) -> None:
        H, N = self.H, self.N
        (U,) = weights  # [(3 + N) H, N H], rows i, o, u, f_1..f_N
        self.Up = torch.cat([U[2 * H:3 * H], U[:2 * H], U[3 * H:]])  # rows u, i, o, f_1..f_N
        # [N H, (3 + N) H] for the forward product. Without a backward pass (predictions), F.linear's layout,
        # as the eager step, so that results do not depend on the batch or the thread count; in training, a
        # contiguous copy, whose product is faster (its rounding may change with the thread count)
        self.Upt = self.Up.t().contiguous() if self.recording else self.Up.t()
        # [n_internal or 1, 4H] columns i, o, u, f -> [., (3 + N) H] u, i, o, f once per child position
        self.wx_in = wx
        self.wx = torch.cat([wx[:, 2 * H:3 * H], wx[:, :2 * H]] + [wx[:, 3 * H:]] * N, dim=1)
        n = plan.num_internal
        # every level's children laid out by position: zeros where a child is missing, unless every node
        # with children has all N (binarized constituency trees), when each row is written before it is read
        full = sum(level.m for level in plan.levels) == n * N
        self.kids_h = wx.new_empty(n * N, H) if full else wx.new_zeros(n * N, H)
        self.kids_c = wx.new_empty(n * N, H) if full else wx.new_zeros(n * N, H)
        self.act = wx.new_empty(n, (3 + N) * H)  # activations u, i, o, f_1..f_N
        self.tc = wx.new_empty(n, H)  # tanh(c)
        self.d_act = None  # gradients of the pre-activations: allocated by the backward pass, if any
        # each child's row in its level's [n * N] layout, for every level at once
        flat_all = plan.parent_slot * N + plan.child_pos
        flat = flat_all.split(plan.level_sizes)
        for level in plan.levels:
            level.index = flat[level.below]
        # With every slot filled: each slot's child as a row of its level's children (the inverse of
        # level.index), for every level at once, so that the forward pass gathers the children's states
        # (index_select, several times faster than scattering them with index_copy_) and the backward pass
        # adds their gradients with one index_add_ each
        self.slot_child = None
        if full and plan.levels:
            levels = plan.levels
            m = torch.tensor([level.m for level in levels])
            kids = int(m.sum())  # the children are the first rows, level by level
            base = torch.tensor([level.inner * N for level in levels]).repeat_interleave(m)
            first = torch.tensor([level.prev[0] for level in levels]).repeat_interleave(m)
            rows = torch.arange(kids)
            slot_child = torch.empty(kids, dtype=torch.long)
            slot_child[base.to(flat_all.device) + flat_all[:kids]] = rows - first
            self.slot_child = slot_child.to(flat_all.device)

    def forward_level(self, level, h_prev, c_prev, h_out, c_out) -> None:
        H, N = self.H, self.N
        a, n = level.inner, level.n
        kh = self.kids_h[a * N:(a + n) * N]
        kc = self.kids_c[a * N:(a + n) * N]
        if self.slot_child is not None:  # every slot has its child: gather
            child = self.slot_child[a * N:(a + n) * N]
            torch.index_select(h_prev, 0, child, out=kh)
            torch.index_select(c_prev, 0, child, out=kc)
        else:  # scatter, leaving missing children zero
            kh.index_copy_(0, level.index, h_prev)
            kc.index_copy_(0, level.index, c_prev)
        act = self.act[a:a + n]
        wx = self.wx if self.wx.shape[0] == 1 else self.wx[a:a + n]
        if self.recording:  # training: one addmm
            torch.addmm(wx, kh.view(n, N * H), self.Upt, out=act)
        else:  # predictions: the product, then W x added, as the eager step adds them
            torch.mm(kh.view(n, N * H), self.Upt, out=act).add_(wx)
        gates = act.view(n, 3 + N, H).unbind(1)  # u, i, o, f_1..f_N: each [n, H]
        u, i, o, f = gates[0], gates[1], gates[2], gates[3:]
        sig = act[:, H:]
        u.tanh_()
        sig.sigmoid_()
        kids_c = kc.view(n, N, H).unbind(1)
        torch.mul(f[0], kids_c[0], out=c_out)
        for f_l, c_l in zip(f[1:], kids_c[1:]):
            c_out.addcmul_(f_l, c_l)
        c_out.addcmul_(i, u)
        tc = self.tc[a:a + n]
        write_h(c_out, o, tc, h_out, self.output_gate)
        level.saved = (u, i, o, act[:, 3 * H:].view(n, N, H), sig, kc.view(n, N, H), tc)

    def backward_level(self, level, gh, gc, gh_prev, gc_prev) -> None:
        H, N = self.H, self.N
        a, n = level.inner, level.n
        u, i, o, f, sig, kc, tc = level.saved
        d = self._d_act()[a:a + n]
        d_u, d_i, d_o = d.view(n, 3 + N, H).unbind(1)[:3]
        dc = grad_c(gh, gc, o, tc, d_o, self.output_gate)  # [n, H] gradient of c
        torch.mul(dc, i, out=d_u)
        torch.mul(dc, u, out=d_i)
        dc = dc.unsqueeze(1)  # [n, 1, H]
        torch.mul(dc, kc, out=d[:, 3 * H:].view(n, N, H))
        torch.ops.aten.tanh_backward.grad_input(d_u, u, grad_input=d_u)  # through the nonlinearities, in place
        d_sig = d[:, H:]
        torch.ops.aten.sigmoid_backward.grad_input(d_sig, sig, grad_input=d_sig)
        d_kh = torch.mm(d, self.Up)  # [n, N H]
        if self.slot_child is not None:  # every slot has its child
            child = self.slot_child[a * N:(a + n) * N]
            gh_prev.index_add_(0, child, d_kh.view(n * N, H))
            gc_prev.index_add_(0, child, (dc * f).view(n * N, H))
        else:
            gh_prev.add_(d_kh.view(n * N, H).index_select(0, level.index))
            gc_prev.add_((dc * f).view(n * N, H).index_select(0, level.index))

    def _d_act(self):
        if self.d_act is None:  # zeros: o's columns stay zero without an output gate
            self.d_act = torch.zeros_like(self.act)
        return self.d_act

    def finish(self):
        H, N = self.H, self.N
        d = self._d_act()  # [n_internal, (3 + N) H] columns u, i, o, f_1..f_N
        d_up = torch.mm(d.t(), self.kids_h.view(-1, N * H))
        d_u = torch.cat([d_up[H:3 * H], d_up[:H], d_up[3 * H:]])  # back to rows i, o, u, f_1..f_N
        d = shared_rows(d, self.wx_in)
        d_f = d[:, 3 * H:].view(-1, N, H).sum(dim=1)
        d_wx = torch.cat([d[:, H:3 * H], d[:, :H], d_f], dim=1)  # columns i, o, u, f
        return d_wx, d_u
