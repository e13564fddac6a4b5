"""What every tree cell shares: the call signature and input handling."""
from __future__ import annotations

import inspect
from typing import Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from ..structures.batch import TreeBatch
from ..structures.propagation import as_tree_batch, propagate
from .engine import drop_engine_cache, level_step_for, resolve_engine
from .fused import propagate_fused
from .inputs import WordInputs

Tensor = torch.Tensor


class TreeCell(nn.Module):
    """Base class: ``cell(batch, x) -> (h, c)``.

    Subclasses define ``self.W`` (the fused input projection, applied once to
    every node before propagation), ``level_step`` and ``leaf_step``. Zero states for missing
    children are made inside; callers never allocate states.

    Args:
        in_size: size of each node's input ``x``.
        hidden_size: size of ``h`` and ``c``.
        leaf_input_only: zero the input of every node that has children (the
            paper's constituency setting: words enter at the leaves).
        dropout: dropout on the inputs ``x``.
    """

    def __init__(self, in_size: int, hidden_size: int, *, leaf_input_only: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        if in_size <= 0 or hidden_size <= 0:
            raise ValueError(f"in_size and hidden_size must be positive, got {in_size} and {hidden_size}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.in_size = in_size
        self.hidden_size = hidden_size
        self.leaf_input_only = leaf_input_only
        self.dropout = nn.Dropout(dropout)

    @property
    def leaf_size(self) -> int:
        """How many leading columns of ``W x`` ``leaf_step`` reads (all of them unless a cell says less)."""
        return self.W.out_features

    def check(self, batch: TreeBatch) -> None:
        """Hook for cells with structural limits (N-ary, S-LSTM)."""

    def check_inputs(self, batch: TreeBatch, x) -> None:
        """``x`` is ``[num_nodes, in_size]`` (a tensor or :class:`WordInputs`) and the batch suits the cell
        (:meth:`check`)."""
        if isinstance(x, WordInputs):
            x.check(batch.num_nodes, self.in_size)
        elif x.dim() != 2 or x.shape[0] != batch.num_nodes or x.shape[1] != self.in_size:
            raise ValueError(f"x has shape {tuple(x.shape)}, expected [num_nodes={batch.num_nodes}, "
                             f"in_size={self.in_size}]")
        self.check(batch)

    def forward(self, batch, x, engine: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        """Run the cell leaves-up over every tree of ``batch``.

        Args:
            batch: a :class:`~treenets.TreeBatch` or a ``dgl.DGLGraph``.
            x: ``[num_nodes, in_size]`` node inputs (zeros where a node has no word), or the same as
                :class:`~treenets.cells.inputs.WordInputs` (one row per distinct word, projected once).
            engine: how the level step runs: ``"eager"``, ``"fused"``, ``"compiled"``,
                ``"cuda_graphs"`` or ``"auto"`` (``None``: the engine in force,
                :func:`treenets.cells.engine.get_engine`); see :mod:`treenets.cells.engine`.

        Returns:
            ``(h, c)``: each ``[num_nodes, hidden_size]``.
        """
        batch = as_tree_batch(batch)
        self.check_inputs(batch, x)
        if isinstance(x, WordInputs) and self.training and self.dropout.p > 0:
            x = x.dense()  # dropout draws its mask per node, not per word
        name = resolve_engine(engine, x.device, batch.num_nodes, self)
        # Every node's input is projected once, before the loop: leaves by the
        # first leaf_size rows of W (the gates a leaf uses), the others by all of W.
        leaf_size = self.leaf_size
        leaf_weight = self.W.weight if leaf_size == self.W.out_features else self.W.weight[:leaf_size]
        leaf_bias = self.W.bias if leaf_size == self.W.out_features else self.W.bias[:leaf_size]
        n_inner = batch.internal_order.numel()
        leaf_words = None  # with WordInputs: each leaf's row of wx_leaf (one row per distinct word)
        if isinstance(x, WordInputs):
            leaf_words = x.index.index_select(0, batch.leaf_order)
            if bool((leaf_words < 0).any()):  # a leaf without a word (a cell called directly): its input is zero
                wx_leaf, leaf_words = x.rows(batch.leaf_order, F.linear(x.vectors, leaf_weight, leaf_bias),
                                             leaf_bias), None
            else:
                wx_leaf = F.linear(x.vectors, leaf_weight, leaf_bias)  # [V, leaf_size]
        else:
            x = self.dropout(x)
            wx_leaf = F.linear(x.index_select(0, batch.leaf_order), leaf_weight, leaf_bias)  # [n_leaves, leaf_size]
        if self.leaf_input_only or (isinstance(x, WordInputs) and not bool(
                (x.index.index_select(0, batch.internal_order) >= 0).any())):
            # words only at the leaves (or no node with children holds one, as in constituency trees): nodes
            # with children get the bias alone ([1, G] to the fused engine, which broadcasts it)
            wx_inner = self.W.bias.unsqueeze(0) if name == "fused" else self.W.bias.expand(n_inner, -1)
        elif isinstance(x, WordInputs):  # [n_internal, G]: W x + b once per word, the bias alone without one
            wx_inner = x.rows(batch.internal_order, self.W(x.vectors), self.W.bias)
        else:
            wx_inner = self.W(x.index_select(0, batch.internal_order))  # [n_internal, G]
        if name == "fused":  # the leaf step too runs inside (the kernel's leaf)
            return propagate_fused(self.fused_kernel(), batch, wx_leaf, wx_inner, self.fused_weights(),
                                   leaf_index=leaf_words)
        if leaf_words is not None:
            wx_leaf = wx_leaf.index_select(0, leaf_words)  # [n_leaves, leaf_size]
        return propagate(batch, wx_leaf, wx_inner, level_step_for(self, name), self.leaf_step, self.hidden_size)

    def __getstate__(self):
        # compiled level steps and CUDA graphs belong to this object: not copied, not pickled
        return drop_engine_cache(super().__getstate__())

    def level_step(self, wx, h_child, c_child, slot, pos):  # pragma: no cover - abstract
        """States of nodes with children; see :mod:`treenets.structures.propagation`."""
        raise NotImplementedError

    def leaf_step(self, wx):  # pragma: no cover - abstract
        """States of leaves: ``level_step`` with every child missing."""
        raise NotImplementedError

    @property
    def has_fused_kernel(self) -> bool:
        """Whether the cell runs on the fused engine (it overrides :meth:`fused_kernel`)."""
        return type(self).fused_kernel is not TreeCell.fused_kernel

    def fused_kernel(self):
        """A fresh kernel of the fused engine (:mod:`treenets.cells.fused`): the level step and its
        hand-derived backward. Cells without one (the default) run on the other engines."""
        raise NotImplementedError(f"{type(self).__name__} has no fused kernel")

    def fused_weights(self) -> tuple:
        """The parameters the fused kernel reads, in the kernel's order."""
        return ()

    def extra_repr(self) -> str:
        opts = [f"{self.in_size}, {self.hidden_size}"]
        # shown when it differs from the subclass's default (S-LSTM defaults to True)
        param = inspect.signature(type(self).__init__).parameters.get("leaf_input_only")
        default = False if param is None else param.default
        if self.leaf_input_only != default:
            opts.append(f"leaf_input_only={self.leaf_input_only}")
        return ", ".join(opts)


def children_by_position(h_child: Tensor, slot: Tensor, pos: Tensor, n: int, arity: int) -> Tensor:
    """Lay children out by position: ``[n, arity, H]``, zeros where a child is missing."""
    hidden = h_child.shape[1]
    flat = slot * arity + pos  # [m] row of each child in the [n * arity] layout
    out = h_child.new_zeros(n * arity, hidden).index_copy(0, flat, h_child)
    return out.view(n, arity, hidden)


def sum_children(values: Tensor, slot: Tensor, n: int) -> Tensor:
    """``[n, H]``: the sum of ``values`` (``[m, H]``) over each parent's children."""
    return values.new_zeros(n, values.shape[1]).index_add(0, slot, values)
