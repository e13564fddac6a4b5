#!/usr/bin/env python
"""Choose the weight C of the A-but-B rule on SST dev, for each model, and write it into the model.

    python examples/contrast_rule.py sst2 sst5 sst5-minilm sst-ensemble
    python examples/contrast_rule.py sst2 sst5 sst5-minilm sst-ensemble --write
    python examples/contrast_rule.py runs/fine-minilm-s1/best --out runs/fine-minilm-s1-rule

The rule (:mod:`treenets.models.contrast`, Hu et al. 2016): where a sentence
reads "A but B", the root's probabilities are pulled towards the polarity the
model gives the node B. For every model the grid (``--grid``, default
0 0.5 1 1.5 2 3 4 6 8) is scored by SST-2 root accuracy over all of SST dev's
polar roots (872; five-class models answer with the more probable of negative
and positive), the model's own rule left out. The choice is the best weight,
the smallest on a tie, and only if it beats C = 0 strictly; otherwise the rule
stays off. The test split is never read.

``--words`` also scores the same rule read on other contrast words
(however, although, though, yet: B the node after the word), one at a time,
to report; only "but" is ever written.

With ``--write`` (or ``--out``, one model), the choice is written: into the
model's ``config.json`` (``"contrast_rule": {"weight": C}`` in its ``model``
section, the weights, vocabulary and dtypes unchanged, ``SHA256SUMS``
rewritten) or an ensemble's ``ensemble.json``, with the grid in its metadata
(``contrast_rule``); where the rule stays off, an earlier ``contrast_rule`` is
removed. ``--write`` writes each model in place (a pretrained name: the
package's own folder).

The last line printed is one JSON object: ``{model: result}``.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from common import add_data_dir_argument, log, resolve_data_dir, run
from treenets.data import load_sst
from treenets.models import load
from treenets.models.contrast import CONTRAST_KEY, GRID, choose_weight
from treenets.models.ensemble import ENSEMBLE_FILE, SentimentEnsemble
from treenets.models.saving import resolve_model
from treenets.utils.atomic import atomic_write

OTHER_WORDS = ("however", "although", "though", "yet")


def write_choice(model, source: Path, out: Path, weight, record: dict) -> None:
    """The model with its rule set to ``weight`` (``None``: removed) and ``record`` in its metadata, at ``out``."""
    if isinstance(model, SentimentEnsemble):
        spec = json.loads((source / ENSEMBLE_FILE).read_text(encoding="utf-8"))
        spec.pop(CONTRAST_KEY, None)
        if weight is not None:
            spec[CONTRAST_KEY] = {"weight": weight}
        spec["metadata"] = {**(spec.get("metadata") or {}), CONTRAST_KEY: record}
        with atomic_write(out / ENSEMBLE_FILE, "w", encoding="utf-8") as f:
            f.write(json.dumps(spec, indent=2) + "\n")
        return
    model.contrast_weight = weight
    meta = model.metadata
    model.save(out, embedding_dtype=meta.get("embedding_dtype", "float32"),
               weights_dtype=meta.get("weights_dtype", "float32"), metadata={CONTRAST_KEY: record})


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="pretrained names, model directories or ensemble folders")
    p.add_argument("--grid", type=float, nargs="+", default=list(GRID), help="the weights C to try (0 included)")
    p.add_argument("--words", action="store_true", help="also score the rule read on " + ", ".join(OTHER_WORDS))
    p.add_argument("--write", action="store_true", help="write each model's choice into its own folder")
    p.add_argument("--out", type=Path, default=None, help="write the (one) model's choice here instead")
    add_data_dir_argument(p, "sst/")
    args = p.parse_args(argv)
    if args.out is not None and len(args.models) != 1:
        raise ValueError("--out takes one model; use --write for several")
    if 0.0 not in args.grid:
        raise ValueError("--grid must hold 0 (the rule off), to compare with")
    torch.set_num_threads(1)
    dev = load_sst(resolve_data_dir(args) / "sst", "dev", mode="fine")
    command = "python examples/contrast_rule.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    results = {}
    for name in args.models:
        model = load(name)
        if model.task != "sentiment":
            raise ValueError(f"{name}: the contrast rule is for sentiment models, not {model.task!r}")
        found = choose_weight(model, dev, args.grid)
        record = {"weight": found["weight"], "chosen_on": "SST-2 dev root accuracy (all polar dev roots)",
                  "roots": found["roots"], "fires": found["fires"],
                  "dev_grid": {f"{w:g}": acc for w, acc in found["grid"].items()}, "command": command}
        log(f"{name}: rule fires on {found['fires']} of {found['roots']} polar dev roots; dev SST-2 by C: "
            + ", ".join(f"{w:g}: {acc:.2f}" for w, acc in found["grid"].items())
            + f"; chosen: {'off' if found['weight'] is None else found['weight']:}")
        result = {"model": name, **record}
        if args.words:
            result["words"] = {}
            for word in OTHER_WORDS:
                other = choose_weight(model, dev, args.grid, word=word)
                result["words"][word] = {"fires": other["fires"], "best": other["weight"],
                                         "dev_grid": {f"{w:g}": acc for w, acc in other["grid"].items()}}
                log(f"  {word!r} instead: fires on {other['fires']}; dev SST-2 by C: "
                    + ", ".join(f"{w:g}: {acc:.2f}" for w, acc in other["grid"].items()))
        if args.write or args.out is not None:
            source = resolve_model(name)
            out = args.out if args.out is not None else source
            write_choice(model, source, out, found["weight"], record)
            result["out"] = str(out)
        print(json.dumps(result), flush=True)
        results[name] = result
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    run(main)
