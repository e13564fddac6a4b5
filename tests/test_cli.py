import json

import pytest

import treenets as tn
from treenets import cli


@pytest.fixture
def stanza_env(stanza_dir, tmp_path, monkeypatch):
    pytest.importorskip("stanza", reason="stanza is not installed")
    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(stanza_dir))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))


def test_cli_parse_and_encode(stanza_env, capsys):
    assert cli.main(["parse", "Dogs bark.", "--format", "brackets"]) == 0
    tree = tn.Tree.from_brackets(capsys.readouterr().out.strip())
    assert tree.words == ["Dogs", "bark", "."]
    assert cli.main(["encode", "Dogs bark."]) == 0
    out = capsys.readouterr()
    record = json.loads(out.out.strip().splitlines()[-1])
    assert record["words"] == ["Dogs", "bark", "."] and len(record["root"]) == 150
    assert record["trained"] is False and "untrained" in out.err


def test_cli_reports_errors(stanza_env, capsys):
    assert cli.main(["encode", "Dogs bark.", "--checkpoint", "/nonexistent.pt"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
