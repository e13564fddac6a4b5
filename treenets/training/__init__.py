"""Layer 4, training: :func:`fit` (epochs, selection on dev, checkpoints, resume, DDP, metrics) and its pieces.

A model owns its data pipeline and loss (:class:`treenets.models.TaskModel`:
``collate`` and ``loss``), so one loop serves every task::

    generator = seed_everything(1)
    model = SentimentModel(vocab, 50, 150, 5)
    result = fit(model, train, dev, out="runs/sst", epochs=10, score="root_acc", generator=generator)
    best = treenets.load(result.path)

The pieces, for a loop of one's own: :func:`minibatches` and
:func:`train_epoch` (one pass of updates), :func:`save_training_state` and
:func:`load_training_state` (the state that resumes a run, read without
unpickling objects), :func:`setup_distributed` and :func:`wrap_ddp` (several
processes under ``torchrun``), :class:`MetricsLog` (one record per epoch, to
JSON Lines and TensorBoard).
"""
from .batches import minibatches
from .distributed import (all_gather, is_main_process, leave_process_group, main_process_first, rank,
                          setup_distributed, world_size, wrap_ddp)
from .epoch import progress, train_epoch
from .fit import BEST, BEST_CHECKPOINT, FitResult, fit
from .metrics_log import METRICS_FILE, TENSORBOARD_DIR, MetricsLog, read_metrics, tensorboard_available
from .resume import LAST, RESUME_MAY_DIFFER, ResumeError, check_resume, resume_folder, vocab_digest
from .seeding import rank_seed, rng_state, seed_everything, set_rng_state
from .state import TrainingState, load_training_state, read_training_info, save_training_state

__all__ = [
    "fit", "FitResult", "BEST", "BEST_CHECKPOINT", "LAST",
    "seed_everything", "minibatches", "progress", "train_epoch",
    "rng_state", "set_rng_state", "TrainingState", "save_training_state", "load_training_state",
    "read_training_info", "setup_distributed", "leave_process_group", "wrap_ddp", "rank", "world_size",
    "is_main_process", "main_process_first", "all_gather", "rank_seed",
    "ResumeError", "RESUME_MAY_DIFFER", "resume_folder", "check_resume", "vocab_digest",
    "MetricsLog", "read_metrics", "tensorboard_available", "METRICS_FILE", "TENSORBOARD_DIR",
]
