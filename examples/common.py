"""What the example scripts share: their command-line options, logging, and the epoch loop
that keeps the checkpoint with the best dev score.

The examples import it as ``common`` (a script's folder is on ``sys.path`` when
it runs as ``python examples/train_sst.py``). The library itself has no
argparse code: training is :func:`treenets.training.train_epoch` and
``model.evaluate``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch

from treenets.atomic import atomic_write
from treenets.data import DATA_DIR_HELP, default_data_dir
from treenets.formats import read_vectors
from treenets.models import TaskModel, load, save_checkpoint
from treenets.training import minibatches, seed_everything, train_epoch
from treenets.vocab import Vocab

def add_data_dir_argument(parser: argparse.ArgumentParser, holds: str) -> None:
    """``--data-dir``; ``holds`` says what the folder must contain (e.g. ``"sst/ and embeddings/"``)."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"folder with {holds} (default: {DATA_DIR_HELP})")


def resolve_data_dir(args) -> Path:
    """``--data-dir``, else :func:`treenets.data.default_data_dir`."""
    return args.data_dir or default_data_dir()


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--threads``."""
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:K")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for torch (0: torch's default); 1 is fastest when several runs share the CPU")


def add_training_arguments(parser: argparse.ArgumentParser, *, out: str, items: str = "examples") -> None:
    """The options every training example shares (optimisation, seed, device, output).

    The paper's settings are the defaults: 10 epochs, batch 25, AdaGrad lr 0.05, L2 1e-4.
    """
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--lr", type=float, default=0.05, help="AdaGrad learning rate of the model")
    parser.add_argument("--l2", type=float, default=1e-4, help="L2 penalty (AdaGrad weight decay)")
    parser.add_argument("--bucket-by-height", action="store_true",
                        help=f"batch {items} of similar tree height together (fewer levels per batch, faster; "
                             "the paper's batches are plain random)")
    parser.add_argument("--seed", type=int, default=1)
    add_device_arguments(parser)
    parser.add_argument("--limit", type=int, default=None,
                        help=f"use only the first N {items} of each split (smoke tests)")
    parser.add_argument("--out", type=Path, default=Path(out), help="where checkpoints and metrics go")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_vocab_arguments(parser: argparse.ArgumentParser) -> None:
    """``--vocab-extra-words``: a vocabulary for everyday English, not only the dataset's words."""
    parser.add_argument("--vocab-extra-words", type=int, default=0, metavar="N",
                        help="also put the N most frequent words of the vector file (its first N lines: GloVe "
                             "lists words by frequency) in the vocabulary, with their vectors, so that the model "
                             "knows words its dataset lacks (the shipped models use this)")


def build_vocab(sentences, emb_path: Path, extra_words: int, **options):
    """The dataset's vocabulary (every split, as in the paper's code), extended with the
    ``extra_words`` most frequent words of the vector file.

    Returns:
        ``(vocab, source, data_words)``: the :class:`~treenets.Vocab`, what
        :func:`treenets.embeddings.build_embedding_matrix` should read the
        vectors from (the file, or the vectors already read for the extension),
        and how many entries come from the data (they come first).
    """
    vocab = Vocab.build(sentences, **options)
    if extra_words < 0:
        raise ValueError(f"--vocab-extra-words must be >= 0, got {extra_words}")
    if not extra_words:
        return vocab, emb_path, len(vocab)
    vectors = read_vectors(emb_path)
    before = len(vocab)
    for word in vectors.words[:extra_words]:
        vocab.add(word)
    log(f"vocabulary: {before} words from the data + {len(vocab) - before} of the {extra_words} most frequent "
        f"words of {emb_path.name} = {len(vocab)}")
    return vocab, vectors, before


def log(msg: str) -> None:
    """Progress messages go to stderr, so stdout ends with the result's JSON line."""
    print(msg, file=sys.stderr, flush=True)


def apply_device_arguments(args) -> torch.device:
    """Apply ``--threads``; returns ``--device``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    return torch.device(args.device)


def start_run(args) -> Tuple[torch.device, torch.Generator]:
    """Apply ``--threads`` and ``--seed``; returns the device and the data-order generator."""
    device = apply_device_arguments(args)
    return device, seed_everything(args.seed)


def plain_args(args, **overrides) -> Dict:
    """``vars(args)`` with paths as strings (a checkpoint holds plain data only)."""
    out = {**vars(args), **overrides}
    return {k: str(v) if isinstance(v, Path) else v for k, v in out.items()}


def train_and_select(model: TaskModel, train: Sequence, dev: Sequence, optimizers: Sequence[torch.optim.Optimizer],
                     args, generator: torch.Generator, *, score: str, describe: Callable[[float, Dict], str],
                     bucket_by: Optional[Callable] = None, extra: Optional[Dict] = None) -> Dict:
    """``--epochs`` epochs of :func:`treenets.training.train_epoch`, each scored on ``dev``;
    the model with the best dev ``score`` is saved as a model directory, ``OUT/best/``
    (:func:`treenets.load` reads it), and as a one-file checkpoint, ``OUT/best.pt``.

    Args:
        describe: the log line's text for one epoch from ``(train loss, dev metrics)``.
        bucket_by: with ``--bucket-by-height``, the height of an example.
        extra: plain data stored with the model (in ``config.json``'s metadata
            and the checkpoint) with the epoch and dev metrics (``args``: the
            run's options, see :func:`plain_args`).

    Returns:
        ``{"score": best dev score, "epoch": its epoch, "path": the model directory,
        "checkpoint": the .pt file, "train_seconds": ...}``.

    Raises:
        FloatingPointError: a training loss or the dev score became NaN or
            infinite; the message names the epoch (and the batch) and the
            checkpoint kept so far. Nothing is written for that epoch.
    """
    args.out.mkdir(parents=True, exist_ok=True)
    best = {"score": None, "epoch": 0, "path": args.out / "best", "checkpoint": args.out / "best.pt"}
    n_batches = -(-len(train) // args.batch_size)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        batches = minibatches(train, args.batch_size, generator, bucket_by=bucket_by if args.bucket_by_height else None)
        try:
            loss = train_epoch(model, batches, optimizers, total=n_batches, desc=f"epoch {epoch}",
                               show_progress=not args.no_progress)
        except FloatingPointError as err:
            raise FloatingPointError(f"epoch {epoch}: {err}; training stopped before that update. "
                                     f"{_kept(best)} Try a lower --lr, or check the word vectors") from None
        metrics = model.evaluate(dev)
        if not math.isfinite(metrics[score]):
            raise FloatingPointError(f"epoch {epoch}: the dev {score} is {metrics[score]}; training stopped. "
                                     f"{_kept(best)}")
        log(f"epoch {epoch}: {describe(loss, metrics)} ({time.perf_counter() - start:.0f}s)")
        if best["score"] is None or metrics[score] > best["score"]:  # the first epoch is always kept
            best.update(score=metrics[score], epoch=epoch)
            model.save(best["path"], metadata={"epoch": epoch, "dev": metrics, **(extra or {})})
            save_checkpoint(best["checkpoint"], model, epoch=epoch, dev=metrics, **(extra or {}))
    best["train_seconds"] = time.perf_counter() - start
    return best


def _kept(best: Dict) -> str:
    if best["score"] is None:
        return "No checkpoint was written."
    return f"The best checkpoint so far is {best['path']} (epoch {best['epoch']}, dev {best['score']:.4f})."


def load_best(best: Dict, device) -> TaskModel:
    """The model saved by :func:`train_and_select` (``OUT/best/``), on ``device``, in eval mode."""
    return load(best["path"], device=device)


def finish_run(out: Path, result: dict) -> dict:
    """Write ``OUT/metrics.json`` and print the result as the last line, one JSON object."""
    with atomic_write(out / "metrics.json", "w", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)
    return result
