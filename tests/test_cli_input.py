"""``treenets predict|encode --input FILE``: one text per line, JSON Lines with line numbers, workers, progress,
errors."""
import json
import sys

import pytest

from treenets import api, cli

from _fakes import ChainParser


@pytest.fixture
def chain_parser(monkeypatch, tmp_path):
    """Fast parsers in place of stanza: for ``--model untrained`` (dependency) and for the models' own parsers."""
    from treenets.models.base import TaskModel

    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(api, "default_parser", lambda tree="dependency", device=None: ChainParser())
    monkeypatch.setattr(TaskModel, "parser", lambda self, device=None, **kw: ChainParser(constituency=True))


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


def run(capsys, argv):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


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
