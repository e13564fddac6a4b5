"""The ``treenets`` command.

    treenets parse "The movie was great." --tree dependency --format conllu
    treenets parse "The movie was great." --tree constituency --format brackets
    treenets encode "The movie was great." [--checkpoint runs/sst/best.pt]

Text comes from the argument, or from standard input when it is ``-``.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import List, Optional

from .tree import Tree

FORMATS = ("brackets", "conllu", "dot")


def to_conllu(tree: Tree, index: int = 1) -> str:
    """A dependency tree as CoNLL-U (ID, FORM, HEAD, DEPREL; other columns ``_``)."""
    if any(tok is None for tok in tree.tokens):
        raise ValueError("CoNLL-U needs a word at every node (a dependency tree); "
                         "use --format brackets or dot for constituency trees")
    lines = [f"# sent_id = {index}", "# text = " + " ".join(tree.tokens)]  # type: ignore[arg-type]
    for i, (tok, par) in enumerate(zip(tree.tokens, tree.parents)):
        rel = (tree.rels[i] if tree.rels is not None else None) or ("root" if par < 0 else "dep")
        lines.append("\t".join([str(i + 1), tok, "_", "_", "_", "_", str(par + 1), rel, "_", "_"]))  # type: ignore[list-item]
    return "\n".join(lines) + "\n"


def to_dot(tree: Tree, name: str = "tree") -> str:
    """A tree in Graphviz dot, edges from parent to child, drawn top-down."""
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {name} {{", "  node [shape=box];"]
    for i in range(len(tree)):
        parts = [str(p) for p in (tree.labels[i], tree.rels[i] if tree.rels else None, tree.tokens[i]) if p is not None]
        lines.append(f"  n{i} [label={quote(' | '.join(parts) or str(i))}];")
    for i, par in enumerate(tree.parents):
        if par >= 0:
            lines.append(f"  n{par} -> n{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _read_text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="treenets", description="Parse text into trees and encode them.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("text", help="the text ('-' reads standard input)")
    common.add_argument("--tree", choices=["dependency", "constituency"], default="dependency")
    common.add_argument("--device", default=None, help="e.g. cpu or cuda")
    common.add_argument("--no-cache", action="store_true", help="do not use the on-disk parse cache")

    p_parse = sub.add_parser("parse", parents=[common], help="print the parse trees")
    p_parse.add_argument("--format", choices=FORMATS, default="brackets")

    p_enc = sub.add_parser("encode", parents=[common], help="print the root state of every sentence as JSON")
    p_enc.add_argument("--checkpoint", default=None,
                       help="a model saved by examples/train_*.py (default: the untrained seeded encoder)")
    p_enc.add_argument("--all-nodes", action="store_true", help="also print every node's state")
    args = parser.parse_args(argv)

    from .api import parse, parse_and_encode

    text = _read_text(args.text)
    try:
        if args.command == "parse":
            trees = parse([text], args.tree, cache=not args.no_cache, device=args.device)[0]
            for k, tree in enumerate(trees, 1):
                if args.format == "brackets":
                    print(tree)
                elif args.format == "conllu":
                    print(to_conllu(tree, k))
                else:
                    print(to_dot(tree, f"sentence{k}"), end="")
            return 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = parse_and_encode(text, args.tree, encoder=args.checkpoint, device=args.device,
                                       cache=not args.no_cache)
        for k, r in enumerate(results):
            record = {"sentence": k, "words": r.tree.words, "tree": str(r.tree), "trained": r.trained,
                      "hidden_size": int(r.root.shape[0]), "root": [round(v, 6) for v in r.root.tolist()]}
            if args.all_nodes:
                record["node_states"] = [[round(v, 6) for v in row] for row in r.node_states.tolist()]
            print(json.dumps(record))
        if results and not results[0].trained:
            print("note: untrained seeded encoder; pass --checkpoint for trained states", file=sys.stderr)
        return 0
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        print(f"treenets: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
