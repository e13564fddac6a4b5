"""Smoke tests: each example runs end to end on a tiny slice, so none can rot."""
import json
import sys
from pathlib import Path

import pytest
import torch

from conftest import EXAMPLES, load_example as load


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("mode,cell,extra", [("fine", "nary", []), ("binary", "childsum", ["--bucket-by-height"]),
                                             ("fine", "slstm", [])])
def test_train_sst_then_evaluate(data_dir, tmp_path, capsys, mode, cell, extra):
    out = tmp_path / "sst"
    result = load("train_sst").main(["--data-dir", str(data_dir), "--limit", "12", "--epochs", "2", "--mode", mode,
                                     "--cell", cell, "--hidden", "8", "--out", str(out), "--no-progress", *extra])
    printed = last_json(capsys)
    assert printed == result
    assert printed["mode"] == mode and printed["cell"] == cell and printed["test_trees"] == 12
    assert printed["bucket_by_height"] == bool(extra)
    assert 0 <= printed["test_root_acc"] <= 100 and (out / "best.pt").is_file()
    again = load("evaluate").main([str(out / "best"), "--data-dir", str(data_dir), "--split", "test",
                                   "--limit", "12"])
    assert again["root_acc"] == pytest.approx(printed["test_root_acc"], abs=0.01)


def test_train_sick_then_evaluate(data_dir, tmp_path, capsys):
    out = tmp_path / "sick"
    result = load("train_sick").main(["--data-dir", str(data_dir), "--limit", "20", "--epochs", "1",
                                      "--hidden", "8", "--sim-hidden", "4", "--out", str(out), "--no-progress",
                                      "--bucket-by-height", "--batch-size", "5"])
    assert last_json(capsys) == result
    assert result["bucket_by_height"]
    assert set(result) >= {"test_pearson", "test_spearman", "test_mse"} and result["test_pairs"] == 20
    again = load("evaluate").main([str(out / "best"), "--data-dir", str(data_dir), "--split", "test",
                                   "--limit", "20"])
    assert again["pearson"] == pytest.approx(result["test_pearson"], abs=1e-4)


def test_vocab_extra_words_then_export_and_coverage(data_dir, tmp_path, capsys):
    """--vocab-extra-words adds the vector file's most frequent words; export_pretrained picks the best dev run
    and writes a float16 model directory whose recorded scores are its own; vocab_coverage measures it."""
    import treenets as tn

    emb = data_dir / "embeddings" / "glove.6B.50d.100k.txt"
    runs = tmp_path / "runs"
    load("run_seeds").main(["--seeds", "1", "2", "--jobs", "1", "--out", str(runs), "--",
                            str(EXAMPLES / "train_sick.py"), "--data-dir", str(data_dir), "--limit", "10",
                            "--epochs", "1", "--hidden", "4", "--sim-hidden", "3", "--embeddings", str(emb),
                            "--vocab-extra-words", "500"])
    capsys.readouterr()
    model = tn.load(runs / "seed1" / "best")
    assert model.vocab.lower and model.vocab.normalize == "ptb" and "however" in model.vocab
    assert 500 < len(model.vocab) < 500 + 200
    exported = load("export_pretrained").main([str(runs), "--name", "mini", "--out", str(tmp_path / "pre"),
                                               "--data-dir", str(data_dir), "--limit", "20"])
    results = [json.loads(line) for line in (runs / "results.jsonl").read_text().splitlines()]
    best = max(results, key=lambda r: (r["dev_pearson"], -r["seed"]))
    assert exported["seed"] == best["seed"] and last_json(capsys) == exported
    shipped = tn.load(tmp_path / "pre" / "mini")
    meta = shipped.metadata
    assert meta["seed"] == best["seed"] and meta["test"]["pairs"] == 20 and meta["embedding_dtype"] == "float16"
    assert meta["command"].startswith("python ") and f"--seed {best['seed']}" in meta["command"]
    assert "$TREENETS_DATA_DIR" in meta["command"] and str(data_dir) not in json.dumps(meta)
    again = load("evaluate").main([str(tmp_path / "pre" / "mini"), "--data-dir", str(data_dir), "--limit", "20"])
    assert again["pearson"] == pytest.approx(meta["test"]["pearson"], abs=1e-4)
    coverage = load("vocab_coverage").main([str(tmp_path / "pre" / "mini"), "--text", "sst", "--baseline",
                                            "--data-dir", str(data_dir)])
    assert coverage["all_tokens"]["tokens"] > 200000
    assert coverage["all_tokens"]["share"] > coverage["baseline_all_tokens"]["share"]


def test_raw_text_accuracy(data_dir, stanza_dir, tmp_path, capsys, monkeypatch):
    pytest.importorskip("stanza", reason="stanza is not installed")
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    sst = load("raw_text_accuracy").main(["--model", "sst2", "--limit", "4", "--data-dir", str(data_dir)])
    assert sst["sentences"] == 4 and 0 <= sst["raw_text_root_acc"] <= 100 and 0 <= sst["same_words"] <= 100
    assert last_json(capsys) == sst
    sick = load("raw_text_accuracy").main(["--model", "sick", "--limit", "5", "--data-dir", str(data_dir)])
    assert sick["pairs"] == 5 and -1 <= sick["raw_text_pearson"] <= 1


def test_detokenize_undoes_ptb_escapes():
    detok = load("raw_text_accuracy").detokenize
    assert detok(["-LRB-", "Good", "-RRB-", "film", ",", "is", "n't", "it", "?"]) == "(Good) film, isn't it?"
    assert detok(["``", "Great", "''", "acting", "."]) == '"Great" acting.'


def test_run_seeds_aggregates(data_dir, tmp_path, capsys):
    summary = load("run_seeds").main(["--seeds", "1", "2", "--jobs", "2", "--out", str(tmp_path / "runs"), "--",
                                      str(EXAMPLES / "train_sick.py"), "--data-dir", str(data_dir),
                                      "--limit", "10", "--epochs", "1", "--hidden", "4", "--sim-hidden", "3"])
    assert summary["runs"] == 2 and summary["seeds"] == [1, 2]
    assert set(summary["test_pearson"]) == {"mean", "std"}
    assert len((tmp_path / "runs" / "results.jsonl").read_text().splitlines()) == 2


def test_demo(data_dir, capsys):
    from treenets.cli import demo

    summary = demo.main(["--data-dir", str(data_dir), "--limit", "5", "--hidden", "6", "--embed", "4"])
    assert set(summary) == {"childsum", "nary", "slstm", "sequential"}
    assert all(v["trees"] == 5 and v["root_states"] == [5, 6] for v in summary.values())


def test_every_script_states_the_same_default_data_dir(capsys):
    """treenets.data.default_data_dir decides the data folder; every --help says so in the same words."""
    from treenets.cli import demo
    from treenets.data import DATA_DIR_HELP

    from benchmarks import matmul_share, parse_speed, run, scaling

    mains = [load(name).main for name in ("train_sst", "train_sick", "evaluate", "prepare_parses")]
    mains += [demo.main, run.main, scaling.main, matmul_share.main, parse_speed.main]
    for main in mains:
        with pytest.raises(SystemExit):
            main(["--help"])
        assert DATA_DIR_HELP in " ".join(capsys.readouterr().out.split()), main.__module__


def test_default_data_dir_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("TREENETS_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load("train_sick").main(["--epochs", "1", "--out", str(tmp_path / "out"), "--no-progress"])


def test_a_nan_loss_stops_training_naming_epoch_and_batch(data_dir, tmp_path, monkeypatch):
    """A NaN loss used to run on ('loss nan, dev r nan') and end in 'no checkpoint at best.pt'."""
    from treenets import RelatednessModel

    real_loss, calls = RelatednessModel.loss, []

    def loss(self, *inputs):
        calls.append(1)
        value = real_loss(self, *inputs)
        return value * float("nan") if len(calls) == 3 else value  # epoch 2, batch 1 (2 batches per epoch)

    monkeypatch.setattr(RelatednessModel, "loss", loss)
    out = tmp_path / "sick"
    args = ["--data-dir", str(data_dir), "--limit", "10", "--epochs", "3", "--hidden", "4", "--sim-hidden", "3",
            "--batch-size", "5", "--out", str(out), "--no-progress"]
    with pytest.raises(FloatingPointError, match=r"epoch 2: the training loss of batch 1 is nan.*best checkpoint "
                                                 r"so far is .*best \(epoch 1"):
        load("train_sick").main(args)
    assert not (out / "metrics.json").exists()


def test_a_nan_dev_score_stops_training(data_dir, tmp_path, monkeypatch):
    from treenets import RelatednessModel

    monkeypatch.setattr(RelatednessModel, "evaluate", lambda self, pairs, **kw: {"pearson": float("nan"),
                                                                                "spearman": 0.0, "mse": 0.0})
    out = tmp_path / "sick"
    with pytest.raises(FloatingPointError, match=r"epoch 1: the dev pearson is nan.*No checkpoint was written"):
        load("train_sick").main(["--data-dir", str(data_dir), "--limit", "10", "--epochs", "2", "--hidden", "4",
                                 "--sim-hidden", "3", "--out", str(out), "--no-progress"])
    assert not (out / "best.pt").exists()


@pytest.mark.parametrize("name,args,expect", [
    ("train_sst", [], ["sst/train.txt is missing", "python -m treenets.data --root", "--only sst"]),
    ("train_sick", [], ["sick/train/a.toks is missing", "prepare_parses.py", "--only sick-dependency"]),
    ("train_sst", ["--parsed-dir", "PARSED"], ["PARSED/sst/train.conllu is missing", "prepare_parses.py"]),
    ("evaluate", ["NOWHERE/best"], ["no model directory at NOWHERE/best"]),
])
def test_bad_input_is_one_line_and_exit_code_2(name, args, expect, tmp_path, monkeypatch, capsys):
    """Run as commands, the examples print one line naming the file (and the command that makes it), exit 2."""
    from common import run

    args = [a.replace("PARSED", str(tmp_path / "parsed")).replace("NOWHERE", str(tmp_path)) for a in args]
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *args, "--data-dir", str(tmp_path)]
                        + ([] if name == "evaluate" else ["--out", str(tmp_path / "out")]))
    monkeypatch.delenv("TREENETS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        run(load(name).main)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"{name}.py: error: ")
    for text in expect:
        assert text.replace("PARSED", str(tmp_path / "parsed")).replace("NOWHERE", str(tmp_path)) in err


@pytest.mark.parametrize("name,option,value", [
    ("train_sst", "--batch-size", "0"), ("train_sst", "--epochs", "0"), ("train_sick", "--limit", "0"),
    ("train_sick", "--limit", "-2"), ("evaluate", "--limit", "0"), ("train_sst", "--epochs", "two"),
])
def test_sizes_must_be_positive(name, option, value, capsys):
    """--batch-size 0 used to end in ZeroDivisionError, --epochs 0 in "no model directory", --limit 0 trained on
    everything and --limit -2 dropped the last examples."""
    module = load(name)
    with pytest.raises(SystemExit) as info:
        if name == "evaluate":
            module.main(["MODEL", option, value])
        else:
            module.parse_args([option, value])
    assert info.value.code == 2 and f"argument {option}:" in capsys.readouterr().err
