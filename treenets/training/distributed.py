"""Several processes under ``torchrun``: joining the group, ranks, gathering, DistributedDataParallel."""
from __future__ import annotations

import contextlib
import gc
import os
from typing import Any, Iterator, List, Optional, Union

import torch
from torch import nn

from ..models import TaskModel

__all__ = ["setup_distributed", "leave_process_group", "wrap_ddp", "rank", "world_size", "is_main_process",
           "main_process_first", "all_gather"]


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
