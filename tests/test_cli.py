import json

import pytest

import treenets as tn
from treenets import cli


def test_conllu_and_dot_formats():
    tree = tn.Tree.from_parents(["a", "dog", "barks"], [2, 3, 0], rels=["det", "nsubj", "root"])
    text = cli.to_conllu(tree)
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    assert [(r[1], r[6], r[7]) for r in rows] == [("a", "2", "det"), ("dog", "3", "nsubj"), ("barks", "0", "root")]
    dot = cli.to_dot(tree)
    assert dot.startswith("digraph") and "n2 -> n1;" in dot and "n1 -> n0;" in dot
    with pytest.raises(ValueError, match="CoNLL-U needs a word at every node"):
        cli.to_conllu(tn.Tree.from_brackets("(S (NP a) (VP b))"))


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
