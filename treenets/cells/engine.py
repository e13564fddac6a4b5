"""Which engine runs a cell's level step: eager, fused by hand, compiled by ``torch.compile``, or CUDA Graphs.

Every engine runs the same level loop (:func:`treenets.structures.propagation.propagate`)
and the same cell code (the cell's ``level_step``); they differ in how one
level's step is executed:

* ``"eager"``: plain PyTorch, one kernel per operation. Always available; the fallback.
* ``"fused"``: the whole level loop as one autograd function with a backward
  derived by hand from the cell's equations, one matrix product per level for
  all gates and one weight-gradient product for all levels
  (:mod:`treenets.cells.fused`). For the cells that have a fused kernel
  (``NaryTreeLSTM``, ``ChildSumTreeLSTM``, ``SequentialLSTM``); first
  derivatives only.
* ``"compiled"``: the level step through ``torch.compile`` (inductor), with
  dynamic shapes, so that the gather of the children, the gate arithmetic and
  the scatter to the parents are fused into a few kernels, forward and
  backward. One compilation per cell object, mode (training or inference) and
  dtype; a level of one node, or one child, is padded to two rows (a zero
  child under a dummy parent) so that sizes 0 and 1 are never specialised.
  Inductor's FX graph cache (on by default, under ``TORCHINDUCTOR_CACHE_DIR``)
  keeps the compiled kernels across processes.
* ``"cuda_graphs"``: the level step captured in CUDA Graphs, one graph per
  bucket of level sizes (rows padded to the next power of two, at least
  :data:`MIN_BUCKET`), forward and backward
  (``torch.cuda.make_graphed_callables``). CUDA only.
* ``"auto"`` (the default): on the CPU, ``"fused"`` for cells that have a
  fused kernel, else ``"eager"`` (``torch.compile`` of the level step did not
  beat eager on this project's CPUs, ``docs/engine.md``); on CUDA, where none
  of the engines has been measured, ``"cuda_graphs"`` for batches of at least
  :data:`AUTO_MIN_NODES` nodes where CUDA Graphs are available, else ``"eager"``.
  The fused engine defines first derivatives only: differentiating its
  gradient again raises an error (it is ``once_differentiable``); use
  ``"eager"`` for second derivatives.

Choose with ``cell(batch, x, engine="compiled")``, for a block of code with
``with use_engine("compiled"):``, for the process with :func:`set_engine`, or
with the environment variable ``TREENETS_ENGINE``. All engines give the same
values and gradients (tested against the float64 oracle).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import threading
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch
from torch.nn import functional as F

Tensor = torch.Tensor
ENGINES = ("auto", "eager", "fused", "compiled", "cuda_graphs")
ENV_VAR = "TREENETS_ENGINE"
#: the smallest bucket of rows a CUDA graph is captured for
MIN_BUCKET = 8
#: ``"auto"`` on CUDA uses CUDA Graphs from this many nodes per batch
AUTO_MIN_NODES = 2048
#: the oldest torch whose ``torch.compile`` of the level step is supported (tested with 2.13)
MIN_TORCH_FOR_COMPILE = (2, 4)

__all__ = ["ENGINES", "ENV_VAR", "get_engine", "set_engine", "use_engine", "resolve_engine",
           "compile_unavailable_reason", "fused_unavailable_reason", "cuda_graphs_unavailable_reason", "level_step_for", "bucket"]

_state = threading.local()
_process_default: Optional[str] = None


def _check(name: str, where: str) -> str:
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r} ({where}); choose from {', '.join(ENGINES)}")
    return name


def get_engine() -> str:
    """The engine in force: :func:`use_engine`'s, else :func:`set_engine`'s, else ``$TREENETS_ENGINE``, else ``"auto"``."""
    scoped = getattr(_state, "engine", None)
    if scoped is not None:
        return scoped
    if _process_default is not None:
        return _process_default
    env = os.environ.get(ENV_VAR, "").strip()
    return _check(env, f"environment variable {ENV_VAR}") if env else "auto"


def set_engine(name: Optional[str]) -> None:
    """Set the process-wide engine (``None``: back to ``$TREENETS_ENGINE`` or ``"auto"``)."""
    global _process_default
    _process_default = None if name is None else _check(name, "set_engine")


@contextlib.contextmanager
def use_engine(name: str) -> Iterator[None]:
    """``with use_engine("compiled"): ...``: the engine for the cells called inside (this thread)."""
    _check(name, "use_engine")
    before = getattr(_state, "engine", None)
    _state.engine = name
    try:
        yield
    finally:
        _state.engine = before


def _torch_version() -> Tuple[int, int]:
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int(minor)


def compile_unavailable_reason(device: torch.device) -> Optional[str]:
    """Why ``"compiled"`` cannot run on ``device`` here (``None`` when it can)."""
    if _torch_version() < MIN_TORCH_FOR_COMPILE:
        return (f"torch {torch.__version__} is older than {'.'.join(map(str, MIN_TORCH_FOR_COMPILE))}, "
                f"the oldest torch the compiled engine supports")
    if not hasattr(torch, "compile"):
        return "this torch has no torch.compile"
    if device.type == "cpu":
        try:
            from torch._inductor import config
            cxx = config.cpp.cxx[-1] if isinstance(config.cpp.cxx, (tuple, list)) else config.cpp.cxx
        except Exception as err:  # inductor missing or broken
            return f"torch inductor does not import ({type(err).__name__}: {err})"
        if cxx is None or shutil.which(str(cxx)) is None:
            return f"no C++ compiler for inductor's CPU backend ({cxx!r} not found; install g++ or set CXX)"
    elif device.type == "cuda":
        if importlib.util.find_spec("triton") is None:
            return "triton is not installed (inductor's CUDA backend needs it)"
    else:
        return f"the compiled engine supports cpu and cuda, not {device.type}"
    return None


def fused_unavailable_reason(cell) -> Optional[str]:
    """Why ``"fused"`` cannot run ``cell`` (``None`` when it can): the cell has no fused kernel."""
    if cell is not None and getattr(cell, "has_fused_kernel", False):
        return None
    name = "this call" if cell is None else type(cell).__name__
    return (f"{name} has no fused kernel (NaryTreeLSTM, ChildSumTreeLSTM and SequentialLSTM have one; "
            f"see treenets.cells.fused)")


def cuda_graphs_unavailable_reason(device: torch.device) -> Optional[str]:
    """Why ``"cuda_graphs"`` cannot run on ``device`` (``None`` when it can)."""
    if device.type != "cuda":
        return f"CUDA Graphs need a CUDA device; the inputs are on {device}"
    if not torch.cuda.is_available():
        return "torch.cuda.is_available() is False"
    return None


def resolve_engine(requested: Optional[str], device: torch.device, num_nodes: int, cell=None) -> str:
    """The engine that runs: ``requested`` (``None``: :func:`get_engine`), with ``"auto"`` decided here.

    ``cell`` is the cell that will run (whether it has a fused kernel decides
    ``"fused"``; ``None``: none). An explicit ``"fused"``, ``"compiled"`` or
    ``"cuda_graphs"`` where it cannot run raises a ``RuntimeError`` that says
    why; ``"auto"`` falls back to ``"eager"``.
    """
    name = _check(requested, "engine argument") if requested is not None else get_engine()
    if name == "auto":
        if (device.type == "cuda" and num_nodes >= AUTO_MIN_NODES
                and cuda_graphs_unavailable_reason(device) is None):
            return "cuda_graphs"
        if device.type == "cpu" and fused_unavailable_reason(cell) is None:
            return "fused"
        return "eager"
    if name == "fused":
        reason = fused_unavailable_reason(cell)
        if reason:
            raise RuntimeError(f"engine='fused' cannot run here: {reason}; use engine='eager' or 'auto'")
    if name == "compiled":
        reason = compile_unavailable_reason(device)
        if reason:
            raise RuntimeError(f"engine='compiled' cannot run here: {reason}; use engine='eager' or 'auto'")
    if name == "cuda_graphs":
        reason = cuda_graphs_unavailable_reason(device)
        if reason:
            raise RuntimeError(f"engine='cuda_graphs' cannot run here: {reason}; use engine='eager' or 'auto'")
    return name


# ------------------------------------------------------------------ padding
def bucket(rows: int, minimum: int = MIN_BUCKET) -> int:
    """The bucket of ``rows``: the next power of two, at least ``minimum``."""
    size = minimum
    while size < rows:
        size *= 2
    return size


def pad_level(wx: Tensor, h_child: Tensor, c_child: Tensor, slot: Tensor, pos: Tensor, n_to: int,
              m_to: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Pad one level's inputs to ``n_to`` parents and ``m_to`` children.

    Padded children are zeros, attached at position 0 to the last padded
    parent (row ``n_to - 1``, which must be a padded row when children are
    padded), so they change no real node; padded parents get zero inputs.
    The real rows' results are the first ``n`` rows of the padded step's.
    """
    n, m = wx.shape[0], h_child.shape[0]
    if m_to > m and n_to <= n:
        raise ValueError(f"padding {m} children to {m_to} needs a padded parent row, but n_to={n_to} <= n={n}")
    if n_to > n:
        wx = F.pad(wx, (0, 0, 0, n_to - n))
    if m_to > m:
        extra = m_to - m
        h_child = F.pad(h_child, (0, 0, 0, extra))
        c_child = F.pad(c_child, (0, 0, 0, extra))
        slot = torch.cat([slot, slot.new_full((extra,), n_to - 1)])
        pos = torch.cat([pos, pos.new_zeros(extra)])
    return wx, h_child, c_child, slot, pos


def padded(step: Callable, n_to_of: Callable[[int, int], Tuple[int, int]]) -> Callable:
    """``step`` run on padded inputs (sizes from ``n_to_of(n, m)``), its results cut back to ``n`` rows."""
    def run(wx, h_child, c_child, slot, pos):
        n, m = wx.shape[0], h_child.shape[0]
        n_to, m_to = n_to_of(n, m)
        if (n_to, m_to) == (n, m):
            return step(wx, h_child, c_child, slot, pos)
        h, c = step(*pad_level(wx, h_child, c_child, slot, pos, n_to, m_to))
        return h[:n], c[:n]
    run.inner = step
    return run


def _compile_sizes(n: int, m: int) -> Tuple[int, int]:
    # at least 2 parents and 2 children: dynamic shapes specialise sizes 0 and 1
    if m >= 2 and n >= 2:
        return n, m
    if m >= 2:  # one parent with several children: a dummy parent without children
        return 2, m
    return n + 1, 2  # one child: a dummy child under a dummy parent


def _cuda_graph_sizes(n: int, m: int) -> Tuple[int, int]:
    return bucket(n + 1), bucket(m)  # n + 1: always a padded parent for the padded children


# ------------------------------------------------------------ the engines
_CACHE_ATTR = "_treenets_engine_cache"


def _cache(cell) -> Dict:
    cache = cell.__dict__.get(_CACHE_ATTR)
    if cache is None:
        cache = {}
        cell.__dict__[_CACHE_ATTR] = cache
    return cache


def drop_engine_cache(state: Dict) -> Dict:
    """A copy of a cell's ``__dict__`` without its compiled steps (they are neither copied nor pickled)."""
    if _CACHE_ATTR in state:
        state = dict(state)
        del state[_CACHE_ATTR]
    return state


def level_step_for(cell, engine: str) -> Callable:
    """The level step of ``cell`` as run by ``engine`` (a resolved name, not ``"auto"`` or ``"fused"``,
    which replaces the whole loop: :mod:`treenets.cells.fused`)."""
    if engine == "eager":
        return cell.level_step
    cache = _cache(cell)
    if engine == "compiled":
        step = cache.get("compiled")
        if step is None:
            _allow_recompiles()
            _keep_buffers()
            compiled = torch.compile(cell.level_step, dynamic=True, fullgraph=True)
            step = cache["compiled"] = padded(_at_offset_zero(compiled), _compile_sizes)
        return step
    if engine == "cuda_graphs":
        step = cache.get("cuda_graphs")
        if step is None:
            step = cache["cuda_graphs"] = padded(_CudaGraphSteps(cell), _cuda_graph_sizes)
        return step
    raise ValueError(f"level_step_for takes a resolved engine (eager, compiled, cuda_graphs), not {engine!r}")


#: compilations kept per cell class: one per configuration (hidden size, options), dtype and gradient mode
RECOMPILE_LIMIT = 64


def _allow_recompiles() -> None:
    # dynamo keeps its compilations per code object: every configuration of one cell class shares
    # ``level_step``'s, and its default limit (8) is reached by a few configurations
    from torch._dynamo import config

    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    if getattr(config, name) < RECOMPILE_LIMIT:
        setattr(config, name, RECOMPILE_LIMIT)


def _keep_buffers() -> None:
    """No AOTAutograd donated buffers: they forbid ``backward(retain_graph=True)`` through a compiled
    step (gradcheck, two losses backward through one forward). The setting is read when a backward
    graph is compiled, which may be after the call returned, so it is set for the process."""
    try:
        from torch._functorch import config
    except ImportError:  # pragma: no cover - older torch
        return
    if getattr(config, "donated_buffer", False):
        config.donated_buffer = False


def _at_offset_zero(step: Callable) -> Callable:
    """``step`` on contiguous inputs that start their storage: a level's rows are views into the
    batch's tensors (or an expanded bias), and dynamo specialises storage offsets 0 and 1 and
    strides (a recompilation per pattern otherwise)."""
    def run(*args):
        return step(*(a if a.storage_offset() == 0 and a.is_contiguous() else a.clone(
            memory_format=torch.contiguous_format) for a in args))
    return run


class _LevelModule(torch.nn.Module):
    """The cell's level step as a module whose parameters are the cell's (what make_graphed_callables takes)."""

    def __init__(self, cell) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, wx, h_child, c_child, slot, pos):
        return self.cell.level_step(wx, h_child, c_child, slot, pos)


class _CudaGraphSteps:
    """One CUDA graph per (bucketed sizes, dtype, training, gradient mode); built on first use."""

    def __init__(self, cell) -> None:
        self.cell = cell
        self.graphs: Dict[tuple, Callable] = {}

    def __call__(self, wx, h_child, c_child, slot, pos):
        grad = torch.is_grad_enabled() and (wx.requires_grad or h_child.requires_grad
                                            or any(p.requires_grad for p in self.cell.parameters()))
        key = (wx.shape[0], h_child.shape[0], wx.dtype, wx.device, self.cell.training, grad,
               wx.requires_grad, h_child.requires_grad, c_child.requires_grad)
        graphed = self.graphs.get(key)
        if graphed is None:
            graphed = self.graphs[key] = self._capture(wx, h_child, c_child, slot, pos, grad)
        return graphed(wx, h_child, c_child, slot, pos)

    def _capture(self, wx, h_child, c_child, slot, pos, grad: bool) -> Callable:
        samples = tuple(t.detach().clone().requires_grad_(t.requires_grad) for t in (wx, h_child, c_child)) + (
            slot.clone(), pos.clone())
        if grad:
            module = _LevelModule(self.cell)
            module.train(self.cell.training)
            return torch.cuda.make_graphed_callables(module, samples)
        # inference: one forward graph over static buffers
        static_in = tuple(t.detach().clone() for t in samples)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(3):  # warm-up outside the graph, as CUDA Graphs require
                self.cell.level_step(*static_in)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad():
            static_out = self.cell.level_step(*static_in)

        def replay(*args):
            for buf, arg in zip(static_in, args):
                buf.copy_(arg)
            graph.replay()
            return tuple(out.clone() for out in static_out)
        return replay
