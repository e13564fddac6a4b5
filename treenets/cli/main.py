"""The ``treenets`` command.

    treenets predict "Good." "Bad."                             # a labelled tree per sentence of each text
    treenets predict "..." --model sst2 --format json           # one JSON object per sentence
    treenets predict "..." --format svg --output tree.svg       # or html
    treenets similarity "A man plays a guitar." "A man is playing music."
    treenets parse "The movie was great." --tree dependency --format conllu
    treenets encode "The movie was great." [--model sst5|DIR|untrained]
    treenets predict --input reviews.txt --format json [--workers 2] > reviews.jsonl
    cat reviews.txt | treenets encode - > reviews.jsonl         # '-' is `--input -`: one text per line
    treenets models [--format json]
    treenets cache info | clear
    treenets --version

Texts come from the arguments (several of them: one input each), or from
``--input FILE``: one text per line, streamed in batches so memory stays
flat, never merging lines. Standard input means the same everywhere: ``-``
(as a text, or ``--input -``) is one text per line; ``--whole`` reads it (or
the ``--input`` file) as one text. Every JSON record says which input
(``input``, from 1: the argument or the line) and which sentence of it
(``sentence``, from 1) it is. A progress bar goes to standard error with
``--input`` (``--quiet`` turns it off), and ``--workers N`` parses in N
processes with the same output.
A line of ``--input`` that cannot be processed (the parser fails on it, it
holds a control character, it is over a limit, a parser worker dies on it)
loses nothing else: it gets an error record (``{"input": 150, "error":
"..."}``) in JSON, or one line on standard error naming its line number (from
1) otherwise; every other line gets its records, in order; the exit status is
then 1.

Exit statuses: 0 done; 1 some ``--input`` lines failed (each named); 2 an error (one line on standard error: an unknown
model, with the known ones listed; missing stanza models, and how to get
them; a device this machine does not have, checked before anything else;
damaged model files; bad arguments); 130 interrupted (Ctrl-C), quietly.

The subcommands are one table, :data:`COMMANDS`: each :class:`Command` has its
function (``cmd_predict(args) -> exit status``), the function that adds its
options, and its help (a summary, a description, examples, the default
model). Adding a subcommand is one function, one options function and one
entry. Nothing heavy is imported until a command runs (``treenets --version``,
``--help`` and ``treenets models`` import no torch, numpy, nltk or stanza).
Each output format is one function of the results (:func:`render_text`,
:func:`render_json`, :func:`render_svg`, :func:`render_html`), so other front
ends can reuse them.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

FORMATS = ("brackets", "conllu", "dot")
PREDICT_FORMATS = ("text", "json", "svg", "html")
#: ``--whole`` reads at most this many bytes (a bound, so ``--input /dev/zero --whole`` ends with an error).
MAX_WHOLE_BYTES = 16 * 1024 * 1024
#: The exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: The exit status of an error (bad arguments, unknown model, damaged files, ...).
EXIT_ERROR = 2
#: The exit status when the reader of standard output goes away (``treenets models | head -1``): 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141
STDIN_HELP = ("Standard input: '-' (alone, as the text) is the same as --input -: one text per line, each "
              "its own input; --whole reads standard input (or the --input file) as one text instead.")
SIMILARITY_STDIN_HELP = ("Standard input: '-' as A or B is one sentence per line, each compared with the other "
                         "sentence (one result per line); --whole reads standard input as one sentence instead.")


def _read_whole(source: str) -> str:
    """All of standard input (``-``) or of a file as one text (``--whole``): UTF-8, at most :data:`MAX_WHOLE_BYTES`."""
    name = "<stdin>" if source == "-" else source
    if source == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a replaced sys.stdin (tests, notebooks) that holds text
            data = sys.stdin.read(MAX_WHOLE_BYTES + 1).encode("utf-8", "surrogatepass")
        else:
            data = stream.read(MAX_WHOLE_BYTES + 1)
    else:
        with open(source, "rb") as f:
            data = f.read(MAX_WHOLE_BYTES + 1)
    if len(data) > MAX_WHOLE_BYTES:
        raise ValueError(f"{name}: over {MAX_WHOLE_BYTES} bytes, too much to read as one text (--whole); "
                         f"leave out --whole to read one text per line")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ValueError(f"{name}:{line}: not UTF-8 text (byte {data[err.start]:#04x}); nothing was read") from None
    return text[1:] if text.startswith("\ufeff") else text


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
        rule = getattr(result, "contrast", None)
        if rule is not None and rule["changed"]:
            why += f'; contrast rule: "{rule["phrase"]}" after "{rule["word"]}" turned {rule["polarity_before"]} ' \
                   f'({rule["label_before"]}) into {result.polarity} ({result.label})'
        why += "\n"
    return (f"sentence {result.sentence} of input {result.input}: {head}\n{result.text}\n{why}"
            f"{result.draw(unicode=unicode)}\n")


def render_document(document) -> str:
    """The verdict for a whole input, the first line printed for it."""
    return f"input {document.input}: {document}\n"


def _documents(model, results):
    """``(document verdict or None, [sentence results or one error])`` for every input, in order."""
    import itertools

    from ..models.document import aggregate

    for _, group in itertools.groupby(results, key=lambda r: getattr(r, "input", None) if not isinstance(
            r, Exception) else id(r)):
        group = list(group)
        ok = [r for r in group if not isinstance(r, Exception)]
        doc = aggregate(ok, *model.polarity_rule()) if ok and ok[0].polarity is not None else None
        yield doc, group


def _note(doc) -> None:
    """One line on standard error for an input the model cannot read."""
    if doc is not None and doc.warnings:
        print(f"treenets: note: input {doc.input}: {doc.warnings[0]}", file=sys.stderr)


def legend(labels: Sequence[str]) -> str:
    """``"++ very positive, + positive, ..."``: the symbols of the text drawings."""
    from ..formats.svg import label_symbol

    return ", ".join(f"{label_symbol(x)} {x}" for x in reversed(list(labels)))


def render_json(result, document=None) -> str:
    """One prediction as one line of JSON (:func:`treenets.formats.jsonl.prediction_record`): ``input``
    (the input's line number, from 1), ``sentence`` (from 1), ``text``, ``label``, ``probs``, ``tree`` and
    ``nodes`` (with a polarity model also ``polarity``, ``deciding``, ``flips``, ``coverage``, ``warnings``),
    and ``document``: the verdict for the whole input, the same on each of its sentences; for an input
    that failed, :func:`~treenets.formats.jsonl.error_record`."""
    from ..formats.jsonl import error_record, prediction_record

    record = error_record(result) if isinstance(result, Exception) else prediction_record(result)
    if document is not None and not isinstance(result, Exception):
        record["document"] = document.to_dict()
    return json.dumps(record, ensure_ascii=False)


def report_failed(error, stream=None) -> None:
    """One line on standard error for an input line that failed: ``treenets: line N: why``."""
    where = f"line {error.input}" if getattr(error, "input", None) is not None else "input"
    print(f"treenets: {where}: {_one_line(getattr(error, 'reason', None) or error)}", file=stream or sys.stderr)


def _failures(failed: int, total: str) -> int:
    """The exit status of an ``--input`` run: 1 when some lines failed (said on standard error), else 0."""
    if failed:
        print(f"treenets: {failed} {'line' if failed == 1 else 'lines'} of the input could not be processed "
              f"({total})", file=sys.stderr)
        return 1
    return 0


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


def _inputs(args) -> Tuple[Iterable[str], Optional[str]]:
    """The texts of ``predict``, ``encode`` and ``parse``, and the source they stream from line by line.

    Texts given as arguments are one input each. ``-`` (alone) or ``--input
    FILE`` (``-``: standard input) give one text per line
    (:func:`treenets.formats.iter_lines`), or with ``--whole`` all of it as one text.
    """
    texts = list(args.text or [])
    if texts and args.input is not None:
        raise ValueError("give either the texts or --input FILE, not both")
    if "-" in texts:
        if len(texts) > 1:
            raise ValueError("'-' (standard input, one text per line) stands alone: give texts or '-', not both")
        source: Optional[str] = "-"
    elif texts:
        if args.whole:
            raise ValueError("--whole reads standard input ('-') or the --input file as one text; "
                             "texts given as arguments are already one text each")
        return texts, None
    elif args.input is None:
        raise ValueError("the text is missing: give one or more texts, '-' for standard input (one text per line), "
                         "or --input FILE")
    else:
        source = args.input
    if args.whole:
        return [_read_whole(source)], None
    from ..formats import iter_lines

    return iter_lines(source), source


def _texts(args):
    """The inputs of ``predict``/``encode``/``parse`` (:func:`_inputs`) and the progress bar over them
    (lines read, on standard error; off for texts given as arguments and with ``--quiet``)."""
    from ..utils.progress import progress_bar

    texts, source = _inputs(args)
    if source is None:
        return texts, progress_bar(enabled=False)
    # only a regular file can be read twice: counting a pipe (`--input <(zcat corpus.gz)`) would drain it
    if not args.quiet and source != "-" and os.path.isfile(source):
        from ..formats import count_lines

        total = count_lines(source)
    else:
        total = None
    desc = {"encode": "encoding", "predict": "predicting", "parse": "parsing"}.get(args.command, args.command)
    return texts, progress_bar(total=total, desc=desc, unit="line", enabled=not args.quiet)


def cmd_predict(args) -> int:
    """``treenets predict``: the sentiment of every sentence and phrase."""
    if args.model is None:  # the best model recommended for its use that this installation can run
        from ..models.saving import default_model

        args.model = default_model(DEFAULT_USES["predict"])
    model = _load_model(args, "sentiment", "predict")
    texts, bar = _texts(args)
    count = failed = 0
    with bar:
        # --input: a line that fails yields its error and the run goes on; one TEXT: its error is the answer
        results = model.predict(texts, batch_size=args.batch_size, cache=not args.no_cache, lazy=True,
                                parser=_model_parser(model, args),
                                workers=args.workers, progress=bar,
                                errors="yield" if args.input is not None else "raise")
        if args.format in ("svg", "html"):  # one picture of every tree
            kept = []
            for doc, group in _documents(model, results):
                _note(doc)
                for r in group:
                    if isinstance(r, Exception):
                        failed += 1
                        report_failed(r)
                    else:
                        kept.append(r)
            count = len(kept)
            _write_output(render_svg(kept) if args.format == "svg" else render_html(kept), args.output)
        else:  # streamed, one sentence at a time
            unicode = _unicode_ok(sys.stdout) if args.output is None else True

            def parts():
                nonlocal count, failed
                for doc, group in _documents(model, results):
                    _note(doc)  # one line on stderr per input the model cannot read
                    if doc is not None and args.format == "text":
                        yield render_document(doc)  # the verdict for the whole input first
                    for r in group:
                        if isinstance(r, Exception):
                            failed += 1
                            if args.format == "json":
                                yield render_json(r) + "\n"
                            else:
                                report_failed(r)
                            continue
                        count += 1
                        yield render_json(r, doc) + "\n" if args.format == "json" else render_text(r, unicode)
                if count and args.format == "text":
                    yield f"{legend(model.predicted_labels)}\n"

            _stream_output(parts(), args.output, separator="" if args.format == "json" else "\n")
    if not count and not failed:
        print("treenets: no sentences in the input", file=sys.stderr)
    return _failures(failed, f"{count} sentences predicted")


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


def _print_similarity(args, model, number: Optional[int], a: str, b: str, score: Optional[float]) -> None:
    if args.format == "json":
        if score is not None:
            record = {"a": a, "b": b, "score": round(score, 6), "model": model.name}
            print(json.dumps(record if number is None else {"input": number, **record}, ensure_ascii=False))
    else:
        print("" if score is None else f"{score:.4f}")


def cmd_similarity(args) -> int:
    """``treenets similarity``: the relatedness of two sentences, 1 to 5.

    ``-`` as one of them: one sentence per line of standard input, each
    compared with the other (one score per line; a blank line gives a blank
    line, and no JSON record); with ``--whole``, all of standard input is one sentence.
    """
    if args.a == "-" and args.b == "-":
        raise ValueError("only one of the two sentences can be read from standard input ('-')")
    from_stdin = "-" in (args.a, args.b)
    if args.whole and not from_stdin:
        raise ValueError("--whole reads standard input ('-') as one sentence; give '-' as one of the two")
    model = _load_model(args, "relatedness", "similarity")
    if not from_stdin or args.whole:
        a, b = (_read_whole(x) if x == "-" else x for x in (args.a, args.b))
        _print_similarity(args, model, None, a, b, model.similarity(a, b, cache=not args.no_cache,
                                                                       parser=_model_parser(model, args)))
        return 0
    from ..formats import iter_lines

    lines = enumerate(iter_lines("-"), 1)
    while True:
        chunk = list(islice(lines, args.batch_size))
        if not chunk:
            return 0
        pairs = [(n, *((line, args.b) if args.a == "-" else (args.a, line))) for n, line in chunk]
        full = [p for p in pairs if p[1].strip() and p[2].strip()]
        scores = iter(model.similarity([p[1] for p in full], [p[2] for p in full], cache=not args.no_cache,
                                           parser=_model_parser(model, args))
                      if full else [])
        for n, a, b in pairs:
            _print_similarity(args, model, n, a, b, next(scores) if a.strip() and b.strip() else None)
        sys.stdout.flush()


def cmd_parse(args) -> int:
    """``treenets parse``: the parse trees, as brackets, CoNLL-U or dot (sentences numbered on through all inputs)."""
    from ..api import default_parser
    from ..formats import write_brackets, write_conllu, write_dot
    from ..parsers.run import parse_sentences

    texts, bar = _texts(args)
    limits = _limits(args)
    parser_ = default_parser(args.tree, args.device, **({"limits": limits} if limits is not None else {}))
    k = failed = 0
    with bar:
        for sentences in parse_sentences(texts, parser_, cache=not args.no_cache, lazy=True, workers=args.workers,
                                         progress=bar, errors="yield" if args.input is not None else "raise"):
            if isinstance(sentences, Exception):  # a line that failed: named on standard error, the rest go on
                failed += 1
                report_failed(sentences)
                continue
            for sent in sentences:
                k += 1
                tree = sent.tree(args.tree)
                if args.format == "brackets":
                    print(write_brackets(tree))
                elif args.format == "conllu":
                    print(write_conllu([sent], start=k))
                else:
                    print(write_dot(tree, f"sentence{k}"), end="")
            sys.stdout.flush()
    return _failures(failed, f"{k} sentences parsed")


def cmd_encode(args) -> int:
    """``treenets encode``: the root state (and with --all-nodes every node's) of every sentence, as JSON Lines."""
    from ..api import parse_and_encode
    from ..formats import dumps_record, encoded_record, error_record

    texts, bar = _texts(args)
    trained = None
    count = failed = 0
    with bar, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in parse_and_encode(texts, args.tree, encoder=args.model, device=args.device, limits=_limits(args),
                                  cache=not args.no_cache, lazy=True, workers=args.workers, progress=bar,
                                  errors="yield" if args.input is not None else "raise"):
            if isinstance(r, Exception):  # a line that failed: its record, in its place
                failed += 1
                print(dumps_record(error_record(r)), flush=True)
                continue
            count += 1
            print(dumps_record(encoded_record(r, all_nodes=args.all_nodes)), flush=args.input is None)
            trained = r.trained
    if trained is False:
        print("note: untrained seeded encoder; leave out --model untrained for trained states", file=sys.stderr)
    return _failures(failed, f"{count} sentences encoded")


def cmd_cache(args) -> int:
    """``treenets cache info|clear``."""
    from ..parsers import ParseCache

    cache = ParseCache()
    if args.action == "clear":
        cache.clear()
    print(json.dumps(cache.info()))
    return 0


def cmd_serve(args) -> int:
    """``treenets serve``: the HTTP API and the sentiment-tree page (the ``serve`` extra)."""
    try:
        from ..serve import ServeSettings, default_served_models, serve
    except ImportError as err:
        raise ImportError(f"treenets serve needs the serve extra: pip install \"treenets[serve]\" ({err})") from None
    names = ("host", "port", "workers", "max_batch", "max_wait", "max_queue", "request_timeout",
             "max_request_bytes", "max_texts", "max_words", "device")
    settings = ServeSettings(models=tuple(args.model or default_served_models()), cache=not args.no_cache,
                             parse_trees=tuple(k for k in args.parse_trees.split(",") if k),
                             **{n: getattr(args, n) for n in names})
    serve(settings, log_level=args.log_level)
    return 0


def _mib(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MiB"


def cmd_models(args) -> int:
    """``treenets models``: the shipped models, from their ``config.json`` (no torch), and which command uses
    which by default."""
    from .catalog import shipped_models

    infos, errors = shipped_models()
    default_for: Dict[str, List[str]] = {}
    for command in COMMANDS.values():
        name = command.default_model or (_installed_default(command, infos) if command.default_use else None)
        if name:
            default_for.setdefault(name, []).append(command.name)
    if args.format == "json":
        for info in infos:
            print(json.dumps({**info.to_dict(), "default_for": default_for.get(info.name, [])}, ensure_ascii=False))
    else:
        rows = [("NAME", "TASK", "TREE", "SIZE", "TEST SCORE", "DEFAULT FOR", "RECOMMENDED FOR", "LABELS")]
        for info in infos:
            score = "-" if info.score is None else f"{info.metric} {info.score:g}"
            labels = f"{info.labels[0]} to {info.labels[1]}" if info.task == "relatedness" else ", ".join(info.labels)
            ranks = ", ".join(f"{use} #{rank}" for use, rank in sorted(info.recommended_for.items(), key=lambda x: x[1]))
            rows.append((info.name, info.task, info.tree, _mib(info.size_bytes), score,
                         ", ".join(default_for.get(info.name, [])) or "-",
                         (ranks or "-") + ("" if info.available else " (not installed)"), labels))
        widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]) - 1)]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
        for command in COMMANDS.values():
            if command.default_use:
                print(f"\n{command.name} uses {_default_reason(command, infos)}")
    for error in errors:
        print(f"treenets: error: {_one_line(error)}", file=sys.stderr)
    return EXIT_ERROR if errors else 0


# ------------------------------------------------------------------ options
def _device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:K (checked before anything else)")
    p.add_argument("--no-cache", action="store_true", help="do not use the on-disk parse cache")
    p.add_argument("--max-words", type=_positive, default=None, metavar="N",
                   help="words per sentence the parser takes (default 400; a longer sentence is an error, or is "
                        "split with --split-long-sentences)")
    p.add_argument("--split-long-sentences", action="store_true",
                   help="parse a sentence over --max-words as pieces of at most that many words")
    p.add_argument("--max-chars", type=_positive, default=None, metavar="N",
                   help="characters per text (default 100,000) and --max-token-chars per run without a space "
                        "(default 1,000) the parser takes")
    p.add_argument("--max-token-chars", type=_positive, default=None, metavar="N", help=argparse.SUPPRESS)


def _limits(args):
    """The parser's :class:`~treenets.parsers.TextLimits` from --max-words, --max-chars, ...; ``None``: the defaults."""
    changes = {k: v for k, v in (("max_words", args.max_words), ("max_chars", args.max_chars),
                                 ("max_token_chars", args.max_token_chars)) if v is not None}
    if args.split_long_sentences:
        changes["long_sentences"] = "split"
    if not changes:
        return None
    from ..parsers import DEFAULT_LIMITS

    return DEFAULT_LIMITS.replace(**changes)


def _model_parser(model, args):
    """The model's own parser with the command's limits, or ``None`` (the model's default parser)."""
    limits = _limits(args)
    if limits is None or model.tree_kind is None:
        return None
    return model.parser(args.device if args.device and args.device.startswith("cuda") else None, limits=limits)


def _input_options(p: argparse.ArgumentParser) -> None:
    """TEXT..., --input, --whole, --workers, --quiet: the inputs of predict, encode and parse."""
    _device_options(p)
    p.add_argument("text", nargs="*", metavar="TEXT",
                   help="one or more texts, each its own input ('-' alone: standard input, one text per line)")
    p.add_argument("--input", metavar="FILE", default=None,
                   help="instead of TEXT: one text per line of FILE ('-': standard input), streamed")
    p.add_argument("--whole", action="store_true",
                   help="read standard input ('-') or the --input file as one text, not one text per line")
    p.add_argument("--workers", type=_positive, default=1, metavar="N", help="parse in N processes (same output; default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (with --input or '-')")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _predict_options(p: argparse.ArgumentParser) -> None:
    _input_options(p)
    p.add_argument("--model", default=None,
                   help="a pretrained name (sst-ensemble, sst5, sst2; see `treenets models`) or a model directory "
                        f"(default: the recommended {DEFAULT_USES['predict']} model this installation can run: "
                        f"{_installed_default(COMMANDS['predict'])})")
    p.add_argument("--format", choices=PREDICT_FORMATS, default="text",
                   help="text: a tree drawn for the terminal; json: one object per sentence; svg/html: pictures")
    p.add_argument("--output", type=Path, default=None, metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--batch-size", type=_positive, default=64, help="sentences per model batch (default 64)")


def _similarity_options(p: argparse.ArgumentParser) -> None:
    _device_options(p)
    p.add_argument("a", metavar="A", help="the first sentence ('-': standard input, one sentence per line)")
    p.add_argument("b", metavar="B", help="the second sentence ('-': standard input, one sentence per line)")
    p.add_argument("--whole", action="store_true", help="read standard input ('-') as one sentence")
    p.add_argument("--model", default=DEFAULT_MODELS["similarity"],
                   help="a pretrained name (sick; see `treenets models`) or a model directory (default: %(default)s)")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="text: the score; json: one object per pair (with 'input', the line, when from '-')")
    p.add_argument("--batch-size", type=_positive, default=64, help="pairs per model batch (default 64)")


def _parse_options(p: argparse.ArgumentParser) -> None:
    _input_options(p)
    p.add_argument("--tree", choices=["dependency", "constituency"], default="dependency",
                   help="the trees to print (default: %(default)s)")
    p.add_argument("--format", choices=FORMATS, default="brackets", help="(default: %(default)s)")


def _encode_options(p: argparse.ArgumentParser) -> None:
    _input_options(p)
    p.add_argument("--tree", choices=["dependency", "constituency"], default=None,
                   help="the trees to encode (default: the kind the model reads)")
    p.add_argument("--model", "--checkpoint", dest="model", default=None,
                   help="a pretrained name, a model directory or .pt checkpoint, or 'untrained' "
                        f"(default: the pretrained {DEFAULT_MODELS['encode']} model's encoder)")
    p.add_argument("--all-nodes", action="store_true", help="also print every node's state")


def _models_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="text: a table; json: one object per model (default: %(default)s)")


def _cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["info", "clear"], help="info: where the cache is and its size; clear: empty it")


def _serve_options(p: argparse.ArgumentParser) -> None:
    """The options of ``treenets serve`` (the fields of :class:`treenets.serve.ServeSettings`). Not
    :func:`_device_options`: the server's --max-words is its own limit, checked before any work is queued."""
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:K (checked before anything else)")
    p.add_argument("--no-cache", action="store_true", help="do not use the on-disk parse cache")
    p.add_argument("--model", action="append", default=None, metavar="NAME|DIR",
                   help="a model to serve (repeat for several; default: the recommended sentiment model this "
                        "installation can run, then sst5, sst2 and sick; the first sentiment model answers "
                        "/v1/predict without a model)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    p.add_argument("--workers", type=_positive, default=1, help="parser processes per parser (default 1: a thread)")
    p.add_argument("--parse-trees", default="dependency,constituency",
                   help="tree kinds /v1/parse offers, comma-separated ('' for none)")
    p.add_argument("--max-batch", type=_positive, default=64, help="texts gathered into one batch (default 64)")
    p.add_argument("--max-wait", type=float, default=0.005, help="seconds a batch waits for more (default 0.005)")
    p.add_argument("--max-queue", type=_positive, default=256, help="requests admitted at once; more get 503")
    p.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request, then 504")
    p.add_argument("--max-request-bytes", type=_positive, default=1_000_000, help="largest request body (413)")
    p.add_argument("--max-texts", type=_positive, default=64, help="texts or pairs per request (413)")
    p.add_argument("--max-words", type=_positive, default=100, help="words per sentence (413)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


# ------------------------------------------------------------------ the table of subcommands
class Command(NamedTuple):
    """One subcommand of ``treenets``: what runs, its options, and its help.

    Attributes:
        name: the subcommand (``treenets NAME``).
        run: ``run(args) -> exit status``.
        options: adds the subcommand's arguments to its parser.
        summary: one line, for ``treenets --help``.
        description: a paragraph, for ``treenets NAME --help``.
        examples: command lines shown in the help (the first also in ``treenets --help``).
        model: the default-model line of the help (which model, or why none).
        default_model: the pretrained model used without ``--model`` (marked by ``treenets models``).
        stdin: what ``-`` (standard input) means to it, for its help; ``None``: it reads none.

    A named tuple, not a dataclass: ``dataclasses`` imports ``inspect``, a tenth of what ``treenets --version``
    costs.
    """

    name: str
    run: Callable[[argparse.Namespace], int]
    options: Callable[[argparse.ArgumentParser], None]
    summary: str
    description: str
    examples: Tuple[str, ...]
    model: str
    default_model: Optional[str] = None
    stdin: Optional[str] = None
    default_use: Optional[str] = None


#: The pretrained model each command uses without ``--model``, where it is a fixed one.
DEFAULT_MODELS = {"similarity": "sick", "encode": "sst5"}
#: The use whose recommended model a command takes without ``--model``: the best one this installation can
#: run (:func:`treenets.default_model`). ``predict`` prints the model's own classes on every node, so it
#: takes the five-class ranking ("sentiment"); today both rankings put the same model first.
DEFAULT_USES = {"predict": "sentiment"}


_NO_MODEL = "none (no treenets model is used)"


def _installed_default(command: Command, infos=None) -> str:
    """The model ``command`` uses without ``--model`` on this installation (read from the configs: no torch)."""
    if command.default_model or not command.default_use:
        return command.default_model or "-"
    from .catalog import default_model

    return default_model(command.default_use, infos) or "none installed"


def _default_reason(command: Command, infos=None) -> str:
    """Which model ``command`` uses without ``--model`` here, and why (for its help and ``treenets models``)."""
    from .catalog import shipped_models

    infos = shipped_models()[0] if infos is None else infos
    use = command.default_use
    chosen = _installed_default(command, infos)
    rank = next((i.recommended_for[use] for i in infos if i.name == chosen and use in i.recommended_for), None)
    better = sorted((i.recommended_for[use], i.name, i.requires) for i in infos
                    if use in i.recommended_for and not i.available and (rank is None or i.recommended_for[use] < rank))
    text = (f"{chosen}, the best-ranked model recommended for {use} (ranked on SST dev) that this installation "
            f"can run")
    if better:
        text += f"; {better[0][1]} comes first but needs: {better[0][2]}"
    return text


COMMANDS: Dict[str, Command] = {c.name: c for c in [
    Command("predict", cmd_predict, _predict_options,
            "the sentiment of every sentence of each text, and of every phrase in it",
            "Parse each text with the model's own parser and print the sentiment of every sentence, with a "
            "class on every node of its tree: as a drawing (text), JSON Lines (json) or pictures (svg, html).",
            ('treenets predict "Good." "Bad."',
             'treenets predict "The movie was not bad at all." --model sst2 --format json',
             'treenets predict "A gorgeous, witty film." --format html --output trees.html',
             "treenets predict --input reviews.txt --format json --workers 2 > reviews.jsonl",
             "cat reviews.txt | treenets predict - --format json"),
            "the best model recommended for sentiment (5 classes, very negative to very positive, and a "
            "negative/neutral/positive polarity) that this installation can run (`treenets models`)",
            stdin=STDIN_HELP, default_use=DEFAULT_USES["predict"]),
    Command("similarity", cmd_similarity, _similarity_options,
            "the relatedness of two sentences, from 1 (unrelated) to 5 (the same meaning)",
            "Parse both sentences with the model's own parser and print their relatedness on SICK's scale, from "
            "1 to 5. With '-' as A or B, every line of standard input is compared with the other sentence: one "
            "score per line (a blank line gives a blank line, and no JSON record).",
            ('treenets similarity "A man is playing a guitar." "A man plays a guitar."',
             'treenets similarity "A dog runs." "A dog is running." --format json',
             'treenets similarity "A man is cooking." - < sentences.txt'),
            f"{DEFAULT_MODELS['similarity']} (Dependency Tree-LSTM trained on SICK)",
            default_model=DEFAULT_MODELS["similarity"], stdin=SIMILARITY_STDIN_HELP),
    Command("parse", cmd_parse, _parse_options,
            "the parse trees of each text, as brackets, CoNLL-U or dot",
            "Split each text into sentences and parse them with stanza's English pipeline (through the parse "
            "cache), then print every sentence's tree: bracket notation, CoNLL-U or Graphviz dot. Sentences are "
            "numbered on through all the inputs.",
            ('treenets parse "The movie was great." "It was not."',
             'treenets parse "The movie was great." --tree constituency',
             "treenets parse --input corpus.txt --format conllu > corpus.conllu"),
            f"{_NO_MODEL}; the parser is stanza's English models ($STANZA_RESOURCES_DIR)", stdin=STDIN_HELP),
    Command("encode", cmd_encode, _encode_options,
            "the root state (and every node's) of every sentence, as JSON Lines",
            "Parse each text and run a trained Tree-LSTM encoder over every sentence's tree; print one JSON "
            "object per sentence with its words, tree and root state (every node's with --all-nodes).",
            ('treenets encode "The movie was great." "It was not."',
             "treenets encode --input corpus.txt --workers 2 --quiet > corpus.jsonl",
             'treenets encode "Dogs bark." --model untrained --tree dependency'),
            f"the encoder of {DEFAULT_MODELS['encode']} (binarized constituency trees, 150 numbers a node)",
            default_model=DEFAULT_MODELS["encode"], stdin=STDIN_HELP),
    Command("models", cmd_models, _models_options,
            "the shipped models: task, labels, tree kind, size, test score, and which command uses which",
            "List the pretrained models that ship with treenets (every model directory in treenets/pretrained), "
            "read from each one's config.json, and mark the default model of each command.",
            ("treenets models", "treenets models --format json"), _NO_MODEL),
    Command("cache", cmd_cache, _cache_options,
            "the parse cache: where it is and its size, or empty it",
            "Show the on-disk parse cache ($TREENETS_CACHE_DIR/parses.sqlite) as JSON, or empty it.",
            ("treenets cache info", "treenets cache clear"), _NO_MODEL),
    Command("serve", cmd_serve, _serve_options,
            "serve the models over HTTP: a JSON API and a page of sentiment trees (the serve extra)",
            "Load the models and their parsers once and answer HTTP requests: /v1/predict, /v1/similarity, "
            "/v1/parse, /v1/encode, /v1/models, /healthz, /readyz, and a page at / where typed text is drawn as "
            "coloured sentiment trees. Concurrent requests are batched; limits answer 413, bad requests 422 "
            "(see the docs' serving page). Needs pip install \"treenets[serve]\".",
            ("treenets serve", "treenets serve --model sst2 --port 8080 --workers 2",
             "treenets serve --model sst2 --model sick --max-texts 16 --max-words 60"),
            "the recommended sentiment model this installation can run, sst5, sst2 and sick (every --model "
            "given instead)"),
]}


def _epilog(command: Command) -> str:
    import textwrap

    line = f"default model: {command.model}"
    if command.default_use:
        line += f"; here: {_default_reason(command)}"
    parts = [textwrap.fill(line, 78, subsequent_indent="  ", break_on_hyphens=False)]
    if command.stdin:
        parts.append(textwrap.fill(command.stdin, 78))
    parts.append("examples:\n" + "\n".join(f"  {e}" for e in command.examples))
    return "\n\n".join(parts)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``treenets`` command, one subparser per entry of :data:`COMMANDS`."""
    import textwrap

    from ..utils.version import __version__

    epilog = "\n\n".join([
        "examples:\n" + "\n".join(f"  {c.examples[0]}" for c in COMMANDS.values()),
        textwrap.fill(STDIN_HELP, 78),
        "exit status: 0 done; 2 an error (one line on standard error); 130 interrupted (Ctrl-C).",
        "`treenets COMMAND --help` gives a command's options, default model and examples."])
    parser = argparse.ArgumentParser(
        prog="treenets", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=epilog,
        description=textwrap.fill("Tree-LSTMs over parsed sentences: predict sentiment, compare sentences, "
                                  "parse and encode text, with the pretrained models that ship with treenets.", 78))
    parser.add_argument("--version", action="version", version=f"treenets {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands",
                                parser_class=_IntermixedParser)
    for command in COMMANDS.values():
        p = sub.add_parser(command.name, help=command.summary, description=textwrap.fill(command.description, 78),
                           epilog=_epilog(command), formatter_class=argparse.RawDescriptionHelpFormatter)
        command.options(p)
    return parser


class _IntermixedParser(argparse.ArgumentParser):
    """A subcommand's parser that takes options between its texts (``predict "Good." --model sst2 "Bad."``)."""

    _inside = False

    def parse_known_args(self, args=None, namespace=None):
        if self._inside:
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


def _one_line(err) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _interrupted() -> int:
    """Ctrl-C: no traceback, exit status 130; a second Ctrl-C during the clean-up ends the process at once."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return EXIT_INTERRUPTED


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``treenets`` with ``argv`` (default ``sys.argv[1:]``) and return its exit status."""
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "device", None) is not None:
            from ..utils.device import check_device

            check_device(args.device)  # first, so the answer never depends on what is cached
        return COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        # the reader of standard output has gone (`| head`): nothing more can be written; no message
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit is quiet too
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE
    except (ValueError, RuntimeError, OSError, ImportError) as err:
        # unknown models, damaged files, missing stanza models (MissingStanzaModelError), missing devices
        # (DeviceError), stanza not installed: one line, exit status 2
        print(f"treenets: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
