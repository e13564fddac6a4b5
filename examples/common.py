"""What the example scripts share: their command-line options, logging, the files they
need, and the epoch loop that keeps the checkpoint with the best dev score, writes the
state that resumes a run, and trains on several processes under ``torchrun``.

The examples import it as ``common`` (a script's folder is on ``sys.path`` when
it runs as ``python examples/train_sst.py``). The library itself has no
argparse code: training is :func:`treenets.training.train_epoch` and
``model.evaluate``, resuming is :func:`treenets.training.save_training_state`
and :func:`~treenets.training.load_training_state`, and several processes are
:func:`~treenets.training.setup_distributed` and :func:`~treenets.training.wrap_ddp`.
"""
from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

import torch

from treenets.utils.atomic import atomic_write
from treenets.data import DATA_DIR_HELP, default_data_dir
from treenets.data.glove import find_vectors
from treenets.nn.embeddings import build_embedding_matrix
from treenets.formats import read_vectors
from treenets.models import TaskModel, load, save_checkpoint
from treenets.training import (
    all_gather, is_main_process, leave_process_group, load_training_state, main_process_first, minibatches, rank,
    rank_seed,
    read_training_info, rng_state, save_training_state, seed_everything, setup_distributed, train_epoch,
    world_size, wrap_ddp,
)
from treenets.nn.vocab import Vocab

#: The command that downloads the datasets and word vectors.
DOWNLOAD = "python -m treenets.data"
#: Where a run's training state goes, inside its ``--out`` folder.
LAST = "last"


class MissingFileError(FileNotFoundError):
    """A file an example needs is not there; the message names it and the command that makes it."""

    def __init__(self, path: Path, what: str, command: str) -> None:
        self.path, self.command = Path(path), command
        super().__init__(f"{path} is missing ({what}); make it with: {command}")


class ResumeError(ValueError):
    """``--resume`` cannot continue that run with these options."""


def run(main: Callable) -> None:
    """Run an example's ``main`` as a command.

    Bad input (a missing or malformed file, options that do not fit a run to
    resume, a download that failed) is reported as one line on stderr with
    exit code 2, not as a traceback. ``TREENETS_DEBUG=1`` shows the traceback.
    """
    try:
        main()
        leave_process_group(wait=True)  # under torchrun: every process ends together
    except (OSError, ValueError, FloatingPointError) as err:
        if os.environ.get("TREENETS_DEBUG"):
            raise
        print(f"{Path(sys.argv[0]).name}: error: {err}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


# ----------------------------------------------------------------- options
def add_data_dir_argument(parser: argparse.ArgumentParser, holds: str) -> None:
    """``--data-dir``; ``holds`` says what the folder must contain (e.g. ``"sst/ and embeddings/"``)."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"folder with {holds} (default: {DATA_DIR_HELP})")


def resolve_data_dir(args) -> Path:
    """``--data-dir``, else :func:`treenets.data.default_data_dir`."""
    return args.data_dir or default_data_dir()


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--threads``."""
    parser.add_argument("--device", default="cpu",
                        help="cpu, cuda or cuda:K (under torchrun, cuda means the GPU of the process's local rank)")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for torch (0: torch's default); 1 is fastest when several runs share the CPU")


def add_embeddings_argument(parser: argparse.ArgumentParser, default: str) -> None:
    """``--embeddings``: a vector file, a zip holding one, ``ZIP:MEMBER``, or an official GloVe file name."""
    parser.add_argument("--embeddings", default=None,
                        help="word vectors: a GloVe or word2vec text file (.txt or .txt.gz), a zip holding one "
                             "(glove.840B.300d.zip), ZIP:MEMBER (glove.6B.zip:glove.6B.50d.txt), or the name of an "
                             "official GloVe file, looked up in DATA_DIR/embeddings/ as a file or inside its zip "
                             f"(default: {default}, from `{DOWNLOAD} --only glove`)")


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (``--epochs``, ``--batch-size``, ``--limit``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_training_arguments(parser: argparse.ArgumentParser, *, out: str, items: str = "examples") -> None:
    """The options every training example shares (optimisation, seed, device, output, resuming).

    The paper's settings are the defaults: 10 epochs, batch 25, AdaGrad lr 0.05, L2 1e-4.
    """
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument("--batch-size", type=positive_int, default=25,
                        help="examples per update; under torchrun the global batch, shared by the processes")
    parser.add_argument("--lr", type=float, default=0.05, help="AdaGrad learning rate of the model")
    parser.add_argument("--l2", type=float, default=1e-4, help="L2 penalty (AdaGrad weight decay)")
    parser.add_argument("--bucket-by-height", action="store_true",
                        help=f"batch {items} of similar tree height together (fewer levels per batch, faster; "
                             "the paper's batches are plain random)")
    parser.add_argument("--seed", type=int, default=1)
    add_device_arguments(parser)
    parser.add_argument("--limit", type=positive_int, default=None,
                        help=f"use only the first N {items} of each split (smoke tests)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"where checkpoints, metrics and the training state go (default: {out}; "
                             "with --resume, the resumed run's folder)")
    parser.add_argument("--resume", type=Path, default=None, metavar="DIR",
                        help=f"continue the run whose --out was DIR (from DIR/{LAST}, written after every epoch) "
                             "with the same options; --epochs may be raised")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(default_out=Path(out))


def add_vocab_arguments(parser: argparse.ArgumentParser) -> None:
    """``--vocab-extra-words``: a vocabulary for everyday English, not only the dataset's words."""
    parser.add_argument("--vocab-extra-words", type=int, default=0, metavar="N",
                        help="also put the N most frequent words of the vector file (its first N lines: GloVe "
                             "lists words by frequency) in the vocabulary, with their vectors, so that the model "
                             "knows words its dataset lacks (the shipped models use this)")


def build_vocab(sentences, source, extra_words: int, **options):
    """The dataset's vocabulary (every split, as in the paper's code), extended with the
    ``extra_words`` most frequent words of the vector file ``source`` (:func:`find_word_vectors`).

    Only the first ``extra_words`` lines of the file are read here; the
    vocabulary's vectors come from :func:`load_word_vectors`, through its cache.

    Returns:
        ``(vocab, data_words)``: the :class:`~treenets.Vocab`, and how many
        entries come from the data (they come first).
    """
    vocab = Vocab.build(sentences, **options)
    if extra_words < 0:
        raise ValueError(f"--vocab-extra-words must be >= 0, got {extra_words}")
    if not extra_words:
        return vocab, len(vocab)
    first = read_vectors(source.path, member=source.member, limit=extra_words)  # only the first lines
    before = len(vocab)
    for word in first.words:
        vocab.add(word)
    log(f"vocabulary: {before} words from the data + {len(vocab) - before} of the {extra_words} most frequent "
        f"words of {source.name} = {len(vocab)}")
    return vocab, before


def log(msg: str) -> None:
    """Progress messages go to stderr, so stdout ends with the result's JSON line; only process 0 logs."""
    if is_main_process():
        print(msg, file=sys.stderr, flush=True)


def apply_device_arguments(args) -> torch.device:
    """Apply ``--threads``; returns ``--device``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    return torch.device(args.device)


def start_run(args) -> Tuple[torch.device, torch.Generator]:
    """Apply ``--threads``, join the process group under ``torchrun``, settle ``--out`` and
    ``--resume``, and apply ``--seed``; returns the device and the data-order generator.

    Every process of a distributed run seeds alike here, so they build the same
    model and draw the same batches (:func:`train_and_select` gives each
    process its own random stream for dropout afterwards).
    """
    apply_device_arguments(args)
    device = setup_distributed(args.device)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        atexit.register(leave_process_group)
        log(f"distributed: {world_size()} processes ({torch.distributed.get_backend()}), "
            f"global batch {args.batch_size}")
    default_out = vars(args).pop("default_out", None)
    if args.resume is not None:
        last = resume_folder(args.resume)
        if args.out is not None and args.out.resolve() != last.parent.resolve():
            raise ResumeError(f"--resume continues the run in its own folder {last.parent}; "
                              f"drop --out {args.out} or give that folder")
        args.out = last.parent
    elif args.out is None:
        args.out = default_out
    return device, seed_everything(args.seed)


def plain_args(args, **overrides) -> Dict:
    """``vars(args)`` with paths as strings (a checkpoint holds plain data only)."""
    out = {**vars(args), **overrides}
    return {k: str(v) if isinstance(v, Path) else v for k, v in out.items()}


# -------------------------------------------------------------- evaluation
def label_mode(model: TaskModel, info: Optional[Dict] = None) -> str:
    """The SST label mode a sentiment model was trained in: its saved ``mode``, else guessed from its classes."""
    saved = (info or {}).get("mode")
    return saved or {5: "fine", 3: "binary3"}.get(model.config["n_classes"], "binary")


def evaluation_data(model: TaskModel, info: Optional[Dict], data_dir: Path, split: str,
                    limit: Optional[int] = None, parsed_dir=None) -> Tuple[Dict, list]:
    """The examples of ``split`` a model is scored on, read the way it was trained.

    ``info`` is what the training run saved (``model.metadata`` or a
    checkpoint's extra: its ``mode`` and its ``args``): trees from its
    ``--parsed-dir`` (unless ``parsed_dir`` overrides) and SICK from its
    ``--sick-dir``, else the SST or SICK files of ``data_dir``. Returns the
    result's description (``{"task": ..., "mode": ...}``) and the examples.
    """
    from treenets.data import load_sick, load_sst
    from treenets.data.parsed import load_parsed_sick, load_parsed_sst

    info = info or {}
    trained = info.get("args") or info.get("train_args") or {}
    parsed_dir = parsed_dir or trained.get("parsed_dir")
    if model.task == "sentiment":
        mode = label_mode(model, info)
        if parsed_dir:
            items = load_parsed_sst(parsed_dir, split, mode=mode)[:limit]
        else:
            items = load_sst(data_dir / "sst", split, mode=mode)[:limit]
        return {"task": "sst", "mode": mode}, items
    trained_on = trained.get("sick_dir")  # train_sick.py --sick-dir (stanza's parses)
    sick_dir = Path(trained_on) if trained_on and Path(trained_on).is_dir() else data_dir / "sick"
    if parsed_dir:
        items = load_parsed_sick(parsed_dir, split, sick_dir, limit=limit)
    else:
        items = load_sick(sick_dir, split)[:limit]
    return {"task": "sick"}, items


# ------------------------------------------------------------------- files
def download_command(data_dir: Path, only: str) -> str:
    """The ``python -m treenets.data`` command that fetches ``only`` into ``data_dir``."""
    return f"{DOWNLOAD} --root {data_dir} --only {only}"


def require_files(paths: Iterable[Path], what: str, command: str) -> None:
    """Raise :class:`MissingFileError` for the first of ``paths`` that is not a file."""
    for path in paths:
        if not Path(path).is_file():
            raise MissingFileError(path, what, command)


#: Subsets of the official GloVe files that hold the vector of every word of SST
#: and of Tai et al.'s SICK tokens that the official file has (so they give the
#: same embeddings for those); this project's machines keep these instead of the
#: official files, and the README's results used them. They are used only for
#: the default, when the official file is not there.
SUBSETS = {"glove.6B.50d.txt": ("glove.6B.50d.100k.txt",), "glove.840B.300d.txt": ("glove.840B.300d.sick.txt",)}


def find_word_vectors(args, data_dir: Path, default: str):
    """The vector file of ``--embeddings``, else of ``default`` (an official GloVe file name), as a
    :class:`treenets.data.glove.VectorFile`.

    Found by :func:`treenets.data.glove.find_vectors` (the default also as one
    of its :data:`SUBSETS`); a missing one names the command that downloads it.
    """
    alternatives = () if args.embeddings else SUBSETS.get(default, ())
    return find_vectors(args.embeddings or default, data_dir / "embeddings", root=data_dir, alternatives=alternatives)


def load_word_vectors(vocab, source, **options):
    """The embedding matrix for ``vocab`` from ``source`` (:func:`find_word_vectors`), and its coverage.

    Only the vectors of the vocabulary are read, through the cache of
    :func:`treenets.nn.embeddings.build_embedding_matrix` (``cache=True``): the
    first run reads the whole file, later runs with the same vocabulary and
    file read the cached subset. Under ``torchrun`` process 0 fills the cache
    first and the others read it.
    """
    start = time.perf_counter()
    with main_process_first():
        vectors, coverage = build_embedding_matrix(vocab, source.path, member=source.member, cache=True, **options)
    log(f"embeddings {source}: {coverage.found_types}/{coverage.num_types} word types covered "
        f"({100 * coverage.type_coverage:.1f}%; read in {time.perf_counter() - start:.1f}s)")
    return vectors, coverage


# ---------------------------------------------------------------- resuming
#: Options that may differ between a run and its resumption. Paths to data may
#: move (the vocabulary must stay the same, which is checked), the vectors are
#: compared by file name, and everything else must be equal.
RESUME_MAY_DIFFER = frozenset({"epochs", "resume", "out", "device", "threads", "no_progress", "data_dir",
                               "parsed_dir", "sick_dir", "default_out"})


def resume_folder(path: Path) -> Path:
    """The training state folder of ``--resume PATH``: ``PATH/last``, or ``PATH`` itself if it is one."""
    path = Path(path)
    for folder in (path / LAST, path):
        if (folder / "state.json").is_file():
            return folder
    if path.is_dir():
        raise ResumeError(f"--resume {path}: no training state in it ({path / LAST / 'state.json'} is missing); "
                          f"a run writes it after its first epoch, so start this one again without --resume")
    raise MissingFileError(path, "the folder of the run to resume", "a training run with --out " + str(path))


def _comparable(options: Dict) -> Dict:
    out = {k: v for k, v in options.items() if k not in RESUME_MAY_DIFFER}
    if out.get("embeddings") is not None:
        out["embeddings"] = str(out["embeddings"]).replace("\\", "/").rsplit("/", 1)[-1]
    return out


def check_resume(state_info: Dict, options: Dict, vocab_digest: str, epochs: int, where: Path) -> None:
    """Refuse to resume a run with other options, other data, or fewer epochs than it already has.

    Raises:
        ResumeError: naming every option that differs, old and new.
    """
    saved, now = _comparable(state_info.get("args") or {}), _comparable(options)
    diffs = [f"--{k.replace('_', '-')} {saved.get(k)!r} (now {now.get(k)!r})"
             for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if diffs:
        raise ResumeError(f"--resume {where}: the run was started with other options: {'; '.join(diffs)}. "
                          f"Resume with the same options, or start a new run with another --out")
    if state_info.get("vocab_sha256") != vocab_digest:
        raise ResumeError(f"--resume {where}: the data differ from the run's (another vocabulary: other files "
                          f"in the data folder?)")
    done = int(state_info.get("epoch", 0))
    if epochs < done:
        raise ResumeError(f"--resume {where}: the run has already trained {done} epochs; --epochs {epochs} asks for "
                          f"fewer")


def vocab_digest(vocab) -> str:
    """A sha256 of the vocabulary's words in id order (a resumed run must index words the same way)."""
    h = hashlib.sha256()
    for word in vocab.itos:
        h.update(word.encode("utf-8", "surrogatepass") + b"\n")
    return h.hexdigest()


# -------------------------------------------------------------- the loop
def train_and_select(model: TaskModel, train: Sequence, dev: Sequence, optimizers: Sequence[torch.optim.Optimizer],
                     args, generator: torch.Generator, *, score: str, describe: Callable[[float, Dict], str],
                     bucket_by: Optional[Callable] = None, extra: Optional[Dict] = None,
                     schedulers: Sequence = ()) -> Optional[Dict]:
    """``--epochs`` epochs of :func:`treenets.training.train_epoch`, each scored on ``dev``;
    the model with the best dev ``score`` is saved as a model directory, ``OUT/best/``
    (:func:`treenets.load` reads it), and as a one-file checkpoint, ``OUT/best.pt``.

    After every epoch the training state (weights, optimizers, schedulers,
    random states of every process, the data-order generator, the epoch, the
    best score and epoch, the options) goes to ``OUT/last``, atomically;
    ``--resume`` reads it back, checks that the options that matter are the
    same, and goes on with the next epoch, so a killed run ends as it would
    have without the interruption.

    Under ``torchrun`` the model is wrapped in DistributedDataParallel and
    every process takes its share of every global batch of ``--batch-size``;
    process 0 alone scores dev, writes files and logs.

    Args:
        describe: the log line's text for one epoch from ``(train loss, dev metrics)``.
        bucket_by: with ``--bucket-by-height``, the height of an example.
        extra: plain data stored with the model (in ``config.json``'s metadata
            and the checkpoint) with the epoch and dev metrics (``args``: the
            run's options, see :func:`plain_args`).
        schedulers: learning-rate schedulers, stepped after every epoch.

    Returns:
        ``{"score": best dev score, "epoch": its epoch, "path": the model directory,
        "checkpoint": the .pt file, "train_seconds": ...}`` on process 0; ``None`` on the others.

    Raises:
        FloatingPointError: a training loss or the dev score became NaN or
            infinite; the message names the epoch (and the batch) and the
            checkpoint kept so far. Nothing is written for that epoch.
    """
    main, here = is_main_process(), rank()
    options = (extra or {}).get("args") or plain_args(args)
    digest = vocab_digest(model.vocab)
    best = {"score": None, "epoch": 0, "path": args.out / "best", "checkpoint": args.out / "best.pt"}
    first, seconds = 1, 0.0
    if args.resume is not None:
        folder = resume_folder(args.resume)
        info = read_training_info(folder)
        check_resume({**info["info"], "epoch": info["epoch"]}, options, digest, args.epochs, args.resume)
        # read to the CPU: load_state_dict copies weights and optimizer state onto the parameters' device,
        # and random states must stay CPU tensors
        state = load_training_state(folder, map_location="cpu")
        if state.world_size != world_size():
            log(f"resuming a run of {state.world_size} processes on {world_size()}: same batches, but the processes' "
                f"dropout streams are drawn anew, so the result is not bit-identical")
        own_rng = state.restore(model, optimizers, schedulers, generator, process=here)
        if not own_rng:
            seed_everything(rank_seed(args.seed, here) + state.epoch)
        best.update(score=state.info.get("best_score"), epoch=state.info.get("best_epoch", 0))
        first, seconds = state.epoch + 1, float(state.info.get("train_seconds", 0.0))
        log(f"resuming {folder} after epoch {state.epoch} (best dev {score} {best['score']} at epoch {best['epoch']})")
    elif here > 0:
        seed_everything(rank_seed(args.seed, here))  # its own dropout masks; batches come from `generator`
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    ddp = wrap_ddp(model) if distributed else None
    if main:
        args.out.mkdir(parents=True, exist_ok=True)
    n_batches = -(-len(train) // args.batch_size)
    for epoch in range(first, args.epochs + 1):
        start = time.perf_counter()
        batches = minibatches(train, args.batch_size, generator, bucket_by=bucket_by if args.bucket_by_height else None)
        try:
            loss = train_epoch(model, batches, optimizers, total=n_batches, desc=f"epoch {epoch}",
                               show_progress=not args.no_progress, ddp=ddp)
        except FloatingPointError as err:
            raise FloatingPointError(f"epoch {epoch}: {err}; training stopped before that update. "
                                     f"{_kept(best)} Try a lower --lr, or check the word vectors") from None
        for scheduler in schedulers:
            scheduler.step()
        rngs = all_gather(rng_state())  # every process's, for an exact resume
        if not main:
            continue
        metrics = model.evaluate(dev)
        if not math.isfinite(metrics[score]):
            raise FloatingPointError(f"epoch {epoch}: the dev {score} is {metrics[score]}; training stopped. "
                                     f"{_kept(best)}")
        if best["score"] is None or metrics[score] > best["score"]:  # the first epoch is always kept
            best.update(score=metrics[score], epoch=epoch)
            model.save(best["path"], metadata={"epoch": epoch, "dev": metrics, **(extra or {})})
            save_checkpoint(best["checkpoint"], model, epoch=epoch, dev=metrics, **(extra or {}))
        seconds += time.perf_counter() - start
        save_training_state(args.out / LAST, model=model, optimizers=optimizers, schedulers=schedulers,
                            generator=generator, rng=rngs, epoch=epoch,
                            info={"best_score": best["score"], "best_epoch": best["epoch"], "score": score,
                                  "train_seconds": seconds, "vocab_sha256": digest, "args": options,
                                  "dev": metrics})
        log(f"epoch {epoch}: {describe(loss, metrics)} ({seconds:.0f}s)")  # logged once its state is saved
    if not main:
        return None
    best["train_seconds"] = seconds
    return best


def _kept(best: Dict) -> str:
    if best["score"] is None:
        return "No checkpoint was written."
    return f"The best checkpoint so far is {best['path']} (epoch {best['epoch']}, dev {best['score']:.4f})."


def load_best(best: Dict, device) -> TaskModel:
    """The model saved by :func:`train_and_select` (``OUT/best/``), on ``device``, in eval mode."""
    return load(best["path"], device=device)


def finish_run(out: Path, result: dict) -> dict:
    """Write ``OUT/metrics.json`` and print the result as the last line, one JSON object (process 0 only)."""
    if not is_main_process():
        return result
    with atomic_write(out / "metrics.json", "w", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)
    return result
