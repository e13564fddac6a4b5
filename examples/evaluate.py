#!/usr/bin/env python
"""Score a model saved by train_sst.py or train_sick.py, or a pretrained one, on any split.

    python examples/evaluate.py runs/sst/best --split test
    python examples/evaluate.py runs/sick/best --split dev --data-dir DIR
    python examples/evaluate.py sst5 --split dev

The model is a model directory (``OUT/best/``), a pretrained name (``sst5``,
``sst2``, ``sick``) or a one-file checkpoint (``OUT/best.pt``). SST models report root and all-node accuracy (in the label mode they were
trained in); SICK checkpoints report Pearson r, Spearman rho and MSE. Each is
scored on the kind of trees it was trained on: a checkpoint trained with
``--parsed-dir`` reads that folder again (or give ``--parsed-dir`` here). The
last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import (
    add_data_dir_argument, add_device_arguments, apply_device_arguments, evaluation_data, positive_int,
    resolve_data_dir, run,
)
from treenets.models import load, load_checkpoint


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a model directory (OUT/best), a pretrained name (sst5, sst2, sick) or a .pt "
                                  "checkpoint")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"])
    add_data_dir_argument(p, "sst/ or sick/")
    p.add_argument("--limit", type=positive_int, default=None, help="score only the first N examples")
    p.add_argument("--parsed-dir", type=Path, default=None,
                   help="trees from examples/prepare_parses.py (default: the folder the checkpoint was trained on, "
                        "if any)")
    add_device_arguments(p)
    args = p.parse_args(argv)

    device = apply_device_arguments(args)
    if Path(args.model).is_file():
        model, extra = load_checkpoint(args.model, map_location=device)
    else:
        model = load(args.model, device=device)
        extra = model.metadata
    result, items = evaluation_data(model, extra, resolve_data_dir(args), args.split, args.limit, args.parsed_dir)
    metrics = model.evaluate(items)
    result.update(split=args.split, model=str(args.model), **{k: round(v, 4) for k, v in metrics.items()})
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    run(main)
