"""Streaming: any iterable of texts in, results out lazily, in chunks, with their input positions (one process)."""
import itertools
import warnings

import pytest
import torch

import treenets as tn
from treenets import api
from treenets.parsers import ParseError

from _fakes import BrokenSetup, ChainParser


class Counting(ChainParser):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls, self.texts = 0, 0

    def parse(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return super().parse(texts)


def pulled_counter(texts):
    """A generator of ``texts`` and a list whose length is how many it has handed out."""
    pulled = []

    def gen():
        for t in texts:
            pulled.append(1)
            yield t
    return gen(), pulled


TEXTS = [f"w{i} a b. c d{i} e" if i % 5 else ("" if i % 10 else "  ") for i in range(60)]


def test_lazy_results_equal_eager_ones_for_any_iterable():
    eager = api.parse_sentences(TEXTS, ChainParser(), cache=False)
    lazy = api.parse_sentences(iter(TEXTS), ChainParser(), cache=False, lazy=True, batch_size=7)
    assert not isinstance(lazy, list)
    assert list(lazy) == eager and len(eager) == len(TEXTS)
    assert eager[0] == [] and eager[5] == [] and len(eager[1]) == 2  # blank texts keep their place
    trees = api.parse((t for t in TEXTS), parser=ChainParser(), cache=False, lazy=True, batch_size=4)
    assert [[str(t) for t in per] for per in trees] == [[str(s.dependency) for s in per] for per in eager]


@pytest.mark.parametrize("batch_size", [1, 4, 16])
def test_memory_stays_flat_however_long_the_input(batch_size):
    n = 5000
    texts, pulled = pulled_counter(f"t{i} x" for i in range(n))
    parser = Counting()
    most_ahead = 0
    for k, sentences in enumerate(api.parse_sentences(texts, parser, cache=False, lazy=True, batch_size=batch_size)):
        most_ahead = max(most_ahead, len(pulled) - k)
        assert sentences[0].words == [f"t{k}", "x"]
    assert k == n - 1 and len(pulled) == n
    assert most_ahead <= batch_size  # never more than one chunk of texts read ahead
    assert parser.calls == -(-n // batch_size)  # one parser call per chunk


def test_parse_and_encode_streams_with_input_positions():
    parser = ChainParser()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eager = tn.parse_and_encode(TEXTS, encoder="untrained", parser=parser, cache=False, batch_size=5)
        texts, pulled = pulled_counter(TEXTS)
        lazy = tn.parse_and_encode(texts, encoder="untrained", parser=parser, cache=False, batch_size=5, lazy=True, parse_batch_size=4)
        first = next(lazy)
        assert len(pulled) <= 8  # the first result needs two chunks of texts (five trees), not the whole input
        rest = [first] + list(lazy)
    assert len(eager) == len(rest) == sum(len(api.parse_sentences([t], parser, cache=False)[0]) for t in TEXTS)
    expected = [(i, k) for i, t in enumerate(TEXTS, 1) for k, _ in enumerate((p for p in t.split(". ") if p.strip()), 1)]
    assert [(r.input, r.sentence) for r in eager] == expected  # both counted from 1
    for a, b in zip(eager, rest):
        assert (a.input, a.sentence, str(a.tree)) == (b.input, b.sentence, str(b.tree))
        assert torch.equal(a.node_states, b.node_states) and torch.equal(a.memory, b.memory)
        assert a.tree.words[0] == TEXTS[a.input - 1].split(". ")[a.sentence - 1].split()[0]


def test_no_grad_does_not_leak_into_the_callers_loop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in tn.parse_and_encode(["a b. c d", "e f"], encoder="untrained", parser=ChainParser(), cache=False, batch_size=1,
                                     lazy=True):
            assert torch.is_grad_enabled()
            assert not r.node_states.requires_grad


def test_cache_hits_are_served_without_parsing(tmp_path):
    parser = Counting()
    first = api.parse_sentences(iter(TEXTS), parser, cache=tmp_path, lazy=True, batch_size=8)
    first = list(first)
    texts_parsed = parser.texts
    assert texts_parsed == sum(1 for t in TEXTS if t.strip())  # blank texts never reach the parser
    again = list(api.parse_sentences(iter(TEXTS + ["new one"]), parser, cache=tmp_path, lazy=True, batch_size=8))
    assert again[:-1] == first and parser.texts == texts_parsed + 1


def test_errors_name_the_text():
    with pytest.raises(TypeError, match="iterable of texts, not a string"):
        api.parse("Dogs bark.", parser=ChainParser(), cache=False)
    with pytest.raises(TypeError, match="input 3: expected a str, got a int"):
        list(api.parse_sentences(iter(["a", "b", 3]), ChainParser(), cache=False, lazy=True, errors="raise"))
    texts = [f"t{i}" for i in range(10)] + ["x BOOM y"] + ["z"] * 5
    with pytest.raises(ParseError, match=r"input 11 \('x BOOM y'\): ValueError: cannot parse 'BOOM'") as info:
        api.parse_sentences(texts, ChainParser(fail_on="BOOM"), cache=False, batch_size=4)
    assert info.value.input == 11 and info.value.text == "x BOOM y" and info.value.inputs == [11]
    assert info.value.reason == "ValueError: cannot parse 'BOOM'"
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(FileNotFoundError, match="model.pt"):  # a parser that cannot load is not a failed text
        api.parse_sentences(["a"], BrokenSetup(), cache=False)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            api.parse_sentences(["a"], ChainParser(), batch_size=bad)
        with pytest.raises(ValueError, match="workers"):
            api.parse_sentences(["a"], ChainParser(), workers=bad)
    with pytest.raises(ValueError, match="batch_size"):
        tn.parse_and_encode(["a"], encoder="untrained", parser=ChainParser(), batch_size=0, lazy=True)  # checked before iterating


def test_progress_bar_on_stderr_and_off(capsys):
    api.parse_sentences(TEXTS, ChainParser(), cache=False, progress=True)
    out = capsys.readouterr()
    assert out.out == "" and "parsing" in out.err and f"{len(TEXTS)}/{len(TEXTS)}" in out.err
    list(api.parse_sentences(iter(TEXTS), ChainParser(), cache=False, progress=True, lazy=True))
    assert f"{len(TEXTS)}text" in capsys.readouterr().err.replace(" ", "")  # no total for a generator
    api.parse_sentences(TEXTS, ChainParser(), cache=False, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_bar_helper(capsys):
    from treenets.utils.progress import progress_bar

    with progress_bar(total=3, desc="lines", unit="line") as bar:
        bar.update(3)
    assert "lines" in capsys.readouterr().err
    with progress_bar(total=3, enabled=False) as bar:
        bar.update(3)
    assert list(progress_bar(range(3), enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_stopping_early_reads_no_further():
    texts, pulled = pulled_counter(f"t{i}" for i in itertools.count())
    results = api.parse_sentences(texts, ChainParser(), cache=False, lazy=True, batch_size=10)
    assert [s[0].words for s in itertools.islice(results, 25)][-1] == ["t24"]
    results.close()
    assert len(pulled) == 30


def test_docs_corpus_example_runs(monkeypatch, tmp_path, capsys):
    """The Corpora block of docs/scaling.md, as written (2 workers, the default sst5 encoder), with a fast parser
    in place of stanza (tests/test_docs.py runs it with stanza, under -m slow)."""
    import json
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "scaling.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", page, re.S) if "iter_lines(" in b)
    assert "workers=2" in block and "lazy=True" in block
    from treenets.models.base import TaskModel

    monkeypatch.setattr(TaskModel, "parser", lambda self, device=None, **kw: ChainParser(constituency=True))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus.txt").write_text("I hated every minute of it\nNot bad.\n\nGreat. I loved it!\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block, "docs/scaling.md", "exec"), {"__name__": "__main__"})
    records = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert [(r["input"], r["sentence"], r["words"][0]) for r in records] == [
        (1, 1, "I"), (2, 1, "Not"), (4, 1, "Great"), (4, 2, "I")]
    assert "parsing" in capsys.readouterr().err
