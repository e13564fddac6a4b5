"""The ``treenets`` command.

    treenets parse "The movie was great." --tree dependency --format conllu
    treenets parse "The movie was great." --tree constituency --format brackets
    treenets encode "The movie was great." [--checkpoint runs/sst/best.pt]
    treenets encode --input corpus.txt [--workers 2] [--quiet] > corpus.jsonl
    treenets cache info | clear

Text comes from the argument, or from standard input when it is ``-``.
``encode --input FILE`` reads one text per line (``-``: standard input),
streams it in chunks and writes one JSON Lines record per sentence with its
line number (:mod:`treenets.formats.jsonl`), with a progress bar on standard
error.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import List, Optional

FORMATS = ("brackets", "conllu", "dot")


def _read_text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="treenets", description="Parse text into trees and encode them.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("text", nargs="?", help="the text ('-' reads standard input)")
    common.add_argument("--tree", choices=["dependency", "constituency"], default="dependency")
    common.add_argument("--device", default=None, help="e.g. cpu or cuda")
    common.add_argument("--no-cache", action="store_true", help="do not use the on-disk parse cache")

    p_parse = sub.add_parser("parse", parents=[common], help="print the parse trees")
    p_parse.add_argument("--format", choices=FORMATS, default="brackets")

    p_enc = sub.add_parser("encode", parents=[common], help="print the root state of every sentence as JSON")
    p_enc.add_argument("--checkpoint", default=None,
                       help="a model saved by examples/train_*.py (default: the untrained seeded encoder)")
    p_enc.add_argument("--all-nodes", action="store_true", help="also print every node's state")
    p_enc.add_argument("--input", metavar="FILE", default=None,
                       help="encode FILE, one text per line ('-': standard input), instead of TEXT")
    p_enc.add_argument("--workers", type=int, default=1, help="with --input: parse in N processes (default 1)")
    p_enc.add_argument("--quiet", action="store_true", help="with --input: no progress bar")

    p_cache = sub.add_parser("cache", help="the parse cache: its size, or empty it")
    p_cache.add_argument("action", choices=["info", "clear"])
    args = parser.parse_args(argv)

    from .api import default_parser, parse_and_encode, parse_sentences
    from .formats import dumps_record, encoded_record, write_brackets, write_conllu, write_dot
    from .parsers import ParseCache

    if args.command == "cache":
        cache = ParseCache()
        if args.action == "clear":
            cache.clear()
        print(json.dumps(cache.info()))
        return 0
    if args.command == "encode" and args.input is not None:
        if args.text is not None:
            parser.error("give either TEXT or --input FILE, not both")
        return _encode_lines(args)
    if args.text is None:
        parser.error("the text is missing (or use encode --input FILE)")
    text = _read_text(args.text)
    try:
        if args.command == "parse":
            parser_ = default_parser(args.tree, args.device)
            sentences = parse_sentences([text], parser_, cache=not args.no_cache)[0]
            for k, sent in enumerate(sentences, 1):
                tree = sent.tree(args.tree)
                if args.format == "brackets":
                    print(write_brackets(tree))
                elif args.format == "conllu":
                    print(write_conllu([sent], start=k))
                else:
                    print(write_dot(tree, f"sentence{k}"), end="")
            return 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = parse_and_encode(text, args.tree, encoder=args.checkpoint, device=args.device,
                                       cache=not args.no_cache)
        for r in results:
            print(dumps_record(encoded_record(r, all_nodes=args.all_nodes)))
        if results and not results[0].trained:
            print("note: untrained seeded encoder; pass --checkpoint for trained states", file=sys.stderr)
        return 0
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        print(f"treenets: error: {err}", file=sys.stderr)
        return 2


def _encode_lines(args) -> int:
    """``encode --input FILE``: stream the lines through parse_and_encode, one JSON record per sentence."""
    from .api import parse_and_encode
    from .formats import count_lines, dumps_record, encoded_record, iter_lines
    from .parsers import ParseError
    from .progress import progress_bar

    try:
        total = None if args.input == "-" or args.quiet else count_lines(args.input)
        trained = None
        with progress_bar(total=total, desc="encoding", unit="line", enabled=not args.quiet) as bar, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in parse_and_encode(iter_lines(args.input), args.tree, encoder=args.checkpoint, device=args.device,
                                      cache=not args.no_cache, lazy=True, workers=args.workers, progress=bar):
                print(dumps_record(encoded_record(r, line=r.text_index + 1, all_nodes=args.all_nodes)))
                trained = r.trained
        if trained is False:
            print("note: untrained seeded encoder; pass --checkpoint for trained states", file=sys.stderr)
        return 0
    except (ValueError, RuntimeError, OSError, ParseError) as err:
        print(f"treenets: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
