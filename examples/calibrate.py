#!/usr/bin/env python
"""Fit a sentiment model's softmax temperature on SST dev and write the calibrated model.

    python examples/calibrate.py sst5 --out runs/calibrated/sst5
    python examples/calibrate.py runs/fine-minilm-s1/best --out runs/fine-minilm-s1/best
    python examples/calibrate.py sst-ensemble --out treenets/pretrained/sst-ensemble

One scalar ``T`` (:mod:`treenets.models.temperature`): the one that
minimises the negative log-likelihood of the gold **root** labels of SST
dev (read in the model's own label mode) under the probabilities the model
answers with. The model is written to ``--out`` (a model directory: the
same weights, vocabulary and dtypes, with ``"temperature"`` in its config's
``model`` section; an ensemble: its ``ensemble.json`` with ``"temperature"``),
with what was fit recorded in its metadata (``calibration``). ``--out`` may
be the model's own folder. The most probable class never changes; the
probabilities ``predict`` and ``classify`` give do. The test split is never
read.

The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from common import add_data_dir_argument, evaluation_data, log, resolve_data_dir, run
from treenets.models import load
from treenets.models.ensemble import ENSEMBLE_FILE, SentimentEnsemble
from treenets.models.saving import resolve_model
from treenets.models.temperature import fit_temperature
from treenets.utils.atomic import atomic_write


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a pretrained name, a model directory or an ensemble folder")
    p.add_argument("--out", type=Path, required=True, help="where the calibrated model goes (may be the model's "
                   "own folder)")
    add_data_dir_argument(p, "sst/")
    args = p.parse_args(argv)
    data_dir = resolve_data_dir(args)
    model = load(args.model)
    if model.task != "sentiment":
        raise ValueError(f"{args.model}: temperature scaling is for sentiment models, not {model.task!r}")
    info, dev = evaluation_data(model, model.metadata, data_dir, "dev")
    fit = fit_temperature(model, dev)
    command = "python examples/calibrate.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    calibration = {"temperature": round(fit["temperature"], 4), "fit_on": f"SST dev roots ({info['mode']})",
                   "roots": fit["roots"], "dev_nll_before": round(fit["nll_before"], 4),
                   "dev_nll_after": round(fit["nll_after"], 4), "command": command}
    log(f"{args.model}: T = {calibration['temperature']} (dev root NLL {calibration['dev_nll_before']} -> "
        f"{calibration['dev_nll_after']} over {fit['roots']} roots)")
    if isinstance(model, SentimentEnsemble):
        source = resolve_model(args.model)
        spec = json.loads((source / ENSEMBLE_FILE).read_text(encoding="utf-8"))
        spec["temperature"] = calibration["temperature"]
        spec["metadata"] = {**(spec.get("metadata") or {}), "calibration": calibration}
        with atomic_write(args.out / ENSEMBLE_FILE, "w", encoding="utf-8") as f:
            f.write(json.dumps(spec, indent=2) + "\n")
    else:
        model.temperature = calibration["temperature"]
        meta = model.metadata
        model.save(args.out, embedding_dtype=meta.get("embedding_dtype", "float32"),
                   weights_dtype=meta.get("weights_dtype", "float32"), metadata={"calibration": calibration})
    result = {"model": args.model, "out": str(args.out), **calibration}
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    run(main)
