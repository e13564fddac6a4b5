#!/usr/bin/env python
"""Make a word-vector model smaller: drop the last N extra words of its vocabulary (and their vectors).

The shipped models' vocabularies hold the dataset's words first, then
``--vocab-extra-words`` GloVe words in GloVe's frequency order (for raw text
with words the dataset lacks). Dropping the last, rarest extras leaves every
dataset word, so every SST or SICK score stays what it was; only rare words
of raw text become ``<unk>``. The model is scored again on dev and test
(``examples/export_pretrained.py``'s scoring) and written in place, its
config recording what was dropped.

    python examples/prune_vocab.py treenets/pretrained/sst2 --drop-last 2000
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import add_data_dir_argument, log, resolve_data_dir, run
from export_pretrained import score
from treenets.models import load
from treenets.nn.vocab import Vocab


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="a model directory (written in place)")
    p.add_argument("--drop-last", type=int, required=True, metavar="N", help="how many extra words to drop")
    add_data_dir_argument(p, "sst/ and sick/")
    args = p.parse_args(argv)
    data_dir = resolve_data_dir(args)
    model = load(args.model)
    meta = dict(model.metadata)
    data_words = meta.get("vocab_data_words")
    size = len(model.vocab)
    if not isinstance(data_words, int) or args.drop_last < 1 or size - args.drop_last < data_words:
        raise ValueError(f"{args.model}: can drop at most {size - (data_words or size)} extra words "
                         f"(vocabulary {size}, dataset words {data_words}); got --drop-last {args.drop_last}")
    keep = size - args.drop_last
    vocab = model.vocab
    small = Vocab.from_itos(vocab.itos[:keep], unk=vocab.unk, lower=vocab.lower, normalize=vocab.normalize)
    weight = model.encoder.embedding.weight.data[:keep].clone()
    model.vocab = small
    model.encoder.embedding = type(model.encoder.embedding)(keep, weight.shape[1])
    model.encoder.embedding.weight.data.copy_(weight)
    model.encoder.embedding.weight.requires_grad_(not model.config["freeze_embeddings"])
    model.config["vocab_size"] = keep
    meta["vocab_extra_words"] = keep - data_words
    meta["vocab_pruned"] = f"last {args.drop_last} extra words dropped by examples/prune_vocab.py"
    before = {"dev": meta.get("dev"), "test": meta.get("test")}
    model.metadata = {}
    meta["dev"] = score(model, data_dir, "dev")
    meta["test"] = score(model, data_dir, "test")
    model.save(args.model, embedding_dtype=meta.get("embedding_dtype", "float32"), metadata=meta)
    result = {"model": str(args.model), "vocab": [size, keep], "before": before,
              "after": {"dev": meta["dev"], "test": meta["test"]},
              "bytes": sum(f.stat().st_size for f in args.model.iterdir())}
    log(f"vocabulary {size} -> {keep} words")
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    run(main)
