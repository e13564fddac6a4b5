"""Random states: seeding a run, saving and restoring every generator, one seed per process."""
from __future__ import annotations

import hashlib
import random
from typing import Any, Dict

import torch

__all__ = ["seed_everything", "rng_state", "set_rng_state", "rank_seed"]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch (CPU and CUDA); returns a generator for data order."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


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
