#!/usr/bin/env python
"""Accuracy through raw text: a model on gold trees, then on the same sentences as plain text.

    python examples/raw_text_accuracy.py --model sst5
    python examples/raw_text_accuracy.py --model sst2
    python examples/raw_text_accuracy.py --model sick

SST (``sst5``, ``sst2``): every test sentence is scored twice, (1) on its gold
SST tree (root accuracy, as in the paper; for a binary model the sentences
with a neutral root are left out) and (2) as raw text: its tokens are
detokenized (PTB bracket escapes undone, then nltk's
``TreebankWordDetokenizer``), and ``model.predict`` parses the text with the
model's own stanza parser (one sentence per text) and classifies the root.

SICK (``sick``): test Pearson r on the given dependency parses (Tai et al.'s
Stanford parses), then with ``model.similarity`` on the raw sentences of
``SICK_test_annotated.txt``, parsed by stanza.

It also reports how often stanza's words equal the gold tokens (where they
differ, the model reads other words, not only another tree), and how many
sentences stanza's multi-word-token model broke into single letters (the
small offline English models expand some possessives, ``movie's``, into
``m o v i e ' s``). Parses go
through the parse cache, so a second run does not parse again. Stanza models
come from ``$STANZA_RESOURCES_DIR``. The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import List

import torch

from common import (
    add_data_dir_argument, add_device_arguments, apply_device_arguments, label_mode, log, positive_int, resolve_data_dir,
    run,
)
from treenets.data import load_sick, load_sick_raw, load_sst
from treenets.formats import ptb_unescape
from treenets.models.metrics import relatedness_metrics
from treenets.models import load
from treenets.models.prediction import iter_sentences


def detokenize(tokens: List[str]) -> str:
    """Plain text from PTB tokens: bracket escapes and backslashes undone, quotes left to nltk's detokenizer."""
    from nltk.tokenize.treebank import TreebankWordDetokenizer

    words = [t if t in ("``", "''") else ptb_unescape(t) for t in tokens]
    return TreebankWordDetokenizer().detokenize(words)


def letter_split(words: List[str], gold: List[str]) -> bool:
    """Whether ``words`` hold a run of three or more one-letter words that ``gold`` does not."""
    def has_run(ws):
        run = 0
        for w in ws:
            run = run + 1 if len(w) == 1 and w.isalpha() else 0
            if run >= 3:
                return True
        return False
    return has_run(words) and not has_run(gold)


def sst_rows(model, data_dir, limit, parser, batch_size):
    mode = label_mode(model, model.metadata)
    trees = load_sst(data_dir / "sst", "test", mode=mode)[:limit]
    gold = model.evaluate(trees)
    texts = [detokenize(t.words) for t in trees]
    start = time.perf_counter()
    results = model.predict(texts, parser=parser, batch_size=batch_size, input_format="text")
    seconds = time.perf_counter() - start
    if len(results) != len(trees) or [r.input for r in results] != list(range(1, len(trees) + 1)):
        raise RuntimeError("expected one sentence per text from a parser that does not split sentences")
    labels = model.labels
    correct = [labels.index(r.label) == t.labels[t.root] for r, t in zip(results, trees)]
    same = [r.tree.words == [ptb_unescape(w) for w in t.words] for r, t in zip(results, trees)]
    letters = sum(letter_split(r.tree.words, t.words) for r, t in zip(results, trees))
    raw_acc = 100.0 * sum(correct) / len(trees)
    match_acc = 100.0 * sum(c for c, s in zip(correct, same) if s) / max(sum(same), 1)
    other_acc = 100.0 * sum(c for c, s in zip(correct, same) if not s) / max(len(same) - sum(same), 1)
    return {"task": "sst", "mode": mode, "sentences": len(trees), "gold_tree_root_acc": round(gold["root_acc"], 2),
            "raw_text_root_acc": round(raw_acc, 2), "same_words": round(100.0 * sum(same) / len(trees), 2),
            "raw_text_root_acc_same_words": round(match_acc, 2),
            "raw_text_root_acc_other_words": round(other_acc, 2), "letter_split_sentences": letters,
            "parse_and_predict_seconds": round(seconds, 1),
            "example": texts[0]}


def sick_rows(model, data_dir, limit, parser, batch_size):
    pairs = load_sick(data_dir / "sick", "test")[:limit]
    raw = load_sick_raw(data_dir / "sick", "test")[:limit]
    if [p.id for p in pairs] != [r.id for r in raw]:
        raise RuntimeError("sick/test/ and SICK_test_annotated.txt list different pairs")
    gold = model.evaluate(pairs)
    start = time.perf_counter()
    scores = model.similarity([r.sentence_a for r in raw], [r.sentence_b for r in raw], parser=parser,
                              batch_size=batch_size, input_format="text")
    seconds = time.perf_counter() - start
    metrics = relatedness_metrics(torch.tensor(scores), torch.tensor([r.score for r in raw], dtype=torch.float64))
    # the same parses again, from the cache: do stanza's words equal the given tokens?
    texts = [r.sentence_a for r in raw] + [r.sentence_b for r in raw]
    words = {i: tree.words for i, _, _, tree in iter_sentences(model, texts, parser=parser, input_format="text")}
    given = [p.a.words for p in pairs] + [p.b.words for p in pairs]
    same = [words.get(i) == w for i, w in enumerate(given)]
    letters = sum(letter_split(words.get(i, []), w) for i, w in enumerate(given))
    return {"task": "sick", "pairs": len(pairs), "gold_tree_pearson": round(gold["pearson"], 4),
            "raw_text_pearson": round(metrics["pearson"], 4), "gold_tree_spearman": round(gold["spearman"], 4),
            "raw_text_spearman": round(metrics["spearman"], 4), "gold_tree_mse": round(gold["mse"], 4),
            "raw_text_mse": round(metrics["mse"], 4),
            "same_words": round(100.0 * sum(same) / len(same), 2), "letter_split_sentences": letters,
            "parse_and_predict_seconds": round(seconds, 1)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="sst5", help="a pretrained name (sst5, sst2, sick) or a model directory")
    add_data_dir_argument(p, "sst/ and sick/")
    p.add_argument("--limit", type=positive_int, default=None, help="only the first N test sentences or pairs (smoke tests)")
    p.add_argument("--batch-size", type=int, default=64)
    add_device_arguments(p)
    args = p.parse_args(argv)
    device = apply_device_arguments(args)
    data_dir = resolve_data_dir(args)
    model = load(args.model, device=device)
    # one sentence per text, as the gold data has: stanza does not split the texts
    parser = model.parser(device=str(device) if device.type == "cuda" else None, tokenize_no_ssplit=True)
    rows = sick_rows if model.task == "relatedness" else sst_rows
    result = {"model": args.model, **rows(model, data_dir, args.limit, parser, args.batch_size),
              "device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
              "stanza_models": parser.dir}
    log(json.dumps(result, indent=1))
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    run(main)
