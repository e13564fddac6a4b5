"""Encoded sentences as JSON Lines: one JSON object per sentence, the output of ``treenets encode``.

A record is::

    {"input": 3, "sentence": 1, "words": ["Not", "bad", "."], "tree": "(...)", "encoder": "sst5",
     "trained": true, "hidden_size": 150, "root": [0.012345, ...]}

* ``input``: the input the sentence came from, counted from 1: with one text
  per line (``--input FILE``), its line number;
* ``sentence``: the sentence's position within that input, counted from 1
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

__all__ = ["encoded_record", "dumps_record"]


def _rounded(values, decimals: int):
    return [round(v, decimals) for v in values]


def encoded_record(result: Any, *, line: Optional[int] = None, all_nodes: bool = False,
                   decimals: int = 6) -> Dict[str, Any]:
    """The JSON record of one :class:`treenets.api.EncodedSentence`.

    Args:
        result: an encoded sentence.
        line: its input's number (1-based); default ``result.text_index + 1``.
        all_nodes: also write every node's state (``node_states``).
        decimals: places the states are rounded to.
    """
    record: Dict[str, Any] = {
        "input": int(result.text_index + 1 if line is None else line),
        "sentence": int(result.sentence_index) + 1, "words": result.tree.words, "tree": str(result.tree),
        "encoder": str(getattr(result, "encoder", "")), "trained": bool(result.trained),
        "hidden_size": int(result.root.shape[0]), "root": _rounded(result.root.tolist(), decimals),
    }
    if all_nodes:
        record["node_states"] = [_rounded(row, decimals) for row in result.node_states.tolist()]
    return record


def dumps_record(record: Dict[str, Any]) -> str:
    """One JSON Lines line (without the newline): plain ASCII JSON, so any terminal or tool reads it."""
    return json.dumps(record)
