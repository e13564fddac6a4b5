"""Child-Sum Tree-LSTM (Tai, Socher and Manning 2015, section 3.1)."""
from __future__ import annotations

import torch
from torch import nn

from .base import TreeCell, sum_children


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

    def leaf_step(self, wx):
        H = self.hidden_size
        i, o, u = wx[:, :3 * H].chunk(3, dim=1)  # each [n, H]; no children, so no U terms
        c = torch.sigmoid(i) * torch.tanh(u)
        h = torch.sigmoid(o) * torch.tanh(c) if self.output_gate else torch.tanh(c)
        return h, c

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.output_gate else ", output_gate=False")
