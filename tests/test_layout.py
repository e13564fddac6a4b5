"""The floor plan: one top-level package, formats only in treenets/formats, oracles out of the namespace."""
import ast
import importlib.util
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = REPO / "treenets"


def test_one_top_level_package():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    from setuptools import find_packages

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = find_packages(str(REPO), include=include)
    assert packages and {p.split(".")[0] for p in packages} == {"treenets"}
    assert "treenets.parsers" in packages and "treenets.formats" in packages
    assert not (REPO / "parsers").exists()


def test_no_top_level_parsers_module_installed():
    assert importlib.util.find_spec("parsers") is None


def _sources():
    for path in PACKAGE.rglob("*.py"):
        yield path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8")


def test_init_modules_only_re_export():
    for name, text in _sources():
        if not name.endswith("__init__.py"):
            continue
        for node in ast.parse(text).body:
            ok = isinstance(node, (ast.Import, ast.ImportFrom)) or (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) or (
                isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.startswith("__")
                                                     for t in node.targets))
            assert ok, f"treenets/{name}:{node.lineno} does more than re-export"


@pytest.mark.parametrize("marker, what", [
    ("\\t\".join(", "writes tab-separated columns (CoNLL-U)"),
    ("split(\"\\t\")", "reads tab-separated columns (CoNLL-U)"),
    ("digraph", "writes Graphviz dot"),
    ("Tree.fromstring", "reads brackets with nltk"),
])
def test_formats_are_read_and_written_only_in_formats(marker, what):
    for name, text in _sources():
        if not name.startswith("formats/"):
            assert marker not in text, f"treenets/{name} {what}: that belongs in treenets/formats/"
