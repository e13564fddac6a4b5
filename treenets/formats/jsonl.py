"""The JSON records of treenets' outputs, one function per kind: the one home of their fields.

* :func:`prediction_record`: one predicted sentence (``treenets predict --format json``,
  :meth:`SentimentResult.to_dict <treenets.models.prediction.SentimentResult.to_dict>`);
* :func:`encoded_record`: one encoded sentence (``treenets encode``);
* :func:`error_record`: one input that could not be processed,
  ``{"input": 150, "error": "..."}``.

Every record names its place with ``input`` (the input's number, from 1: with
one text per line, its line number) and, for sentences, ``sentence`` (its
number within that input, from 1), as the Python objects do.

An encode record is::

    {"input": 3, "sentence": 1, "words": ["Not", "bad", "."], "tree": "(...)", "encoder": "sst5",
     "trained": true, "hidden_size": 150, "root": [0.012345, ...]}

* ``input``: the input the sentence came from, counted from 1: with one text
  per line (``--input FILE``), its line number;
* ``sentence``: the sentence's number within that input, counted from 1
  (``treenets predict --format json`` counts the same way);
* ``words``, ``tree`` (brackets, :func:`treenets.formats.write_brackets`),
  ``encoder`` (the model that made the states), ``trained`` (``false`` for the
  untrained seeded encoder), ``hidden_size``;
* ``root``: the root's hidden state, rounded to ``decimals`` (6) places;
* ``node_states``: every node's hidden state, in the tree's node order
  (only when asked for).

The same records come from ``treenets encode``, the Python API and
``examples/encode_corpus_dask.py``, so their outputs can be compared line by
line.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

__all__ = ["prediction_record", "encoded_record", "error_record", "dumps_record"]


def _rounded(values, decimals: int):
    return [round(v, decimals) for v in values]


def prediction_record(result: Any, decimals: int = 6) -> Dict[str, Any]:
    """The JSON record of one :class:`~treenets.models.prediction.SentimentResult`.

    ``input`` and ``sentence`` (from 1), ``text``, ``label``, ``probs`` (class
    -> probability, rounded to ``decimals`` places), ``tree`` (brackets) and
    ``nodes``: one ``{"id", "parent", "word", "phrase", "label", "probs"}``
    per node, in node order (``id`` and ``parent`` are node numbers from 0,
    as in the tree; the root's parent is -1). A result with a polarity adds
    ``polarity`` to every node and its
    :meth:`~treenets.models.prediction.SentimentResult.explanation`.
    """
    tree = result.tree
    phrases = result.phrases()
    nodes = [{"id": i, "parent": tree.parents[i], "word": tree.tokens[i], "phrase": phrases[i],
              "label": result.node_labels[i], "probs": {k: round(v, decimals) for k, v in result.node_probs[i].items()}}
             for i in range(len(tree))]
    record = {"input": int(result.input), "sentence": int(result.sentence), "text": result.text,
              "label": result.label, "probs": {k: round(v, decimals) for k, v in result.probs.items()},
              "tree": str(tree), "nodes": nodes}
    if getattr(result, "polarity", None) is not None:
        # the three-way answer on every node, and why: polarity, polarity_probs, deciding, flips, coverage, warnings
        for node, polarity in zip(nodes, result.node_polarity):
            node["polarity"] = polarity
        record.update(result.explanation())
    return record


def error_record(error: Any, *, line: Optional[int] = None) -> Dict[str, Any]:
    """The JSON record of an input that could not be processed: ``{"input": N, "error": "why"}``.

    Args:
        error: a :class:`~treenets.parsers.ParseError` (its ``input``, from
            1, and its ``reason``, the message without the position).
        line: the input's number (from 1); default ``error.input``.
    """
    where = getattr(error, "input", None) if line is None else line
    return {"input": None if where is None else int(where), "error": str(getattr(error, "reason", None) or error)}


def encoded_record(result: Any, *, line: Optional[int] = None, all_nodes: bool = False,
                   decimals: int = 6) -> Dict[str, Any]:
    """The JSON record of one :class:`treenets.api.EncodedSentence`.

    Args:
        result: an encoded sentence.
        line: its input's number (from 1); default ``result.input``.
        all_nodes: also write every node's state (``node_states``).
        decimals: places the states are rounded to.
    """
    record: Dict[str, Any] = {
        "input": int(result.input if line is None else line),
        "sentence": int(result.sentence), "words": result.tree.words, "tree": str(result.tree),
        "encoder": str(getattr(result, "encoder", "")), "trained": bool(result.trained),
        "hidden_size": int(result.root.shape[0]), "root": _rounded(result.root.tolist(), decimals),
    }
    if all_nodes:
        record["node_states"] = [_rounded(row, decimals) for row in result.node_states.tolist()]
    return record


def dumps_record(record: Dict[str, Any]) -> str:
    """One JSON Lines line (without the newline): plain ASCII JSON, so any terminal or tool reads it."""
    return json.dumps(record)
