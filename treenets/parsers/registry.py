"""The one registry of loaded parsers: one :class:`~treenets.parsers.StanzaParser` per configuration per process.

Loading stanza's models takes seconds and hundreds of MB, so every caller
that needs the default parser of a tree kind (:func:`default_parser`, used by
:func:`treenets.parse`) or a model's own parser
(:meth:`TaskModel.parser <treenets.models.TaskModel.parser>`) gets it from
here: made once for each set of options, loaded on first use (so a parse
cache hit never loads stanza).
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from .base import check_tree_kind

__all__ = ["stanza_parser", "default_parser"]

_LOADED: Dict[str, Any] = {}


def stanza_parser(**options) -> Any:
    """The process's :class:`~treenets.parsers.StanzaParser` with these options (``lazy=True``).

    Two calls with the same options (and the same resolved stanza resources
    folder) return the same parser.
    """
    from .stanza import StanzaParser, resolve_stanza_dir

    key = json.dumps({**options, "dir": resolve_stanza_dir(options.get("dir"))}, sort_keys=True, default=str)
    if key not in _LOADED:
        _LOADED[key] = StanzaParser(lazy=True, **options)
    return _LOADED[key]


def default_parser(tree: str = "dependency", device: Optional[str] = None, **options) -> Any:
    """The default English :class:`~treenets.parsers.StanzaParser` for one tree kind.

    Dependency trees, or right-binarized constituency trees (for N-ary cells),
    from the stanza models in ``$STANZA_RESOURCES_DIR``. ``options`` are other
    :class:`~treenets.parsers.StanzaParser` options, such as ``limits=``
    (:class:`~treenets.parsers.TextLimits`).
    """
    check_tree_kind(tree)
    return stanza_parser(**{"dependency": tree == "dependency", "constituency": tree == "constituency",
                            "binarize": "right" if tree == "constituency" else None, "device": device, **options})
