"""Shared helpers for the cell tests: random trees and reference comparisons."""
from __future__ import annotations

from typing import List, Optional

import torch
from hypothesis import strategies as st

from treenets import Tree, TreeBatch
from treenets.testing.reference import reference_forward

DTYPE = torch.float64


@st.composite
def random_trees(draw, max_nodes: int = 9, max_children: Optional[int] = None, min_nodes: int = 1) -> Tree:
    """A random tree: random parent choices, then a random renumbering of the nodes.

    With ``max_children``, no node gets more children than that.
    """
    n = draw(st.integers(min_nodes, max_nodes))
    parents = [-1]
    n_kids = [0]
    for node in range(1, n):
        allowed = [p for p in range(node) if max_children is None or n_kids[p] < max_children]
        p = draw(st.sampled_from(allowed))
        parents.append(p)
        n_kids.append(0)
        n_kids[p] += 1
    perm = draw(st.permutations(range(n)))  # old id -> new id
    new_parents = [0] * n
    for old, p in enumerate(parents):
        new_parents[perm[old]] = -1 if p < 0 else perm[p]
    tokens = [f"w{i}" for i in range(n)]
    return Tree(new_parents, tokens)


def random_inputs(num_nodes: int, in_size: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(num_nodes, in_size, generator=gen, dtype=DTYPE)


def _grads(cell, fn, x, weights):
    cell.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    h, c = fn(x)
    loss = (h * weights[0]).sum() + (c * weights[1]).sum()
    loss.backward()
    # a parameter the graph never reached (U on a batch of leaves) has gradient zero
    grads = {name: torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
             for name, p in cell.named_parameters()}
    grads["x"] = x.grad.detach().clone()
    return h.detach(), c.detach(), grads


def assert_matches_reference(cell, trees_or_batch, x: torch.Tensor, batch: Optional[TreeBatch] = None,
                             atol: float = 1e-10) -> None:
    """Batched forward and gradients (w.r.t. ``x`` and every parameter) equal the reference."""
    if batch is None:
        batch = trees_or_batch if isinstance(trees_or_batch, TreeBatch) else TreeBatch.from_trees(trees_or_batch)
    gen = torch.Generator().manual_seed(1)
    weights = [torch.randn(batch.num_nodes, cell.hidden_size, generator=gen, dtype=x.dtype) for _ in range(2)]
    h_b, c_b, g_b = _grads(cell, lambda xx: cell(batch, xx), x, weights)
    h_r, c_r, g_r = _grads(cell, lambda xx: reference_forward(cell, trees_or_batch, xx), x, weights)
    torch.testing.assert_close(h_b, h_r, atol=atol, rtol=0)
    torch.testing.assert_close(c_b, c_r, atol=atol, rtol=0)
    assert g_b.keys() == g_r.keys()
    for name in g_b:
        torch.testing.assert_close(g_b[name], g_r[name], atol=atol, rtol=0, msg=lambda m: f"grad of {name}: {m}")
    # the gradients are not trivially zero
    assert any(g.abs().sum() > 0 for g in g_b.values())


def gradcheck_cell(cell, batch: TreeBatch, x: torch.Tensor) -> None:
    """``torch.autograd.gradcheck`` with respect to ``x`` and every parameter."""
    names = [name for name, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in cell.named_parameters()]

    def fn(xx, *ps):
        h, c = torch.func.functional_call(cell, dict(zip(names, ps)), (batch, xx))
        return h, c

    assert torch.autograd.gradcheck(fn, (x.detach().clone().requires_grad_(True), *params), eps=1e-6, atol=1e-6)


def per_tree_rows(trees: List[Tree]) -> List[slice]:
    out, start = [], 0
    for tree in trees:
        out.append(slice(start, start + len(tree)))
        start += len(tree)
    return out


def assert_batch_equals_single(cell, trees: List[Tree], in_size: int) -> None:
    """A batch of trees gives each tree the states it gets alone."""
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, in_size, seed=3)
    h, c = cell(batch, x)
    for tree, rows in zip(trees, per_tree_rows(trees)):
        h1, c1 = cell(TreeBatch.from_trees([tree]), x[rows])
        torch.testing.assert_close(h[rows], h1, atol=1e-12, rtol=0)
        torch.testing.assert_close(c[rows], c1, atol=1e-12, rtol=0)
