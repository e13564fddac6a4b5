"""``treenets encode --input FILE``: one text per line, JSON Lines with line numbers, workers, progress, errors."""
import json
import sys

import pytest

from treenets import api, cli

from _fakes import ChainParser


@pytest.fixture
def chain_parser(monkeypatch, tmp_path):
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(api, "default_parser", lambda tree="dependency", device=None: ChainParser())


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
    code, records, err = run(capsys, ["encode", "--input", str(path), "--quiet"])
    assert code == 0 and "encoding" not in err
    expected = [(i + 1, k) for i, text in enumerate(lines) for k, _ in enumerate(p for p in text.split(". ") if p)]
    assert [(r["line"], r["sentence"]) for r in records] == expected
    for r in records:
        assert r["words"] == lines[r["line"] - 1].split(". ")[r["sentence"]].split()
        assert len(r["root"]) == r["hidden_size"] == 150
    code, again, err = run(capsys, ["encode", "--input", str(path), "--workers", "2", "--no-cache"])
    assert code == 0 and again == records  # the same records, in the same order, from 2 processes
    assert "encoding" in err and f"{len(lines)}/{len(lines)}" in err  # the progress bar, on stderr


def test_standard_input_is_one_text_per_line(chain_parser, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"I hated every minute of it\nNot bad.\n")))
    code, records, _ = run(capsys, ["encode", "--input", "-", "--quiet"])
    assert code == 0 and [(r["line"], r["words"]) for r in records] == [
        (1, ["I", "hated", "every", "minute", "of", "it"]), (2, ["Not", "bad."])]


def test_errors(chain_parser, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff\n")
    code, records, err = run(capsys, ["encode", "--input", str(bad), "--quiet"])
    assert code == 2 and f"{bad}:2: not UTF-8" in err
    code, _, err = run(capsys, ["encode", "--input", str(tmp_path / "missing.txt"), "--quiet"])
    assert code == 2 and "missing.txt" in err
    with pytest.raises(SystemExit):
        cli.main(["encode", "text", "--input", str(bad)])
    assert "not both" in capsys.readouterr().err


def test_the_real_parser(stanza_dir, tmp_path, monkeypatch, capsys):
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(stanza_dir))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    path = tmp_path / "three.txt"
    path.write_text("I hated every minute of it\nNot bad.\n\nThe movie was great. I loved it!\n")
    code, records, err = run(capsys, ["encode", "--input", str(path), "--quiet"])
    assert code == 0, err
    assert [(r["line"], r["sentence"], r["words"][0]) for r in records] == [
        (1, 0, "I"), (2, 0, "Not"), (4, 0, "The"), (4, 1, "I")]
