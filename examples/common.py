"""What the example scripts share: their command-line options, logging, the files they
need, and the options of :func:`treenets.training.fit` taken from the command line.

The examples import it as ``common`` (a script's folder is on ``sys.path`` when
it runs as ``python examples/train_sst.py``). The library itself has no
argparse code: the epochs, selection on dev, checkpoints, resuming, several
processes and the metrics of every epoch are :func:`treenets.training.fit`;
this module maps the command line onto it (:func:`fit_options`).
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Tuple

import torch

from treenets.utils.atomic import atomic_write
from treenets.data import DATA_DIR_HELP, default_data_dir
from treenets.data.glove import find_vectors
from treenets.nn.embeddings import build_embedding_matrix
from treenets.formats import read_vectors
from treenets.models import TaskModel
from treenets.training import (
    LAST, RESUME_MAY_DIFFER as LIBRARY_MAY_DIFFER, ResumeError, check_resume as library_check_resume,
    is_main_process, leave_process_group, main_process_first, resume_folder, seed_everything, setup_distributed,
    world_size,
)
from treenets.nn.vocab import Vocab

#: The command that downloads the datasets and word vectors.
DOWNLOAD = "python -m treenets.data"


class MissingFileError(FileNotFoundError):
    """A file an example needs is not there; the message names it and the command that makes it."""

    def __init__(self, path: Path, what: str, command: str) -> None:
        self.path, self.command = Path(path), command
        super().__init__(f"{path} is missing ({what}); make it with: {command}")


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
    parser.add_argument("--no-tensorboard", action="store_true",
                        help="no TensorBoard events in OUT/tensorboard (written when tensorboard is installed; "
                             "OUT/metrics.jsonl is written always)")
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
    model and draw the same batches (:func:`treenets.training.fit` gives each
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
#: Options that may differ between a run and its resumption: the library's (how
#: long and where it runs), and paths to data, which may move (the vocabulary
#: must stay the same, which fit checks); the vectors are compared by file name.
RESUME_MAY_DIFFER = LIBRARY_MAY_DIFFER | {"no_tensorboard", "data_dir", "parsed_dir", "sick_dir", "default_out"}


def check_resume(state_info: Dict, options: Dict, vocab_digest: str, epochs: int, where: Path) -> None:
    """:func:`treenets.training.check_resume` with the examples' options that may differ."""
    library_check_resume(state_info, options, vocab_digest, epochs, where, may_differ=RESUME_MAY_DIFFER,
                         by_name=("embeddings",))


# -------------------------------------------------------------- the loop
def fit_options(args, generator: torch.Generator, options: Dict, *, bucket_by: Optional[Callable] = None) -> Dict:
    """The keyword arguments of :func:`treenets.training.fit` from the command line (see
    :func:`add_training_arguments`): ``--out``, ``--epochs``, ``--batch-size``, ``--seed``,
    ``--bucket-by-height`` (with ``bucket_by``, the height of an example), ``--resume``,
    ``--no-progress``, ``--no-tensorboard``; ``options`` are the run's options as saved
    (:func:`plain_args`), compared on ``--resume``."""
    return {"out": args.out, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
            "generator": generator, "bucket_by": bucket_by if args.bucket_by_height else None,
            "resume": args.resume or False, "options": options, "may_differ": RESUME_MAY_DIFFER,
            "compare_by_name": ("embeddings",), "progress": not args.no_progress,
            "tensorboard": False if args.no_tensorboard else None, "log": log}


def finish_run(out: Path, result: dict) -> dict:
    """Write ``OUT/metrics.json`` and print the result as the last line, one JSON object (process 0 only)."""
    if not is_main_process():
        return result
    with atomic_write(out / "metrics.json", "w", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)
    return result
