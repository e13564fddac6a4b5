"""Layer 4, training: epochs over a task model, checkpoints, resume and DDP."""
from .loop import (TrainingState, all_gather, is_main_process, leave_process_group, load_training_state,
                   main_process_first, minibatches, progress, rank, rank_seed, read_training_info, rng_state,
                   save_training_state, seed_everything, set_rng_state, setup_distributed, train_epoch, world_size,
                   wrap_ddp)

__all__ = [
    "seed_everything", "minibatches", "progress", "train_epoch",
    "rng_state", "set_rng_state", "TrainingState", "save_training_state", "load_training_state",
    "read_training_info", "setup_distributed", "leave_process_group", "wrap_ddp", "rank", "world_size",
    "is_main_process", "main_process_first", "all_gather", "rank_seed",
]
