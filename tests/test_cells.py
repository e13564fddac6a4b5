"""Checks every tree cell must pass, run over one table of cells (as pytorch-struct's tests do).

Each row of ``CASES`` is a cell configuration and the structure it accepts (the
most children a node may have). Every check below runs for every row: values
and gradients against the per-node oracle (:mod:`treenets.testing.reference`)
in float64 on hand-built and hypothesis-drawn trees, gradcheck, a batch equal
to its trees one by one, dtypes and devices, dropout, options, and errors.

What is truly specific to one cell stays in its own file: ``test_child_sum.py``
(order invariance, the chain as LSTM steps), ``test_nary.py`` (child order by
``child_pos``, the paper code's leaf), ``test_slstm.py`` (left and right, the
leaf and internal equations by hand), ``test_sequential.py`` (equal to
``torch.nn.LSTM``).
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Optional

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _cellcheck import (DTYPE, assert_batch_equals_single, assert_matches_reference, gradcheck_cell,
                        random_inputs, random_trees)
from treenets import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, SequentialLSTM, Tree, TreeBatch
from treenets.cells.engine import compile_unavailable_reason, use_engine
from treenets.testing.reference import RecursiveTreeLSTM, reference_forward

IN, H = 3, 4


@dataclass(frozen=True)
class CellCase:
    """A cell configuration and the trees it takes."""

    id: str
    cls: type
    opts: dict = field(default_factory=dict)
    max_children: Optional[int] = None  # None: any number of children

    def make(self, dtype=DTYPE, seed: int = 0, **extra):
        torch.manual_seed(seed)
        return self.cls(IN, H, **{**self.opts, **extra}).to(dtype)

    def fits(self, tree: Tree) -> bool:
        return self.max_children is None or max(map(len, tree.children), default=0) <= self.max_children

    @property
    def leaf_input_only(self) -> bool:
        return self.opts.get("leaf_input_only", self.cls is SLSTM)

    @property
    def output_gate(self) -> bool:
        return self.opts.get("output_gate", True)


CASES = [
    CellCase("child_sum", ChildSumTreeLSTM),
    CellCase("child_sum_no_output_gate", ChildSumTreeLSTM, {"output_gate": False}),
    CellCase("child_sum_leaf_input_only", ChildSumTreeLSTM, {"leaf_input_only": True}),
    CellCase("child_sum_no_output_gate_leaf_input_only", ChildSumTreeLSTM,
             {"output_gate": False, "leaf_input_only": True}),
    CellCase("nary1", NaryTreeLSTM, {"n_ary": 1}, 1),
    CellCase("nary2", NaryTreeLSTM, {"n_ary": 2}, 2),
    CellCase("nary2_no_output_gate", NaryTreeLSTM, {"n_ary": 2, "output_gate": False}, 2),
    CellCase("nary2_leaf_input_only", NaryTreeLSTM, {"n_ary": 2, "leaf_input_only": True}, 2),
    CellCase("nary2_no_output_gate_leaf_input_only", NaryTreeLSTM,
             {"n_ary": 2, "output_gate": False, "leaf_input_only": True}, 2),
    CellCase("nary2_linear_leaf_input_only", NaryTreeLSTM, {"n_ary": 2, "leaf": "linear", "leaf_input_only": True}, 2),
    CellCase("nary2_linear_no_output_gate", NaryTreeLSTM, {"n_ary": 2, "leaf": "linear", "output_gate": False}, 2),
    CellCase("nary3", NaryTreeLSTM, {"n_ary": 3}, 3),
    CellCase("nary3_no_output_gate", NaryTreeLSTM, {"n_ary": 3, "output_gate": False}, 3),
    CellCase("nary3_linear_leaf_input_only", NaryTreeLSTM, {"n_ary": 3, "leaf": "linear", "leaf_input_only": True}, 3),
    CellCase("slstm", SLSTM, {}, 2),
    CellCase("slstm_all_inputs", SLSTM, {"leaf_input_only": False}, 2),
    CellCase("sequential", SequentialLSTM, {}, 1),
    CellCase("sequential_no_output_gate", SequentialLSTM, {"output_gate": False}, 1),
]
by_case = pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)

# The oracle checks run every cell through every engine (treenets.cells.engine): eager; fused,
# for the cells that have a fused kernel (a hand-derived backward: treenets.cells.fused); compiled.
# The compiled engine compiles once per cell configuration (tens of seconds each on a 2-core CPU,
# then cached by inductor): its full matrix is slow; test_engine.py runs one cell compiled in the
# default run.
_NO_COMPILE = compile_unavailable_reason(torch.device("cpu"))
_COMPILED_MARKS = [pytest.mark.slow, pytest.mark.skipif(_NO_COMPILE is not None,
                                                        reason=f"compiled engine unavailable: {_NO_COMPILE}")]


def _has_fused(case) -> bool:
    return case.make().has_fused_kernel


ENGINE_CASES = ([pytest.param(c, "eager", id=f"{c.id}-eager") for c in CASES]
                + [pytest.param(c, "fused", id=f"{c.id}-fused") for c in CASES if _has_fused(c)]
                + [pytest.param(c, "compiled", id=f"{c.id}-compiled", marks=_COMPILED_MARKS) for c in CASES])
by_case_and_engine = pytest.mark.parametrize("case, engine", ENGINE_CASES)

HAND_TREES = [
    Tree([-1], ["solo"]),
    Tree.chain(["x", "y", "z"]),
    Tree.from_parents(["a", "b", "c"], [2, 0, 2]),
    Tree.from_brackets("(0 (1 l) (2 r))"),
    Tree.from_parents(["a", "b", "c", "d", "e"], [2, 0, 2, 3, 3]),
    Tree.from_brackets("(3 (2 (2 a) (1 b)) (4 c))"),
    Tree.from_brackets("(1 (2 a) (3 (2 b) (4 c)))"),
    Tree.from_parents(["a", "b", "c", "d"], [2, 0, 2, 2]),  # three children
    Tree.from_parents(["a", "b", "c", "d", "e", "f"], [2, 0, 2, 2, 3, 5]),  # three children, deeper
]


def fitting_trees(case):
    return [t for t in HAND_TREES if case.fits(t)]


def wide_tree(children: int) -> Tree:
    """A root (node 1) with ``children`` leaves, one of which has a child of its own."""
    n = children + 2
    parents = [1, -1] + [1] * (children - 1) + [2]
    return Tree(parents, [f"w{k}" for k in range(n)])


# ------------------------------------------------------------- the oracle
@pytest.mark.parametrize("case, tree, engine", [
    pytest.param(p.values[0], t, p.values[1], id=f"{p.id}-{t}", marks=p.marks)
    for p in ENGINE_CASES for t in fitting_trees(p.values[0])])
def test_hand_tree_matches_reference(case, tree, engine):
    with use_engine(engine):
        assert_matches_reference(case.make(), [tree], random_inputs(len(tree), IN))


@by_case_and_engine
def test_batch_of_hand_trees_matches_reference(case, engine):
    with use_engine(engine):
        trees = fitting_trees(case)
        assert len(trees) >= 2
        assert_matches_reference(case.make(), trees, random_inputs(sum(map(len, trees)), IN))


@by_case_and_engine
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_random_trees_match_reference(case, data, engine):
    with use_engine(engine):
        trees = data.draw(st.lists(random_trees(max_nodes=9, max_children=case.max_children), min_size=1,
                                   max_size=3))
        x = random_inputs(sum(map(len, trees)), IN, seed=len(trees))
        assert_matches_reference(case.make(), trees, x)


@by_case_and_engine
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_random_child_positions_match_reference(case, data, engine):
    """Sibling positions with gaps (missing children count as zeros), given by child_pos, not node ids."""
    with use_engine(engine):
        tree = data.draw(random_trees(max_nodes=9, max_children=case.max_children))
        slots = case.max_children or len(tree)
        pos = [-1] * len(tree)
        for kids in tree.children:
            for child, p in zip(kids, data.draw(st.permutations(range(slots)))[:len(kids)]):
                pos[child] = p
        batch = TreeBatch.from_parent_tensor(torch.tensor(tree.parents), child_pos=torch.tensor(pos))
        assert batch.child_pos.tolist() == pos
        assert_matches_reference(case.make(), batch, random_inputs(len(tree), IN))


@by_case_and_engine
def test_gradcheck(case, engine):
    with use_engine(engine):
        trees = [t for t in (HAND_TREES[1], HAND_TREES[5], HAND_TREES[7]) if case.fits(t)]
        batch = TreeBatch.from_trees(trees)
        gradcheck_cell(case.make(), batch, random_inputs(batch.num_nodes, IN))


@by_case
def test_batch_equals_each_tree_alone(case):
    assert_batch_equals_single(case.make(), fitting_trees(case), IN)


@by_case
def test_reference_handles_deep_trees_without_recursion(case):
    """A chain deeper than Python's recursion limit: the reference and the cell agree."""
    n = sys.getrecursionlimit() + 200
    tree = Tree.chain([f"w{i}" for i in range(n)])
    cell = case.make()
    x = random_inputs(n, IN)
    with torch.no_grad():
        h_ref, c_ref = reference_forward(cell, [tree], x)
        h, c = cell(TreeBatch.from_trees([tree]), x)
    torch.testing.assert_close(h, h_ref, atol=1e-10, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=1e-10, rtol=0)


@by_case
def test_recursive_baseline_module(case):
    cell = case.make()
    rec = RecursiveTreeLSTM(cell)
    assert rec.hidden_size == H
    assert set(dict(rec.named_parameters())) == {"cell." + k for k, _ in cell.named_parameters()}
    trees = fitting_trees(case)[1:4]
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, IN)
    torch.testing.assert_close(rec(trees, x)[0], cell(batch, x)[0])
    torch.testing.assert_close(rec(batch, x)[0], cell(batch, x)[0])


# ----------------------------------------------------------- dtype, device
@by_case
def test_float32_follows_float64(case):
    trees = fitting_trees(case)
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, IN)
    h64, c64 = case.make(torch.float64)(batch, x)
    h32, c32 = case.make(torch.float32)(batch, x.float())
    assert h32.dtype == c32.dtype == torch.float32 and h64.dtype == torch.float64
    torch.testing.assert_close(h32, h64.float(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c32, c64.float(), atol=1e-5, rtol=1e-5)


DEVICES = [pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))]


@by_case
@pytest.mark.parametrize("device", DEVICES)
def test_device_matches_cpu(case, device):
    trees = fitting_trees(case)
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, IN)
    cell = case.make()
    h, c = cell(batch, x)
    h_dev, c_dev = cell.to(device)(batch.to(device), x.to(device))
    assert h_dev.device.type == device
    torch.testing.assert_close(h_dev.cpu(), h, atol=1e-10, rtol=0)
    torch.testing.assert_close(c_dev.cpu(), c, atol=1e-10, rtol=0)


@by_case
def test_inputs_on_another_device_than_the_batch(case):
    """A batch left on the CPU with inputs elsewhere ("meta" here, CUDA in practice) names the fix."""
    cell = case.make().to("meta")
    batch = TreeBatch.from_trees([HAND_TREES[1]])
    with pytest.raises(ValueError, match=r"batch is on cpu.*batch\.to\(device\)"):
        cell(batch, torch.zeros(3, IN, dtype=DTYPE, device="meta"))


# ------------------------------------------------------------------ options
@by_case
def test_dropout_eval_matches_reference_and_train_differs(case):
    cell = case.make(dropout=0.5)
    trees = fitting_trees(case)
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, IN)
    with pytest.raises(ValueError, match="eval"):
        reference_forward(cell, trees, x)
    h_train, _ = cell(batch, x)
    cell.eval()
    h_eval, _ = cell(batch, x)
    assert not torch.allclose(h_train, h_eval)
    assert_matches_reference(cell, trees, x)


@by_case
def test_leaf_input_only(case):
    """With leaf_input_only, inputs of nodes with children are ignored; otherwise they count."""
    tree = HAND_TREES[6] if case.fits(HAND_TREES[6]) else HAND_TREES[1]
    batch = TreeBatch.from_trees([tree])
    inner = (~batch.is_leaf).nonzero().flatten()
    assert inner.numel() >= 2
    x = random_inputs(len(tree), IN)
    x2 = x.clone()
    x2[inner] += 3.0
    cell = case.make()
    (h, c), (h2, c2) = cell(batch, x), cell(batch, x2)
    if case.leaf_input_only:
        torch.testing.assert_close(h, h2, atol=0, rtol=0)
        torch.testing.assert_close(c, c2, atol=0, rtol=0)
    else:
        root = int(batch.roots[0])
        assert (h[root] - h2[root]).abs().max() > 1e-6


@by_case
def test_output_gate(case):
    """output_gate=False gives h = tanh(c); with the gate, h differs from tanh(c)."""
    tree = fitting_trees(case)[-1]
    h, c = case.make()(TreeBatch.from_trees([tree]), random_inputs(len(tree), IN))
    if case.output_gate:
        assert not torch.allclose(h, torch.tanh(c))
    else:
        torch.testing.assert_close(h, torch.tanh(c))


@by_case
def test_repr_and_reset_parameters(case):
    cell = case.make()
    text = repr(cell)
    assert text.startswith(case.cls.__name__ + "(") and f"{IN}, {H}" in text
    defaults = inspect.signature(case.cls).parameters
    for key, value in case.opts.items():
        if key == "n_ary" or value != defaults[key].default:  # options left at their default are not shown
            assert f"{key}={value!r}" in text, (key, text)
    before = [p.detach().clone() for p in cell.parameters()]
    cell.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, cell.parameters()))


# ------------------------------------------------------------------- errors
@by_case
def test_x_of_wrong_shape(case):
    cell = case.make()
    batch = TreeBatch.from_trees([HAND_TREES[1]])  # 3 nodes
    for shape in [(3, IN + 1), (2, IN), (4, IN), (3,), (3, IN, 1)]:
        with pytest.raises(ValueError, match=r"x has shape .*num_nodes=3"):
            cell(batch, torch.zeros(shape, dtype=DTYPE))


@by_case
def test_not_a_batch(case):
    with pytest.raises(TypeError, match="TreeBatch"):
        case.make()([Tree([-1], ["a"])], torch.zeros(1, IN, dtype=DTYPE))


@by_case
def test_bad_constructor_arguments(case):
    for args, kwargs in [((0, 4), {}), ((3, 0), {}), ((3, 4), {"dropout": 1.0}), ((3, 4), {"dropout": -0.1})]:
        with pytest.raises(ValueError):
            case.cls(*args, **{**case.opts, **kwargs})


@pytest.mark.parametrize("case", [c for c in CASES if c.max_children is not None], ids=lambda c: c.id)
def test_too_many_children_raise_naming_the_node(case):
    tree = wide_tree(case.max_children + 1)  # node 1 has one child too many
    cell = case.make()
    with pytest.raises(ValueError, match=rf"node 1 \(tree 0\).*more than {case.max_children} child"):
        cell(TreeBatch.from_trees([tree]), random_inputs(len(tree), IN))
    # in a batch: the offending node of the second tree, numbered in the batch
    batch = TreeBatch.from_trees([Tree.chain(["p", "q"]), tree])
    with pytest.raises(ValueError, match=r"node 3 \(tree 1\)"):
        cell(batch, random_inputs(batch.num_nodes, IN))


# ------------------------------------------------------------------- layout
def test_oracles_live_in_treenets_testing_not_the_main_namespace():
    code = ("import sys, treenets; "
            "print(sorted(m for m in sys.modules if m.startswith('treenets.testing') or m == 'treenets.reference'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert not hasattr(importlib.import_module("treenets"), "reference_forward")
    testing = importlib.import_module("treenets.testing")
    assert testing.reference_forward is reference_forward


def test_old_oracle_paths_are_gone():
    for name in ("treenets.reference", "treenets.structures.dgl_reference"):
        assert importlib.util.find_spec(name) is None, name
