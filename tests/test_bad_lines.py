"""Issue 19 item 2: a bad line loses nothing. In ``--input`` runs (and lazy iteration) a line that cannot be
processed gets an error record naming its line (from 1), every other line its records, in order, and the exit
status is 1."""

import pytest

from _clirun import run_cli as run
from treenets import api, cli
from treenets.parsers import REFUSED_CHARACTERS, ParseError, check_text, parse_sentences

from _fakes import ChainParser


@pytest.fixture
def chain_parser(monkeypatch, tmp_path):
    """Fast parsers in place of stanza: for ``--model untrained`` (dependency) and for the models' own parsers."""
    from treenets.models.base import TaskModel

    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(api, "default_parser", lambda tree="dependency", device=None: ChainParser())
    monkeypatch.setattr(TaskModel, "parser", lambda self, device=None, **kw: ChainParser(constituency=True))


def two_hundred_lines(tmp_path, bad_line=150, bad="a\x00b"):
    lines = [f"line{i} has words" for i in range(1, 201)]
    lines[bad_line - 1] = bad
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n")
    return path, lines


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("command", ["predict", "encode"])
def test_a_nul_on_line_150_of_200(chain_parser, tmp_path, capsys, command, workers):
    path, lines = two_hundred_lines(tmp_path)
    argv = [command, "--input", str(path), "--quiet", "--workers", workers, "--no-cache"]
    argv += ["--format", "json"] if command == "predict" else ["--model", "untrained"]
    code, records, err = run(capsys, argv)
    assert code == 1, err
    assert [r["input"] for r in records] == list(range(1, 201))  # every line, in order
    errors = [r for r in records if "error" in r]
    assert errors == [{"input": 150, "error": "control character U+0000 at character 2; text may hold no control "
                                              "characters other than tab, newline, carriage return, vertical tab "
                                              "and form feed"}]
    good = [r for r in records if "error" not in r]
    assert len(good) == 199
    key = "text" if command == "predict" else "words"
    assert all((r[key] if key == "text" else " ".join(r[key])) == lines[r["input"] - 1] for r in good)
    assert "1 line of the input could not be processed" in err


def test_text_mode_names_the_line_on_stderr(chain_parser, tmp_path, capsys):
    path, _ = two_hundred_lines(tmp_path, bad_line=3, bad="colour \x1b[31mred")
    code = cli.main(["predict", "--input", str(path), "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert out.out.count("sentence 1 of input ") == 199 and "of input 3:" not in out.out
    assert "treenets: line 3: control character U+001B at character 8" in out.err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_line_the_parser_fails_on(monkeypatch, tmp_path, capsys, workers):
    from treenets.models.base import TaskModel

    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(TaskModel, "parser",
                        lambda self, device=None, **kw: ChainParser(constituency=True, fail_on="BOOM"))
    path, _ = two_hundred_lines(tmp_path, bad_line=77, bad="x BOOM y")
    code, records, _ = run(capsys, ["predict", "--input", str(path), "--format", "json", "--quiet",
                                    "--workers", workers])
    assert code == 1 and [r["input"] for r in records] == list(range(1, 201))
    assert [r for r in records if "error" in r] == [{"input": 77, "error": "ValueError: cannot parse 'BOOM'"}]


def test_a_worker_that_dies_names_its_line(monkeypatch, tmp_path, capsys):
    """A worker killed on line 150 (as the kernel's OOM killer would): the others keep their records."""
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(api, "default_parser", lambda tree="dependency", device=None: ChainParser(die_on="DIE"))
    path, _ = two_hundred_lines(tmp_path, bad_line=150, bad="x DIE")
    code, records, _ = run(capsys, ["encode", "--model", "untrained", "--input", str(path), "--quiet",
                                    "--workers", "2"])
    assert code == 1 and [r["input"] for r in records] == list(range(1, 201))
    errors = [r for r in records if "error" in r]
    assert len(errors) == 1 and errors[0]["input"] == 150
    assert errors[0]["error"] == "a parser worker process died while parsing it alone (killed, or out of memory?)"


def test_one_text_argument_still_fails_as_a_whole(chain_parser, capsys):
    assert cli.main(["encode", "--model", "untrained", "a\x00b"]) == 2
    assert "input 1 ('a\\x00b'): control character U+0000 at character 2" in capsys.readouterr().err


def test_lazy_iteration_yields_errors_and_goes_on():
    texts = ["a b", "c\x7fd", "e f", "x BOOM y", "g\ud800h", "i j"]
    out = list(parse_sentences(texts, ChainParser(fail_on="BOOM"), cache=False, lazy=True, batch_size=2))
    assert [type(o).__name__ for o in out] == ["list", "ParseError", "list", "ParseError", "ParseError", "list"]
    assert [o.input for o in out if isinstance(o, ParseError)] == [2, 4, 5]
    assert "U+007F at character 2" in out[1].reason and "a lone surrogate U+D800" in out[4].reason
    with pytest.raises(ParseError, match=r"input 2 \('c\\x7fd'\): control character U\+007F"):
        parse_sentences(texts, ChainParser(), cache=False)  # a list raises the first
    with pytest.raises(ValueError, match="errors must be one of"):
        parse_sentences(texts, ChainParser(), errors="ignore")


def test_the_refused_characters():
    refused = [c for c in map(chr, range(0x10000)) if REFUSED_CHARACTERS.search(c)]
    allowed_controls = {"\t", "\n", "\x0b", "\x0c", "\r"}
    import unicodedata

    assert set(refused) == {c for c in map(chr, range(0x10000))
                            if unicodedata.category(c) in ("Cc", "Cs") and c not in allowed_controls}
    assert check_text("fine\ttext\r\n") is None
    assert check_text("\x1b[0m").startswith("control character U+001B at character 1")


def test_the_real_parser_loses_only_the_bad_line(stanza_dir, tmp_path, monkeypatch, capsys):
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(stanza_dir))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    lines = ["The movie was great.", "I hated it.", "Not \x00 bad.", "A fine film.", "Dull and long."]
    path = tmp_path / "five.txt"
    path.write_text("\n".join(lines) + "\n")
    code, records, err = run(capsys, ["predict", "--model", "sst2", "--input", str(path), "--format", "json",
                                      "--quiet"])
    assert code == 1, err
    assert [(r["input"], "error" in r) for r in records] == [(1, False), (2, False), (3, True), (4, False),
                                                            (5, False)]
    assert records[2]["error"].startswith("control character U+0000 at character 5")


def test_workers_that_cannot_run_end_the_run():
    """Workers that die on every text are not respawned for each of them: three in a row end the run."""
    texts = [f"t{i} DIE" for i in range(8)]
    with pytest.raises(RuntimeError, match="died on 3 texts in a row, each parsed alone .*they cannot run"):
        list(parse_sentences(texts, ChainParser(die_on="DIE"), cache=False, lazy=True, workers=2, batch_size=8))
