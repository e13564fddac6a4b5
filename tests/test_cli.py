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


# ------------------------------------------------------------------ answering at once, discoverable
HEAVY = ("torch", "numpy", "nltk", "stanza", "transformers", "scipy")


def _run_in_fresh_python(code: str, *args, **kwargs):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(__import__("pathlib").Path(
        tn.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]))}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120, **kwargs)


def test_version_help_and_models_import_nothing_heavy():
    """Issue 16: `treenets --version`, `--help`, every subcommand's `--help` and `treenets models` answer at once:
    no torch (nor numpy, nltk, stanza, transformers, scipy) is imported. Checked in a fresh interpreter."""
    code = """
import contextlib, io, json, sys
from treenets.cli import COMMANDS, main
argvs = [["--version"], ["--help"], ["models"], ["models", "--format", "json"]]
argvs += [[name, "--help"] for name in COMMANDS]
status = {}
for argv in argvs:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            status[" ".join(argv)] = main(argv)
        except SystemExit as exit_:
            status[" ".join(argv)] = exit_.code
    assert out.getvalue(), argv
print(json.dumps({"status": status, "heavy": sorted(m for m in sys.argv[1:] if m in sys.modules)}))
"""
    proc = _run_in_fresh_python(code, *HEAVY)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["heavy"] == [], f"imported {result['heavy']}"
    assert set(result["status"].values()) == {0} and len(result["status"]) == 4 + len(cli.COMMANDS)
    # the test can fail: a command that runs a model does import torch
    proc = _run_in_fresh_python("import sys; from treenets.cli import main; main(['predict', 'x', '--model', "
                                "'sst9']); print(' '.join(m for m in sys.argv[1:] if m in sys.modules))", "torch")
    assert proc.stdout.split() == ["torch"]


def test_every_help_has_a_description_an_example_and_the_default_model():
    parser = cli.build_parser()
    top = parser.format_help()
    assert "examples:" in top and "exit status" in top and "one text per line" in " ".join(top.split())
    subparsers = next(a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    assert set(subparsers.choices) == set(cli.COMMANDS) >= {"predict", "similarity", "parse", "encode", "models",
                                                            "cache"}
    for name, command in cli.COMMANDS.items():
        assert command.summary in " ".join(top.split()), name  # one line each in the top-level help
        assert command.examples[0] in top
        text = subparsers.choices[name].format_help()
        flat = " ".join(text.split())
        assert " ".join(command.description.split()) in flat, name
        assert "examples:" in text and all(e in text for e in command.examples) and command.examples
        assert all(e.startswith("treenets ") or "| treenets " in e for e in command.examples)
        assert f"default model: {' '.join(command.model.split())}" in flat, name
        if command.default_model:
            assert command.default_model in command.model and command.default_model in tn.known_models()
        if name in ("predict", "encode", "parse", "similarity"):
            assert "Standard input:" in text and ("one text per line" in flat or "one sentence per line" in flat)
    assert cli.COMMANDS["predict"].default_use == "sentiment" and cli.COMMANDS["similarity"].default_model == "sick"


def test_models_lists_the_shipped_models(capsys):
    from treenets.utils.paths import pretrained_root

    assert cli.main(["models", "--format", "json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in records] == tn.known_models() == ["sick", "sst-ensemble", "sst2", "sst5",
                                                                  "sst5-minilm"]
    by_name = {r["name"]: r for r in records}
    ensemble = by_name.pop("sst-ensemble")  # an ensemble.json naming its members
    assert ensemble["labels"] == by_name["sst5"]["labels"] and ensemble["recommended_for"]["binary"] == 1
    assert ensemble["score"] == json.loads((pretrained_root() / "sst-ensemble" / "ensemble.json").read_text())[
        "metadata"]["test"]["root_acc"]
    for name, r in by_name.items():
        config = json.loads((pretrained_root() / name / "config.json").read_text())
        assert r["task"] == config["task"] and r["test"] == config["metadata"]["test"]
        assert r["size_bytes"] == sum(p.stat().st_size for p in (pretrained_root() / name).iterdir())
    assert by_name["sst5"]["labels"] == ["very negative", "negative", "neutral", "positive", "very positive"]
    assert by_name["sst2"]["labels"] == ["negative", "positive"]  # the masked neutral class is never predicted
    assert by_name["sick"]["labels"] == ["1", "5"] and by_name["sick"]["tree"] == "dependency"
    assert by_name["sst5"]["tree"] == "constituency, binarized right"
    assert (by_name["sst5"]["metric"], by_name["sst5"]["score"]) == ("root_acc", 48.33)
    assert (by_name["sick"]["metric"], by_name["sick"]["score"]) == ("pearson", 0.8433)
    predict = tn.default_model("sentiment")  # the best this installation can run (tests/test_default_model.py)
    assert by_name.get(predict, ensemble)["default_for"][0] == "predict" and "encode" in by_name["sst5"]["default_for"]
    assert by_name["sick"]["default_for"] == ["similarity"] and by_name["sst2"]["default_for"] == []
    assert cli.main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "TASK", "TREE", "SIZE"] and len(lines) == 8
    assert lines[-1].startswith(f"predict uses {predict}, the best-ranked model recommended for sentiment")
    sst5 = next(line for line in lines if line.startswith("sst5 "))
    assert "root_acc 48.33" in sst5 and "encode" in sst5 and "very negative, negative" in sst5


def test_models_lists_any_model_directory_and_names_a_damaged_one(tmp_path, monkeypatch, capsys):
    import shutil

    from treenets.cli import catalog
    from treenets.utils.paths import pretrained_root

    root = tmp_path / "pretrained"
    shutil.copytree(pretrained_root() / "sst2", root / "mine")
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text('{"task": "sentiment",\n "model": {')
    (root / "not-a-model").mkdir()
    monkeypatch.setattr(catalog, "pretrained_root", lambda: root)
    assert cli.main(["models", "--format", "json"]) == 2
    out = capsys.readouterr()
    assert [json.loads(line)["name"] for line in out.out.splitlines()] == ["mine"]
    assert out.err.count("\n") == 1 and f"{root / 'broken' / 'config.json'}:2: not valid JSON" in out.err


def test_ctrl_c_exits_130_without_a_traceback(tmp_path):
    """Issue 19 item 7: Ctrl-C (SIGINT to the process group, as a terminal sends it) while the command waits for
    input: a quiet exit, status 130."""
    import os
    import signal
    import subprocess
    import sys

    if not hasattr(os, "mkfifo"):
        pytest.skip("needs named pipes (POSIX)")
    fifo = tmp_path / "lines"
    os.mkfifo(fifo)
    env = {**os.environ, "TREENETS_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "treenets", "predict", "--input", str(fifo), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        with open(fifo, "w"):  # opens once the command has loaded its model and opened the pipe to read it
            os.killpg(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and out == ""
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_ctrl_c_reaches_no_parser_worker(tmp_path):
    """Ctrl-C goes to the whole process group: the parser workers leave it to the parent, which exits 130,
    instead of printing one KeyboardInterrupt traceback each."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = f"""
import sys
sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
from _fakes import ChainParser
from treenets.parsers import ParserPool
try:
    with ParserPool(ChainParser(log_dir={str(tmp_path)!r}, slow_first="slow"), workers=2) as pool:
        while True:
            pool.parse(["slow one", "two", "three", "four"], batch_size=1)
except KeyboardInterrupt:
    sys.exit(130)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(__import__("pathlib").Path(tn.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while len(list(tmp_path.glob("*.txt"))) < 2 and time.monotonic() < deadline:  # both workers are parsing
            time.sleep(0.1)
        assert len(list(tmp_path.glob("*.txt"))) == 2
        time.sleep(0.3)  # a worker waiting for its next chunk (one in a task would send the interrupt back as its result)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "KeyboardInterrupt" not in err and "Traceback" not in err, err


def test_a_closed_standard_output_ends_quietly():
    """`treenets models | head -0`: the reader has gone before the first write; status 141, no message."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(__import__("pathlib").Path(tn.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "treenets", "models"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # before the command writes (it takes ~0.1 s to start)
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode == 141 and err == "", err
