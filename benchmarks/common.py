"""What the benchmarks share: the model they time, the three implementations
of one training step, timing, data, and the environment record.

Every implementation runs the same :class:`treenets.SentimentModel` (a
frozen random embedding, a tree cell, a per-node classifier with the paper's
per-tree loss, :meth:`treenets.NodeClassifier.loss` with ``reduction="tree"``):

* ``treenets``: ``model.batch`` + the level-synchronous engine (``model.encoder``);
* ``dgl``: DGL's ``tree_lstm`` recipe over the model's cell
  (:mod:`treenets.testing.dgl_reference`), where DGL imports;
* ``recursive``: one tree at a time, one node at a time
  (:func:`treenets.testing.reference.reference_forward`) over the model's cell.

Run the scripts as modules from the repository root (``python -m benchmarks.run``).
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import random
import statistics
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from treenets import SentimentModel, Tree, TreeBatch, Vocab
from treenets.utils.atomic import atomic_write
from treenets.data import default_data_dir
from treenets.testing.reference import reference_forward

REPO = Path(__file__).resolve().parents[1]
# "treenets": the eager engine; "fused": the same model with the fused engine; "compiled": with the
# compiled level step
IMPLS = ("treenets", "fused", "compiled", "dgl", "recursive")
CELL_NAMES = ("nary", "childsum")
N_CLASSES = 5


# --------------------------------------------------------------- environment
def import_dgl():
    """``(dgl module, None)``, or ``(None, reason)`` when DGL does not import."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import dgl
        return dgl, None
    except Exception as err:  # ImportError, or a broken install (missing yaml, wrong torch)
        return None, f"{type(err).__name__}: {err}"


def set_threads(threads: int, dgl=None) -> None:
    """Intra-op threads of torch (and of DGL's OpenMP kernels when DGL is loaded)."""
    torch.set_num_threads(threads)
    if dgl is not None:
        try:
            dgl.utils.set_num_threads(threads)
        except Exception:  # older/newer DGL without it: torch's setting is what matters
            pass


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def git_state() -> Dict:
    """The commit of the checkout and whether treenets/ differs from it (None outside git)."""
    import subprocess

    def git(*cmd):
        return subprocess.run(["git", "-C", str(REPO), *cmd], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    try:
        return {"git_commit": git("rev-parse", "--short", "HEAD"),
                "treenets_modified": bool(git("status", "--porcelain", "--untracked-files=no", "--", "treenets"))}
    except Exception:
        return {"git_commit": None, "treenets_modified": None}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


#: the CPU flags that move the ratios (vector and matrix units)
CPU_FLAGS_OF_INTEREST = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx512_fp16", "amx_tile",
                         "amx_bf16", "amx_int8")


def cpu_flags() -> List[str]:
    """Which of :data:`CPU_FLAGS_OF_INTEREST` the CPU has (``/proc/cpuinfo``; empty where unreadable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [flag for flag in CPU_FLAGS_OF_INTEREST if flag in have]
    except OSError:
        pass
    return []


def cpu_info() -> Dict:
    """The CPU a benchmark ran on: model, the flags of interest, logical CPUs, and torch's CPU capability."""
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:  # older torch
        capability = None
    return {"cpu": cpu_name(), "cpu_flags": cpu_flags(), "cpu_count": os.cpu_count(),
            "torch_cpu_capability": capability}


def cpu_line() -> str:
    """One line for the head of a benchmark's output."""
    info = cpu_info()
    return (f"cpu {info['cpu']} | flags {' '.join(info['cpu_flags']) or 'none of ' + '/'.join(CPU_FLAGS_OF_INTEREST)}"
            f" | torch cpu capability {info['torch_cpu_capability']}")


def environment(device: torch.device, threads: int, dgl, dgl_error) -> Dict:
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "dgl": getattr(dgl, "__version__", None),
        "dgl_error": dgl_error,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        **cpu_info(),
        **git_state(),
    }
    if hasattr(os, "getloadavg"):
        info["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def finish(result: Dict, json_out: Optional[Path], t_start: float) -> Dict:
    """Add the end load and wall time, then print (and save) the result as the last JSON line."""
    if hasattr(os, "getloadavg"):
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    line = json.dumps(result)
    if json_out:
        with atomic_write(json_out, "w", encoding="utf-8") as f:
            f.write(line + "\n")
    print(line, flush=True)
    return result


# --------------------------------------------------------------------- model
def bench_model(cell: str, vocab: Vocab, embed: int = 300, hidden: int = 150) -> SentimentModel:
    """The timed model: a frozen random embedding (N(0, 0.1)), ``cell`` (the Constituency
    Tree-LSTM ``NaryTreeLSTM(embed, hidden, n_ary=2, leaf_input_only=True)`` or the
    Child-Sum ``ChildSumTreeLSTM(embed, hidden)``) and ``Linear(hidden, 5)`` on every node."""
    if cell not in CELL_NAMES:
        raise ValueError(f"unknown cell {cell!r}; choose from {CELL_NAMES}")
    options = {"n_ary": 2, "leaf_input_only": True} if cell == "nary" else {}
    model = SentimentModel(vocab, embed, hidden, N_CLASSES, cell=cell, cell_options=options, dropout=0.0,
                           freeze_embeddings=True)
    nn.init.normal_(model.encoder.embedding.weight, std=0.1)
    return model


def make_optimizer(model: SentimentModel) -> torch.optim.Optimizer:
    """AdaGrad (lr 0.05, L2 1e-4, the paper's) over the trained parameters (the embedding is frozen)."""
    return torch.optim.Adagrad(model.model_parameters(), lr=0.05, weight_decay=1e-4)


def node_loss(model: SentimentModel, h: torch.Tensor, labels: torch.Tensor, n_trees: int) -> torch.Tensor:
    """The model's loss from node states: cross-entropy summed over labelled nodes, divided by the trees."""
    return model.classifier.loss(model.classifier(h), labels, "tree", num_trees=n_trees)


# ---------------------------------------------------------------------- data
def build_vocab(trees: Sequence[Tree]) -> Vocab:
    return Vocab((w for t in trees for w in t.words), unk="<unk>")


def synthetic_trees(n: int, seed: int = 0, min_words: int = 2, max_words: int = 30,
                    vocab_words: int = 500) -> List[Tree]:
    """Random binary constituency trees with SST-like labels 0..4 on every node."""
    rng = random.Random(seed)
    trees = []
    for _ in range(n):
        words = [f"w{rng.randrange(vocab_words)}" for _ in range(rng.randint(min_words, max_words))]
        items = [f"({rng.randrange(N_CLASSES)} {w})" for w in words]
        while len(items) > 1:  # merge a random adjacent pair
            k = rng.randrange(len(items) - 1)
            items[k:k + 2] = [f"({rng.randrange(N_CLASSES)} {items[k]} {items[k + 1]})"]
        t = Tree.from_brackets(items[0])
        trees.append(Tree(t.parents, t.tokens, [int(lab) for lab in t.labels]))
    return trees


def load_data(data_dir: Optional[Path], synthetic: int = 0):
    """``(train, test, source)``: SST fine-grained from ``data_dir`` (``None``:
    :func:`treenets.data.default_data_dir`), or random trees when ``synthetic > 0``."""
    if synthetic:
        return synthetic_trees(synthetic, seed=1), synthetic_trees(max(2, synthetic // 2), seed=2), "synthetic"
    from treenets.data.sst import load_sst

    data_dir = default_data_dir() if data_dir is None else Path(data_dir)
    if not (data_dir / "sst" / "train.txt").is_file():
        raise SystemExit(f"SST not found under {data_dir}/sst (train.txt, test.txt): pass --data-dir, "
                         f"set TREENETS_DATA_DIR (python -m treenets.data downloads SST), or use --synthetic N")
    return (load_sst(data_dir / "sst", "train"), load_sst(data_dir / "sst", "test"), str(data_dir / "sst"))


def tree_tensors(tree: Tree, vocab: Vocab, device) -> tuple:
    """Per-tree ``(tree, word_ids, labels)`` for the recursive baseline (built once)."""
    batch = TreeBatch.from_trees([tree], vocab).to(device)  # one tree: node ids as in the tree
    return tree, batch.word_ids, batch.labels


def tree_graphs(trees: Sequence[Tree], vocab: Vocab) -> list:
    """One DGL graph per tree (edges child -> parent, ``word_ids``, ``labels``,
    ``child_pos``), as a dataset would hold them. Built once, not timed."""
    return [TreeBatch.from_trees([t], vocab).to_dgl() for t in trees]


# ----------------------------------------------------------------- one batch
class Runner:
    """One implementation: ``prepare`` builds a batch from its items, ``step``
    runs forward (+ loss + backward when training) and returns ``(h, loss)``."""

    name = ""

    def __init__(self, model: SentimentModel, device: torch.device) -> None:
        self.model = model
        self.device = device

    def prepare(self, items):  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, prepared, train: bool):  # pragma: no cover - abstract
        raise NotImplementedError


class TreenetsRunner(Runner):
    """The library's model with the eager engine (``engine``: the level step's engine)."""

    name = "treenets"
    engine = "eager"

    def prepare(self, trees):
        return self.model.batch(trees, self.device)

    def step(self, batch, train):
        from treenets.cells.engine import use_engine

        m = self.model
        with use_engine(self.engine):
            h, _ = m.encoder(batch)
        if not train:
            m.classifier(h)  # inference ends with the per-node prediction
            return h, None
        loss = node_loss(m, h, batch.labels, batch.num_trees)
        loss.backward()
        return h, loss


class FusedRunner(TreenetsRunner):
    """The same, with the fused engine (the level loop with a hand-derived backward, :mod:`treenets.cells.fused`)."""

    name = "fused"
    engine = "fused"


class CompiledRunner(TreenetsRunner):
    """The same, with the compiled level step (``torch.compile``; compiled in the untimed warm-up)."""

    name = "compiled"
    engine = "compiled"


class DGLRunner(Runner):
    name = "dgl"

    def __init__(self, model, device, dgl):
        super().__init__(model, device)
        from treenets.testing.dgl_reference import dgl_reference

        self.dgl = dgl
        self.module = dgl_reference(model.encoder.cell)

    def prepare(self, graphs):
        return self.dgl.batch(graphs).to(self.device)

    def step(self, g, train):
        m = self.model
        h, _ = self.module(g, m.encoder.embed_words(g.ndata["word_ids"]))
        if not train:
            m.classifier(h)  # inference ends with the per-node prediction
            return h, None
        loss = node_loss(m, h, g.ndata["labels"], g.batch_size)
        loss.backward()
        return h, loss


class RecursiveRunner(Runner):
    """Per tree, per node. Training: one backward per tree (gradients add up)."""

    name = "recursive"

    def prepare(self, items):
        return items  # (tree, word_ids, labels) built once per tree, before timing

    def step(self, items, train):
        m = self.model
        hs, total = [], 0.0
        for tree, word_ids, labels in items:
            h, _ = reference_forward(m.encoder.cell, tree, m.encoder.embed_words(word_ids))
            hs.append(h)
            if train:
                loss = node_loss(m, h, labels, len(items))
                loss.backward()
                total = total + loss.detach()
            else:
                m.classifier(h)
        return hs, (total if train else None)


# --------------------------------------------------------------------- timing
def run_epoch(runner: Runner, batches: Sequence, train: bool, opt=None) -> Dict[str, float]:
    """Time one pass over ``batches`` (lists of the runner's items)."""
    runner.model.train(train)
    build = 0.0
    n_trees = sum(len(b) for b in batches)
    device = runner.device
    sync(device)
    start = time.perf_counter()
    with torch.set_grad_enabled(train):
        for items in batches:
            t0 = time.perf_counter()
            prepared = runner.prepare(items)
            build += time.perf_counter() - t0
            if train:
                opt.zero_grad(set_to_none=True)
            runner.step(prepared, train)
            if train:
                opt.step()
    sync(device)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "build_seconds": build, "trees": n_trees}


def summarize(runs: List[Dict[str, float]], nodes: int) -> Dict:
    """Best (fastest) and median of repeated runs; throughput from the best."""
    best = min(runs, key=lambda r: r["seconds"])
    trees = best["trees"]
    compute = best["seconds"] - best["build_seconds"]
    return {
        "trees": trees,
        "nodes": nodes,
        "seconds": round(best["seconds"], 4),
        "median_seconds": round(statistics.median(r["seconds"] for r in runs), 4),
        "build_seconds": round(best["build_seconds"], 4),
        "trees_per_s": round(trees / best["seconds"], 2),
        "nodes_per_s": round(nodes / best["seconds"], 1),
        "trees_per_s_excl_build": round(trees / compute, 2) if compute > 0 else None,
        "repeats": len(runs),
    }


def ratio(a: Optional[Dict], b: Optional[Dict]) -> Optional[float]:
    if a is None or b is None:
        return None
    return round(a["trees_per_s"] / b["trees_per_s"], 2)
