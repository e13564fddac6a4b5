"""``fit``: train a task model for some epochs, keep the one with the best dev score, resume, run under torchrun.

Why a function and not a ``Trainer`` class: everything a run carries from one
epoch to the next (weights, optimizers, random states, the best score) is
already an object the caller holds or the training state on disk
(:mod:`treenets.training.state`), so a class would only hold the arguments.
One call does one run; the pieces it is made of (:func:`train_epoch`,
:func:`minibatches`, :func:`save_training_state`, :func:`wrap_ddp`) stay
public for a loop of one's own.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Dict, Optional, Sequence, Union

import torch

from ..models import TaskModel, save_checkpoint
from .batches import minibatches
from .distributed import all_gather, is_main_process, rank, world_size, wrap_ddp
from .epoch import train_epoch
from .metrics_log import MetricsLog
from .resume import LAST, RESUME_MAY_DIFFER, ResumeError, check_resume, resume_folder, vocab_digest
from .seeding import rank_seed, rng_state, seed_everything
from .state import load_training_state, read_training_info, save_training_state

__all__ = ["fit", "FitResult", "BEST", "BEST_CHECKPOINT"]

#: The model directory of the best epoch inside ``out`` (read by :func:`treenets.load`).
BEST = "best"
#: The one-file checkpoint of the best epoch inside ``out`` (:func:`treenets.models.load_checkpoint`).
BEST_CHECKPOINT = "best.pt"

logger = logging.getLogger(__name__)


@dataclass
class FitResult:
    """What :func:`fit` returns on process 0.

    Attributes:
        score: the best dev score.
        epoch: the epoch it was reached at (from 1).
        path: the model directory of that epoch (``OUT/best``; :func:`treenets.load` reads it).
        checkpoint: the same model as one file (``OUT/best.pt``).
        train_seconds: seconds spent training and scoring dev, over all epochs (a resumed run's included).
        metrics: the JSON Lines file with one record per epoch (``OUT/metrics.jsonl``).
        last: the training state of the last epoch (``OUT/last``), which ``resume`` reads.
    """

    score: float
    epoch: int
    path: Path
    checkpoint: Path
    train_seconds: float
    metrics: Path
    last: Path


def fit(model: TaskModel, train: Sequence, dev: Sequence,
        optimizers: Optional[Sequence[torch.optim.Optimizer]] = None, *,
        out: Union[str, Path], epochs: int = 10, batch_size: int = 25, score: str,
        maximize: bool = True, seed: int = 1, generator: Optional[torch.Generator] = None,
        schedulers: Sequence[Any] = (), bucket_by: Optional[Callable[[Any], float]] = None,
        resume: Union[bool, str, Path, None] = False, options: Optional[Dict[str, Any]] = None,
        may_differ: Collection[str] = RESUME_MAY_DIFFER, compare_by_name: Collection[str] = (),
        metadata: Optional[Dict[str, Any]] = None, describe: Optional[Callable[[float, Dict], str]] = None,
        progress: bool = True, tensorboard: Optional[bool] = None,
        log: Optional[Callable[[str], None]] = None) -> Optional[FitResult]:
    """Train ``model`` for ``epochs`` epochs, score it on ``dev`` after each, and keep the best.

    Every epoch is one pass of :func:`train_epoch` over :func:`minibatches`
    of ``train`` (shuffled by ``generator``), then ``model.evaluate(dev)``.
    When ``dev[score]`` is the best so far (the first epoch always is), the
    model is saved as a model directory, ``OUT/best/``, and as a one-file
    checkpoint, ``OUT/best.pt``, both with ``metadata`` and the epoch and dev
    metrics. Then the epoch's record goes to ``OUT/metrics.jsonl`` (and to
    TensorBoard, :class:`MetricsLog`), and the training state (weights,
    optimizers, schedulers, the random states of every process, the
    generator, the epoch, the best score, ``options``) to ``OUT/last``,
    atomically.

    **Resuming.** ``resume=True`` (or the path of ``out``, or of its
    ``last`` folder) reads ``OUT/last``, checks that ``options`` and the
    vocabulary are the run's (:func:`check_resume`), restores everything and
    goes on with the next epoch: a killed run resumed ends exactly as it
    would have without the interruption. ``epochs`` may be raised.

    **Several processes.** Under ``torchrun``, once the process group is
    joined (:func:`setup_distributed`), the model is wrapped in
    DistributedDataParallel and every process takes its share of each global
    batch of ``batch_size``; every process must call ``fit`` with the same
    arguments and a generator seeded alike. Process 0 alone scores dev,
    writes files and logs; the others get ``None``.

    Args:
        model: a task model (:class:`~treenets.SentimentModel`,
            :class:`~treenets.RelatednessModel`), on its device.
        train, dev: training and dev examples (trees, or scored pairs).
        optimizers: stepped in order after every batch (default: the paper's
            AdaGrad, lr 0.05, L2 1e-4, over every parameter that needs a gradient).
        out: the run's folder (``best/``, ``best.pt``, ``last/``, ``metrics.jsonl``, ``tensorboard/``).
        epochs: the number of epochs in all (a resumed run's included).
        batch_size: examples per update (under torchrun, the global batch).
        score: the dev metric that selects the best epoch (a key of ``model.evaluate``'s result).
        maximize: whether a higher ``score`` is better.
        seed: the run's seed: with no ``generator``, the data order's; under
            torchrun, the other processes' dropout streams derive from it
            (:func:`rank_seed`). Seed the model's initialisation yourself
            (:func:`seed_everything`) before building it.
        generator: the data-order generator (default: a new one seeded with ``seed``).
        schedulers: learning-rate schedulers, stepped after every epoch.
        bucket_by: batch examples of similar key together (e.g. ``lambda t: t.height``);
            ``None``: plain random batches.
        resume: ``False`` starts a new run (replacing ``OUT/best``, ``OUT/last``
            and the metrics); ``True``, or a path, continues one.
        options: plain data describing the run (e.g. its command-line options),
            saved with the state and compared on resume (default: ``seed``,
            ``batch_size``, ``score`` and whether ``bucket_by`` is given).
        may_differ: keys of ``options`` that a resumed run may change.
        compare_by_name: keys of ``options`` that are paths, compared on resume by file name only.
        metadata: plain data stored with the best model (in its ``config.json`` and checkpoint).
        describe: the text of an epoch's log line from ``(train loss, dev metrics)``.
        progress: draw a progress bar per epoch on stderr.
        tensorboard: write TensorBoard events (``None``: when ``tensorboard`` is installed).
        log: where log lines go (default: the ``treenets.training.fit`` logger, level INFO);
            called on process 0 only.

    Returns:
        A :class:`FitResult` on process 0; ``None`` on the others.

    Raises:
        ResumeError: ``resume`` cannot continue that run (no state, other
            options or data, fewer ``epochs`` than it has done, another ``out``).
        FloatingPointError: a training loss or the dev score became NaN or
            infinite; the message names the epoch (and batch) and the best
            checkpoint kept so far. Nothing is written for that epoch.
        ValueError: ``score`` is not a dev metric, or ``epochs``/``batch_size`` below 1.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"fit needs epochs >= 1 and batch_size >= 1, got epochs={epochs}, batch_size={batch_size}")
    out = Path(out)
    main, here = is_main_process(), rank()
    say = _logger(log) if main else (lambda text: None)
    if optimizers is None:
        optimizers = [torch.optim.Adagrad([p for p in model.parameters() if p.requires_grad], lr=0.05,
                                          weight_decay=1e-4)]
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    if options is None:
        options = {"seed": seed, "batch_size": batch_size, "score": score, "bucket_by": bucket_by is not None}
    digest = vocab_digest(model.vocab)
    best = {"score": None, "epoch": 0, "path": out / BEST, "checkpoint": out / BEST_CHECKPOINT}
    first, seconds = 1, 0.0
    if resume is not None and resume is not False:
        where = out if resume is True else Path(resume)
        folder = resume_folder(where)
        if folder.parent.resolve() != out.resolve():
            raise ResumeError(f"--resume continues the run in its own folder {folder.parent}; "
                              f"drop --out {out} or give that folder")
        info = read_training_info(folder)
        check_resume({**info["info"], "epoch": info["epoch"]}, options, digest, epochs, where,
                     may_differ=may_differ, by_name=compare_by_name)
        # read to the CPU: load_state_dict copies weights and optimizer state onto the parameters' device,
        # and random states must stay CPU tensors
        state = load_training_state(folder, map_location="cpu")
        if state.world_size != world_size():
            say(f"resuming a run of {state.world_size} processes on {world_size()}: same batches, but the "
                f"processes' dropout streams are drawn anew, so the result is not bit-identical")
        own_rng = state.restore(model, optimizers, schedulers, generator, process=here)
        if not own_rng:
            seed_everything(rank_seed(seed, here) + state.epoch)
        best.update(score=state.info.get("best_score"), epoch=state.info.get("best_epoch", 0))
        first, seconds = state.epoch + 1, float(state.info.get("train_seconds", 0.0))
        say(f"resuming {folder} after epoch {state.epoch} (best dev {score} {best['score']} at epoch "
            f"{best['epoch']})")
    elif here > 0:
        seed_everything(rank_seed(seed, here))  # its own dropout masks; batches come from `generator`
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    ddp = wrap_ddp(model) if distributed else None
    sink = MetricsLog(out, tensorboard=tensorboard, resume_after=first - 1 if first > 1 else None) if main else None
    describe = describe or (lambda loss, dev: f"train loss {loss:.4f}, dev {score} {dev[score]:.4f}")
    n_batches = -(-len(train) // batch_size)
    try:
        for epoch in range(first, epochs + 1):
            start = time.perf_counter()
            batches = minibatches(train, batch_size, generator, bucket_by=bucket_by)
            try:
                loss = train_epoch(model, batches, optimizers, total=n_batches, desc=f"epoch {epoch}",
                                   show_progress=progress, ddp=ddp)
            except FloatingPointError as err:
                raise FloatingPointError(f"epoch {epoch}: {err}; training stopped before that update. "
                                         f"{_kept(best)} Try a lower --lr, or check the word vectors") from None
            for scheduler in schedulers:
                scheduler.step()
            rngs = all_gather(rng_state())  # every process's, for an exact resume
            if not main:
                continue
            metrics = model.evaluate(dev)
            if score not in metrics:
                raise ValueError(f"score {score!r} is not a dev metric; model.evaluate gives {sorted(metrics)}")
            if not math.isfinite(metrics[score]):
                raise FloatingPointError(f"epoch {epoch}: the dev {score} is {metrics[score]}; training stopped. "
                                         f"{_kept(best)}")
            if best["score"] is None or (metrics[score] > best["score"] if maximize
                                         else metrics[score] < best["score"]):  # the first epoch is always kept
                best.update(score=metrics[score], epoch=epoch)
                model.save(best["path"], metadata={"epoch": epoch, "dev": metrics, **(metadata or {})})
                save_checkpoint(best["checkpoint"], model, epoch=epoch, dev=metrics, **(metadata or {}))
            took = time.perf_counter() - start
            seconds += took
            # the record first: a run killed before its state is saved redoes the epoch, and the resumed
            # run drops the record of the epoch it redoes (MetricsLog(resume_after=...))
            sink.write(epoch, {"train_loss": loss, **{f"dev_{k}": v for k, v in metrics.items()},
                               "best_epoch": best["epoch"], "best_score": best["score"],
                               "epoch_seconds": took, "train_seconds": seconds})
            save_training_state(out / LAST, model=model, optimizers=optimizers, schedulers=schedulers,
                                generator=generator, rng=rngs, epoch=epoch,
                                info={"best_score": best["score"], "best_epoch": best["epoch"], "score": score,
                                      "train_seconds": seconds, "vocab_sha256": digest, "args": options,
                                      "dev": metrics})
            say(f"epoch {epoch}: {describe(loss, metrics)} ({seconds:.0f}s)")  # logged once its state is saved
    finally:
        if sink is not None:
            sink.close()
    if not main:
        return None
    return FitResult(score=best["score"], epoch=best["epoch"], path=best["path"], checkpoint=best["checkpoint"],
                     train_seconds=seconds, metrics=sink.path, last=out / LAST)


def _logger(log: Optional[Callable[[str], None]]) -> Callable[[str], None]:
    return log if log is not None else logger.info


def _kept(best: Dict) -> str:
    if best["score"] is None:
        return "No checkpoint was written."
    return f"The best checkpoint so far is {best['path']} (epoch {best['epoch']}, dev {best['score']:.4f})."
