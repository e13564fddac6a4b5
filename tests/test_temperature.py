"""Temperature scaling: one scalar T per sentiment model, fit on dev, stored in config.json and checked."""
from __future__ import annotations

import json
import math

import pytest
import torch

import treenets as tn
from _model_files import confident_tiny_model, resum
from treenets.models.ensemble import SentimentEnsemble
from treenets.models.temperature import TEMPERATURE_RANGE, check_temperature, fit_temperature, root_log_probs

SST = [
    "(3 (2 It) (3 (2 's) (3 (2 a) (4 (4 lovely) (2 film)))))",
    "(1 (2 The) (1 (2 plot) (1 (2 is) (1 dull))))",
    "(1 (2 (2 not) (3 good)) (2 .))",
    "(3 (1 (2 slow) (2 start)) (3 (2 but) (4 (2 a) (4 (4 wonderful) (2 ending)))))",
    "(2 (2 A) (2 (2 man) (2 (2 plays) (2 guitar))))",
]


@pytest.fixture()
def tiny():
    return confident_tiny_model(SST)


def test_temperature_changes_the_confidences_not_the_labels(tiny):
    model, trees = tiny
    before = model.predict(trees)
    model.temperature = 3.0
    after = model.predict(trees)
    assert [r.label for r in after] == [r.label for r in before]
    assert [r.node_labels for r in after] == [r.node_labels for r in before]
    top_before = [r.probs[r.label] for r in before]
    top_after = [r.probs[r.label] for r in after]
    assert all(a < b for a, b in zip(top_after, top_before))  # T > 1 softens every root's answer
    docs = model.classify(trees)
    assert all(abs(sum(d.probs.values()) - 1) < 1e-5 for d in docs)
    model.temperature = 1.0
    assert [r.probs for r in model.predict(trees)] == [r.probs for r in before]


def test_a_fitted_temperature_recovers_the_one_the_labels_were_drawn_at(tiny):
    model, _ = tiny
    torch.manual_seed(3)
    words = list(model.vocab.itos[2:])
    trees = []
    for k in range(600):
        a, b = words[k % len(words)], words[(7 * k + 3) % len(words)]
        trees.append(tn.Tree.from_brackets(f"(2 (2 {a}) (2 {b}))"))
    log_probs, _ = root_log_probs(model, [t.map_labels(int) for t in trees])
    drawn = torch.distributions.Categorical(logits=log_probs / 2.5).sample().tolist()
    labelled = [tn.Tree.from_brackets(f"({y} (2 {t.words[0]}) (2 {t.words[1]}))").map_labels(int)
                for y, t in zip(drawn, trees)]
    fit = fit_temperature(model, labelled)
    assert 1.8 < fit["temperature"] < 3.5, fit
    assert fit["nll_after"] < fit["nll_before"] and fit["roots"] == 600
    assert model.temperature == 1.0  # fitting does not change the model


def test_the_temperature_is_saved_and_loaded(tiny, tmp_path):
    model, trees = tiny
    model.temperature = 1.7
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["model"]["temperature"] == 1.7
    loaded = tn.load(tmp_path / "m")
    assert loaded.temperature == 1.7
    assert torch.allclose(loaded.class_probs(loaded.batch(trees)), model.class_probs(model.batch(trees)))


@pytest.mark.parametrize("value", [0, -1.5, 0.001, 1000, True, "2", [1.5], None])
def test_a_bad_temperature_in_config_json_is_refused_naming_file_and_field(tiny, tmp_path, value):
    model, _ = tiny
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["model"]["temperature"] = value
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    resum(tmp_path / "m", "config.json")
    low, high = TEMPERATURE_RANGE
    with pytest.raises(ValueError, match=rf"\"model.temperature\" must be a number from {low:g} to {high:g}") as err:
        tn.load(tmp_path / "m")
    assert str(err.value).startswith(str(tmp_path / "m" / "config.json")) and "\n" not in str(err.value)


def test_check_temperature_and_the_constructor():
    assert check_temperature(2) == 2.0
    for bad in (float("nan"), float("inf"), 0.0):
        with pytest.raises(ValueError, match="temperature"):
            check_temperature(bad)
    vocab = tn.Vocab.build([["a"]])
    with pytest.raises(ValueError, match="temperature"):
        tn.SentimentModel(vocab, 4, 4, temperature=-1)
    with pytest.raises(ValueError, match="temperature"):
        tn.SentimentModel(vocab, 4, 4).temperature = math.nan


def test_an_ensemble_has_its_own_temperature(tiny, tmp_path):
    model, trees = tiny
    torch.manual_seed(1)
    other = tn.SentimentModel(model.vocab, 8, 6, cell_options={"leaf_input_only": True}).eval()
    plain = SentimentEnsemble([model, other])
    sharp = SentimentEnsemble([model, other], temperature=0.5)
    p, q = plain.class_probs(plain.batch(trees)), sharp.class_probs(sharp.batch(trees))
    assert torch.equal(p.argmax(1), q.argmax(1)) and not torch.allclose(p, q)
    assert torch.allclose(q, (p.log() / 0.5).softmax(1), atol=1e-6)
    model.save(tmp_path / "a")
    other.save(tmp_path / "b")
    (tmp_path / "both").mkdir()
    spec = {"task": "sentiment", "members": ["a", "b"], "temperature": 0.5}
    (tmp_path / "both" / "ensemble.json").write_text(json.dumps(spec))
    assert tn.load(tmp_path / "both").temperature == 0.5
    spec["temperature"] = "cold"
    (tmp_path / "both" / "ensemble.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=r"ensemble\.json: \"temperature\" must be a number"):
        tn.load(tmp_path / "both")
    fit = fit_temperature(plain, trees)
    assert TEMPERATURE_RANGE[0] <= fit["temperature"] <= TEMPERATURE_RANGE[1]


def test_an_ensemble_averages_its_members_as_trained(tiny):
    model, trees = tiny
    torch.manual_seed(2)
    other = tn.SentimentModel(model.vocab, 8, 6, cell_options={"leaf_input_only": True}).eval()
    ens = SentimentEnsemble([model, other])
    before = ens.class_probs(ens.batch(trees))
    model.temperature = 4.0  # calibrating a member changes the member, not the ensemble
    assert torch.allclose(ens.class_probs(ens.batch(trees)), before)
    assert not torch.allclose(model.class_probs(model.batch(trees)), model.class_probs(model.batch(trees), 1.0))


def test_calibrate_script_writes_the_fitted_temperature(tmp_path, tiny):
    from conftest import load_example

    model, _ = tiny
    sst = tmp_path / "sst"
    sst.mkdir()
    (sst / "dev.txt").write_text("\n".join(SST) + "\n", encoding="utf-8")  # no test split: it is never read
    model.metadata = {"mode": "fine"}
    model.save(tmp_path / "m")
    script = load_example("calibrate")
    out = script.main([str(tmp_path / "m"), "--out", str(tmp_path / "cal"), "--data-dir", str(tmp_path)])
    calibrated = tn.load(tmp_path / "cal")
    assert calibrated.temperature == out["temperature"] == calibrated.metadata["calibration"]["temperature"]
    assert out["roots"] == len(SST) and out["dev_nll_after"] <= out["dev_nll_before"]
    assert out["temperature"] > 1  # the confident tiny model is over-confident on its five roots
    # an ensemble: its own temperature in ensemble.json, the members untouched
    model.save(tmp_path / "a")
    (tmp_path / "pair").mkdir()
    (tmp_path / "pair" / "ensemble.json").write_text(json.dumps({"task": "sentiment", "members": ["a", "a"]}))
    out = script.main([str(tmp_path / "pair"), "--out", str(tmp_path / "pair"), "--data-dir", str(tmp_path)])
    spec = json.loads((tmp_path / "pair" / "ensemble.json").read_text())
    assert spec["temperature"] == out["temperature"] and spec["metadata"]["calibration"]["roots"] == len(SST)
    assert tn.load(tmp_path / "pair").temperature == out["temperature"] and tn.load(tmp_path / "a").temperature == 1.0


def test_composition_mean_row_is_mean_and_sample_sd():
    from conftest import load_example

    script = load_example("composition")
    runs = [{"model": "a", "binary_root_all": {"acc": 80.0}}, {"model": "b", "binary_root_all": {"acc": 90.0}}]
    row = script.mean_row(runs, "seeds").split(" | ")
    assert row[0] == "| seeds (mean ± sd of 2)" and row[1] == "85.0 ± 7.1" and row[2] == "–"
