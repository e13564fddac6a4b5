"""Training on several processes (DistributedDataParallel, gloo on CPU) equals one process on the same global batch."""
import json
import os
import signal
import socket
import subprocess
import sys

import pytest
import torch

import _ddp_worker as worker
from conftest import EXAMPLES, REPO
from treenets.training import tensorboard_available, train_epoch

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="this torch has no torch.distributed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _grads(model, items):
    model.zero_grad()
    model.loss(*model.collate(items)).backward()
    return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """Both tasks' steps on 2 gloo processes (one spawn: starting processes is the slow part)."""
    out = tmp_path_factory.mktemp("ddp")
    torch.multiprocessing.spawn(worker.run, args=(2, free_port(), ("sst", "sick"), str(out)), nprocs=2, join=True)
    return out


@pytest.mark.parametrize("task", ["sst", "sick"])
def test_two_processes_step_like_one(task, two_processes):
    """After each optimizer step, weights and gradients of 2 gloo processes equal one process's on the whole batch.

    SST: the paper's loss (summed over nodes, divided by the trees of the global
    batch), AdaGrad with L2 on the model and SGD on the word vectors; a batch of
    7 trees (shares of 4 and 3), then one of 1 tree (process 1's share is empty).
    SICK: KL averaged over pairs, frozen word vectors; 5 pairs, then 3.
    """
    model, opts, batches = worker.build(task)
    for step, batch in enumerate(batches):
        loss = train_epoch(model, [batch], opts)
        want = worker.snapshot(model)
        assert want["grads"]
        for process in (0, 1):
            got = torch.load(two_processes / f"{task}-{process}-{step}.pt", weights_only=True)
            assert got["loss"] == pytest.approx(loss, rel=1e-6)
            assert set(got["grads"]) == set(want["grads"])
            for name, p in want["params"].items():
                torch.testing.assert_close(got["params"][name], p, rtol=0, atol=1e-6, msg=f"step {step}: {name}")
            for name, g in want["grads"].items():
                torch.testing.assert_close(got["grads"][name], g, rtol=1e-5, atol=1e-7,
                                           msg=f"step {step}: gradient of {name}")

    # The check can fail: averaging the two processes' own means (DDP without the
    # share scaling) is another gradient when the shares differ in size.
    model, _, batches = worker.build(task)
    whole = _grads(model, batches[0])
    naive = [_grads(model, batches[0][r::2]) for r in (0, 1)]
    assert any(not torch.allclose((naive[0][k] + naive[1][k]) / 2, g, atol=1e-4) for k, g in whole.items())


def _torchrun(script, args, env, timeout=240):
    """Run torchrun with 2 processes in its own process group, so that a hung run is killed with its workers."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(EXAMPLES / script), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def test_torchrun_train_sst_matches_one_process(data_dir, tmp_path):
    """`torchrun --nproc_per_node 2 examples/train_sst.py` trains as one process does on the same global batches.

    Without dropout (each process draws its own masks) the weights agree up to
    the order of floating-point sums; only process 0 writes files and prints
    the JSON line.
    """
    from conftest import load_example

    common = ["--data-dir", str(data_dir), "--limit", "16", "--epochs", "2", "--hidden", "8", "--batch-size", "5",
              "--dropout", "0", "--no-progress", "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    proc = _torchrun("train_sst.py", [*common, "--out", str(tmp_path / "ddp")], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, proc.stdout  # process 0 alone prints the result
    ddp = json.loads(lines[0])
    assert "distributed: 2 processes (gloo)" in proc.stderr
    assert proc.stderr.count("epoch 1:") == 1  # and alone logs
    one = load_example("train_sst").main([*common, "--out", str(tmp_path / "one")])
    for key in ("best_epoch", "test_root_acc", "test_node_acc", "dev_root_acc"):
        assert ddp[key] == one[key], key
    a = torch.load(tmp_path / "ddp" / "last" / "state.pt", weights_only=True)
    b = torch.load(tmp_path / "one" / "last" / "state.pt", weights_only=True)
    for name, value in b["model"].items():
        torch.testing.assert_close(a["model"][name], value, rtol=0, atol=1e-5, msg=name)
    assert len(a["rng"]) == 2 and len(b["rng"]) == 1  # every process's random state, for --resume
    tensorboard = ["tensorboard"] if tensorboard_available() else []  # fit's events, when installed
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["best", "best.pt", "last", "metrics.json",
                                                                    "metrics.jsonl", *tensorboard]


@pytest.mark.slow
def test_torchrun_resume(data_dir, tmp_path):
    """A 2-process run stopped after epoch 1 and resumed under torchrun ends as the uninterrupted 2-process run
    (with dropout: every process's random state comes back)."""
    common = ["--data-dir", str(data_dir), "--limit", "20", "--hidden", "8", "--batch-size", "5", "--no-progress",
              "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    runs = [[*common, "--epochs", "1", "--out", str(tmp_path / "run")],
            [*common, "--epochs", "3", "--resume", str(tmp_path / "run")],
            [*common, "--epochs", "3", "--out", str(tmp_path / "whole")]]
    results = []
    for args in runs:
        proc = _torchrun("train_sst.py", args, env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        if "--resume" in args:
            assert "resuming" in proc.stderr and "not bit-identical" not in proc.stderr
    for key in ("best_epoch", "dev_root_acc", "test_root_acc", "test_node_acc"):
        assert results[1][key] == results[2][key], key
    a = torch.load(tmp_path / "run" / "last" / "state.pt", weights_only=True)
    b = torch.load(tmp_path / "whole" / "last" / "state.pt", weights_only=True)
    assert len(a["rng"]) == 2
    for name, value in b["model"].items():
        assert torch.equal(a["model"][name], value), name
