"""One epoch of updates over a task model, on one process or as a share of DistributedDataParallel."""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

import torch
from torch import nn

from ..models import TaskModel
from .distributed import rank, world_size

__all__ = ["progress", "train_epoch"]


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
