"""The ``treenets`` command.

    treenets predict "The movie was not bad at all."            # a labelled tree per sentence
    treenets predict "..." --model sst2 --format json           # one JSON object per sentence
    treenets predict "..." --format svg --output tree.svg       # or html
    treenets similarity "A man plays a guitar." "A man is playing music."
    treenets parse "The movie was great." --tree dependency --format conllu
    treenets encode "The movie was great." [--model sst5|DIR|untrained]
    treenets predict --input reviews.txt --format json [--workers 2] > reviews.jsonl
    treenets encode --input corpus.txt [--workers 2] [--quiet] > corpus.jsonl
    treenets cache info | clear
    treenets --version

Text comes from the argument, or from standard input when it is ``-``.
``predict`` and ``encode`` also take ``--input FILE``: one text per line
(``-``: standard input), streamed in batches so memory stays flat, never
merging lines; every JSON record says which line (``input``, from 1) and which
sentence of that line (``sentence``, from 1) it is. A progress bar goes to
standard error (``--quiet`` turns it off), and ``--workers N`` parses in N
processes with the same output.
Errors are one line on standard error, and the exit status is 2: an unknown
model (the known ones are listed), missing stanza models (how to get them), a
device this machine does not have (checked before anything else, so the
message does not depend on the parse cache), damaged model files.

Each subcommand is one function (``cmd_predict(args) -> exit status``), and
each output format one function of the results (:func:`render_text`,
:func:`render_json`, :func:`render_svg`, :func:`render_html`), so other
front ends can reuse them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

FORMATS = ("brackets", "conllu", "dot")
PREDICT_FORMATS = ("text", "json", "svg", "html")


def _read_text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


def _unicode_ok(stream) -> bool:
    try:
        "─┌┐│".encode(getattr(stream, "encoding", None) or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


# ------------------------------------------------------------------ rendering
def render_text(result, unicode: bool = True) -> str:
    """One prediction for a terminal: a header line, the text, why (deciding phrases, flips), and the tree
    with a class on every node."""
    head = result.headline() if hasattr(result, "headline") else f"{result.label} ({result.probs[result.label]:.2f})"
    why = ""
    if getattr(result, "polarity", None) is not None:
        phrases = "; ".join(f'"{p}"' for p in result.deciding_phrases())
        flips = result.explanation()["flips"]
        why = f"decided by: {phrases}"
        if flips:
            why += "; flips: " + "; ".join(f'"{f["phrase"]}" ({f["from"]} -> {f["to"]})' for f in flips)
        why += "\n"
    return (f"sentence {result.sentence + 1} of input {result.input + 1}: {head}\n{result.text}\n{why}"
            f"{result.draw(unicode=unicode)}\n")


def render_document(document) -> str:
    """The verdict for a whole input, the first line printed for it."""
    return f"input {document.input + 1}: {document}\n"


def legend(labels: Sequence[str]) -> str:
    """``"++ very positive, + positive, ..."``: the symbols of the text drawings."""
    from ..formats.svg import label_symbol

    return ", ".join(f"{label_symbol(x)} {x}" for x in reversed(list(labels)))


def render_json(result, document=None) -> str:
    """One prediction as one line of JSON: ``input`` (the input's line number, from 1),
    ``sentence`` (from 1), ``text``, ``label``, ``probs``, ``tree`` and ``nodes``; with a polarity
    model also ``polarity``, ``polarity_probs``, ``deciding``, ``flips``, ``coverage``, ``warnings``,
    and ``document``: the verdict for the whole input (the same on each of its sentences)."""
    record = result.to_dict()
    record["input"] = result.input + 1
    record["sentence"] = result.sentence + 1
    if document is not None:
        record["document"] = document.to_dict()
    return json.dumps(record, ensure_ascii=False)


def render_svg(results: Iterable) -> str:
    """All predictions as one SVG document, one tree under the other."""
    from ..formats.svg import write_svg

    return write_svg([r.labelled_tree() for r in results]) + "\n"


def render_html(results: Iterable, title: str = "treenets predict") -> str:
    """All predictions as a standalone HTML page (inline SVG, a legend)."""
    from ..formats.svg import write_html

    return write_html([r.labelled_tree() for r in results], title=title)


def _write_output(text: str, output: Optional[Path]) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from ..utils.atomic import atomic_write

    with atomic_write(output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {output}", file=sys.stderr)


# ------------------------------------------------------------------ commands
def _load_model(args, task: str, command: str):
    from ..models import load

    if args.model is None:
        from ..models import default_model

        args.model = default_model(task)
    from ..models.saving import reads_transformer

    if reads_transformer(args.model):  # no weight-loading bar from transformers: stderr keeps one line per error
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass  # load() says which extra is missing
    model = load(args.model, device=args.device)
    if model.task != task:
        other = {"sentiment": "predict", "relatedness": "similarity"}[model.task]
        raise ValueError(f"{args.model!r} is a {model.task} model; use `treenets {other}` with it, or give "
                         f"`treenets {command}` a {task} model")
    return model


def _texts(args):
    """The inputs of ``predict``/``encode`` and the progress bar over them.

    ``TEXT`` (or ``-``: all of standard input) is one input; ``--input FILE``
    streams one input per line (:func:`treenets.formats.iter_lines`).
    """
    from ..formats import count_lines, iter_lines
    from ..utils.progress import progress_bar

    if args.text is not None and args.input is not None:
        raise ValueError("give either the text or --input FILE, not both")
    if args.text is None and args.input is None:
        raise ValueError("the text is missing: give it (or '-' for standard input), or --input FILE")
    if args.input is None:
        return [_read_text(args.text)], progress_bar(enabled=False)
    # only a regular file can be read twice: counting a pipe (`--input <(zcat corpus.gz)`) would drain it
    total = (count_lines(args.input) if not args.quiet and args.input != "-" and os.path.isfile(args.input)
             else None)
    desc = {"encode": "encoding", "predict": "predicting"}.get(args.command, args.command)
    return iter_lines(args.input), progress_bar(total=total, desc=desc, unit="line", enabled=not args.quiet)


def cmd_predict(args) -> int:
    """``treenets predict``: the sentiment of every sentence and phrase."""
    model = _load_model(args, "sentiment", "predict")
    texts, bar = _texts(args)
    count = 0
    with bar:
        results = model.predict(texts, batch_size=args.batch_size, cache=not args.no_cache, lazy=True,
                                workers=args.workers, progress=bar)
        if args.format in ("svg", "html"):  # one picture of every tree
            results = list(results)
            count = len(results)
            for doc, _ in _documents(model, results):
                if doc is not None and doc.warnings:
                    print(f"treenets: note: input {doc.input + 1}: {doc.warnings[0]}", file=sys.stderr)
            _write_output(render_svg(results) if args.format == "svg" else render_html(results), args.output)
        else:  # streamed, one sentence at a time
            unicode = _unicode_ok(sys.stdout) if args.output is None else True

            def parts():
                nonlocal count
                for doc, group in _documents(model, results):
                    if doc is not None and doc.warnings:  # one line on stderr per input the model cannot read
                        print(f"treenets: note: input {doc.input + 1}: {doc.warnings[0]}", file=sys.stderr)
                    if doc is not None and args.format == "text":
                        yield render_document(doc)
                    for r in group:
                        count += 1
                        yield render_json(r, doc) + "\n" if args.format == "json" else render_text(r, unicode)
                if count and args.format == "text":
                    yield f"{legend(model.predicted_labels)}\n"

            _stream_output(parts(), args.output, separator="" if args.format == "json" else "\n")
    if not count:
        print("treenets: no sentences in the input", file=sys.stderr)
    return 0


def _documents(model, results):
    """``(document verdict or None, sentence results)`` for every input, in order."""
    import itertools

    from ..models.document import aggregate

    for _, group in itertools.groupby(results, key=lambda r: r.input):
        group = list(group)
        doc = aggregate(group, *model.polarity_rule()) if group[0].polarity is not None else None
        yield doc, group


def _stream_output(parts: Iterable[str], output: Optional[Path], separator: str = "") -> None:
    """Write ``parts`` as they come, to standard output or atomically to ``output``."""
    from ..utils.atomic import atomic_write

    if output is None:
        for n, part in enumerate(parts):
            sys.stdout.write((separator if n else "") + part)
            sys.stdout.flush()
        return
    with atomic_write(output, "w", encoding="utf-8") as f:
        for n, part in enumerate(parts):
            f.write((separator if n else "") + part)
    print(f"wrote {output}", file=sys.stderr)


def cmd_similarity(args) -> int:
    """``treenets similarity``: the relatedness of two sentences, 1 to 5."""
    model = _load_model(args, "relatedness", "similarity")
    if args.a == "-" and args.b == "-":
        raise ValueError("only one of the two sentences can be read from standard input ('-')")
    a, b = _read_text(args.a), _read_text(args.b)
    score = model.similarity(a, b, cache=not args.no_cache)
    if args.format == "json":
        print(json.dumps({"a": a, "b": b, "score": round(score, 6), "model": model.name}))
    else:
        print(f"{score:.4f}")
    return 0


def cmd_parse(args) -> int:
    """``treenets parse``: the parse trees, as brackets, CoNLL-U or dot."""
    from ..api import default_parser, parse_sentences
    from ..formats import write_brackets, write_conllu, write_dot

    tree_kind = args.tree or "dependency"
    parser_ = default_parser(tree_kind, args.device)
    sentences = parse_sentences([_read_text(args.text)], parser_, cache=not args.no_cache)[0]
    for k, sent in enumerate(sentences, 1):
        tree = sent.tree(tree_kind)
        if args.format == "brackets":
            print(write_brackets(tree))
        elif args.format == "conllu":
            print(write_conllu([sent], start=k))
        else:
            print(write_dot(tree, f"sentence{k}"), end="")
    return 0


def cmd_encode(args) -> int:
    """``treenets encode``: the root state (and with --all-nodes every node's) of every sentence, as JSON Lines."""
    from ..api import parse_and_encode
    from ..formats import dumps_record, encoded_record

    texts, bar = _texts(args)
    trained = None
    with bar, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in parse_and_encode(texts, args.tree, encoder=args.model, device=args.device,
                                  cache=not args.no_cache, lazy=True, workers=args.workers, progress=bar):
            print(dumps_record(encoded_record(r, all_nodes=args.all_nodes)), flush=args.input is None)
            trained = r.trained
    if trained is False:
        print("note: untrained seeded encoder; leave out --model untrained for trained states", file=sys.stderr)
    return 0


def cmd_cache(args) -> int:
    """``treenets cache info|clear``."""
    from ..parsers import ParseCache

    cache = ParseCache()
    if args.action == "clear":
        cache.clear()
    print(json.dumps(cache.info()))
    return 0


COMMANDS: Dict[str, Callable] = {"predict": cmd_predict, "similarity": cmd_similarity, "parse": cmd_parse,
                                 "encode": cmd_encode, "cache": cmd_cache}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``treenets`` command (one subparser per command)."""
    from ..utils.version import __version__

    parser = argparse.ArgumentParser(prog="treenets", description="Tree-LSTMs over parsed sentences: predict "
                                     "sentiment, compare sentences, parse and encode text.")
    parser.add_argument("--version", action="version", version=f"treenets {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    device = argparse.ArgumentParser(add_help=False)
    device.add_argument("--device", default=None, help="cpu, cuda or cuda:K (checked before anything else)")
    device.add_argument("--no-cache", action="store_true", help="do not use the on-disk parse cache")
    text = argparse.ArgumentParser(add_help=False, parents=[device])
    text.add_argument("text", help="the text ('-' reads standard input)")
    inputs = argparse.ArgumentParser(add_help=False, parents=[device])
    inputs.add_argument("text", nargs="?", help="the text ('-' reads all of standard input as one text)")
    inputs.add_argument("--input", metavar="FILE", default=None,
                        help="instead of TEXT: one text per line of FILE ('-': standard input), streamed")
    inputs.add_argument("--workers", type=int, default=1, help="parse in N processes (same output; default 1)")
    inputs.add_argument("--quiet", action="store_true", help="no progress bar (with --input)")

    p = sub.add_parser("predict", parents=[inputs], help="the sentiment of every sentence and of every phrase in it",
                       description="Parse the text with the model's own parser and print the sentiment of every "
                                   "sentence, with a class on every node of its tree.")
    p.add_argument("--model", default=None, help="a pretrained name (sst5, sst2, ...) or a model directory "
                   "(default: the recommended sentiment model this installation can run, treenets.default_model)")
    p.add_argument("--format", choices=PREDICT_FORMATS, default="text",
                   help="text: a tree drawn for the terminal; json: one object per sentence; svg/html: pictures")
    p.add_argument("--output", type=Path, default=None, help="write to FILE instead of standard output")
    p.add_argument("--batch-size", type=int, default=64, help="sentences per model batch")

    p = sub.add_parser("similarity", parents=[device], help="the relatedness of two sentences, 1 to 5 (SICK)")
    p.add_argument("a", help="the first sentence ('-' reads standard input)")
    p.add_argument("b", help="the second sentence")
    p.add_argument("--model", default="sick", help="a pretrained name (sick) or a model directory")
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = sub.add_parser("parse", parents=[text], help="print the parse trees")
    p.add_argument("--tree", choices=["dependency", "constituency"], default="dependency")
    p.add_argument("--format", choices=FORMATS, default="brackets")

    p = sub.add_parser("encode", parents=[inputs], help="print the root state of every sentence as JSON Lines")
    p.add_argument("--tree", choices=["dependency", "constituency"], default=None,
                   help="the trees to encode (default: the kind the model reads)")
    p.add_argument("--model", "--checkpoint", dest="model", default=None,
                   help="a pretrained name, a model directory or .pt checkpoint, or 'untrained' "
                        "(default: the pretrained sst5 model's encoder)")
    p.add_argument("--all-nodes", action="store_true", help="also print every node's state")

    p = sub.add_parser("cache", help="the parse cache: its size, or empty it")
    p.add_argument("action", choices=["info", "clear"])
    return parser


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "device", None) is not None:
            from ..utils.device import check_device

            check_device(args.device)  # first, so the answer never depends on what is cached
        return COMMANDS[args.command](args)
    except (ValueError, RuntimeError, OSError, ImportError) as err:
        # unknown models, damaged files, missing stanza models (MissingStanzaModelError), missing devices
        # (DeviceError), stanza not installed: one line, exit status 2
        print(f"treenets: error: {_one_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
