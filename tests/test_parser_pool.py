"""Parsing in N processes (workers=N, ParserPool): one process's output, in order, errors naming the text."""
import os
import pickle
import warnings

import pytest
import torch

import treenets as tn
from treenets import api
from treenets.parsers import ParseError, ParserPool

from _fakes import BrokenSetup, ChainParser, Unpicklable

TEXTS = [f"w{i} a b. c d{i} e" if i % 7 else "" for i in range(200)]


def pids(log_dir):
    return {int(p.stem): int(p.read_text()) for p in log_dir.iterdir()}


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("pool-log")
    # the chunk holding "w8" sleeps, so later chunks finish first and order must be restored
    with ParserPool(ChainParser(log_dir=log_dir, slow_first="w8", fail_on="BOOM"), workers=2) as p:
        yield p, log_dir


def test_two_workers_give_one_workers_output_in_order(pool):
    p, log_dir = pool
    one = api.parse_sentences(TEXTS, ChainParser(), cache=False, batch_size=8)
    two = api.parse_sentences(TEXTS, p, cache=False, batch_size=8)
    assert two == one
    seen = pids(log_dir)
    assert len(seen) == 2 and os.getpid() not in seen  # both workers parsed, none of it in this process
    assert set(seen.values()) == {1}  # one torch thread per worker by default


def test_workers_argument_with_parse_and_encode(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = tn.parse_and_encode(TEXTS[:60], encoder="untrained", parser=ChainParser(), cache=False, batch_size=9)
        two = list(tn.parse_and_encode(iter(TEXTS[:60]), encoder="untrained", parser=ChainParser(log_dir=tmp_path), cache=False,
                                       batch_size=9, lazy=True, workers=2, parse_batch_size=5, torch_threads=2))
    assert [(r.input, r.sentence, str(r.tree)) for r in two] == [(r.input, r.sentence, str(r.tree)) for r in one]
    assert all(torch.equal(a.node_states, b.node_states) for a, b in zip(one, two))
    assert set(pids(tmp_path).values()) == {2}  # torch_threads reaches the workers


def test_memory_stays_flat_with_workers(pool):
    p, _ = pool
    pulled = []

    def texts():
        for i in range(3000):
            pulled.append(i)
            yield f"t{i} x"
    most_ahead = 0
    for k, sentences in enumerate(api.parse_sentences(texts(), p, cache=False, lazy=True, batch_size=10)):
        most_ahead = max(most_ahead, len(pulled) - k)
        assert sentences[0].words == [f"t{k}", "x"]
    assert most_ahead <= (2 * p.workers + 1) * 10  # a bounded number of chunks in flight


def test_worker_errors_name_the_text(pool):
    p, _ = pool
    texts = [f"t{i}" for i in range(30)]
    texts[21] = "a BOOM b"
    with pytest.raises(ParseError, match=r"input 22 \('a BOOM b'\): ValueError: cannot parse 'BOOM'") as info:
        api.parse_sentences(texts, p, cache=False, batch_size=4)
    assert info.value.input == 22 and info.value.inputs == [22]  # counted from 1, like lines
    assert "cannot parse" in str(info.value.__cause__)  # the worker's traceback
    assert api.parse_sentences(["fine"], p, cache=False)[0][0].words == ["fine"]  # the pool survives it


def test_cache_hits_are_served_in_the_parent(pool, tmp_path):
    p, log_dir = pool
    api.parse_sentences(TEXTS[:40], p, cache=tmp_path, batch_size=8)
    for f in log_dir.iterdir():
        f.unlink()
    again = api.parse_sentences(TEXTS[:40], p, cache=tmp_path, batch_size=8)
    assert not list(log_dir.iterdir())  # no worker parsed anything
    assert again == api.parse_sentences(TEXTS[:40], ChainParser(), cache=False)


def test_setup_errors_and_parsers_that_do_not_pickle():
    with pytest.raises(FileNotFoundError, match="model.pt"):  # raised in the worker, as itself
        api.parse_sentences(["a", "b"], BrokenSetup(), cache=False, workers=2)
    with pytest.raises(TypeError, match="needs a parser that pickles.*Unpicklable"):
        api.parse_sentences(["a"], Unpicklable(), cache=False, workers=2)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(ParserPool(ChainParser(), 1))
    with pytest.raises(ValueError, match="fork is unsafe"):
        ParserPool(ChainParser(), 2, start_method="fork")


def test_a_dying_worker_names_its_text():
    texts = [f"t{i}" for i in range(12)]
    texts[9] = "x DIE"
    with pytest.raises(ParseError, match=r"input 10 \('x DIE'\): a parser worker process died while parsing it "
                                         r"alone") as info:
        api.parse_sentences(texts, ChainParser(die_on="DIE"), cache=False, workers=2, batch_size=4)
    assert info.value.input == 10
    # lazily, the run goes on: every other text gets its trees, in order, and the one that kills gets its error
    out = list(api.parse_sentences(texts, ChainParser(die_on="DIE"), cache=False, workers=2, batch_size=4,
                                   lazy=True))
    assert [isinstance(o, ParseError) for o in out] == [k == 9 for k in range(12)]
    assert [o[0].words for k, o in enumerate(out) if k != 9] == [[t] for k, t in enumerate(texts) if k != 9]


def test_stanza_parser_pickles_without_its_pipeline(stanza_dir):
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    import threading

    from treenets.parsers import StanzaParser

    parser = StanzaParser(dir=str(stanza_dir), constituency=False, lazy=True)
    parser._pipeline = threading.Lock()  # stands in for a loaded pipeline: it must not be pickled
    copy = pickle.loads(pickle.dumps(parser))
    assert copy._pipeline is None and parser._pipeline is not None
    assert copy.cache_key() == parser.cache_key() and len(pickle.dumps(parser)) < 10_000


def test_stanza_with_two_workers_equals_one(stanza_dir, data_dir):
    """The real parser, 40 SST dev sentences: 2 processes give exactly what 1 gives."""
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    from benchmarks.parse_speed import sst_sentences

    texts = sst_sentences(data_dir / "sst" / "dev.txt", 40)
    texts[3] = texts[3] + " " + texts[4]  # a text of two sentences
    parser = api.default_parser("dependency")
    one = api.parse_sentences(texts, parser, cache=False, batch_size=8)
    two = api.parse_sentences(texts, parser, cache=False, batch_size=8, workers=2)
    assert len(one) == 40 and len(one[3]) == 2
    assert two == one


def test_a_lazy_call_checks_the_parser_at_once():
    with pytest.raises(TypeError, match="pickles"):
        api.parse_sentences(iter(["a"]), Unpicklable(), cache=False, workers=2, lazy=True)
