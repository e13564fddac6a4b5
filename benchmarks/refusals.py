"""How fast and how cheaply a bad model directory is refused, beside a good load (docs/limits.md, "Integrity").

Each case copies the shipped ``sst5`` model to a temporary folder, damages it
one way (updating SHA256SUMS where the case says so, as someone editing a
model on purpose would), and times ``treenets.load`` until it refuses, with
the growth of the process's peak resident memory. Run::

    OMP_NUM_THREADS=1 python -m benchmarks.refusals
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _resum(folder: Path, name: str) -> None:
    lines = [ln for ln in (folder / "SHA256SUMS").read_text().splitlines() if not ln.endswith("  " + name)]
    lines.append(f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}")
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def _config(folder: Path, **model) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["model"].update(model)
    (folder / "config.json").write_text(json.dumps(config))
    _resum(folder, "config.json")


def _flip_lower(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["vocab"]["lower"] = not config["vocab"]["lower"]
    (folder / "config.json").write_text(json.dumps(config, indent=2))


def _weights(folder: Path, how: str) -> None:
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    if how == "fifo":
        weights.unlink()
        os.mkfifo(weights)
    elif how == "dev-zero":
        weights.unlink()
        weights.symlink_to("/dev/zero")
    elif how == "sparse":
        with open(weights, "r+b") as f:
            f.truncate(max(size, 2 << 30))


CASES = {
    "good (no damage)": lambda d: None,
    "vocab.lower flipped, sums not updated": lambda d: _flip_lower(d),
    "hidden_size 12000 (sums updated)": lambda d: _config(d, hidden_size=12000),
    "n_classes 1e9 (sums updated)": lambda d: _config(d, n_classes=1e9),
    "hidden_size [150] (sums updated)": lambda d: _config(d, hidden_size=[150]),
    "weights a FIFO": lambda d: _weights(d, "fifo"),
    "weights -> /dev/zero": lambda d: _weights(d, "dev-zero"),
    "weights a sparse 2 GB file": lambda d: _weights(d, "sparse"),
}


def main() -> None:
    import torch

    import treenets as tn
    from treenets.models.saving import pretrained_root

    torch.set_num_threads(1)
    tn.load("sst5")  # warm: imports and first-use costs are not counted below
    print(f"{'case':36s} {'result':9s} {'seconds':>8s} {'peak RSS growth (MB)':>21s}  message")
    with tempfile.TemporaryDirectory() as tmp:
        for name, damage in CASES.items():
            folder = Path(tmp) / name.replace(" ", "_").replace("/", "_")
            shutil.copytree(pretrained_root() / "sst5", folder)
            damage(folder)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            try:
                tn.load(folder)
                result, message = "loaded", ""
            except (ValueError, FileNotFoundError) as err:
                result, message = "refused", str(err)
            seconds = time.perf_counter() - start
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
            message = message.replace(str(folder), "DIR")
            print(f"{name:36s} {result:9s} {seconds:8.3f} {grown:21.1f}  {message[:110]}")


if __name__ == "__main__":
    main()
