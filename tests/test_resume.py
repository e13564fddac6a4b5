"""Resumable training: a run stopped after epoch k and resumed ends exactly as an uninterrupted run."""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from conftest import EXAMPLES, REPO, load_example as load
from treenets.training import load_training_state, read_training_info, tensorboard_available

TEST_KEYS = {"sst": ("best_epoch", "dev_root_acc", "test_root_acc", "test_node_acc"),
             "sick": ("best_epoch", "dev_pearson", "test_pearson", "test_spearman", "test_mse")}


def sst_args(data_dir, *extra):
    # dropout on and word vectors tuned by SGD: the random states and both optimizers must come back
    return ["train_sst", ["--data-dir", str(data_dir), "--limit", "30", "--hidden", "8", "--batch-size", "7",
                          "--no-progress", "--threads", "1", *extra]]


def sick_args(data_dir, *extra):
    return ["train_sick", ["--data-dir", str(data_dir), "--limit", "30", "--hidden", "8", "--sim-hidden", "4",
                           "--batch-size", "7", "--bucket-by-height", "--no-progress", "--threads", "1", *extra]]


def same_weights(a, b):
    sa = torch.load(a / "last" / "state.pt", weights_only=True)
    sb = torch.load(b / "last" / "state.pt", weights_only=True)
    assert sa["model"].keys() == sb["model"].keys()
    for name in sa["model"]:
        assert torch.equal(sa["model"][name], sb["model"][name]), name
    for oa, ob in zip(sa["optimizers"], sb["optimizers"]):
        for key, state in oa["state"].items():
            for name, value in state.items():
                other = ob["state"][key][name]
                same = other is None if value is None else torch.equal(torch.as_tensor(value), torch.as_tensor(other))
                assert same, (key, name)
    assert torch.equal(sa["generator"], sb["generator"])
    assert torch.equal(sa["rng"][0]["torch"], sb["rng"][0]["torch"])


@pytest.mark.parametrize("task", ["sst", "sick"])
def test_resumed_run_ends_like_an_uninterrupted_one(task, data_dir, tmp_path, capsys):
    name, args = (sst_args if task == "sst" else sick_args)(data_dir)
    stopped = load(name).main([*args, "--epochs", "2", "--out", str(tmp_path / "run")])
    assert read_training_info(tmp_path / "run" / "last")["epoch"] == 2
    shutil.copytree(tmp_path / "run", tmp_path / "stopped")
    resumed = load(name).main([*args, "--epochs", "4", "--resume", str(tmp_path / "run")])
    whole = load(name).main([*args, "--epochs", "4", "--out", str(tmp_path / "whole")])
    for key in TEST_KEYS[task]:
        assert resumed[key] == whole[key], key
    same_weights(tmp_path / "run", tmp_path / "whole")
    state = load_training_state(tmp_path / "run" / "last")
    assert state.epoch == 4 and state.info["best_epoch"] == whole["best_epoch"]
    assert state.info["args"]["epochs"] == 4 and state.info["args"]["seed"] == 1
    assert stopped["epochs"] == 2
    # the check can fail: the run stopped after epoch 2 is another model than the one of 4 epochs
    with pytest.raises(AssertionError):
        same_weights(tmp_path / "stopped", tmp_path / "whole")


def test_resume_refuses_other_options(data_dir, tmp_path):
    name, args = sick_args(data_dir)
    load(name).main([*args, "--epochs", "1", "--out", str(tmp_path / "run")])
    main = load(name).main
    with pytest.raises(ValueError, match=r"other options: --hidden 8 \(now 9\)"):
        main([*[a if a != "8" else "9" for a in args], "--epochs", "2", "--resume", str(tmp_path / "run")])
    with pytest.raises(ValueError, match=r"--seed 1 \(now 3\)"):
        main([*args, "--seed", "3", "--epochs", "2", "--resume", str(tmp_path / "run")])
    with pytest.raises(ValueError, match=r"--limit 30 \(now 25\)"):
        main([*args[:args.index("--limit")], "--limit", "25", *args[args.index("--limit") + 2:], "--epochs", "2",
              "--resume", str(tmp_path / "run")])
    # a moved data folder is fine, other data is not: one word of the first training pair changed
    moved = tmp_path / "moved"
    shutil.copytree(data_dir / "sick", moved / "sick", ignore=shutil.ignore_patterns("SICK_*"))
    (moved / "embeddings").symlink_to(data_dir / "embeddings")
    toks = moved / "sick" / "train" / "a.toks"
    lines = toks.read_text().split("\n")
    lines[0] = " ".join(["zebra"] + lines[0].split()[1:])
    toks.write_text("\n".join(lines))
    with pytest.raises(ValueError, match="the data differ from the run's"):
        main([*args[:1], str(moved), *args[2:], "--epochs", "2", "--resume", str(tmp_path / "run")])
    with pytest.raises(SystemExit):  # fewer epochs than were trained: here only 0, which argparse refuses
        main([*args, "--epochs", "0", "--resume", str(tmp_path / "run")])
    with pytest.raises(ValueError, match="drop --out"):
        main([*args, "--epochs", "2", "--resume", str(tmp_path / "run"), "--out", str(tmp_path / "elsewhere")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no training state in it .*empty/last/state\.json is missing"):
        main([*args, "--epochs", "2", "--resume", str(tmp_path / "empty")])
    # the same options, more epochs, and --resume naming the state folder itself
    result = main([*args, "--epochs", "2", "--resume", str(tmp_path / "run" / "last")])
    assert result["epochs"] == 2 and read_training_info(tmp_path / "run" / "last")["epoch"] == 2


def test_resume_refuses_fewer_epochs_than_were_trained(tmp_path):
    common = load("common")
    info = {"args": {"seed": 1}, "vocab_sha256": "abc", "epoch": 3}
    with pytest.raises(common.ResumeError, match="already trained 3 epochs; --epochs 2 asks for fewer"):
        common.check_resume(info, {"seed": 1}, "abc", 2, tmp_path)
    common.check_resume(info, {"seed": 1}, "abc", 3, tmp_path)  # as many is fine (nothing left to train)


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_killed_process_resumes(data_dir, tmp_path):
    """SIGKILL a real training process once it has logged epoch 1; --resume ends as an uninterrupted run."""
    name, args = sick_args(data_dir)
    cmd = [sys.executable, str(EXAMPLES / f"{name}.py"), *args, "--epochs", "5", "--out", str(tmp_path / "run")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
    try:
        for line in proc.stderr:
            if line.startswith("epoch 1:"):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_after = read_training_info(tmp_path / "run" / "last")["epoch"]
    assert 1 <= killed_after < 5
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *args, "--epochs", "5", "--resume",
                           str(tmp_path / "run")], capture_output=True, text=True, env=_env(), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"resuming {tmp_path / 'run' / 'last'} after epoch {killed_after}" in done.stderr
    resumed = json.loads(done.stdout.strip().splitlines()[-1])
    whole = load(name).main([*args, "--epochs", "5", "--out", str(tmp_path / "whole")])
    for key in TEST_KEYS["sick"]:
        assert resumed[key] == whole[key], key
    same_weights(tmp_path / "run", tmp_path / "whole")
    # nothing half-written is left behind (a temporary folder of the killed process is removed)
    tensorboard = ["tensorboard"] if tensorboard_available() else []  # fit's events, when installed
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["best", "best.pt", "last", "metrics.json",
                                                                    "metrics.jsonl", *tensorboard]
