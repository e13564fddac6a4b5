"""What the server runs in its worker threads: the Python API, on the texts of several requests at once.

Each ``*_job`` returns the ``run`` of a :class:`~treenets.serve.batcher.Batcher`:
it joins the items of several requests into one call of the same function the
``treenets`` command calls (``model.predict``, ``model.similarity``,
:func:`treenets.api.parse_sentences`, :func:`treenets.parse_and_encode`) and
cuts the results back into one list per request, each counted from that
request's first text. The ``*_records`` functions turn them into the JSON
records the command prints (:func:`treenets.formats.jsonl.prediction_record`,
:func:`treenets.formats.jsonl.encoded_record`), so a record from the server equals
one from ``treenets ... --format json``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Sequence, Tuple

__all__ = ["predict_job", "similarity_job", "parse_job", "encode_job", "predict_records", "similarity_records",
           "parse_records", "encode_records", "node_titles"]


def _offsets(jobs: Sequence[Sequence[Any]]) -> List[int]:
    out, at = [], 0
    for items in jobs:
        out.append(at)
        at += len(items)
    return out


def _split(jobs: Sequence[Sequence[Any]], results: Sequence[Any]) -> List[List[Any]]:
    """Results of one call over the texts of several requests -> one list per request, each result's
    ``input`` (its text's number, from 1) counted again from that request's first text."""
    starts = _offsets(jobs)
    owner = [k for k, items in enumerate(jobs) for _ in items]
    out: List[List[Any]] = [[] for _ in jobs]
    for r in results:
        k = owner[r.input - 1]
        out[k].append(dataclasses.replace(r, input=r.input - starts[k]))
    return out


def predict_job(model, parser, cache, input_format: str):
    def run(jobs: List[Sequence[str]]) -> List[List[Any]]:
        texts = [t for items in jobs for t in items]
        results = model.predict(texts, batch_size=max(1, len(texts)), parser=parser, cache=cache,
                                input_format=input_format)
        return _split(jobs, results)
    return run


def node_titles(result) -> List[str]:
    """Hover text of every node of a prediction: its phrase, its class, and every class's probability."""
    out = []
    for phrase, label, probs in zip(result.phrases(), result.node_labels, result.node_probs):
        shown = phrase if len(phrase) <= 200 else phrase[:197] + "..."
        out.append(f"{shown}\n{label}: " + ", ".join(f"{k} {v:.2f}" for k, v in probs.items()))
    return out


def predict_records(results, svg: bool) -> List[Dict[str, Any]]:
    """The records of ``treenets predict --format json`` (plus each tree as SVG when asked)."""
    from ..formats.jsonl import prediction_record
    from ..formats.svg import LabelledTree, write_svg

    records = []
    for r in results:
        record = prediction_record(r)
        if svg:
            record["svg"] = write_svg([LabelledTree(r.tree, r.node_labels, node_titles(r), None)])
        records.append(record)
    return records


def similarity_job(model, parser, cache):
    def run(jobs: List[Sequence[Tuple[str, str]]]) -> List[List[float]]:
        pairs = [p for items in jobs for p in items]
        scores = model.similarity([a for a, _ in pairs], [b for _, b in pairs], batch_size=max(1, len(pairs)),
                                  parser=parser, cache=cache)
        starts = _offsets(jobs)
        return [scores[s:s + len(items)] for s, items in zip(starts, jobs)]
    return run


def similarity_records(pairs: Sequence[Tuple[str, str]], scores: Sequence[float], model_name: str):
    """The records of ``treenets similarity --format json``."""
    return [{"a": a, "b": b, "score": round(score, 6), "model": model_name} for (a, b), score in zip(pairs, scores)]


def parse_job(parser, cache):
    from ..api import parse_sentences

    def run(jobs: List[Sequence[str]]) -> List[List[Any]]:
        texts = [t for items in jobs for t in items]
        per_text = parse_sentences(texts, parser, cache, batch_size=max(1, len(texts)))
        starts = _offsets(jobs)
        return [per_text[s:s + len(items)] for s, items in zip(starts, jobs)]
    return run


def parse_records(per_text, tree_kind: str, fmt: str) -> List[Dict[str, Any]]:
    """One record per text: its sentences, each as ``treenets parse --format FMT`` prints it."""
    from ..formats import write_brackets, write_conllu, write_dot

    out = []
    for i, sentences in enumerate(per_text):
        items = []
        for k, sent in enumerate(sentences, 1):
            tree = sent.tree(tree_kind)
            text = (write_brackets(tree) if fmt == "brackets" else write_conllu([sent], start=k) if fmt == "conllu"
                    else write_dot(tree, f"sentence{k}"))
            items.append({"sentence": k, "text": sent.text, "words": list(tree.words), fmt: text})
        out.append({"input": i + 1, "sentences": items})
    return out


def encode_job(model, parser, cache):
    from ..api import parse_and_encode

    def run(jobs: List[Sequence[str]]) -> List[List[Any]]:
        texts = [t for items in jobs for t in items]
        results = parse_and_encode(texts, encoder=model, parser=parser, cache=cache, batch_size=max(1, len(texts)),
                                   parse_batch_size=max(1, len(texts)))
        return _split(jobs, results)
    return run


def encode_records(results, root_only: bool) -> List[Dict[str, Any]]:
    """The records of ``treenets encode`` (``--all-nodes`` unless ``root_only``)."""
    from ..formats import encoded_record

    return [encoded_record(r, all_nodes=not root_only) for r in results]
