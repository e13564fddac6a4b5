"""The default model of `treenets predict`, `treenets models` and the server: the best one the installed
extras can run (treenets.default_model("sentiment")), with and without the contextual extra."""
import importlib
import json
from types import SimpleNamespace

import pytest

import treenets as tn
from treenets import cli
from treenets.cli import catalog
from treenets.models import saving
from treenets.utils.extras import CONTEXTUAL_EXTRA, best_available

cli_main = importlib.import_module("treenets.cli.main")  # the module (treenets.cli.main is also the function)


def _contextual(config):
    embedding = (config.get("model") or {}).get("embedding")
    return isinstance(embedding, dict) and embedding.get("kind") == "contextual"


@pytest.fixture(params=["with-contextual", "without-contextual"])
def extras(request, monkeypatch):
    """Pretend the contextual extra is installed, or is not (whatever this machine has)."""
    installed = request.param == "with-contextual"

    def fake(config):
        return None if installed or not _contextual(config) else CONTEXTUAL_EXTRA

    monkeypatch.setattr(catalog, "missing_extra", fake)
    monkeypatch.setattr(saving, "missing_extra", fake)
    return installed


def _ranked_first(use):
    """The model ranked first for ``use`` and the best one without a transformer, from the shipped configs."""
    cards = [c for c in tn.known_models(details=True) if use in c["recommended_for"]]
    first = min(cards, key=lambda c: c["recommended_for"][use])["name"]
    plain = min((c for c in cards if not saving.reads_transformer(c["name"])),
                key=lambda c: c["recommended_for"][use])["name"]
    return first, plain


def test_predict_defaults_to_the_best_model_the_installation_can_run(extras, monkeypatch, capsys):
    first, plain = _ranked_first("sentiment")
    assert saving.reads_transformer(first)  # the recommended model reads transformer features ...
    want = first if extras else plain       # ... so without the extra the default falls back
    assert tn.default_model("sentiment") == catalog.default_model("sentiment") == want
    seen = {}

    def fake_load(args, task, command):
        seen["model"] = args.model
        raise ValueError("stop here")

    monkeypatch.setattr(cli_main, "_load_model", fake_load)
    assert cli.main(["predict", "Good."]) == 2
    assert seen["model"] == want
    assert cli.main(["predict", "Good.", "--model", "sst2"]) == 2 and seen["model"] == "sst2"
    capsys.readouterr()
    # the help and `treenets models` say which, and why
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"here: {want}, the best-ranked model recommended for sentiment" in help_text
    assert (f"{first} comes first but needs: {CONTEXTUAL_EXTRA}" in help_text) is (not extras)
    assert cli.main(["models", "--format", "json"]) == 0
    records = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert records[want]["default_for"][0] == "predict"
    assert records[first]["available"] is extras
    assert records[first]["requires"] == (None if extras else CONTEXTUAL_EXTRA)
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert f"predict uses {want}, the best-ranked model" in out
    assert ("(not installed)" in out) is (not extras)


def test_the_server_serves_and_answers_with_the_same_default(extras):
    pytest.importorskip("fastapi", reason="the server needs the serve extra (pip install 'treenets[serve]')")
    from treenets.serve import ServeSettings, default_served_models
    from treenets.serve.app import ServerState

    want = tn.default_model("sentiment")
    assert default_served_models()[0] == want and ServeSettings().models == default_served_models()
    state = ServerState(ServeSettings(models=("sst2", want, "sick")))
    try:
        def model(name):
            return SimpleNamespace(task="relatedness" if name == "sick" else "sentiment",
                                   metadata=tn.known_models(details=True)[tn.known_models().index(name)])
        state.models = {name: model(name) for name in ("sst2", want, "sick")}
        for name, m in state.models.items():
            m.metadata = {"recommended_for": m.metadata["recommended_for"]}
        assert state.default_model("sentiment") == want  # ranked first, though not served first
        assert state.default_model("relatedness") == "sick"
    finally:
        state.close()


def test_best_available_ranks_and_skips_what_cannot_run():
    cards = [{"name": "a", "recommended_for": {"binary": 1}, "available": False},
             {"name": "b", "recommended_for": {"binary": 2, "sentiment": 1}, "available": True},
             {"name": "c", "recommended_for": {"binary": 2}, "available": True}]
    assert best_available(cards, "binary") == "b"  # a cannot run; b and c tie, b first by name
    assert best_available(cards, "relatedness") is None
    with pytest.raises(tn.models.UnknownModelError, match="no installed pretrained model"):
        tn.default_model("poetry")

