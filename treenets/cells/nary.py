"""N-ary Tree-LSTM (Tai, Socher and Manning 2015, section 3.2)."""
from __future__ import annotations

import torch
from torch import nn

from ..structures.batch import TreeBatch
from .base import TreeCell, children_by_position


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

    def leaf_step(self, wx):
        H = self.hidden_size
        i, o, u = wx[:, :3 * H].chunk(3, dim=1)  # each [n, H]; missing children are zeros
        c = u if self.leaf == "linear" else torch.sigmoid(i) * torch.tanh(u)
        h = torch.sigmoid(o) * torch.tanh(c) if self.output_gate else torch.tanh(c)
        return h, c

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", n_ary={self.n_ary}" + ("" if self.output_gate else ", output_gate=False")
                + ("" if self.leaf == "lstm" else f", leaf={self.leaf!r}"))
