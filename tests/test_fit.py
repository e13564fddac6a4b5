"""treenets.training.fit: selection on dev, best and last checkpoints, resume, metrics to JSON Lines and TensorBoard."""
import json
import shutil

import pytest
import torch

import treenets as tn
from treenets.training import ResumeError, fit, load_training_state, read_metrics, seed_everything

TREES = [tn.Tree.from_brackets(s) for s in (
    "(3 (2 a) (4 good))", "(1 (0 bad) (2 film))", "(4 (4 great) (2 b))", "(0 (1 awful) (2 c))",
    "(3 (2 d) (3 (4 fine) (2 e)))", "(2 (2 a) (2 film))", "(4 (3 (4 great) (2 film)) (2 e))")] * 2
VOCAB = tn.Vocab.build(t.words for t in TREES)


def build(seed=1):
    """A small model with dropout and two optimizers (random states and both optimizer states must resume)."""
    generator = seed_everything(seed)
    model = tn.SentimentModel(VOCAB, 6, 5, dropout=0.5)
    opts = [torch.optim.Adagrad(model.model_parameters(), lr=0.05, weight_decay=1e-4),
            torch.optim.SGD(model.embedding_parameters(), lr=0.1)]
    return model, opts, generator


def run(out, epochs, **kw):
    model, opts, generator = build(kw.pop("seed", 1))
    kw.setdefault("tensorboard", False)
    return model, fit(model, TREES, TREES[:6], opts, out=out, epochs=epochs, batch_size=4, score="root_acc",
                      seed=1, generator=generator, progress=False, **kw)


def scripted(monkeypatch, scores):
    """model.evaluate gives these dev scores, epoch after epoch, and keeps a copy of the weights it scored."""
    seen = []

    def evaluate(self, items, **kw):
        seen.append({k: v.clone() for k, v in self.state_dict().items()})
        return {"root_acc": scores[len(seen) - 1], "node_acc": 50.0}

    monkeypatch.setattr(tn.SentimentModel, "evaluate", evaluate)
    return seen


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("maximize,best_epoch", [(True, 2), (False, 3)])
def test_selection_on_dev_keeps_the_best_epoch(tmp_path, monkeypatch, maximize, best_epoch):
    seen = scripted(monkeypatch, [30.0, 70.0, 10.0, 50.0])
    _, result = run(tmp_path, 4, maximize=maximize, metadata={"note": "x"})
    assert (result.epoch, result.score) == (best_epoch, [30.0, 70.0, 10.0, 50.0][best_epoch - 1])
    assert result.path == tmp_path / "best" and result.checkpoint == tmp_path / "best.pt"
    kept = tn.load(result.path)
    assert same_state(kept.state_dict(), seen[best_epoch - 1])  # the weights of that epoch ...
    assert not same_state(kept.state_dict(), seen[-1])  # ... not the last ones
    assert kept.metadata["epoch"] == best_epoch and kept.metadata["note"] == "x"
    model, extra = tn.models.load_checkpoint(result.checkpoint)
    assert same_state(model.state_dict(), seen[best_epoch - 1]) and extra["epoch"] == best_epoch
    state = load_training_state(result.last)
    assert state.epoch == 4 and state.info["best_epoch"] == best_epoch
    assert same_state(state.model, seen[-1])  # the last epoch's weights, to resume


def test_resume_continues_exactly(tmp_path):
    """2 epochs, then resumed to 4 in a fresh process-like setup (another seed, moved random states) == 4 at once."""
    run(tmp_path / "run", 2)
    shutil.copytree(tmp_path / "run", tmp_path / "stopped")
    torch.rand(50)
    resumed_model, resumed = run(tmp_path / "run", 4, resume=True, seed=9)
    whole_model, whole = run(tmp_path / "whole", 4)
    assert same_state(resumed_model.state_dict(), whole_model.state_dict())
    assert (resumed.epoch, resumed.score) == (whole.epoch, whole.score)
    a, b = load_training_state(resumed.last), load_training_state(whole.last)
    assert torch.equal(a.generator, b.generator) and torch.equal(a.rng[0]["torch"], b.rng[0]["torch"])
    losses = lambda r: [rec["train_loss"] for rec in read_metrics(r.metrics)]
    assert losses(resumed) == losses(whole) and len(losses(whole)) == 4
    # the check can fail: the run stopped after 2 epochs is another model
    assert not same_state(load_training_state(tmp_path / "stopped" / "last").model, b.model)


def test_resume_refuses_what_does_not_fit(tmp_path):
    run(tmp_path / "run", 2)
    with pytest.raises(ResumeError, match=r"other options: --batch-size 4 \(now 5\)"):
        run(tmp_path / "run", 3, resume=True, options={"seed": 1, "batch_size": 5, "score": "root_acc",
                                                         "bucket_by": False})
    with pytest.raises(ResumeError, match="already trained 2 epochs; --epochs 1 asks for fewer"):
        run(tmp_path / "run", 1, resume=True)
    with pytest.raises(ResumeError, match="in its own folder"):
        run(tmp_path / "elsewhere", 3, resume=tmp_path / "run")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResumeError, match="no training state in it"):
        run(tmp_path / "empty", 3, resume=True)
    assert run(tmp_path / "run", 3, resume=tmp_path / "run" / "last")[1].epoch >= 1


def test_metrics_file_has_one_record_per_epoch(tmp_path):
    _, result = run(tmp_path, 3)
    records = read_metrics(result.metrics)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    for r in records:
        assert {"train_loss", "dev_root_acc", "dev_node_acc", "best_epoch", "best_score", "epoch_seconds",
                "train_seconds"} <= set(r)
        assert r["train_loss"] > 0
    assert records[-1]["best_epoch"] == result.epoch and records[-1]["best_score"] == result.score
    # a run killed after writing epoch 3's record but before saving its state: the resumed run redoes epoch 3,
    # and the file still has one record per epoch
    state = load_training_state(result.last)
    with open(result.metrics, "a") as f:
        f.write(json.dumps({"epoch": 4, "train_loss": 1.0}) + "\n")
    assert state.epoch == 3
    _, again = run(tmp_path, 5, resume=True)
    assert [r["epoch"] for r in read_metrics(again.metrics)] == [1, 2, 3, 4, 5]
    assert read_metrics(again.metrics)[3]["train_loss"] != 1.0
    assert not (tmp_path / "tensorboard").exists()  # tensorboard=False


def test_metrics_file_errors_name_the_line(tmp_path):
    (tmp_path / "m.jsonl").write_text('{"epoch": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r"m\.jsonl, line 2: not JSON"):
        read_metrics(tmp_path / "m.jsonl")


def test_tensorboard_events_are_written(tmp_path):
    pytest.importorskip("tensorboard", reason="TensorBoard metrics need the tensorboard extra: "
                                              "pip install \"treenets[tensorboard]\"")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, result = run(tmp_path, 3, tensorboard=True)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert {"train/loss", "dev/root_acc", "dev/node_acc", "best/epoch"} <= set(events.Tags()["scalars"])
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [1, 2, 3]
    assert [e.value for e in loss] == pytest.approx([r["train_loss"] for r in read_metrics(result.metrics)])


def test_a_nan_dev_score_stops_before_writing(tmp_path, monkeypatch):
    scripted(monkeypatch, [40.0, float("nan")])
    with pytest.raises(FloatingPointError, match=r"epoch 2: the dev root_acc is nan.*best checkpoint so far is .*"
                                                 r"best \(epoch 1"):
        run(tmp_path, 3)
    assert [r["epoch"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1]
    assert load_training_state(tmp_path / "last").epoch == 1


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="epochs >= 1"):
        run(tmp_path, 0)
    with pytest.raises(ValueError, match="'accuracy' is not a dev metric"):
        model, opts, generator = build()
        fit(model, TREES, TREES, opts, out=tmp_path, epochs=1, score="accuracy", progress=False, tensorboard=False)


def test_defaults_train_and_log(tmp_path, caplog):
    """No optimizers, generator or options given: the paper's AdaGrad, a generator from ``seed``, the logger."""
    seed_everything(1)
    model = tn.SentimentModel(VOCAB, 6, 5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with caplog.at_level("INFO", logger="treenets.training.fit"):
        result = fit(model, TREES, TREES[:6], out=tmp_path, epochs=2, score="root_acc", progress=False,
                     tensorboard=False)
    assert "epoch 2: train loss" in caplog.text
    assert not same_state(before, model.state_dict()) and result.epoch in (1, 2)


def test_the_docs_example_runs():
    """docs/training.md's python block runs as written (until the docs test runs every page's blocks)."""
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "training.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        namespace = {}
        exec(compile(block, str(page), "exec"), namespace)
    assert namespace["more"].metrics == namespace["result"].metrics
