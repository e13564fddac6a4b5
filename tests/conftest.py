"""Shared fixtures.

The datasets are never committed. Tests that need them find them through the
``TREENETS_DATA_DIR`` environment variable, falling back to ``../shared/data``
next to the repository; without either they skip with a reason.
"""
import importlib.util
import os
from pathlib import Path

import pytest
import torch

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
    env = os.environ.get("TREENETS_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for path in candidates:
        if (path / "sst").is_dir() or (path / "sick").is_dir():
            return path
    return None


@pytest.fixture(scope="session")
def data_dir():
    path = find_data_dir()
    if path is None:
        pytest.skip("datasets not found: set TREENETS_DATA_DIR to a folder with sst/, sick/ and embeddings/")
    return path


def find_stanza_dir():
    env = os.environ.get("STANZA_RESOURCES_DIR")
    for path in ([Path(env)] if env else []) + [REPO.parent / "shared" / "models" / "stanza_resources"]:
        if (path / "resources.json").is_file():
            return path
    return None


@pytest.fixture(scope="session")
def stanza_dir():
    path = find_stanza_dir()
    if path is None:
        pytest.skip("stanza models not found: set STANZA_RESOURCES_DIR (or run stanza.download('en'))")
    return path
