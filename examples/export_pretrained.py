#!/usr/bin/env python
"""Turn the best of several training runs into a pretrained model shipped with the package.

    python examples/run_seeds.py --seeds 1 2 3 --jobs 1 --out runs/pre/sst5 -- \\
        examples/train_sst.py --mode fine --vocab-extra-words 30000
    python examples/export_pretrained.py runs/pre/sst5 --name sst5

RUNS is a folder written by ``examples/run_seeds.py`` (``results.jsonl`` and one
``seedN/`` per run) or by one training run (``metrics.json`` and ``best/``).
The run with the best **dev** score is chosen (never the test score), its
``best/`` model directory is saved again as ``OUT/NAME/`` (default
``treenets/pretrained/NAME``) with the word vectors stored as float16 (half
the size), and the saved model is scored again on dev and test, so the
numbers recorded in its ``config.json`` (and printed, as the last line, one
JSON object) are those of the model as shipped.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import (
    add_data_dir_argument, add_device_arguments, apply_device_arguments, evaluation_data, log, positive_int,
    resolve_data_dir, run,
)
from treenets.data import load_sick, load_sst
from treenets.models import load

SCORE = {"sst": "dev_root_acc", "sick": "dev_pearson"}
DESCRIPTION = {
    ("sst", "fine"): "Constituency Tree-LSTM (Tai et al. 2015), 5-class sentiment of every phrase, trained on SST",
    ("sst", "binary"): "Constituency Tree-LSTM (Tai et al. 2015), binary sentiment of every phrase, trained on SST",
    ("sick", None): "Dependency Tree-LSTM (Tai et al. 2015), sentence relatedness 1-5, trained on SICK",
}


def read_runs(runs: Path):
    """Every run's result (the last JSON line of its training) and the command that trained them."""
    if (runs / "results.jsonl").is_file():
        results = [json.loads(line) for line in (runs / "results.jsonl").read_text().splitlines() if line.strip()]
        summary = json.loads((runs / "summary.json").read_text()) if (runs / "summary.json").is_file() else {}
        for r in results:
            r["dir"] = runs / f"seed{r['seed']}"
        return results, summary.get("command")
    result = json.loads((runs / "metrics.json").read_text())
    result["dir"] = runs
    return [result], None


def score(model, data_dir: Path, split: str, limit=None) -> dict:
    """The model's metrics on ``split``, on the data it was trained on (its metadata's mode and trees)."""
    _, items = evaluation_data(model, model.metadata, data_dir, split, limit)
    digits = 2 if model.task == "sentiment" else 4
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in model.evaluate(items).items()}


def data_vocab_size(task: str, data_dir: Path, model):
    """How many vocabulary entries come from the dataset, for runs that did not record it: the
    dataset's vocabulary rebuilt, when it is the model vocabulary's first entries; else ``None``."""
    from treenets import Vocab

    args = model.metadata.get("args") or {}
    if args.get("limit") or args.get("parsed_dir"):
        return None
    if task == "sst":
        mode = model.metadata.get("mode", "fine")
        sentences = [t.words for s in ("train", "dev", "test") for t in load_sst(data_dir / "sst", s, mode=mode)]
    else:
        sentences = [t.words for s in ("train", "dev", "test") for p in load_sick(data_dir / "sick", s)
                     for t in (p.a, p.b)]
    vocab = Vocab.build(sentences, lower=model.vocab.lower, normalize=model.vocab.normalize)
    return len(vocab) if model.vocab.itos[:len(vocab)] == vocab.itos else None


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", type=Path, help="a run_seeds.py folder, or one training run's --out folder")
    p.add_argument("--name", required=True, help="the pretrained model's name (sst5, sst2, sick)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "treenets" / "pretrained",
                   help="where pretrained models go (default: the package's treenets/pretrained)")
    p.add_argument("--embedding-dtype", choices=["float16", "float32"], default="float16")
    p.add_argument("--weights-dtype", choices=["float16", "float32"], default="float32",
                   help="the other weights (float16: half the size; the shipped model is scored as stored)")
    p.add_argument("--command", default=None,
                   help="the training command, for one run's folder (run_seeds.py folders record it)")
    p.add_argument("--description", default=None, help="instead of the default description of its task")
    p.add_argument("--recommended-for", nargs="*", default=[], metavar="USE=RANK",
                   help="uses this model is recommended for (sentiment, binary, relatedness), 1 = best")
    add_data_dir_argument(p, "sst/ and sick/")
    p.add_argument("--limit", type=positive_int, default=None, help="score only the first N dev and test examples (smoke tests)")
    add_device_arguments(p)
    args = p.parse_args(argv)
    device = apply_device_arguments(args)
    data_dir = resolve_data_dir(args)

    results, command = read_runs(args.runs)
    task = results[0]["task"]
    best = max(results, key=lambda r: (r[SCORE[task]], -r["seed"]))  # ties: the lowest seed
    log(f"{len(results)} runs; dev {SCORE[task]} by seed: "
        + ", ".join(f"{r['seed']}: {r[SCORE[task]]}" for r in results) + f"; chosen: seed {best['seed']}")
    model = load(best["dir"] / "best", device=device)
    mode = best.get("mode")
    data_mode = model.metadata.get("mode")
    train_args = dict(model.metadata.get("args") or {})
    for private in ("data_dir", "out", "no_progress", "device", "threads"):
        train_args.pop(private, None)
    if train_args.get("embeddings"):
        train_args["embeddings"] = Path(train_args["embeddings"]).name
    command = command or args.command
    run_command = f"{command} --seed {best['seed']}" if command and "--seed" not in command else command
    if run_command:
        run_command = run_command.replace(str(data_dir), "$TREENETS_DATA_DIR")
    metadata = {
        "name": args.name,
        "description": args.description or DESCRIPTION.get((task, mode), DESCRIPTION.get((task, None), "")),
        "command": run_command,
        "seed": best["seed"], "best_epoch": best.get("best_epoch"),
        **({"mode": data_mode} if data_mode else {}),
        "selection": f"best dev {SCORE[task][4:]} among seeds {sorted(r['seed'] for r in results)}",
        "dev_by_seed": {str(r["seed"]): r[SCORE[task]] for r in results},
        "embeddings": best.get("embeddings"), "embedding_dtype": args.embedding_dtype,
        "vocab_extra_words": best.get("vocab_extra_words", 0),
        "vocab_data_words": (model.metadata["vocab_data_words"] if "vocab_data_words" in model.metadata
                             else data_vocab_size(task, data_dir, model)),
        "train_args": train_args,
        **({"weights_dtype": args.weights_dtype} if args.weights_dtype != "float32" else {}),
        **({"recommended_for": {k: int(v) for k, v in (x.split("=", 1) for x in args.recommended_for)}}
           if args.recommended_for else {}),
    }
    model.metadata = {}
    target = args.out / args.name
    model.save(target, embedding_dtype=args.embedding_dtype, metadata=metadata, weights_dtype=args.weights_dtype)
    shipped = load(target, device=device)
    metadata["dev"] = score(shipped, data_dir, "dev", args.limit)
    metadata["test"] = score(shipped, data_dir, "test", args.limit)
    shipped.save(target, embedding_dtype=args.embedding_dtype, metadata=metadata, weights_dtype=args.weights_dtype)
    size = sum(f.stat().st_size for f in target.iterdir())
    result = {"name": args.name, "path": str(target), "bytes": size, "seed": best["seed"],
              "dev_at_training": best[SCORE[task]], "dev": metadata["dev"], "test": metadata["test"],
              "command": run_command}
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    run(main)
