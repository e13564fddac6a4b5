#!/usr/bin/env python
"""How much of a text a model's vocabulary covers: the share of word tokens that are not unknown.

    python examples/vocab_coverage.py sst5 --text sick     # SST models on SICK's sentences
    python examples/vocab_coverage.py sick --text sst      # the SICK model on SST's sentences

Tokens are looked up the way the model looks them up (its lowercasing and
PTB normalization). ``--text sick`` reads every sentence of SICK (train, dev
and test; the ``.toks`` files, tokenized like stanza does), ``--text sst``
every sentence of SST (all three splits), and ``--text FILE`` a file of
whitespace-tokenized text. Use text the model was not trained on: SST's
vocabulary covers every SST split, SICK's every SICK split.

With ``--baseline`` it also reports the coverage of the dataset's own words
only (the vocabulary without ``--vocab-extra-words``): the vocabulary's first
entries, as many as the model's metadata says came from the data
(``vocab_data_words``, recorded by the training examples). The last line
printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Iterable, List

from common import add_data_dir_argument, resolve_data_dir, run
from treenets import Vocab
from treenets.data import load_sick, load_sst
from treenets.formats import read_lines
from treenets.models import load


def text_tokens(name: str, data_dir: Path) -> List[List[str]]:
    if name == "sick":
        return [t.words for split in ("train", "dev", "test") for p in load_sick(data_dir / "sick", split)
                for t in (p.a, p.b)]
    if name == "sst":
        return [t.words for split in ("train", "dev", "test") for t in load_sst(data_dir / "sst", split)]
    return [line.split() for line in read_lines(Path(name)) if line.strip()]


def coverage(vocab: Vocab, sentences: Iterable[List[str]], punct: bool = True) -> dict:
    tokens = [t for s in sentences for t in s if punct or any(c.isalnum() for c in t)]
    known = sum(1 for t in tokens if t in vocab)
    return {"tokens": len(tokens), "covered": known, "share": round(known / max(len(tokens), 1), 4)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a pretrained name or a model directory")
    p.add_argument("--text", default="sick", help="sick, sst, or a file of whitespace-tokenized text")
    p.add_argument("--baseline", action="store_true",
                   help="also the coverage of the dataset's own vocabulary (without --vocab-extra-words)")
    add_data_dir_argument(p, "sst/ and sick/")
    args = p.parse_args(argv)
    data_dir = resolve_data_dir(args)
    model = load(args.model)
    sentences = text_tokens(args.text, data_dir)
    result = {"model": args.model, "text": args.text, "sentences": len(sentences), "vocab_size": len(model.vocab),
              "all_tokens": coverage(model.vocab, sentences),
              "word_tokens": coverage(model.vocab, sentences, punct=False)}
    if args.baseline:
        size = model.metadata.get("vocab_data_words")
        if not isinstance(size, int):
            raise SystemExit(f"{args.model} does not record how many of its words come from its data "
                             f"(vocab_data_words); no baseline")
        data_vocab = Vocab.from_itos(model.vocab.itos[:size], unk=model.vocab.unk, lower=model.vocab.lower,
                                     normalize=model.vocab.normalize)
        result["baseline_vocab_size"] = size
        result["baseline_all_tokens"] = coverage(data_vocab, sentences)
        result["baseline_word_tokens"] = coverage(data_vocab, sentences, punct=False)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    run(main)
