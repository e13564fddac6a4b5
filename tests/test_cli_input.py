"""``treenets predict|encode|parse``: several texts, ``--input FILE`` and ``-`` (one text per line, JSON Lines
with line numbers), ``--whole``, workers, progress, errors; ``similarity`` with ``-``."""
import json
import sys

import pytest

from _clirun import run_cli as run
from treenets import api, cli

from _fakes import ChainParser


@pytest.fixture
def chain_parser(monkeypatch, tmp_path):
    """Fast parsers in place of stanza: for ``--model untrained`` (dependency) and for the models' own parsers."""
    from treenets.models.base import TaskModel

    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(api, "default_parser", lambda tree="dependency", device=None: ChainParser())
    monkeypatch.setattr(TaskModel, "parser", lambda self, device=None, **kw: ChainParser(
        constituency=self.tree_kind == "constituency"))


def corpus(tmp_path, n=300):
    lines = []
    for i in range(n):
        if i % 17 == 5:
            lines.append("")  # a blank line gives no record but keeps the numbering
        elif i % 10 == 3:
            lines.append(f"first{i} of two. second{i} of two")  # two sentences on one line
        else:
            lines.append(f"line{i} has words")
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n")
    return path, lines


def test_one_record_per_sentence_with_its_line(chain_parser, tmp_path, capsys):
    path, lines = corpus(tmp_path)
    code, records, err = run(capsys, ["encode", "--model", "untrained", "--input", str(path), "--quiet"])
    assert code == 0 and "encoding" not in err
    expected = [(i + 1, k + 1) for i, text in enumerate(lines) for k, _ in enumerate(p for p in text.split(". ") if p)]
    assert [(r["input"], r["sentence"]) for r in records] == expected
    for r in records:
        assert r["words"] == lines[r["input"] - 1].split(". ")[r["sentence"] - 1].split()
        assert len(r["root"]) == r["hidden_size"] == 150 and r["encoder"] == "untrained"
    code, again, err = run(capsys, ["encode", "--model", "untrained", "--input", str(path), "--workers", "2",
                                    "--no-cache"])
    assert code == 0 and again == records  # the same records, in the same order, from 2 processes
    assert "encoding" in err and f"{len(lines)}/{len(lines)}" in err  # the progress bar, on stderr


def test_standard_input_is_one_text_per_line(chain_parser, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"I hated every minute of it\nNot bad.\n")))
    code, records, _ = run(capsys, ["encode", "--model", "untrained", "--input", "-", "--quiet"])
    assert code == 0 and [(r["input"], r["words"]) for r in records] == [
        (1, ["I", "hated", "every", "minute", "of", "it"]), (2, ["Not", "bad."])]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes (POSIX)")
def test_a_pipe_is_read_once_with_the_progress_bar_on(chain_parser, tmp_path, capsys):
    """`--input <(zcat corpus.gz)` is a pipe: sizing the progress bar used to drain it, leaving no records."""
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("I hated every minute of it\nNot bad.\n"))
    writer.start()
    code, records, err = run(capsys, ["encode", "--model", "untrained", "--input", str(fifo)])
    writer.join(timeout=10)
    assert code == 0 and [r["input"] for r in records] == [1, 2]
    assert "encoding" in err  # the bar still runs, without a total


def test_errors(chain_parser, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff\n")
    code, records, err = run(capsys, ["encode", "--model", "untrained", "--input", str(bad), "--quiet"])
    assert code == 2 and f"{bad}:2: not UTF-8" in err
    code, _, err = run(capsys, ["encode", "--model", "untrained", "--input", str(tmp_path / "missing.txt"),
                                "--quiet"])
    assert code == 2 and "missing.txt" in err
    assert cli.main(["encode", "text", "--input", str(bad)]) == 2
    assert "not both" in capsys.readouterr().err
    assert cli.main(["encode"]) == 2
    assert "the text is missing" in capsys.readouterr().err


def test_the_real_parser(stanza_dir, tmp_path, monkeypatch, capsys):
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(stanza_dir))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    path = tmp_path / "three.txt"
    path.write_text("I hated every minute of it\nNot bad.\n\nThe movie was great. I loved it!\n")
    code, records, err = run(capsys, ["encode", "--input", str(path), "--quiet"])  # the pretrained sst5 encoder
    assert code == 0, err
    assert [(r["input"], r["sentence"], r["words"][0], r["encoder"]) for r in records] == [
        (1, 1, "I", "sst5"), (2, 1, "Not", "sst5"), (4, 1, "The", "sst5"), (4, 2, "I", "sst5")]


def test_predict_a_300_line_file_as_json_lines(chain_parser, tmp_path, capsys):
    """Issue 12: `treenets predict --input F --format json` gives every line's records with its line number,
    the same with --workers 2."""
    path, lines = corpus(tmp_path)
    code, records, err = run(capsys, ["predict", "--input", str(path), "--format", "json", "--quiet"])
    assert code == 0, err
    expected = [(i + 1, k + 1) for i, text in enumerate(lines) for k, _ in enumerate(p for p in text.split(". ") if p)]
    assert [(r["input"], r["sentence"]) for r in records] == expected
    assert {r["input"] for r in records} == {i + 1 for i, text in enumerate(lines) if text}
    for r in records:
        assert r["text"] == lines[r["input"] - 1].split(". ")[r["sentence"] - 1]
        assert r["label"] in r["probs"] and len(r["nodes"]) == 2 * len(r["text"].split()) - 1
    code, again, err = run(capsys, ["predict", "--input", str(path), "--format", "json", "--workers", "2",
                                    "--no-cache"])
    assert code == 0 and again == records
    assert "predicting" in err and f"{len(lines)}/{len(lines)}" in err


def test_predict_input_text_and_svg(chain_parser, tmp_path, capsys):
    path = tmp_path / "two.txt"
    path.write_text("a good film\n\nbad. very bad\n")
    code = cli.main(["predict", "--input", str(path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and out.count("sentence ") == 3 and "of input 3" in out and "of input 2" not in out
    svg = tmp_path / "t.svg"
    assert cli.main(["predict", "--input", str(path), "--format", "svg", "--output", str(svg), "--quiet"]) == 0
    assert svg.read_text().count("<svg") >= 1
    assert cli.main(["predict", "a good film", "--input", str(path)]) == 2
    assert "not both" in capsys.readouterr().err


def _stdin(monkeypatch, text: str):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))


@pytest.mark.parametrize("command", ["predict", "encode"])
def test_several_texts_are_several_inputs(chain_parser, capsys, command):
    """Issue 16: `treenets predict "Good." "Bad."` gives two results (it was 'unrecognized arguments')."""
    extra = ["--format", "json"] if command == "predict" else ["--model", "untrained"]
    code, records, err = run(capsys, [command, "Good.", "Bad.", *extra])
    assert code == 0, err
    assert [(r["input"], r["sentence"]) for r in records] == [(1, 1), (2, 1)]
    assert [r["text"] if command == "predict" else r["words"] for r in records] == (
        ["Good.", "Bad."] if command == "predict" else [["Good."], ["Bad."]])
    # options may stand between the texts
    code, again, _ = run(capsys, [command, "Good.", *extra, "Bad."])
    assert code == 0 and again == records


def test_parse_several_texts(chain_parser, capsys):
    assert cli.main(["parse", "dogs bark. cats meow", "birds sing"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "(_ (_ dogs) bark)", "(_ (_ cats) meow)", "(_ (_ birds) sing)"]
    assert cli.main(["parse", "dogs bark", "birds sing", "--format", "conllu"]) == 0
    out = capsys.readouterr().out
    assert "# sent_id = 1\n" in out and "# sent_id = 2\n" in out  # numbered on through the inputs


@pytest.mark.parametrize("command", ["predict", "encode", "parse"])
def test_dash_is_one_text_per_line_as_input_dash(chain_parser, monkeypatch, capsys, command):
    """Standard input means the same everywhere: '-' is `--input -`; --whole makes it one text."""
    extra = {"predict": ["--format", "json"], "encode": ["--model", "untrained"], "parse": []}[command]
    stdin = "good film\n\nbad. very bad\n"
    outputs = []
    for argv in (["-"], ["--input", "-"]):
        _stdin(monkeypatch, stdin)
        assert cli.main([command, *argv, *extra, "--quiet"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    if command == "parse":
        assert outputs[0].splitlines() == ["(_ (_ good) film)", "(_ bad)", "(_ (_ very) bad)"]
    else:
        records = [json.loads(line) for line in outputs[0].splitlines()]
        assert [(r["input"], r["sentence"]) for r in records] == [(1, 1), (3, 1), (3, 2)]
    # --whole: all of standard input is one text (its lines are not merged into a sentence: `. ` splits here)
    _stdin(monkeypatch, "good film. bad\nand more\n")
    assert cli.main([command, "-", "--whole", *extra]) == 0
    out = capsys.readouterr().out
    if command == "parse":
        assert out.splitlines()[0] == "(_ (_ good) film)"
    else:
        records = [json.loads(line) for line in out.splitlines()]
        assert [(r["input"], r["sentence"]) for r in records] == [(1, 1), (1, 2)]


def test_whole_reads_an_input_file_as_one_text(chain_parser, tmp_path, capsys):
    path = tmp_path / "doc.txt"
    path.write_text("one two. three\nfour\n")
    code, records, _ = run(capsys, ["encode", "--input", str(path), "--whole", "--model", "untrained"])
    assert code == 0 and [(r["input"], r["sentence"]) for r in records] == [(1, 1), (1, 2)]
    assert records[1]["words"] == ["three", "four"]
    path.write_bytes(b"fine\n\xff\n")
    code, _, err = run(capsys, ["encode", "--input", str(path), "--whole", "--model", "untrained"])
    assert code == 2 and f"{path}:2: not UTF-8" in err


def test_whole_is_bounded(chain_parser, monkeypatch, capsys):
    import importlib

    monkeypatch.setattr(importlib.import_module("treenets.cli.main"), "MAX_WHOLE_BYTES", 10)
    _stdin(monkeypatch, "x" * 11)
    code, records, err = run(capsys, ["encode", "-", "--whole", "--model", "untrained"])
    assert code == 2 and not records and "<stdin>: over 10 bytes" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["encode", "a", "-"], "'-' (standard input, one text per line) stands alone"),
    (["encode", "-", "--input", "x.txt"], "not both"),
    (["encode", "a text", "--whole"], "--whole reads standard input"),
    (["parse"], "the text is missing"),
    (["similarity", "-", "-"], "only one of the two sentences"),
    (["similarity", "a", "b", "--whole"], "--whole reads standard input"),
])
def test_input_errors_are_one_line(chain_parser, capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("treenets: error: ")


def test_similarity_reads_one_sentence_per_line_from_dash(chain_parser, monkeypatch, capsys):
    import treenets as tn

    model = tn.load("sick")
    lines = ["a man plays", "", "a dog runs fast", "a man plays music"]
    expected = model.similarity(["a man plays"] * 3, [lines[0], lines[2], lines[3]], parser=ChainParser())
    _stdin(monkeypatch, "\n".join(lines) + "\n")
    assert cli.main(["similarity", "a man plays", "-"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "" and len(out) == 4  # one line of output per line of input; a blank line for a blank one
    assert [float(x) for x in out if x] == pytest.approx(expected, abs=1e-4)
    _stdin(monkeypatch, "\n".join(lines) + "\n")
    code, records, _ = run(capsys, ["similarity", "-", "a man plays", "--format", "json", "--batch-size", "2"])
    assert code == 0 and [r["input"] for r in records] == [1, 3, 4]
    assert [r["a"] for r in records] == [lines[0], lines[2], lines[3]] and {r["b"] for r in records} == {"a man plays"}
    assert [r["score"] for r in records] == pytest.approx(expected, abs=1e-5)
    # --whole: all of standard input is one sentence
    _stdin(monkeypatch, "a man\nplays\n")
    code, records, _ = run(capsys, ["similarity", "-", "a man plays", "--whole", "--format", "json"])
    assert code == 0 and len(records) == 1 and "input" not in records[0] and records[0]["a"] == "a man\nplays\n"
