import json
import xml.etree.ElementTree as ET

import pytest
import torch

import treenets as tn
from treenets import cli
from treenets.formats.svg import SENTIMENT_COLORS

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def stanza_env(stanza_dir, tmp_path, monkeypatch):
    pytest.importorskip("stanza", reason="stanza is not installed")
    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(stanza_dir))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))


def test_cli_parse_and_encode(stanza_env, capsys):
    assert cli.main(["parse", "Dogs bark.", "--format", "brackets"]) == 0
    tree = tn.Tree.from_brackets(capsys.readouterr().out.strip())
    assert tree.words == ["Dogs", "bark", "."]
    assert cli.main(["encode", "Dogs bark.", "--model", "untrained"]) == 0
    out = capsys.readouterr()
    record = json.loads(out.out.strip().splitlines()[-1])
    assert record["words"] == ["Dogs", "bark", "."] and len(record["root"]) == 150
    assert record["trained"] is False and record["encoder"] == "untrained" and "untrained" in out.err


def test_cli_encode_uses_the_trained_sst5_encoder_by_default(stanza_env, capsys):
    assert cli.main(["encode", "Dogs bark loudly."]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["trained"] is True and record["encoder"] == "sst5"
    assert tn.Tree.from_brackets(record["tree"]).max_children == 2  # sst5 reads binarized constituency trees


def test_cli_reports_errors(stanza_env, capsys):
    assert cli.main(["encode", "Dogs bark.", "--model", "/nonexistent/model"]) == 2
    assert "no model directory" in capsys.readouterr().err


def test_predict_text(stanza_env, capsys):
    assert cli.main(["predict", "The movie was not bad at all. I loved it!"]) == 0
    out = capsys.readouterr().out
    # the verdict for the whole input first, then each sentence
    assert out.startswith("input 1: ") and "over 2 sentences" in out.splitlines()[0]
    assert "\nsentence 1 of input 1: " in out and "sentence 2 of input 1: " in out
    assert "The movie was not bad at all.\ndecided by: " in out
    lines = out.splitlines()
    assert "++ very positive, + positive, 0 neutral, - negative, -- very negative" == lines[-1]
    # a label on every node: the first drawing has as many symbols as its tree has nodes
    result = tn.load("sst5").predict("The movie was not bad at all.")[0]
    first = out.split("sentence 2 of input 1")[0]
    drawing = first.split("The movie was not bad at all.\n", 1)[1]
    symbols = [tok for tok in drawing.split() if tok in ("++", "+", "0", "-", "--")]
    assert len(symbols) == len(result.tree)


def test_predict_json_from_stdin(stanza_env, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Great fun. Awful acting."))
    assert cli.main(["predict", "-", "--model", "sst2", "--format", "json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in records] == [1, 1] and [r["sentence"] for r in records] == [1, 2]
    for r in records:
        assert set(r) >= {"input", "text", "label", "probs", "nodes"}
        assert set(r["probs"]) == {"negative", "positive"} and r["label"] in r["probs"]
        assert len(r["nodes"]) == len(tn.Tree.from_brackets(r["tree"]))
        assert all(n["label"] in ("negative", "positive") for n in r["nodes"])
    assert records[0]["label"] == "positive" and records[1]["label"] == "negative"


@pytest.mark.parametrize("fmt", ["svg", "html"])
def test_predict_svg_and_html(stanza_env, capsys, tmp_path, fmt):
    out = tmp_path / f"trees.{fmt}"
    assert cli.main(["predict", "A gorgeous, witty film.", "--format", fmt, "--output", str(out)]) == 0
    assert str(out) in capsys.readouterr().err
    text = out.read_text()
    result = tn.load("sst5").predict("A gorgeous, witty film.")[0]
    if fmt == "html":
        assert text.startswith("<!DOCTYPE html>")
        text = text[text.index("<svg"):text.index("</svg>") + 6]
    circles = ET.fromstring(text).findall(f".//{SVG}circle")
    assert [c.get("fill") for c in circles] == [SENTIMENT_COLORS[x] for x in result.node_labels]


def test_similarity(stanza_env, capsys):
    assert cli.main(["similarity", "A man is playing a guitar.", "A man plays a guitar."]) == 0
    assert 4.0 < float(capsys.readouterr().out) <= 5.0
    assert cli.main(["similarity", "A dog runs.", "A dog is running.", "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["model"] == "sick" and 1 <= record["score"] <= 5


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"treenets {tn.__version__}"


def _one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("treenets: error: ")
    return err


def test_unknown_model_lists_the_known_ones(capsys):
    assert cli.main(["predict", "Fine.", "--model", "sst9"]) == 2
    assert "unknown model 'sst9'; known models: sick, sst-ensemble, sst2, sst5, sst5-minilm" in _one_line_error(capsys)


def test_wrong_task(capsys):
    assert cli.main(["predict", "Fine.", "--model", "sick"]) == 2
    assert "treenets similarity" in _one_line_error(capsys)


def test_missing_stanza_models_say_how_to_get_them(tmp_path, monkeypatch, capsys):
    pytest.importorskip("stanza", reason="stanza is not installed")
    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["predict", "Some text nobody parsed before."]) == 2
    err = _one_line_error(capsys)
    assert "stanza.download('en')" in err and "STANZA_RESOURCES_DIR" in err


def test_cuda_without_cuda_gives_the_same_message_cached_or_not(stanza_env, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    text = "The cache holds this sentence."
    assert cli.main(["predict", text, "--device", "cuda"]) == 2
    cold = _one_line_error(capsys)
    assert cli.main(["predict", text]) == 0  # now the parse is cached
    capsys.readouterr()
    assert cli.main(["predict", text, "--device", "cuda"]) == 2
    assert _one_line_error(capsys) == cold and "CUDA is not available" in cold
    for argv in (["similarity", "a", "b", "--device", "cuda"], ["parse", text, "--device", "cuda"]):
        assert cli.main(argv) == 2
        assert _one_line_error(capsys) == cold
