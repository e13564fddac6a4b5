"""S-LSTM (Zhu, Sobhani and Guo 2015): an LSTM memory block over binary trees."""
from __future__ import annotations

import torch
from torch import nn

from ..structures.batch import TreeBatch
from .base import TreeCell, children_by_position


class SLSTM(TreeCell):
    r"""S-LSTM over binary trees.

    From *Long Short-Term Memory Over Recursive Structures* (Zhu, Sobhani
    and Guo, ICML 2015). Node ``t`` has a left child ``(h^L, c^L)`` and a right
    child ``(h^R, c^R)`` (zeros where missing); every ``W`` is its own matrix
    and the cell terms act as peepholes::

        i_t   = sigmoid(W_hi^L h^L + W_hi^R h^R + W_ci^L c^L + W_ci^R c^R + b_i)
        f_t^L = sigmoid(W_hfl^L h^L + W_hfl^R h^R + W_cfl^L c^L + W_cfl^R c^R + b_fl)
        f_t^R = sigmoid(W_hfr^L h^L + W_hfr^R h^R + W_cfr^L c^L + W_cfr^R c^R + b_fr)
        x_t   = W_hx^L h^L + W_hx^R h^R + b_x
        c_t   = f_t^L * c^L + f_t^R * c^R + i_t * tanh(x_t)
        o_t   = sigmoid(W_ho^L h^L + W_ho^R h^R + W_co c_t + b_o)
        h_t   = o_t * tanh(c_t)

    **Leaves.** Word vectors enter at the leaves. A leaf has no children, so
    the equations above reduce to biases; each of the five pre-activations
    (``i, f^L, f^R, x, o``) therefore also gets an input term ``W_*x w_t`` from
    the word vector ``w_t``. At a leaf this is one LSTM step from a zero state
    (``c = i * tanh(W_x w + b_x)``, ``h = o * tanh(c)``, with the ``c`` peephole
    on ``o``), so a leaf's memory is learned from its word the same way as in the
    paper's chain LSTM. With ``leaf_input_only=True`` (the default) internal
    nodes take no word, exactly as in the equations above.

    Args:
        in_size: word vector size.
        hidden_size: size of ``h`` and ``c``.
        leaf_input_only: zero ``x`` at nodes with children (default ``True``).
        dropout: dropout on ``x``.

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` with ``N`` nodes, at most two
          children per node
        - x: ``[N, in_size]``
        - output: ``(h, c)``, each ``[N, hidden_size]``
    """

    def __init__(self, in_size: int, hidden_size: int, *, leaf_input_only: bool = True, dropout: float = 0.0) -> None:
        super().__init__(in_size, hidden_size, leaf_input_only=leaf_input_only, dropout=dropout)
        H = hidden_size
        # pre-activations in the order i, f^L, f^R, x, o; W carries the biases
        self.W = nn.Linear(in_size, 5 * H)
        self.W_h = nn.Linear(2 * H, 5 * H, bias=False)  # [h^L, h^R] -> all five
        self.W_c = nn.Linear(2 * H, 3 * H, bias=False)  # [c^L, c^R] -> i, f^L, f^R
        self.W_co = nn.Linear(H, H, bias=False)  # c_t -> o
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.W, self.W_h, self.W_c, self.W_co):
            lin.reset_parameters()

    def check(self, batch: TreeBatch) -> None:
        if batch.max_children > 2:
            node = int(torch.nonzero(batch.child_pos >= 2)[0])
            parent = int(batch.parent[node])
            raise ValueError(f"S-LSTM needs binary trees, but node {parent} (tree "
                             f"{int(batch.tree_index[parent])}) has more than 2 children; use Tree.binarize()")

    def level_step(self, wx, h_child, c_child, slot, pos):
        H = self.hidden_size
        n = wx.shape[0]
        h_kids = children_by_position(h_child, slot, pos, n, 2).reshape(n, 2 * H)  # [n, 2H] = [h^L, h^R]
        c_kids = children_by_position(c_child, slot, pos, n, 2).reshape(n, 2 * H)  # [n, 2H] = [c^L, c^R]
        pre = wx + self.W_h(h_kids)  # [n, 5H]
        gated = pre[:, :3 * H] + self.W_c(c_kids)  # [n, 3H] i, f^L, f^R with peepholes
        i, f_l, f_r = torch.sigmoid(gated).chunk(3, dim=1)
        x_t, o_pre = pre[:, 3 * H:].chunk(2, dim=1)
        c = f_l * c_kids[:, :H] + f_r * c_kids[:, H:] + i * torch.tanh(x_t)
        o = torch.sigmoid(o_pre + self.W_co(c))
        return o * torch.tanh(c), c

    def leaf_step(self, wx):
        H = self.hidden_size
        i, _, _, x_t, o_pre = wx.chunk(5, dim=1)  # each [n, H]; both children missing
        c = torch.sigmoid(i) * torch.tanh(x_t)
        o = torch.sigmoid(o_pre + self.W_co(c))
        return o * torch.tanh(c), c
