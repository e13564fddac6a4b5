"""Resuming a run: finding its training state, and refusing to continue it with other options or data."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Collection, Dict, Union

__all__ = ["LAST", "ResumeError", "RESUME_MAY_DIFFER", "resume_folder", "check_resume", "vocab_digest"]

#: Where :func:`treenets.training.fit` writes the training state, inside its ``out`` folder.
LAST = "last"

#: Options that may differ between a run and its resumption by default: how
#: long and where it runs, not what it computes.
RESUME_MAY_DIFFER = frozenset({"epochs", "resume", "out", "device", "threads", "no_progress"})


class ResumeError(ValueError):
    """A run cannot be resumed: no training state, or other options, data or fewer epochs than it has."""


def resume_folder(path: Union[str, Path]) -> Path:
    """The training state folder of a run to resume: ``PATH/last``, or ``PATH`` itself if it is one.

    Raises:
        ResumeError: ``path`` is a folder without a training state.
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    for folder in (path / LAST, path):
        if (folder / "state.json").is_file():
            return folder
    if path.is_dir():
        raise ResumeError(f"--resume {path}: no training state in it ({path / LAST / 'state.json'} is missing); "
                          f"a run writes it after its first epoch, so start this one again without --resume")
    raise FileNotFoundError(f"{path} is missing (the folder of the run to resume); make it with: a training run "
                            f"with --out {path}")


def _comparable(options: Dict, may_differ: Collection[str], by_name: Collection[str]) -> Dict:
    out = {k: v for k, v in options.items() if k not in may_differ}
    for key in by_name:
        if out.get(key) is not None:
            out[key] = str(out[key]).replace("\\", "/").rsplit("/", 1)[-1]
    return out


def check_resume(state_info: Dict, options: Dict, vocab_digest: str, epochs: int, where: Union[str, Path], *,
                 may_differ: Collection[str] = RESUME_MAY_DIFFER, by_name: Collection[str] = ()) -> None:
    """Refuse to resume a run with other options, other data, or fewer epochs than it already has.

    Args:
        state_info: the saved state's ``info`` with its ``epoch``; its
            ``args`` are the options the run was started with, and its
            ``vocab_sha256`` the digest of its vocabulary.
        options: this run's options (plain data; named like command-line
            options: ``hidden`` is reported as ``--hidden``).
        vocab_digest: this run's :func:`vocab_digest`.
        epochs: the epochs this run asks for, in all.
        where: the run's folder, for the messages.
        may_differ: option names that are not compared.
        by_name: options that are paths compared by file name only (a file
            that moved is the same file).

    Raises:
        ResumeError: naming every option that differs, old and new.
    """
    saved = _comparable(state_info.get("args") or {}, may_differ, by_name)
    now = _comparable(options, may_differ, by_name)
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
