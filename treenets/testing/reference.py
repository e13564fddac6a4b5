"""Plain per-node reference implementations of the tree cells: the tests' oracle.

``treenets.testing.reference`` (like ``torch.testing``, outside the main
``treenets`` namespace: ``import treenets`` never imports it) is the yardstick
for the batched cells. It computes one node at a time, in the style of the
common unbatched PyTorch ports of Tai et al.'s Lua code, straight from the
papers' equations:

* Child-Sum Tree-LSTM: Tai, Socher and Manning (ACL 2015), section 3.1,
  eqs. 2-8 (``h~_j``, ``i_j``, one ``f_jk`` per child, ``o_j``, ``u_j``,
  ``c_j``, ``h_j``);
* N-ary Tree-LSTM: the same paper, section 3.2, eqs. 9-14 (a full ``N x N``
  set of ``U_f^{kl}``; a missing child counts as zeros);
* S-LSTM: Zhu, Sobhani and Guo (ICML 2015, arXiv:1503.04881), the memory
  block over a left and a right child, with the cell terms as peepholes; the
  word input at leaves is treenets' documented choice (see
  :class:`~treenets.SLSTM`);
* :class:`~treenets.SpanMean` (the no-tree baseline): for every node, the
  words of its subtree collected by walking up from each word to the root,
  averaged, then ``tanh(W s + b)`` (:func:`reference_span_mean`).

How it is written:

* every gate has its own matrices, sliced (as views, so gradients flow) out of
  the fused parameters of a batched cell, so the reference and the cell share
  one set of weights;
* every node is visited once, in post-order, by an explicit stack (no Python
  recursion, so trees of any depth work);
* missing children are skipped rather than padded with zeros, which is the
  same thing mathematically.

It is slow by design: it is the "per-node recursive" baseline of the
benchmarks and the oracle of the tests, not something to train with. The
DGL-run oracle is :mod:`treenets.testing.dgl_reference`.

Fused layouts (``H`` = hidden size, ``N`` = ``n_ary``):

* :class:`~treenets.ChildSumTreeLSTM`: ``W`` is ``Linear(in, 4H)`` with rows
  ``i, o, u, f`` (its bias holds ``b_i, b_o, b_u, b_f``); ``U_iou`` is
  ``Linear(H, 3H)`` with rows ``i, o, u``; ``U_f`` is ``Linear(H, H)``.
* :class:`~treenets.NaryTreeLSTM`: ``W`` as above; ``U`` is
  ``Linear(N*H, (3+N)*H)`` whose input columns are the ``N`` children's ``h``
  by position and whose output rows are ``i, o, u, f_1 .. f_N``.
* :class:`~treenets.SLSTM`: ``W`` is ``Linear(in, 5H)`` with rows
  ``i, f^L, f^R, x, o`` (the word's input term, added to every
  pre-activation); ``W_h`` is ``Linear(2H, 5H)`` on ``[h^L, h^R]``; ``W_c`` is
  ``Linear(2H, 3H)`` on ``[c^L, c^R]`` with rows ``i, f^L, f^R``; ``W_co`` is
  ``Linear(H, H)``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..structures.batch import TreeBatch
from ..cells.child_sum import ChildSumTreeLSTM
from ..cells.nary import NaryTreeLSTM
from ..cells.slstm import SLSTM
from ..cells.span_mean import SpanMean
from ..structures.tree import Tree

Tensor = torch.Tensor

__all__ = ["reference_forward", "reference_span_mean", "RecursiveTreeLSTM", "forest_structure", "gate_matrices"]


# ------------------------------------------------------------------ structure
def forest_structure(trees_or_batch: Union[TreeBatch, Sequence[Tree], Tree]) -> Tuple[List[int], List[int]]:
    """``(parent, child_pos)`` over all nodes, in TreeBatch node numbering.

    For a list of trees this is computed from the trees themselves (tree 0's
    nodes first, then tree 1's, ...), without going through :class:`TreeBatch`.
    A node's position among its siblings is its index in ``tree.children``.
    """
    if isinstance(trees_or_batch, TreeBatch):
        return trees_or_batch.parent.tolist(), trees_or_batch.child_pos.tolist()
    trees = [trees_or_batch] if isinstance(trees_or_batch, Tree) else list(trees_or_batch)
    parent: List[int] = []
    child_pos: List[int] = []
    offset = 0
    for tree in trees:
        pos = [-1] * len(tree)
        for kids in tree.children:
            for k, child in enumerate(kids):
                pos[child] = k
        parent.extend(-1 if p < 0 else p + offset for p in tree.parents)
        child_pos.extend(pos)
        offset += len(tree)
    return parent, child_pos


def _postorder(parent: List[int], child_pos: List[int]) -> Tuple[List[int], List[Dict[int, int]]]:
    """Every node after its children, by an explicit stack; and children by position."""
    n = len(parent)
    kids: List[Dict[int, int]] = [dict() for _ in range(n)]
    roots = []
    for node, p in enumerate(parent):
        if p < 0:
            roots.append(node)
        else:
            kids[p][child_pos[node]] = node
    order: List[int] = []
    for root in roots:
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            stack.append((node, True))
            for pos in sorted(kids[node], reverse=True):
                stack.append((kids[node][pos], False))
    if len(order) != n:
        raise ValueError("the parents do not form a forest")
    return order, kids


# ---------------------------------------------------------------- parameters
def gate_matrices(cell: nn.Module) -> Dict[str, Tensor]:
    """Per-gate matrices and biases, as views of ``cell``'s fused parameters."""
    H = cell.hidden_size
    W, b = cell.W.weight, cell.W.bias

    def rows(mat, k):
        return mat[k * H:(k + 1) * H]

    if isinstance(cell, SLSTM):
        names = ["i", "fl", "fr", "x", "o"]
        g = {}
        for k, name in enumerate(names):
            g["W_" + name] = rows(W, k)
            g["b_" + name] = rows(b, k)
            g["Wh_" + name + "_L"] = rows(cell.W_h.weight, k)[:, :H]
            g["Wh_" + name + "_R"] = rows(cell.W_h.weight, k)[:, H:]
        for k, name in enumerate(names[:3]):
            g["Wc_" + name + "_L"] = rows(cell.W_c.weight, k)[:, :H]
            g["Wc_" + name + "_R"] = rows(cell.W_c.weight, k)[:, H:]
        g["W_co"] = cell.W_co.weight
        return g
    if isinstance(cell, NaryTreeLSTM):
        N = cell.n_ary
        g = {}
        for k, name in enumerate(["i", "o", "u", "f"]):
            g["W_" + name] = rows(W, k)
            g["b_" + name] = rows(b, k)
        U = cell.U.weight  # [(3 + N) H, N H]
        for l in range(N):
            cols = slice(l * H, (l + 1) * H)
            for k, name in enumerate(["i", "o", "u"]):
                g[f"U_{name}^{l}"] = rows(U, k)[:, cols]
            for k in range(N):
                g[f"U_f^{k},{l}"] = rows(U, 3 + k)[:, cols]
        return g
    if isinstance(cell, ChildSumTreeLSTM):
        g = {}
        for k, name in enumerate(["i", "o", "u", "f"]):
            g["W_" + name] = rows(W, k)
            g["b_" + name] = rows(b, k)
        for k, name in enumerate(["i", "o", "u"]):
            g["U_" + name] = rows(cell.U_iou.weight, k)
        g["U_f"] = cell.U_f.weight
        return g
    raise TypeError(f"no reference for {type(cell).__name__}")


def _mv(mat: Tensor, vec: Tensor) -> Tensor:
    return torch.mv(mat, vec)


# ------------------------------------------------------------- node updates
def child_sum_node(g: Dict[str, Tensor], x: Tensor, kids: List[Tuple[Tensor, Tensor]],
                   output_gate: bool = True) -> Tuple[Tensor, Tensor]:
    """One Child-Sum Tree-LSTM node from its input and its children's ``(h, c)``."""
    H = g["b_i"].shape[0]
    h_tilde = x.new_zeros(H)
    for h_k, _ in kids:
        h_tilde = h_tilde + h_k
    i = torch.sigmoid(_mv(g["W_i"], x) + _mv(g["U_i"], h_tilde) + g["b_i"])
    o = torch.sigmoid(_mv(g["W_o"], x) + _mv(g["U_o"], h_tilde) + g["b_o"])
    u = torch.tanh(_mv(g["W_u"], x) + _mv(g["U_u"], h_tilde) + g["b_u"])
    c = i * u
    for h_k, c_k in kids:
        f_k = torch.sigmoid(_mv(g["W_f"], x) + _mv(g["U_f"], h_k) + g["b_f"])
        c = c + f_k * c_k
    h = o * torch.tanh(c) if output_gate else torch.tanh(c)
    return h, c


def nary_node(g: Dict[str, Tensor], x: Tensor, kids: Dict[int, Tuple[Tensor, Tensor]], n_ary: int,
              output_gate: bool = True, leaf: str = "lstm") -> Tuple[Tensor, Tensor]:
    """One N-ary Tree-LSTM node; ``kids`` maps a child position ``l`` to its ``(h, c)``.

    ``leaf="linear"`` is the paper code's leaf module: ``c = W_u x + b_u``,
    ``h = o * tanh(c)``, for nodes without children.
    """
    for l in kids:
        if not 0 <= l < n_ary:
            raise ValueError(f"child position {l} is outside 0..{n_ary - 1}")
    pre_i = _mv(g["W_i"], x) + g["b_i"]
    pre_o = _mv(g["W_o"], x) + g["b_o"]
    pre_u = _mv(g["W_u"], x) + g["b_u"]
    if leaf == "linear" and not kids:
        c = pre_u
        return (torch.sigmoid(pre_o) * torch.tanh(c) if output_gate else torch.tanh(c)), c
    for l, (h_l, _) in kids.items():
        pre_i = pre_i + _mv(g[f"U_i^{l}"], h_l)
        pre_o = pre_o + _mv(g[f"U_o^{l}"], h_l)
        pre_u = pre_u + _mv(g[f"U_u^{l}"], h_l)
    i, o, u = torch.sigmoid(pre_i), torch.sigmoid(pre_o), torch.tanh(pre_u)
    c = i * u
    for k, (_, c_k) in kids.items():
        pre_f = _mv(g["W_f"], x) + g["b_f"]
        for l, (h_l, _) in kids.items():
            pre_f = pre_f + _mv(g[f"U_f^{k},{l}"], h_l)
        c = c + torch.sigmoid(pre_f) * c_k
    h = o * torch.tanh(c) if output_gate else torch.tanh(c)
    return h, c


def slstm_node(g: Dict[str, Tensor], w: Tensor, kids: Dict[int, Tuple[Tensor, Tensor]]) -> Tuple[Tensor, Tensor]:
    """One S-LSTM node from its word input ``w`` and its left (0) / right (1) children."""
    for l in kids:
        if l not in (0, 1):
            raise ValueError(f"child position {l}: an S-LSTM node has a left (0) and a right (1) child only")
    sides = [("L", kids.get(0)), ("R", kids.get(1))]

    def pre(name: str, peephole: bool) -> Tensor:
        out = _mv(g["W_" + name], w) + g["b_" + name]
        for side, state in sides:
            if state is None:
                continue
            h_s, c_s = state
            out = out + _mv(g[f"Wh_{name}_{side}"], h_s)
            if peephole:
                out = out + _mv(g[f"Wc_{name}_{side}"], c_s)
        return out

    i = torch.sigmoid(pre("i", True))
    f_l = torch.sigmoid(pre("fl", True))
    f_r = torch.sigmoid(pre("fr", True))
    x_t = pre("x", False)
    c = i * torch.tanh(x_t)
    if kids.get(0) is not None:
        c = c + f_l * kids[0][1]
    if kids.get(1) is not None:
        c = c + f_r * kids[1][1]
    o = torch.sigmoid(pre("o", False) + _mv(g["W_co"], c))
    return o * torch.tanh(c), c


# ------------------------------------------------------------------- forward
def _check_reference_inputs(cell: nn.Module, trees_or_batch, x: Tensor) -> Tuple[List[int], List[int]]:
    dropout = getattr(cell, "dropout", None)
    if cell.training and isinstance(dropout, nn.Dropout) and dropout.p > 0:
        raise ValueError("the reference has no dropout: call cell.eval() first")
    parent, child_pos = forest_structure(trees_or_batch)
    n = len(parent)
    if x.dim() != 2 or x.shape[0] != n or x.shape[1] != cell.in_size:
        raise ValueError(f"x has shape {tuple(x.shape)}, expected [{n}, {cell.in_size}]")
    return parent, child_pos


def reference_span_mean(cell: SpanMean, trees_or_batch: Union[TreeBatch, Sequence[Tree], Tree],
                        x: Tensor) -> Tuple[Tensor, Tensor]:
    """:class:`~treenets.SpanMean`'s equations, node by node: ``(h, c)``, each ``[num_nodes, hidden]``.

    Every word is listed at each of its ancestors (itself included) by walking
    up the parents; each node's list is averaged in the input space
    (``s_j = 0`` for an empty list), then ``h_j = tanh(W s_j + b)``, ``c_j = 0``.
    Which nodes hold a word: tokens of the trees, else ``word_ids >= 0`` of a batch.
    """
    parent, _ = _check_reference_inputs(cell, trees_or_batch, x)
    n = len(parent)
    if isinstance(trees_or_batch, TreeBatch):
        batch = trees_or_batch
        has_word = ([t is not None for tree in batch.trees for t in tree.tokens] if batch.trees is not None
                    else (batch.word_ids >= 0).tolist())
    else:
        trees = [trees_or_batch] if isinstance(trees_or_batch, Tree) else list(trees_or_batch)
        has_word = [t is not None for tree in trees for t in tree.tokens]
    under: List[List[int]] = [[] for _ in range(n)]
    for word in range(n):
        if not has_word[word]:
            continue
        node = word
        while node >= 0:
            under[node].append(word)
            node = parent[node]
    h = []
    for node in range(n):
        s = torch.stack([x[w] for w in under[node]]).mean(0) if under[node] else x.new_zeros(cell.in_size)
        h.append(torch.tanh(_mv(cell.W.weight, s) + cell.W.bias))
    h_all = torch.stack(h)
    return h_all, torch.zeros_like(h_all)


def reference_forward(cell: nn.Module, trees_or_batch: Union[TreeBatch, Sequence[Tree], Tree],
                      x: Tensor) -> Tuple[Tensor, Tensor]:
    """Run ``cell``'s equations node by node, in post-order.

    Args:
        cell: a :class:`ChildSumTreeLSTM` (or :class:`SequentialLSTM`),
            :class:`NaryTreeLSTM`, :class:`SLSTM` or :class:`SpanMean`; only
            its parameters and options are used, never its forward.
        trees_or_batch: a :class:`TreeBatch`, a :class:`Tree` or a list of trees
            (numbered as :meth:`TreeBatch.from_trees` numbers them).
        x: ``[num_nodes, in_size]`` node inputs.

    Returns:
        ``(h, c)``, each ``[num_nodes, hidden_size]``, in node order.

    Raises:
        ValueError: if the cell has active dropout (the reference is eval-only),
            or ``x`` has the wrong shape.
    """
    if isinstance(cell, SpanMean):
        return reference_span_mean(cell, trees_or_batch, x)
    parent, child_pos = _check_reference_inputs(cell, trees_or_batch, x)
    n = len(parent)
    order, kids = _postorder(parent, child_pos)
    g = gate_matrices(cell)
    output_gate = getattr(cell, "output_gate", True)
    h: List[Optional[Tensor]] = [None] * n
    c: List[Optional[Tensor]] = [None] * n
    for node in order:
        children = kids[node]
        x_j = x[node]
        if cell.leaf_input_only and children:
            x_j = torch.zeros_like(x_j)
        if isinstance(cell, SLSTM):
            h[node], c[node] = slstm_node(g, x_j, {l: (h[k], c[k]) for l, k in children.items()})
        elif isinstance(cell, NaryTreeLSTM):
            h[node], c[node] = nary_node(g, x_j, {l: (h[k], c[k]) for l, k in children.items()},
                                         cell.n_ary, output_gate, cell.leaf)
        else:
            states = [(h[children[l]], c[children[l]]) for l in sorted(children)]
            h[node], c[node] = child_sum_node(g, x_j, states, output_gate)
    return torch.stack(h), torch.stack(c)  # type: ignore[arg-type]


class RecursiveTreeLSTM(nn.Module):
    """A per-node Tree-LSTM: the unbatched baseline, sharing a batched cell's weights.

    ``RecursiveTreeLSTM(cell)(trees, x)`` gives the same ``(h, c)`` as
    ``cell(TreeBatch.from_trees(trees), x)``, computed one node at a time by
    :func:`reference_forward`. It holds ``cell`` as a submodule, so
    ``parameters()`` and ``.to()`` work as usual. No dropout.
    """

    def __init__(self, cell: nn.Module) -> None:
        super().__init__()
        gate_matrices(cell)  # fails early for an unknown cell
        self.cell = cell

    @property
    def hidden_size(self) -> int:
        return self.cell.hidden_size

    def forward(self, trees_or_batch, x: Tensor) -> Tuple[Tensor, Tensor]:
        return reference_forward(self.cell, trees_or_batch, x)
