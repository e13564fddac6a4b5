"""The engines that run a cell's level step (treenets.cells.engine): selection, fused, padding, compiled,
CUDA Graphs.

Every cell through the fused engine (the cells that have a kernel) and the
compiled engine against the float64 oracle is in test_cells.py (the compiled
half marked slow: one compilation per cell configuration); here one cell is
compiled in the default run.
"""
from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

from _cellcheck import assert_matches_reference, random_inputs
from test_cells import CASES, HAND_TREES, IN, fitting_trees
from treenets import SLSTM, ChildSumTreeLSTM, NaryTreeLSTM, SequentialLSTM, SpanMean, Tree, TreeBatch
from treenets.cells import base as cell_base
from treenets.cells import engine as eng
from treenets.cells import fused as eng_fused

CPU = torch.device("cpu")
NO_COMPILE = eng.compile_unavailable_reason(CPU)
needs_compile = pytest.mark.skipif(NO_COMPILE is not None, reason=f"compiled engine unavailable: {NO_COMPILE}")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="CUDA Graphs need a CUDA device; none here (torch.cuda.is_available() is False)")


@pytest.fixture(autouse=True)
def clean_engine_setting(monkeypatch):
    monkeypatch.delenv(eng.ENV_VAR, raising=False)
    eng.set_engine(None)
    yield
    eng.set_engine(None)


# ---------------------------------------------------------------- selection
def test_default_is_auto_and_auto_is_fused_on_the_cpu_where_a_cell_has_a_kernel():
    assert eng.get_engine() == "auto"
    for cell in (NaryTreeLSTM(2, 3), ChildSumTreeLSTM(2, 3), SequentialLSTM(2, 3)):
        assert cell.has_fused_kernel
        assert eng.resolve_engine(None, CPU, 10 ** 6, cell) == "fused"
        assert eng.resolve_engine("auto", CPU, 10, cell) == "fused"
    for cell in (SLSTM(2, 3), SpanMean(2, 3), None):
        assert eng.resolve_engine("auto", CPU, 10, cell) == "eager"


def test_auto_runs_the_fused_engine(monkeypatch):
    """A cell called without an engine runs the fused one on the CPU (seen through the kernel's loop)."""
    calls = []
    real = eng_fused.propagate_fused
    monkeypatch.setattr(cell_base, "propagate_fused", lambda *a, **k: calls.append(1) or real(*a, **k))
    batch = TreeBatch.from_trees([HAND_TREES[5]])
    NaryTreeLSTM(IN, 4)(batch, random_inputs(batch.num_nodes, IN).float())
    assert calls == [1]
    SLSTM(IN, 4)(batch, random_inputs(batch.num_nodes, IN).float())
    assert calls == [1]  # no kernel: eager


def test_fused_without_a_kernel_says_which_cells_have_one():
    batch = TreeBatch.from_trees([HAND_TREES[5]])
    for cell in (SLSTM(IN, 4), SpanMean(IN, 4)):
        with pytest.raises(RuntimeError, match=rf"engine='fused' cannot run here: {type(cell).__name__} has no "
                                               rf"fused kernel \(NaryTreeLSTM, ChildSumTreeLSTM"):
            cell(batch, random_inputs(batch.num_nodes, IN).float(), engine="fused")


@pytest.mark.parametrize("case", [c for c in CASES if c.make().has_fused_kernel], ids=lambda c: c.id)
@pytest.mark.parametrize("use", ["h", "c", "both"])
def test_fused_gradients_when_only_h_or_only_c_is_used(case, use):
    """An output without a gradient (c under a loss on h) counts as zeros, as in the eager engine."""
    batch = TreeBatch.from_trees(fitting_trees(case))
    x = random_inputs(batch.num_nodes, IN)
    grads = {}
    for engine in ("eager", "fused"):
        cell = case.make()
        xe = x.clone().requires_grad_()
        h, c = cell(batch, xe, engine=engine)
        loss = {"h": h.square().sum(), "c": c.sin().sum(), "both": h.square().sum() + c.sin().sum()}[use]
        loss.backward()
        grads[engine] = [xe.grad] + [torch.zeros_like(p) if p.grad is None else p.grad for p in cell.parameters()]
    for g_eager, g_fused in zip(grads["eager"], grads["fused"]):
        torch.testing.assert_close(g_fused, g_eager, rtol=1e-10, atol=1e-12)


def test_fused_gradient_can_be_taken_twice_on_one_graph_but_not_differentiated_again():
    torch.manual_seed(0)
    cell = NaryTreeLSTM(IN, 4).double()
    batch = TreeBatch.from_trees(HAND_TREES[3:7])
    x = random_inputs(batch.num_nodes, IN).requires_grad_(True)
    h, c = cell(batch, x, engine="fused")
    loss = (h ** 2).sum() + c.sum()
    g1 = torch.autograd.grad(loss, x, retain_graph=True)[0]
    g2 = torch.autograd.grad(loss, x, retain_graph=True)[0]
    assert torch.equal(g1, g2) and g1.abs().sum() > 0
    g, = torch.autograd.grad(loss, x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|differentiate twice"):
        g.sum().backward()
    h_e, c_e = cell(batch, x, engine="eager")  # the eager engine takes second derivatives
    g_e, = torch.autograd.grad((h_e ** 2).sum() + c_e.sum(), x, create_graph=True)
    g_e.sum().backward()
    torch.testing.assert_close(g_e.detach(), g1, atol=1e-12, rtol=0)


@pytest.mark.parametrize("make", [lambda: NaryTreeLSTM(IN, 4, leaf_input_only=True),
                                  lambda: ChildSumTreeLSTM(IN, 4, leaf_input_only=True)])
def test_fused_with_the_bias_alone_at_inner_nodes(make):
    """leaf_input_only: one shared row of W x for every inner node (broadcast, its gradient summed)."""
    torch.manual_seed(1)
    cell = make().double()
    trees = [t for t in HAND_TREES if max(map(len, t.children), default=0) <= 2]
    assert_matches_reference(cell, trees, random_inputs(sum(map(len, trees)), IN))
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, IN)
    grads = []
    for name in ("eager", "fused"):
        cell.zero_grad()
        h, c = cell(batch, x, engine=name)
        (h.sum() + (c ** 2).sum()).backward()
        grads.append(cell.W.bias.grad.clone())
    torch.testing.assert_close(grads[1], grads[0], atol=1e-12, rtol=0)


def test_fused_on_a_batch_of_leaves_and_without_gradients():
    cell = ChildSumTreeLSTM(IN, 4).double()
    batch = TreeBatch.from_trees([Tree([-1], ["a"]), Tree([-1], ["b"])])  # no level with children
    x = random_inputs(2, IN).requires_grad_(True)
    h, c = cell(batch, x, engine="fused")
    (h.sum() + c.sum()).backward()
    h_e, c_e = cell(batch, x.detach(), engine="eager")
    torch.testing.assert_close(h.detach(), h_e, atol=0, rtol=0)
    assert x.grad.abs().sum() > 0
    with torch.no_grad():  # no graph: the kernel's loop runs without saving for a backward pass
        h_n, _ = cell(TreeBatch.from_trees(HAND_TREES[:6]), random_inputs(sum(map(len, HAND_TREES[:6])), IN),
                      engine="fused")
    assert not h_n.requires_grad


def test_setting_order_call_then_scope_then_process_then_environment(monkeypatch):
    monkeypatch.setenv(eng.ENV_VAR, "eager")
    assert eng.get_engine() == "eager"
    eng.set_engine("auto")
    assert eng.get_engine() == "auto"
    with eng.use_engine("eager"):
        assert eng.get_engine() == "eager"
        assert eng.resolve_engine("auto", CPU, 5, NaryTreeLSTM(2, 3)) == "fused"  # the call's argument wins
    assert eng.get_engine() == "auto"
    eng.set_engine(None)
    assert eng.get_engine() == "eager"


@pytest.mark.parametrize("where", ["env", "set", "scope", "call"])
def test_unknown_engine_names_where(monkeypatch, where):
    with pytest.raises(ValueError, match=r"unknown engine 'fast'.*choose from auto, eager, fused, compiled, cuda_graphs"):
        if where == "env":
            monkeypatch.setenv(eng.ENV_VAR, "fast")
            eng.get_engine()
        elif where == "set":
            eng.set_engine("fast")
        elif where == "scope":
            with eng.use_engine("fast"):
                pass
        else:
            cell = CASES[0].make()
            batch = TreeBatch.from_trees([HAND_TREES[1]])
            cell(batch, random_inputs(3, IN), engine="fast")


def test_cuda_graphs_on_the_cpu_say_why():
    cell = CASES[0].make()
    batch = TreeBatch.from_trees([HAND_TREES[1]])
    with pytest.raises(RuntimeError, match=r"cuda_graphs.*CUDA device.*cpu"):
        cell(batch, random_inputs(3, IN), engine="cuda_graphs")


def test_unsupported_torch_falls_back_under_auto_and_raises_when_asked(monkeypatch):
    monkeypatch.setattr(eng, "_torch_version", lambda: (2, 2))
    reason = eng.compile_unavailable_reason(CPU)
    assert reason is not None and "older than" in reason
    assert eng.resolve_engine("auto", CPU, 10 ** 6, SLSTM(2, 3)) == "eager"
    with pytest.raises(RuntimeError, match="engine='compiled' cannot run here: torch .* older than"):
        eng.resolve_engine("compiled", CPU, 10)


def test_missing_compiler_is_a_reason(monkeypatch):
    monkeypatch.setattr(eng, "_torch_version", lambda: (2, 13))  # past the torch check, on any torch
    monkeypatch.setattr(eng.shutil, "which", lambda name: None)
    assert "C++ compiler" in eng.compile_unavailable_reason(CPU)


def test_auto_on_cuda_follows_the_batch_size(monkeypatch):
    cuda = torch.device("cuda")
    monkeypatch.setattr(eng, "cuda_graphs_unavailable_reason", lambda device: None)
    assert eng.resolve_engine("auto", cuda, eng.AUTO_MIN_NODES - 1) == "eager"
    assert eng.resolve_engine("auto", cuda, eng.AUTO_MIN_NODES) == "cuda_graphs"


# ------------------------------------------------------------------ padding
@pytest.mark.parametrize("rows, expected", [(0, 8), (1, 8), (8, 8), (9, 16), (100, 128)])
def test_bucket(rows, expected):
    assert eng.bucket(rows) == expected


def test_padding_children_needs_a_padded_parent():
    wx, h = torch.zeros(2, 4), torch.zeros(3, 2)
    with pytest.raises(ValueError, match="needs a padded parent row"):
        eng.pad_level(wx, h, h, torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), 2, 4)


@pytest.mark.parametrize("sizes", [eng._compile_sizes, eng._cuda_graph_sizes], ids=["compile", "cuda_graph"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_padded_level_step_equals_the_step(case, sizes):
    """The padding that the compiled and the CUDA Graphs engines use changes no real node (run eagerly here)."""
    cell = case.make()
    trees = fitting_trees(case)
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, IN)
    calls = []
    original = cell.level_step

    def step(*args):
        calls.append(args[0].shape[0])
        return original(*args)
    h, c = cell(batch, x, engine="eager")
    cell.level_step = eng.padded(step, sizes)  # an instance attribute: what the eager engine calls
    h_pad, c_pad = cell(batch, x, engine="eager")
    torch.testing.assert_close(h_pad, h, atol=1e-12, rtol=0)
    torch.testing.assert_close(c_pad, c, atol=1e-12, rtol=0)
    assert min(calls) >= 2  # no level of one row reaches the step


# ----------------------------------------------------------------- compiled
@needs_compile
def test_compiled_engine_matches_the_oracle_and_eager():
    """One cell compiled in the default run (every cell: test_cells.py, slow)."""
    case = next(c for c in CASES if c.id == "nary2")
    cell = case.make()
    trees = fitting_trees(case)
    with eng.use_engine("compiled"):
        assert_matches_reference(cell, trees, random_inputs(sum(map(len, trees)), IN))
    # a second object of the same configuration reuses the compilation; copies and pickles leave it behind
    other = case.make(seed=3)
    batch = TreeBatch.from_trees(trees)
    x = random_inputs(batch.num_nodes, IN)
    with torch.no_grad():
        torch.testing.assert_close(other(batch, x, engine="compiled"), other(batch, x, engine="eager"),
                                   atol=1e-12, rtol=0)
    # backward twice through one graph (retain_graph): no donated buffers in the compiled backward
    xx = x.clone().requires_grad_(True)
    h, _ = other(batch, xx, engine="compiled")
    h.sum().backward(retain_graph=True)
    h.sum().backward()
    assert eng._CACHE_ATTR in other.__dict__
    clone = copy.deepcopy(other)
    assert eng._CACHE_ATTR not in clone.__dict__
    buffer = io.BytesIO()
    torch.save(other.state_dict(), buffer)
    assert eng._CACHE_ATTR not in pickle.loads(pickle.dumps(other)).__dict__


@needs_compile
@pytest.mark.slow
def test_compiled_span_mean_matches_eager():
    trees = [Tree.from_brackets("(3 (2 (2 a) (1 b)) (4 c))"), Tree.chain(list("xyz")), Tree([-1], ["s"])]
    batch = TreeBatch.from_trees(trees)
    torch.manual_seed(0)
    cell = SpanMean(IN, 4).double()
    x = random_inputs(batch.num_nodes, IN)
    torch.testing.assert_close(cell(batch, x, engine="compiled"), cell(batch, x, engine="eager"), atol=1e-12, rtol=0)


# -------------------------------------------------------------- CUDA Graphs
@needs_cuda
@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("child_sum", "nary2", "slstm")], ids=lambda c: c.id)
def test_cuda_graphs_match_eager_values_and_gradients(case):
    cuda = torch.device("cuda")
    trees = fitting_trees(case) * 3
    batch = TreeBatch.from_trees(trees).to(cuda)
    x = random_inputs(batch.num_nodes, IN).to(cuda)
    cell = case.make().to(cuda)
    results = {}
    for engine in ("eager", "cuda_graphs", "cuda_graphs"):  # the second graphed call replays
        cell.zero_grad(set_to_none=True)
        xx = x.clone().requires_grad_(True)
        h, c = cell(batch, xx, engine=engine)
        (h.sum() + (c * c).sum()).backward()
        results.setdefault(engine, []).append((h.detach(), c.detach(), xx.grad, [p.grad for p in cell.parameters()]))
    ref = results["eager"][0]
    for got in results["cuda_graphs"]:
        for a, b in zip(got[:3], ref[:3]):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
        for a, b in zip(got[3], ref[3]):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    with torch.no_grad():
        cell.eval()
        torch.testing.assert_close(cell(batch, x, engine="cuda_graphs"), cell(batch, x, engine="eager"),
                                   atol=1e-10, rtol=0)


@needs_cuda
def test_cuda_graphs_are_one_per_bucket():
    cuda = torch.device("cuda")
    cell = NaryTreeLSTM(IN, 4).double().to(cuda)
    trees = [Tree.chain([f"w{i}" for i in range(n)]) for n in (3, 5, 7)]  # every level: one node
    batch = TreeBatch.from_trees(trees).to(cuda)
    with torch.no_grad():
        cell(batch, random_inputs(batch.num_nodes, IN).to(cuda), engine="cuda_graphs")
    graphs = cell.__dict__[eng._CACHE_ATTR]["cuda_graphs"].inner.graphs
    assert len(graphs) == 1  # levels of 1 node and 1 child: all in the smallest bucket
    assert {key[:2] for key in graphs} == {(eng.MIN_BUCKET, eng.MIN_BUCKET)}
