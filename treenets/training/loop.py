"""Training a task model: seeding, minibatches, one epoch of updates, the state that
resumes a run, and training on several processes.

A model owns its data pipeline and loss (:class:`treenets.models.TaskModel`:
``collate`` and ``loss``), so one loop serves every task::

    generator = seed_everything(1)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.05, weight_decay=1e-4)
    for epoch in range(10):
        train_epoch(model, minibatches(train, 25, generator), [optimizer])
        print(model.evaluate(dev))

**Resuming.** :func:`save_training_state` writes everything a run needs to go
on exactly where it stopped (weights, optimizer and scheduler states, the
Python/numpy/torch random states, the data-order generator, the epoch and any
plain data such as the best dev score) to one folder, atomically;
:func:`load_training_state` reads it back without unpickling objects
(``torch.load(weights_only=True)`` and JSON) and
:meth:`TrainingState.restore` puts it back in place::

    save_training_state("runs/x/last", model=model, optimizers=[opt], generator=generator,
                        epoch=epoch, info={"best_score": best})
    state = load_training_state("runs/x/last")
    state.restore(model, [opt], generator=generator)     # then train epochs state.epoch + 1, ...

**Several processes.** Under ``torchrun``, :func:`setup_distributed` joins the
process group (gloo on CPU, nccl on CUDA), :func:`wrap_ddp` wraps the model's
loss in :class:`~torch.nn.parallel.DistributedDataParallel`, and
``train_epoch(..., ddp=...)`` gives every process its share of each global
batch, scaled so that the gradient is the one a single process computes on the
whole batch (see :func:`train_epoch`).
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, TypeVar, Union

import torch
from torch import nn

from ..utils.atomic import atomic_dir, recover_dir
from ..utils.digest import content_digest
from ..formats.model_dir import read_regular_file
from ..models import TaskModel
from ..structures.sampler import bucketed_batches

T = TypeVar("T")

__all__ = [
    "seed_everything", "minibatches", "progress", "train_epoch",
    "rng_state", "set_rng_state", "TrainingState", "save_training_state", "load_training_state",
    "read_training_info", "setup_distributed", "leave_process_group", "wrap_ddp", "rank", "world_size", "is_main_process", "main_process_first", "all_gather", "rank_seed",
]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch (CPU and CUDA); returns a generator for data order."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def minibatches(items: Sequence[T], batch_size: int, generator: Optional[torch.Generator] = None, *,
                bucket_by: Optional[Callable[[T], float]] = None, pool_batches: int = 50) -> Iterator[List[T]]:
    """Consecutive slices of ``items``, shuffled first when ``generator`` is given.

    With ``bucket_by`` (for trees, ``lambda t: t.height``), items of similar key
    go into the same batch (:func:`treenets.structures.sampler.bucketed_batches`): the
    shuffled items are cut into pools of ``pool_batches`` batches, each pool
    is sorted by the key (stably, so ties keep their random order) and cut
    into batches, and the batches are shuffled. A batch of trees of similar height has fewer levels, so each
    step runs fewer sequential level updates; every item is still used once
    per pass.

    Args:
        items: the examples.
        batch_size: items per batch (the last one may be smaller).
        generator: shuffles items (and, with ``bucket_by``, batches); ``None``
            keeps the order.
        bucket_by: a key per item; ``None`` makes plain random batches.
        pool_batches: how many batches' worth of items are sorted together.
    """
    if bucket_by is not None:
        for batch in bucketed_batches([bucket_by(item) for item in items], batch_size, generator, pool_batches):
            yield [items[i] for i in batch]
        return
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(len(items), generator=generator).tolist() if generator is not None else range(len(items))
    order = list(order)
    for start in range(0, len(order), batch_size):
        yield [items[i] for i in order[start:start + batch_size]]


def progress(iterable, total: Optional[int] = None, desc: str = "", enabled: bool = True):
    """``iterable`` wrapped in a transient progress bar on standard error
    (:func:`treenets.utils.progress.progress_bar`), or as it is when not ``enabled``."""
    if not enabled:
        return iterable
    from ..utils.progress import progress_bar

    return progress_bar(iterable, total=total, desc=desc, leave=False)


def train_epoch(model: TaskModel, batches: Iterable[Sequence], optimizers: Sequence[torch.optim.Optimizer], *,
                device=None, total: Optional[int] = None, desc: str = "", show_progress: bool = False,
                ddp: Optional[nn.Module] = None) -> float:
    """One pass of updates: for each batch, ``loss = model.loss(*model.collate(batch))``,
    backward, and a step of every optimizer.

    The model is put in training mode. Every optimizer's gradients are zeroed
    before each backward pass and every optimizer steps after it, in the order
    given (e.g. AdaGrad on the model and SGD on the word vectors, as the paper
    trains SST).

    **On several processes** (``ddp`` from :func:`wrap_ddp`), every process
    iterates over the same global batches (the same ``batches``, e.g. from
    generators seeded alike) and takes its share: process ``r`` of ``W`` takes
    items ``r, r + W, r + 2W, ...`` of each batch. Both task losses are means
    over the examples of a batch (SST: summed over a tree's nodes and divided
    by the number of trees; SICK: KL averaged over pairs), so the local loss
    of ``n_r`` of the batch's ``N`` examples is scaled by ``n_r * W / N``:
    :class:`~torch.nn.parallel.DistributedDataParallel` averages gradients over
    the ``W`` processes, which then gives ``sum_r n_r / N * grad(local mean)``,
    the gradient of the mean over the whole batch, as one process computes it
    (up to the order of floating-point sums). Every parameter that gets a
    gradient (the word vectors that SST tunes with their own SGD too) gets this
    one. A process whose share is empty (a last batch smaller than ``W``)
    still runs a step, on one example with weight zero. Dropout masks differ
    from one process's, since each process draws its own.

    Args:
        model: a task model (:class:`~treenets.SentimentModel`, :class:`~treenets.RelatednessModel`).
        batches: lists of training examples (trees, or scored pairs), e.g.
            from :func:`minibatches`.
        optimizers: the optimizers to step.
        device: where the batches go (``None``: the model's device).
        total: the number of batches, for the progress bar.
        desc: the progress bar's label.
        show_progress: draw a progress bar on stderr (only process 0 draws one).
        ddp: ``model`` wrapped by :func:`wrap_ddp`, to train on several processes.

    Returns:
        The training loss averaged over examples (each batch's loss weighted by
        its number of examples); with ``ddp``, over the global batches, the
        same on every process.

    Raises:
        FloatingPointError: the loss became NaN or infinite (naming the batch);
            with ``ddp``, on every process at once, before any update.
    """
    if not optimizers:
        raise ValueError("train_epoch needs at least one optimizer")
    if ddp is not None and getattr(getattr(ddp, "module", None), "model", None) is not model:
        raise ValueError("ddp must be wrap_ddp(model) for this model")
    model.train()
    here, world = (rank(), world_size()) if ddp is not None else (0, 1)
    total_loss, n_items = 0.0, 0
    for i, items in enumerate(progress(batches, total, desc, show_progress and here == 0)):
        if ddp is None:
            loss = model.loss(*model.collate(items, device))
            value = loss.item()
        else:
            share = list(items[here::world])
            local = ddp(*model.collate(share or list(items[:1]), device))  # the mean over the share
            loss = local * (len(share) * world / len(items))
            local_value = local.item()
            # one small all-reduce: the global loss for the log, and a NaN anywhere stops every process
            summed = torch.tensor([local_value * len(share) if math.isfinite(local_value) else math.nan],
                                  dtype=torch.float64, device=local.device)
            torch.distributed.all_reduce(summed)
            value = summed.item() / len(items)
        if not math.isfinite(value):  # stop before the update spreads it into the weights
            raise FloatingPointError(f"the training loss of batch {i + 1} is {value}")
        for optimizer in optimizers:
            optimizer.zero_grad()
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        total_loss += value * len(items)
        n_items += len(items)
    return total_loss / max(n_items, 1)


# ------------------------------------------------------------ random states
def rng_state() -> Dict[str, Any]:
    """The random states of Python, numpy and torch (CPU, and the current CUDA device once CUDA is in use), as plain data.

    Plain data: lists, numbers and tensors, so :func:`torch.save` writes it and
    ``torch.load(weights_only=True)`` reads it. :func:`set_rng_state` puts it back.
    """
    import numpy as np

    version, internal, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state: Dict[str, Any] = {
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
        "numpy": {"bit_generator": np_state["bit_generator"],
                  "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                  "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()  # the current device's: one per process
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore random states made by :func:`rng_state`."""
    import numpy as np

    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    nps = state["numpy"]
    np.random.set_state({"bit_generator": nps["bit_generator"],
                         "state": {"key": nps["key"].cpu().numpy().astype(np.uint32), "pos": nps["pos"]},
                         "has_gauss": nps["has_gauss"], "gauss": nps["gauss"]})
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"].cpu())


def rank_seed(seed: int, process: int) -> int:
    """The seed of process ``process`` of a distributed run started with ``seed``.

    Process 0 keeps ``seed``, so one process is the plain run; the others get
    seeds derived by hashing, so that their dropout masks are independent.
    """
    if process == 0:
        return seed
    digest = hashlib.sha256(f"treenets:{seed}:{process}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2 ** 63)


# ----------------------------------------------------------- training state
_STATE_FORMAT = "treenets.training_state"
_STATE_VERSION = 2  # 2: state.json and state.pt carry checksums; version 1 (none) is still read
_TENSORS = "state.pt"
_INFO = "state.json"


@dataclass
class TrainingState:
    """Everything a run needs to go on after ``epoch``: read by :func:`load_training_state`.

    Attributes:
        epoch: the last epoch completed.
        info: plain JSON data stored by the caller (best dev score, options, ...).
        model: the model's ``state_dict``.
        optimizers: one ``state_dict`` per optimizer, in order.
        schedulers: one ``state_dict`` per learning-rate scheduler, in order.
        generator: the data-order generator's state, or ``None``.
        rng: the random states (:func:`rng_state`) of every process, by rank.
        world_size: the number of processes the run had.
    """

    epoch: int
    info: Dict[str, Any]
    model: Dict[str, torch.Tensor]
    optimizers: List[Dict[str, Any]]
    schedulers: List[Dict[str, Any]] = field(default_factory=list)
    generator: Optional[torch.Tensor] = None
    rng: List[Dict[str, Any]] = field(default_factory=list)
    world_size: int = 1

    def restore(self, model: nn.Module, optimizers: Sequence[torch.optim.Optimizer] = (),
                schedulers: Sequence[Any] = (), generator: Optional[torch.Generator] = None,
                process: int = 0) -> bool:
        """Load the weights, optimizer and scheduler states, the generator and (last) the random states.

        Args:
            model: the model, built as it was when the state was saved.
            optimizers, schedulers: built over that model, as many as were saved.
            generator: the data-order generator.
            process: this process's rank; its own random states are restored.

        Returns:
            Whether this process's random states were in the state (a run
            resumed on more processes than it had has none for the new ones).

        Raises:
            ValueError: the state does not fit (other parameters, another
                number of optimizers or schedulers, no generator state).
        """
        for what, saved, now in (("optimizers", self.optimizers, optimizers),
                                 ("learning-rate schedulers", self.schedulers, schedulers)):
            if len(saved) != len(now):
                raise ValueError(f"the training state has {len(saved)} {what}, this run {len(now)}")
        try:
            model.load_state_dict(self.model)
        except RuntimeError as err:
            raise ValueError(f"the training state does not fit this model: {err}") from None
        for optimizer, sd in zip(optimizers, self.optimizers):
            try:
                optimizer.load_state_dict(sd)
            except (ValueError, KeyError) as err:
                raise ValueError(f"the training state does not fit this optimizer: {err}") from None
        for scheduler, sd in zip(schedulers, self.schedulers):
            scheduler.load_state_dict(sd)
        if generator is not None:
            if self.generator is None:
                raise ValueError("the training state holds no data-order generator state")
            generator.set_state(self.generator.cpu())  # a CPU ByteTensor, wherever the state was loaded to
        if process < len(self.rng):
            set_rng_state(self.rng[process])
            return True
        return False


def save_training_state(path: Union[str, Path], *, model: nn.Module, optimizers: Sequence[torch.optim.Optimizer],
                        epoch: int, schedulers: Sequence[Any] = (), generator: Optional[torch.Generator] = None,
                        rng: Optional[Sequence[Dict[str, Any]]] = None, info: Optional[Dict[str, Any]] = None) -> Path:
    """Write a :class:`TrainingState` to the folder ``path``, atomically.

    The folder holds ``state.pt`` (tensors and plain data: weights, optimizer
    and scheduler states, generator and random states; read with
    ``torch.load(weights_only=True)``) and ``state.json`` (the epoch and
    ``info``), each with a checksum that the readers verify (``state.pt``'s
    covers ``state.json``'s too, so the two files are one unit). It appears whole or not at all: a run killed while saving
    leaves the previous state in place (:func:`treenets.utils.atomic.atomic_dir`).

    Args:
        path: the folder (e.g. ``OUT/last``); replaced as a whole.
        model: the model (not a DDP wrapper).
        optimizers, schedulers: their ``state_dict()`` are saved, in order.
        epoch: the last epoch completed.
        generator: the data-order generator.
        rng: the random states of every process, by rank (default: this
            process's, :func:`rng_state`).
        info: plain JSON data (numbers, strings, lists, dicts) kept with the state.

    Returns:
        ``path``.
    """
    path = Path(path)
    info = dict(info or {})
    header = {"format": _STATE_FORMAT, "version": _STATE_VERSION, "epoch": int(epoch),
              "world_size": len(rng) if rng is not None else 1, "info": info}
    try:
        header["sha256"] = _header_digest(header)
        text = json.dumps(header, indent=1, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"info must be plain JSON data: {err}") from None
    payload = {"model": model.state_dict(), "optimizers": [o.state_dict() for o in optimizers],
               "schedulers": [s.state_dict() for s in schedulers],
               "generator": generator.get_state() if generator is not None else None,
               "rng": list(rng) if rng is not None else [rng_state()]}
    payload["sha256"] = content_digest({**payload, "header": header["sha256"]})  # the two files: one unit
    with atomic_dir(path) as tmp:
        torch.save(payload, tmp / _TENSORS)
        (tmp / _INFO).write_text(text + "\n", encoding="utf-8")
    return path


def _header_digest(header: Dict[str, Any]) -> str:
    """The SHA-256 of ``state.json``'s content (its ``sha256`` entry left out), in a canonical JSON form."""
    body = {k: v for k, v in header.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode("utf-8")).hexdigest()


def read_training_info(path: Union[str, Path]) -> Dict[str, Any]:
    """The ``state.json`` of a training state folder: ``epoch``, ``world_size``, ``info`` (no tensors are read).

    A folder left without its copy by a write killed half way is put back
    first (:func:`treenets.utils.atomic.recover_dir`).

    Raises:
        FileNotFoundError: no ``state.json`` in ``path``.
        ValueError: it is not a treenets training state, or it was changed or
            damaged (its checksum does not match); the message names the file.
    """
    recover_dir(path)
    file = Path(path) / _INFO
    if not file.is_file():
        raise FileNotFoundError(f"no training state at {path} ({file} is missing)")
    try:
        header = json.loads(read_regular_file(file, 64 << 20, what="training state file").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{file} is not a treenets training state: {err}") from None
    if not isinstance(header, dict) or header.get("format") != _STATE_FORMAT:
        raise ValueError(f"{file} is not a treenets training state (no format {_STATE_FORMAT!r})")
    if header.get("version") not in (1, _STATE_VERSION):
        raise ValueError(f"{file} is version {header.get('version')} of the training state; this treenets "
                         f"reads versions 1 and {_STATE_VERSION}")
    if header["version"] >= 2:
        try:
            good = header.get("sha256") == _header_digest(header)
        except (TypeError, ValueError):
            good = False
        if not good:
            raise ValueError(f"{file} is damaged or was changed: its checksum does not match its content")
    return header


def load_training_state(path: Union[str, Path], map_location: Any = "cpu") -> TrainingState:
    """Read a folder written by :func:`save_training_state`.

    Nothing is unpickled but plain data: ``state.pt`` is read with
    ``torch.load(weights_only=True)``. Both files' checksums are verified.

    Raises:
        FileNotFoundError: no training state in ``path``.
        ValueError: a damaged, changed or foreign state (naming the file).
    """
    header = read_training_info(path)
    file = Path(path) / _TENSORS
    if not file.is_file():
        raise FileNotFoundError(f"no training state at {path} ({file} is missing)")
    try:
        payload = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as err:  # torn, foreign, or holding objects other than plain data
        raise ValueError(f"{file} is not a treenets training state: {err}") from None
    if header["version"] >= 2:
        stored = payload.pop("sha256", None) if isinstance(payload, dict) else None
        if stored is None or stored != content_digest({**payload, "header": header["sha256"]}):
            raise ValueError(f"{file} is damaged or was changed: the checksum of what it holds does not match the "
                             f"one stored with it (or {_INFO} beside it is from another save)")
    try:
        return TrainingState(epoch=int(header["epoch"]), info=dict(header.get("info") or {}),
                             model=payload["model"], optimizers=list(payload["optimizers"]),
                             schedulers=list(payload["schedulers"]), generator=payload["generator"],
                             rng=list(payload["rng"]), world_size=int(header.get("world_size", 1)))
    except (KeyError, TypeError) as err:
        raise ValueError(f"{file} is a damaged treenets training state: {err}") from None


# -------------------------------------------------------- several processes
def world_size() -> int:
    """The number of processes of the current process group (1 without one)."""
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank in the current process group (0 without one)."""
    dist = torch.distributed
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main_process() -> bool:
    """Whether this process is rank 0 (the one that writes files and prints), or the only one."""
    return rank() == 0


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Run the block on process 0 first, then on the others (a no-op in one process).

    For work that fills a cache on disk (word vectors, transformer features):
    process 0 computes and writes it, and the others, released by a barrier
    once it is done, read it back instead of computing it again. If process 0
    fails inside the block, ``torchrun`` stops the others.
    """
    if world_size() == 1:
        yield
        return
    if not is_main_process():
        torch.distributed.barrier()
    yield
    if is_main_process():
        torch.distributed.barrier()


#: The tensors of every all_gather so far, kept until the process group is destroyed
#: (see all_gather).
_GATHERED: List[torch.Tensor] = []


def all_gather(obj: Any) -> List[Any]:
    """``obj`` of every process, by rank (``[obj]`` without a process group).

    ``obj`` is plain data (numbers, strings, lists, dicts, tensors): it travels
    as :func:`torch.save` bytes and is read back with
    ``torch.load(weights_only=True)``. The tensors that carried it are kept
    until :func:`leave_process_group`: with torch 2.2's gloo, a collective's
    tensors freed by its worker thread while the main thread destroys the
    process group deadlock (the worker waits for the GIL that the joining
    main thread holds), which ``all_gather_object`` runs into when a process
    exits right after it.
    """
    if world_size() == 1:
        return [obj]
    import io

    dist = torch.distributed
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8).to(device)
    size = torch.tensor([data.numel()], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(size) for _ in range(world_size())]
    dist.all_gather(sizes, size)
    longest = max(int(n) for n in sizes)
    padded = torch.zeros(longest, dtype=torch.uint8, device=device)
    padded[:data.numel()] = data
    gathered = [torch.zeros_like(padded) for _ in range(world_size())]
    dist.all_gather(gathered, padded)
    _GATHERED.extend([size, *sizes, padded, *gathered])
    return [torch.load(io.BytesIO(t[:int(n)].cpu().numpy().tobytes()), weights_only=True)
            for t, n in zip(gathered, sizes)]


def leave_process_group(wait: bool = False) -> None:
    """Destroy the process group (if any), then let go of what :func:`all_gather` kept.

    Args:
        wait: first wait at a barrier until every process has got here. A
            process that tears its group down while another still works (process
            0 evaluating the test set, say) can abort in gloo's threads
            ("terminate called without an active exception"); the examples
            wait after a run that ended well. Never wait after an error: the
            others may never come.
    """
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        gc.collect()  # a DistributedDataParallel wrapper still alive holds the group
        dist.destroy_process_group()
    _GATHERED.clear()


def setup_distributed(device: Union[str, torch.device] = "cpu", backend: Optional[str] = None) -> torch.device:
    """Join the process group that ``torchrun`` describes; returns this process's device.

    Call :func:`leave_process_group` at the end (the examples register it with
    :mod:`atexit`).

    ``torchrun --nproc_per_node N script.py`` starts ``N`` processes and sets
    ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in
    their environment. Without those variables this does nothing and returns
    ``device``. With them, it initialises :mod:`torch.distributed` once, with
    gloo on CPU and nccl on CUDA (``backend`` overrides), and on CUDA each
    process takes the GPU of its local rank (``cuda:LOCAL_RANK``).
    """
    device = torch.device(device)
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return device
    dist = torch.distributed
    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed, so it cannot train on several processes")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if device.type == "cuda" else "gloo"))
    return device


class _Loss(nn.Module):
    """The model's loss as a module's forward, so DistributedDataParallel sees the pass that makes it."""

    def __init__(self, model: TaskModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs):
        return self.model.loss(*inputs)


def wrap_ddp(model: TaskModel, **options) -> nn.Module:
    """``model``'s loss inside :class:`~torch.nn.parallel.DistributedDataParallel`, for ``train_epoch(..., ddp=)``.

    The wrapper shares the model's parameters (optimizers built over
    ``model.parameters()`` work as they are) and, when it is made, copies
    process 0's weights to every process. ``find_unused_parameters`` is on by
    default: a process's share of a batch may leave a parameter unused (say,
    only one-word trees, which never reach the weights of internal nodes), and
    a parameter no process used keeps no gradient, as in one process. (torch
    then prints, once per process, that it found no unused parameter in the
    first step.)

    Args:
        model: the task model, on this process's device.
        **options: passed to ``DistributedDataParallel``.
    """
    from torch.nn.parallel import DistributedDataParallel

    if world_size() == 1 and not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        raise RuntimeError("wrap_ddp needs a process group: run under torchrun (see setup_distributed)")
    options.setdefault("find_unused_parameters", True)
    return DistributedDataParallel(_Loss(model), device_ids=None, **options)
