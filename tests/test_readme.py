"""The README's examples run as written (the DGL line only where DGL is installed, PyG where PyG is)."""
import importlib.util
import re
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def test_usage_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    code = next(b for b in blocks if "loss.backward()" in b)
    assert "TreeBatch.from_trees" in code and "loss.backward()" in code
    if importlib.util.find_spec("dgl") is None:
        code = code.replace("g = batch.to_dgl()", "pass  # DGL not installed")
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["h"].shape == (namespace["batch"].num_nodes, 150)
    assert namespace["root_states"].shape == (2, 150)


def run_after_usage(marker: str) -> dict:
    """Run the usage example (without its DGL line), then the block containing ``marker``; their namespace."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    usage = next(b for b in blocks if "loss.backward()" in b).replace("g = batch.to_dgl()", "pass")
    block = next(b for b in blocks if marker in b)
    namespace = {}
    exec(compile(usage, str(README), "exec"), namespace)
    exec(compile(block, str(README), "exec"), namespace)
    return namespace


def test_bucket_sampler_example_runs():
    namespace = run_after_usage("HeightBucketSampler")
    batches = list(namespace["loader"])
    assert sum(b.num_trees for b in batches) == len(namespace["trees"])


def test_models_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    usage = next(b for b in blocks if "loss.backward()" in b).replace("g = batch.to_dgl()", "pass")
    models_block = next(b for b in blocks if "SentimentModel" in b)
    assert "train_epoch" in models_block and "predict_batch" in models_block
    namespace = {}
    exec(compile(usage, str(README), "exec"), namespace)
    exec(compile(models_block, str(README), "exec"), namespace)
    model, batch = namespace["model"], namespace["batch"]
    assert namespace["classes"].shape == (batch.num_nodes,) and namespace["probs"].shape == (batch.num_nodes, 5)
    assert namespace["scores"].tolist() == pytest.approx([1.4]) and namespace["sick"].vocab is namespace["vocab"]
    assert model.training  # predict_batch and evaluate put the mode back


def test_pyg_example_runs():
    if importlib.util.find_spec("torch_geometric") is None:
        pytest.skip("torch_geometric is an optional extra (pip install 'treenets[pyg]'); the core environment "
                    "runs this example")
    namespace = run_after_usage("to_pyg")
    h, batch = namespace["h"], namespace["batch"]
    assert namespace["sentences"].shape == (2, 150)
    assert torch.equal(namespace["roots"], h[batch.roots])
    children = namespace["children"]
    assert torch.allclose(children[batch.roots[1]], h[8])  # "barks" has one child, "dog"
    # the PyG Data is the second tree of the usage example: the same states
    assert torch.allclose(namespace["h_dog"], h[7:10], atol=1e-6)


def test_pretrained_three_lines_run(stanza_dir, tmp_path, monkeypatch):
    """The README's three lines of Python: load sst2, predict, one result per sentence."""
    pytest.importorskip("stanza", reason="stanza is not installed")
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    code = next(b for b in blocks if 'treenets.load("sst2")' in b)
    assert len(code.strip().splitlines()) == 3
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    results = namespace["results"]
    assert [r.input for r in results] == [1, 2, 2]
    assert all(r.label in ("negative", "positive") for r in results)
    similarity = next(b for b in blocks if ".similarity(" in b)
    score = eval(compile(similarity.split("#")[0].strip(), str(README), "eval"), namespace)
    assert 4.0 < score <= 5.0


def test_raw_text_example_runs(stanza_dir, tmp_path, monkeypatch):
    pytest.importorskip("stanza", reason="stanza is not installed")
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    code = next(b for b in blocks if "parse_and_encode(" in b)
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    results = namespace["results"]
    assert len(results) == 2 and results[0].node_states.shape == (9, 150) and results[0].encoder == "sst5"


def test_the_main_command_runs(stanza_dir, tmp_path, monkeypatch, capsys):
    """Command 1 of 'Two commands' ends with `treenets predict "..."`: it runs and labels every node."""
    import shlex

    from treenets import cli

    block = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)[0]
    last = block.strip().split(" && ")[-1]
    words = shlex.split(last)
    assert words[0].startswith("STANZA_RESOURCES_DIR=") and words[1:3] == ["treenets", "predict"]
    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(stanza_dir))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    assert cli.main(words[2:]) == 0
    out = capsys.readouterr().out
    # the verdict for the whole input comes first, then each sentence
    assert out.startswith("input 1: ") and "\nsentence 1 of input 1: " in out
    assert words[3] in out and "very positive" in out
