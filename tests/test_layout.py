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
                                                     for target in node.targets
                                                     for t in (target.elts if isinstance(target, ast.Tuple)
                                                               else [target])))
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


# ---------------------------------------------------------------- the layers
#: Bottom to top. A module may import modules of its own layer or of a lower
#: one, never of a higher one; lazy imports inside functions count too. The
#: package root (``treenets/__init__.py``, ``__main__.py``) sits on top of all;
#: ``testing`` (oracles for the tests and benchmarks) sits just below the
#: pipelines, and nothing in the library imports it.
LAYERS = [
    ("utils",),                          # 0: paths, atomic writes, devices, progress, version
    ("structures",),                     # 1: Tree, TreeBatch, propagation, graph interop
    ("formats", "data"),                 # 2: input and output: file formats, datasets
    ("nn", "cells", "heads"),            # 3: neural modules
    ("testing",),                        # 3.5: oracles
    ("parsers", "models", "training"),   # 4: pipelines
    ("api", "cli", "serve"),             # 5: front ends
]
LAYER_OF = {name: rank for rank, names in enumerate(LAYERS) for name in names}
TOP = len(LAYERS)

def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports():
    """``{module: {(imported module, line)}}`` for every treenets module, lazy imports included."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [target]
                if not node.module or node.level and target.count(".") < 2:
                    # `from . import formats`, `from .. import x`: the names may be modules
                    targets += [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t == "treenets" or t.startswith("treenets."):
                    found.add((t, node.lineno))
        graph[name] = found
    return graph


def _rank(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return TOP
    return LAYER_OF.get(parts[1], -1)


def _resolve(target: str, modules) -> str:
    """The module a dotted import names (``treenets.formats.read_lines`` -> ``treenets.formats``)."""
    while target not in modules and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def test_every_subpackage_has_a_layer():
    for path in PACKAGE.iterdir():
        if path.name.startswith(("_", ".")) or path.name in ("pretrained",):
            continue
        if path.is_dir() and not (path / "__init__.py").exists():
            continue
        name = path.stem
        assert name in LAYER_OF, f"treenets/{path.name} is in no layer: add it to LAYERS in tests/test_layout.py"


def test_imports_only_go_down_the_layers():
    graph = _imports()
    bad = set()
    for module, targets in graph.items():
        for target, line in targets:
            target = _resolve(target, graph)
            if _rank(target) > _rank(module):
                bad.add(f"{module}:{line} imports {target}")
    assert not bad, "imports up the layer order:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = _imports()
    edges = {m: sorted({_resolve(t, graph) for t, _ in ts} - {m}) for m, ts in graph.items()}
    # a package's __init__ re-exports its modules: an edge package -> its own module is no cycle
    # unless the module imports the package back, which the walk below finds
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = [0]

    def strongconnect(v):  # Tarjan, iteratively
        work = [(v, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter[0]
                counter[0] += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for k in range(i, len(edges.get(node, []))):
                w = edges[node][k]
                if w not in edges:
                    continue
                if w not in index:
                    work.append((node, k + 1))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if recurse:
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    cycles.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
