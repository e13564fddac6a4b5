#!/usr/bin/env python
"""Parse SST into dependency trees and SICK into constituency or dependency trees with stanza.

Tai et al. (2015) trained each Tree-LSTM on both tree kinds: the Dependency
Tree-LSTM on SST (phrase labels carried over to dependency subtrees) and the
Constituency Tree-LSTM on SICK. SST comes with constituency trees and SICK with
dependency parses, so this script makes the other kind:

* SST (train/dev/test): every sentence is dependency-parsed by stanza over
  SST's own tokens (pretokenized, so the words stay exactly SST's), and every
  dependency node gets the label of the SST phrase with the same word span
  (:func:`treenets.data.label_transfer.transfer_labels`; ``-1`` where none
  matches). Written to ``OUT/sst/{split}.conllu`` (CoNLL-U, the SST label of
  each word's node in MISC as ``Label=3``), fine-grained labels 0..4.
* SICK (train/dev/test, the Tai et al. ``.toks`` files of ``--sick-dir``): every sentence is
  parsed into a right-binarized constituency tree (unary chains collapsed),
  written to ``OUT/sick/{split}/a.ctree`` and ``b.ctree`` in pair order, one
  ``str(tree)`` per line.

Both forms are lossless, and every file is checked before it is written: each
tree reads back exactly as parsed (CoNLL-U holds non-projective dependency
trees, which brackets would reorder). ``examples/train_sst.py --parsed-dir
OUT`` and ``examples/train_sick.py --parsed-dir OUT`` train on them.
* ``--only sick-dependency``: SICK's dependency parses, for users without Tai
  et al.'s preprocessing (which ran the Stanford parser). The official SemEval
  files (``DATA_DIR/sick/SICK_{train,trial,test_annotated}.txt``, from
  ``python -m treenets.data --only sick``) are tokenized with nltk's Treebank
  tokenizer (Stanford-like: ``man's`` -> ``man 's``) and dependency-parsed by
  stanza, and written in Tai et al.'s layout, ``OUT/sick/{split}/{a,b}.toks``,
  ``.parents``, ``.rels``, ``sim.txt`` and ``id.txt``, which
  ``examples/train_sick.py --sick-dir OUT/sick`` trains on (and the SICK step
  above reads with ``--sick-dir OUT/sick``).

    python examples/prepare_parses.py --out runs/parses [--data-dir DIR]
    python examples/prepare_parses.py --only sick-dependency --out runs/parses

The parser sees un-escaped forms (``-LRB-`` -> ``(``, ```` `` ```` -> ``"``);
the trees keep SST's tokens, aligned by index. Parses go through the on-disk
cache of :func:`treenets.api.parse` (``OUT/cache`` by default), chunk by chunk,
so an interrupted run resumes where it stopped and a second run parses nothing.
Parsing speed and label coverage go to ``OUT/stats.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from common import add_data_dir_argument, download_command, positive_int, require_files, resolve_data_dir, run
from treenets.api import parse as cached_parse
from treenets.utils.atomic import atomic_write
from treenets.data import SICK_RAW_FILES, load_sick, load_sick_raw, load_sst
from treenets.formats import ptb_unescape
from treenets.formats.heads import write_heads_files
from treenets.data.label_transfer import LabelTransferStats, transfer_labels
from treenets.formats import read_brackets, read_conllu_string, write_brackets, write_conllu
from treenets.training import progress
from treenets.structures.tree import Tree

_WHITESPACE = re.compile(r"\s+")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_dir_argument(p, "sst/ and sick/")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--device", default="cpu", help="torch device for stanza, e.g. cpu or cuda:0")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for torch/stanza (0: torch's default); 1 is fastest on a shared CPU")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="only the first N trees (SST) / pairs (SICK) of each split (smoke tests)")
    p.add_argument("--only", choices=["sst", "sick", "sick-dependency"], default=None,
                   help="prepare only one: sst (dependency trees), sick (constituency trees of --sick-dir's pairs), "
                        "sick-dependency (SICK in Tai et al.'s layout from the official SICK files, for "
                        "train_sick.py --sick-dir OUT/sick); default: sst and sick")
    p.add_argument("--sick-dir", type=Path, default=None,
                   help="SICK in Tai et al.'s layout for the sick step (default: DATA_DIR/sick; OUT/sick after "
                        "--only sick-dependency)")
    p.add_argument("--stanza-dir", type=Path, default=None,
                   help="stanza resources directory (default: $STANZA_RESOURCES_DIR)")
    p.add_argument("--cache", type=Path, default=None,
                   help="parse cache folder (default: OUT/cache); parses are keyed by text and parser config")
    p.add_argument("--chunk", type=int, default=256, help="sentences per stanza call (and per cache flush)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parser_form(token: str) -> str:
    """The form of an SST/SICK token the parser sees: PTB escapes undone, no inner whitespace.

    SST has tokens such as ``"8\\xa01/2"`` whose non-breaking space would split
    them in two under ``tokenize_pretokenized``; it becomes ``_``.
    """
    form = _WHITESPACE.sub("_", ptb_unescape(token).strip())
    return form or "_"


class _Counting:
    """Counts the sentences a parser really parses (cache misses) and the time it takes."""

    def __init__(self, parser) -> None:
        self.parser = parser
        self.sentences = 0
        self.seconds = 0.0
        inner = parser.parse

        def counting_parse(texts):
            start = time.perf_counter()
            out = inner(texts)
            self.seconds += time.perf_counter() - start
            self.sentences += len(texts)
            return out

        parser.parse = counting_parse  # an instance attribute: parser_config (the cache key) is unchanged

    @property
    def rate(self) -> float:
        return self.sentences / self.seconds if self.seconds else 0.0


def parse_sentences(word_lists: Sequence[Sequence[str]], kind: str, counting: _Counting, cache: Path,
                    chunk: int, desc: str, show: bool) -> List[Tree]:
    """Parse each word list as one pretokenized sentence; return one tree per list, in order.

    Duplicate sentences are parsed once. Each returned tree is the parser's
    tree with its word-carrying nodes renamed to the original tokens (the
    parser saw :func:`parser_form` of them).
    """
    texts = [" ".join(parser_form(w) for w in words) for words in word_lists]
    unique = list(dict.fromkeys(texts))
    parsed: Dict[str, Tree] = {}
    chunks = [unique[i:i + chunk] for i in range(0, len(unique), chunk)]
    before_n, before_s = counting.sentences, counting.seconds
    bar = progress(chunks, len(chunks), desc, show)
    for part in bar:
        for text, trees in zip(part, cached_parse(part, tree=kind, parser=counting.parser, cache=cache)):
            if len(trees) != 1:
                raise RuntimeError(f"stanza split the pretokenized sentence {text!r} into {len(trees)} sentences")
            parsed[text] = trees[0]
        if show and hasattr(bar, "set_postfix"):
            n, s = counting.sentences - before_n, counting.seconds - before_s
            bar.set_postfix_str(f"{n / s:.1f} sent/s" if s else "cached")
    out = []
    for words, text in zip(word_lists, texts):
        tree = parsed[text]
        slots = [i for i, t in enumerate(tree.tokens) if t is not None]
        if len(slots) != len(words):
            raise RuntimeError(f"the {kind} tree of {' '.join(words)!r} has {len(slots)} words, not {len(words)}")
        tokens = list(tree.tokens)
        for i, w in zip(slots, words):
            tokens[i] = w
        out.append(Tree(tree.parents, tokens, tree.labels, tree.rels))
    n, s = counting.sentences - before_n, counting.seconds - before_s
    log(f"{desc}: {len(word_lists)} sentences ({len(unique)} distinct), parsed {n} in {s:.1f}s"
        + (f" = {n / s:.1f} sentences/s" if s else " (all from the cache)"))
    return out


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (whole or not at all)."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_dependency_trees(path: Path, trees: Sequence[Tree]) -> None:
    """CoNLL-U, labels in MISC; every tree is checked to read back unchanged before anything is written."""
    text = write_conllu(trees)
    back = read_conllu_string(text, source=str(path))
    for k, (tree, again) in enumerate(zip(trees, back)):
        if again != tree:
            raise RuntimeError(f"{path}: tree {k + 1} does not read back unchanged from CoNLL-U: {tree!r}")
    write_text(path, text)


def write_constituency_trees(path: Path, trees: Sequence[Tree]) -> None:
    """One ``str(tree)`` per line; every line is checked to read back as the same tree before anything is written."""
    lines = []
    for k, tree in enumerate(trees):
        line = write_brackets(tree)
        if read_brackets(line) != tree:
            raise RuntimeError(f"{path}: tree {k + 1} does not read back unchanged from brackets: {line!r}")
        lines.append(line + "\n")
    write_text(path, "".join(lines))


def make_parser(args, dependency: bool):
    from treenets.parsers import StanzaParser

    start = time.perf_counter()
    parser = StanzaParser(dir=args.stanza_dir, dependency=dependency, constituency=not dependency,
                          binarize=None if dependency else "right", tokenize_pretokenized=True,
                          device=args.device)
    log(f"loaded {parser} in {time.perf_counter() - start:.1f}s")
    return parser


def prepare_sst(args, data_dir: Path, cache: Path, show: bool) -> dict:
    splits = {s: load_sst(data_dir / "sst", s, mode="fine") for s in ("train", "dev", "test")}
    if args.limit:
        splits = {s: t[:args.limit] for s, t in splits.items()}
    counting = _Counting(make_parser(args, dependency=True))
    all_trees = [t for trees in splits.values() for t in trees]
    deps = parse_sentences([t.words for t in all_trees], "dependency", counting, cache, args.chunk,
                           "sst dependency", show)
    stats: dict = {"sentences": len(all_trees), "parsed": counting.sentences,
                   "parse_seconds": round(counting.seconds, 1), "sentences_per_s": round(counting.rate, 1),
                   "splits": {}}
    total = LabelTransferStats()
    k = 0
    for split, trees in splits.items():
        split_stats = LabelTransferStats()
        labelled = []
        for j, sst_tree in enumerate(trees):
            dep = transfer_labels(sst_tree, deps[k], where=f"sst/{split}.txt tree {j + 1}")
            k += 1
            split_stats.add(dep)
            total.add(dep)
            labelled.append(dep)
        path = args.out / "sst" / f"{split}.conllu"
        write_dependency_trees(path, labelled)
        stats["splits"][split] = split_stats.as_dict()
        sst_nodes = sum(len(t) for t in trees)
        stats["splits"][split]["sst_nodes"] = sst_nodes
        log(f"sst {split}: {len(trees)} trees -> {path}; "
            f"{split_stats.labelled}/{split_stats.nodes} dependency nodes labelled "
            f"({100 * split_stats.coverage:.1f}%; {100 * split_stats.non_root_coverage:.1f}% of non-root nodes; "
            f"SST trees have {sst_nodes} labelled nodes); {split_stats.non_projective} non-projective trees")
    stats["label_transfer"] = total.as_dict()
    return stats


def prepare_sick(args, data_dir: Path, cache: Path, show: bool) -> dict:
    sick_dir = args.sick_dir or data_dir / "sick"
    require_files([sick_dir / s / f for s in ("train", "dev", "test") for f in ("a.toks", "b.toks", "sim.txt")],
                  "SICK in Tai et al.'s layout",
                  f"python examples/prepare_parses.py --data-dir {data_dir} --only sick-dependency --out DIR "
                  f"(stanza's parses), then --sick-dir DIR/sick")
    splits = {s: load_sick(sick_dir, s, with_rels=False) for s in ("train", "dev", "test")}
    if args.limit:
        splits = {s: p[:args.limit] for s, p in splits.items()}
    counting = _Counting(make_parser(args, dependency=False))
    sentences = [t.words for pairs in splits.values() for p in pairs for t in (p.a, p.b)]
    trees = parse_sentences(sentences, "constituency", counting, cache, args.chunk, "sick constituency", show)
    stats: dict = {"sentences": len(sentences), "parsed": counting.sentences,
                   "parse_seconds": round(counting.seconds, 1), "sentences_per_s": round(counting.rate, 1),
                   "splits": {}}
    k = 0
    for split, pairs in splits.items():
        a, b = [], []
        for _ in pairs:
            a.append(trees[k])
            b.append(trees[k + 1])
            k += 2
        folder = args.out / "sick" / split
        write_constituency_trees(folder / "a.ctree", a)
        write_constituency_trees(folder / "b.ctree", b)
        write_text(folder / "id.txt", "".join(p.id + "\n" for p in pairs))
        max_children = max(t.max_children for t in a + b)
        stats["splits"][split] = {"pairs": len(pairs), "max_children": max_children}
        log(f"sick {split}: {len(pairs)} pairs -> {folder}/a.ctree, b.ctree")
    return stats


def prepare_sick_dependency(args, data_dir: Path, cache: Path, show: bool) -> dict:
    """SICK's official files -> nltk tokens -> stanza dependency trees, in Tai et al.'s layout under OUT/sick."""
    require_files([data_dir / "sick" / SICK_RAW_FILES[s] for s in ("train", "dev", "test")],
                  "the SemEval SICK files", download_command(data_dir, "sick"))
    splits = {s: load_sick_raw(data_dir / "sick", s, tokenize="nltk") for s in ("train", "dev", "test")}
    if args.limit:
        splits = {s: p[:args.limit] for s, p in splits.items()}
    counting = _Counting(make_parser(args, dependency=True))
    sentences = [tokens for pairs in splits.values() for p in pairs for tokens in (p.tokens_a, p.tokens_b)]
    trees = parse_sentences(sentences, "dependency", counting, cache, args.chunk, "sick dependency", show)
    stats: dict = {"sentences": len(sentences), "parsed": counting.sentences,
                   "parse_seconds": round(counting.seconds, 1), "sentences_per_s": round(counting.rate, 1),
                   "tokenizer": "nltk treebank", "splits": {}}
    k = 0
    for split, pairs in splits.items():
        a, b = trees[k:k + 2 * len(pairs):2], trees[k + 1:k + 2 * len(pairs):2]
        k += 2 * len(pairs)
        folder = args.out / "sick" / split
        for side, side_trees in (("a", a), ("b", b)):
            write_heads_files(side_trees, folder / f"{side}.toks", folder / f"{side}.parents", folder / f"{side}.rels")
        with atomic_write(folder / "sim.txt", "w", encoding="utf-8") as f:
            f.write("".join(f"{p.score:g}\n" for p in pairs))
        with atomic_write(folder / "id.txt", "w", encoding="utf-8") as f:
            f.write("".join(p.id + "\n" for p in pairs))
        stats["splits"][split] = {"pairs": len(pairs)}
        log(f"sick {split}: {len(pairs)} pairs -> {folder}/{{a,b}}.{{toks,parents,rels}}, sim.txt, id.txt")
    return stats


def main(argv=None) -> dict:
    args = parse_args(argv)
    data_dir = resolve_data_dir(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    cache = args.cache or args.out / "cache"
    show = not args.no_progress
    args.out.mkdir(parents=True, exist_ok=True)
    stats: dict = {"stanza_dir": str(args.stanza_dir or os.environ.get("STANZA_RESOURCES_DIR", "")),
                   "device": args.device, "threads": args.threads or torch.get_num_threads(), "limit": args.limit}
    if args.only == "sick-dependency":
        stats["sick_dependency"] = prepare_sick_dependency(args, data_dir, cache, show)
    if args.only in (None, "sst"):
        require_files([data_dir / "sst" / f"{s}.txt" for s in ("train", "dev", "test")], "the SST trees",
                      download_command(data_dir, "sst"))
        stats["sst"] = prepare_sst(args, data_dir, cache, show)
    if args.only in (None, "sick"):
        stats["sick"] = prepare_sick(args, data_dir, cache, show)
    stats_path = args.out / ("stats.json" if args.only is None else f"stats_{args.only.replace('-', '_')}.json")
    with atomic_write(stats_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(stats, indent=1) + "\n")
    print(json.dumps(stats), flush=True)
    return stats


if __name__ == "__main__":
    run(main)
