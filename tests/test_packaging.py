"""The wheel ships the pretrained models: built from a copy of the source, installed into a folder, loaded there."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("setuptools", reason="building a wheel needs setuptools")
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(REPO / "treenets", src / "treenets", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           str(src), "-w", str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"pip wheel failed: {proc.stderr[-2000:]}")
    (whl,) = out.glob("treenets-*.whl")
    return whl


def test_the_wheel_holds_every_pretrained_model(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for model in ("sst5", "sst2", "sick", "sst5-minilm"):
        for file in ("config.json", "model.safetensors", "vocab.txt", "SHA256SUMS"):
            assert f"treenets/pretrained/{model}/{file}" in names
    assert "treenets/pretrained/sst-ensemble/ensemble.json" in names


def test_load_works_from_an_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    code = ("import treenets, sys; m = treenets.load('sst5'); "
            "assert treenets.__file__.startswith(sys.argv[1]), treenets.__file__; "
            "print(type(m).__name__, m.training, len(m.vocab))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, cwd=tmp_path,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:2] == ["SentimentModel", "False"]


def test_the_wheel_holds_the_serve_page(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for file in ("index.html", "app.js", "style.css"):
        assert f"treenets/serve/static/{file}" in names
