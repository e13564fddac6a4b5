"""Smoke tests of the benchmarks (run, scaling, matmul_share) on a tiny workload.

They run every benchmark function end to end on a handful of random trees with
small layers, so the scripts cannot rot; they assert nothing about speed. The
DGL parts run where DGL imports (and must run when ``TREENETS_REQUIRE_DGL=1``);
elsewhere the DGL numbers must come out as ``None``.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import treenets as tn
from benchmarks import common, matmul_share, scaling
from benchmarks import run as bench

REPO = Path(__file__).resolve().parents[1]
DGL, DGL_ERROR = common.import_dgl()
if os.environ.get("TREENETS_REQUIRE_DGL") == "1" and DGL is None:
    raise ImportError(f"TREENETS_REQUIRE_DGL=1 but DGL does not import: {DGL_ERROR}")
SMALL = dict(embed=12, hidden=6)
CPU = torch.device("cpu")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread, as the scripts use by default: with more threads than
    free cores (CI machines are often shared), OpenMP spinning makes tiny ops slow."""
    before = torch.get_num_threads()
    dgl_before = DGL.utils.get_num_threads() if DGL is not None else None
    common.set_threads(1, DGL)
    yield
    torch.set_num_threads(before)
    if DGL is not None:
        DGL.utils.set_num_threads(dgl_before)


@pytest.fixture(scope="module")
def data():
    train = common.synthetic_trees(12, seed=1, max_words=9)
    test = common.synthetic_trees(6, seed=2, max_words=9)
    return train, test, common.build_vocab(train + test)


@pytest.mark.parametrize("cell", bench.CELL_NAMES)
def test_check_equivalence(data, cell):
    train, _, vocab = data
    res = bench.check_equivalence(cell, train[:4], vocab, DGL, **SMALL)
    assert res["passed"], res
    assert res["recursive"]["passed"]
    assert (res["dgl"] is None) == (DGL is None)


def test_run_suite(data):
    train, test, vocab = data
    suite = bench.run_suite(train, test, vocab, CPU, batch_sizes=(3, 8), dgl=DGL, recursive_trees=3,
                            repeats=1, check_trees=3, log=lambda msg: None, **SMALL)
    assert all(c["passed"] for c in suite["checks"])
    assert len(suite["configs"]) == 2 * 2 * 2  # workloads x cells x batch sizes
    for cfg in suite["configs"]:
        assert cfg["treenets"]["trees_per_s"] > 0
        assert cfg["recursive"]["trees"] == 3
        assert cfg["ratio_vs_recursive"] > 0
        assert (cfg["dgl"] is None) == (DGL is None) == (cfg["ratio_vs_dgl"] is None)
    json.dumps(suite)


def test_main_last_line_is_json(capsys, tmp_path):
    out = tmp_path / "bench.json"
    bench.main(["--synthetic", "10", "--batch-sizes", "4", "--cells", "nary", "--recursive-trees", "2",
                "--repeats", "1", "--check-trees", "2", "--embed", "8", "--hidden", "4", "--json-out", str(out)])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result == json.loads(out.read_text())
    for key in ("train_ratio_vs_dgl", "train_ratio_vs_recursive", "infer_ratio_vs_recursive", "torch",
                "threads", "device", "date", "configs", "checks"):
        assert key in result
    assert result["threads"] == 1 and result["checks_passed"]
    assert result["train_ratio_vs_recursive"] > 0
    assert (result["train_ratio_vs_dgl"] is None) == (DGL is None)


def test_bucketed_batches_are_shared_and_have_fewer_levels(data):
    train, test, vocab = data
    trees = train + test
    plain = bench.batch_groups(trees, 4)
    bucketed = bench.batch_groups(trees, 4, bucket=True, seed=0)
    assert sorted(i for g in bucketed for i in g) == list(range(len(trees)))
    levels = lambda groups: sum(max(trees[i].height for i in g) for g in groups)
    assert levels(bucketed) <= levels(plain)
    res = bench.bench_config("train", "nary", 4, trees, trees[:2], vocab, CPU, bench.IMPLS, dgl=DGL,
                             log=lambda msg: None, bucket=True, **SMALL)
    assert res["bucket_by_height"] and res["mean_levels_per_batch"] == pytest.approx(
        (levels(bucketed) + len(bucketed)) / len(bucketed), abs=0.01)
    assert (res["dgl"] is None) == (DGL is None)


def test_matmul_share_counts_products(capsys):
    result = matmul_share.main(["--synthetic", "12", "--trees", "12", "--batch-sizes", "4", "--embed", "8",
                                "--hidden", "4"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    (row,) = result["configs"]
    assert 0 < row["matmul_share"] <= 1 and row["flop"] > 0 and row["matmul_gflop_per_s"] > 0
    trees = common.synthetic_trees(12, seed=1)
    vocab = common.build_vocab(trees)
    batch = tn.TreeBatch.from_trees(trees, vocab)
    inner, leaves = int(batch.internal_order.numel()), int(batch.leaf_order.numel())
    assert matmul_share.step_flops([batch], 8, 4) == (3 * 2 * inner * 8 * 20 + 2 * 2 * leaves * 8 * 12
                                                      + 3 * 2 * (inner + leaves) * 4 * 5)


def test_quick_defaults():
    args = bench.parse_args(["--quick"])
    assert (args.train_trees, args.test_trees, args.threads) == (1000, 1000, 1)
    assert bench.parse_args([]).train_trees is None  # full epochs


def test_no_dgl_reports_null(data):
    train, test, vocab = data
    res = bench.bench_config("train", "nary", 4, train[:6], train[:2], vocab, CPU, bench.IMPLS, dgl=None,
                             log=lambda msg: None, **SMALL)
    assert res["dgl"] is None and res["ratio_vs_dgl"] is None


def test_scaling_sweeps(data):
    train, _, vocab = data
    rows = scaling.size_sweep("nary", bench.IMPLS, CPU, DGL, max_nodes=16, budget=60, min_time=0, max_reps=1,
                              log=lambda msg: None, **SMALL)
    assert [(r["shape"], r["nodes"]) for r in rows] == [("chain", 16), ("balanced", 15)]
    assert rows[0]["depth"] == 16 and rows[1]["depth"] == 4
    for r in rows:
        assert r["treenets"]["saved_mb"] > 0 and r["recursive"]["ms_per_tree"] > 0
        assert (r["dgl"] is None) == (DGL is None)
    rows = scaling.batch_sweep("childsum", train, vocab, bench.IMPLS, CPU, DGL, batch_sizes=(1, 3),
                               recursive_max=1, min_time=0, max_reps=1, log=lambda msg: None, **SMALL)
    assert [r["batch_size"] for r in rows] == [1, 3]
    assert rows[1]["recursive"] is None and rows[1]["treenets"]["saved_kb_per_tree"] > 0


def test_saved_tensor_bytes_excludes_parameters():
    lin = torch.nn.Linear(4, 3)
    x = torch.randn(5, 4)
    n = scaling.saved_tensor_bytes(lambda: torch.tanh(lin(x)).sum(), exclude=list(lin.parameters()))
    # x (saved by addmm for the weight grad) and tanh's output; the weight is excluded
    assert n == x.numel() * 4 + 5 * 3 * 4


def test_bench_model_is_the_library_model(data):
    """The timed model is a treenets SentimentModel: its loss is the model's own, per tree."""
    train, _, vocab = data
    model = common.bench_model("nary", vocab, **SMALL)
    assert isinstance(model, tn.SentimentModel) and model.vocab is vocab
    assert not model.encoder.embedding.weight.requires_grad
    assert isinstance(model.encoder.cell, tn.NaryTreeLSTM) and model.encoder.cell.leaf_input_only
    assert isinstance(common.bench_model("childsum", vocab, **SMALL).encoder.cell, tn.ChildSumTreeLSTM)
    batch = model.batch(train[:3])
    h, loss = common.TreenetsRunner(model, CPU).step(batch, train=True)
    torch.testing.assert_close(loss, model.loss(batch))
    with pytest.raises(ValueError, match="unknown cell"):
        common.bench_model("slstm", vocab)


def test_default_data_dir_is_the_library_one(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TREENETS_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit, match=str(tmp_path / "nowhere")):
        bench.main(["--impls", "treenets"])


def test_run_as_module_from_the_repository_root():
    """The documented way: ``python -m benchmarks.run`` from the repository root, no path set up."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for name in ("run", "scaling", "matmul_share", "parse_speed"):
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--help"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "usage:" in proc.stdout
    for path in (REPO / "benchmarks").glob("*.py"):
        assert "sys.path" not in path.read_text(), path


def test_run_suite_fused_column(data):
    """The fused engine's column: checked against eager in float64 and timed beside it."""
    train, test, vocab = data
    suite = bench.run_suite(train, test, vocab, CPU, batch_sizes=(4,), impls=("treenets", "fused"),
                            recursive_trees=2, repeats=1, check_trees=3, log=lambda msg: None, **SMALL)
    for check in suite["checks"]:
        assert check["fused"]["passed"], check
    for cfg in suite["configs"]:
        assert cfg["fused"]["trees_per_s"] > 0 and cfg["ratio_fused_vs_eager"] > 0


def test_against_a_baseline_checkout(capsys, tmp_path):
    """benchmarks.against runs benchmarks.run in both checkouts (here this one twice) and compares."""
    from benchmarks import against

    repo = Path(__file__).resolve().parent.parent
    out = tmp_path / "against.json"
    result = against.main(["--baseline", str(repo), "--rounds", "1", "--json-out", str(out), "--",
                           "--synthetic", "8", "--batch-sizes", "4", "--cells", "nary", "--recursive-trees", "2",
                           "--repeats", "1", "--check-trees", "2", "--embed", "8", "--hidden", "4"])
    assert json.loads(out.read_text()) == result
    rows = {(r["workload"], r["batch_size"]): r for r in result["rows"]}
    assert set(rows) == {("train", 4), ("infer", 4)}
    for row in rows.values():
        assert row["baseline_eager"] > 0 and row["fused"] > 0 and row["fused_vs_baseline_eager"] > 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        against.main(["--baseline", str(tmp_path)])
    assert "has no benchmarks/run.py" in capsys.readouterr().err
