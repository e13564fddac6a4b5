"""treenets.parsers.ParseCache: one SQLite file, never a wrong tree, safe for threads and processes."""
import multiprocessing
import os
import sqlite3
import threading
import warnings

import pytest

import treenets as tn
from treenets.api import parse, parse_sentences
from treenets.parsers import ParseCache, ParsedSentence


class FakeParser:
    """Splits on spaces; the dependency tree of "w1 w2 w3 w4" is non-projective."""

    kinds = ("dependency",)

    def __init__(self, key="fake-1"):
        self.key, self.calls, self.texts = key, 0, 0

    def cache_key(self):
        return self.key

    def parse(self, texts):
        self.calls += 1
        self.texts += len(texts)
        out = []
        for text in texts:
            words = text.split()
            if words == ["w1", "w2", "w3", "w4"]:
                heads = [3, 0, 2, 1]  # 1 -> 3 crosses 2 -> 0: not projective
            else:
                heads = [i + 2 for i in range(len(words) - 1)] + [0]
            tree = tn.Tree.from_parents(words, heads, rels=["dep"] * len(words))
            out.append([ParsedSentence(words=words, dependency=tree, text=text, upos=["X"] * len(words),
                                       lemmas=[w.lower() for w in words], tokens=words,
                                       word_to_token=list(range(len(words))))])
        return out


def test_a_hit_is_the_parse_itself_even_non_projective(tmp_path):
    parser = FakeParser()
    fresh = parse_sentences(["w1 w2 w3 w4", "Dogs bark ."], parser, cache=tmp_path)
    cached = parse_sentences(["w1 w2 w3 w4", "Dogs bark ."], parser, cache=tmp_path)
    assert parser.calls == 1 and cached == fresh
    assert cached[0][0].dependency.words == ["w1", "w2", "w3", "w4"]
    assert cached[0][0].dependency.parents == [2, -1, 1, 0]
    # brackets cannot hold it: the bracket form is for display only
    assert tn.Tree.from_brackets(str(fresh[0][0].dependency)).words != ["w1", "w2", "w3", "w4"]


def test_parser_key_and_text_must_match(tmp_path):
    a, b = FakeParser("a"), FakeParser("b")
    parse_sentences(["one two"], a, cache=tmp_path)
    parse_sentences(["one two"], b, cache=tmp_path)
    assert (a.calls, b.calls) == (1, 1)
    # an entry whose stored text is another text is parsed again and rewritten
    db = tmp_path / "parses.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE parses SET text = 'something else'")
    again = parse_sentences(["one two"], a, cache=tmp_path)
    assert a.calls == 2 and again[0][0].words == ["one", "two"]
    parse_sentences(["one two"], a, cache=tmp_path)
    assert a.calls == 2  # rewritten


@pytest.mark.parametrize("stored", ["[]", "null", '{"trees": 5}', '{"trees": [1]}', "[1]", "not json",
                                    '[{"words": ["x"]}]', '[{"words": [], "text": null}]'])
def test_damaged_entries_are_parsed_again(tmp_path, stored):
    parser = FakeParser()
    parse_sentences(["alpha beta"], parser, cache=tmp_path)
    with sqlite3.connect(tmp_path / "parses.sqlite") as conn:
        conn.execute("UPDATE parses SET sentences = ?", (stored,))
    out = parse_sentences(["alpha beta"], parser, cache=tmp_path)
    assert parser.calls == 2 and out[0][0].words == ["alpha", "beta"]


def test_a_tree_that_is_not_a_tree_is_parsed_again(tmp_path):
    parser = FakeParser()
    parse_sentences(["alpha beta"], parser, cache=tmp_path)
    with sqlite3.connect(tmp_path / "parses.sqlite") as conn:
        (stored,) = conn.execute("SELECT sentences FROM parses").fetchone()
        conn.execute("UPDATE parses SET sentences = ?", (stored.replace('"parents": [1, -1]', '"parents": [1, 0]'),))
    assert parse_sentences(["alpha beta"], parser, cache=tmp_path)[0][0].dependency.parents == [1, -1]
    assert parser.calls == 2


def test_four_threads_share_one_cache(tmp_path):
    texts = [f"t{i} u{i} v{i}" for i in range(40)]
    expected = parse_sentences(texts, FakeParser(), cache=False)
    shared = ParseCache(tmp_path)
    errors, results = [], {}

    def work(k):
        try:
            own = ParseCache(tmp_path) if k % 2 else shared
            for _ in range(3):
                results[k] = parse_sentences(texts[k::2] + texts, FakeParser(), cache=own)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k, got in results.items():
        assert got == expected[k::2] + expected


def _process(args):
    path, texts = args
    return [[s.dependency.parents for s in sents] for sents in parse_sentences(texts, FakeParser(), cache=path)]


def test_two_processes_share_one_cache(tmp_path):
    texts = [f"p{i} q{i} r{i} s{i}" for i in range(30)] + ["w1 w2 w3 w4"]
    expected = _process((str(tmp_path / "single"), texts))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        outs = pool.map(_process, [(str(tmp_path), texts), (str(tmp_path), texts[::-1])])
    assert outs[0] == expected and outs[1] == expected[::-1]
    assert ParseCache(tmp_path).info()["entries"] == len(texts)


@pytest.mark.parametrize("damage", ["garbage", "directory"])
def test_an_unusable_cache_warns_once_and_loses_nothing(tmp_path, damage):
    db = tmp_path / "parses.sqlite"
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    else:
        db.mkdir()
    parser = FakeParser()
    with pytest.warns(RuntimeWarning, match="parse cache .* is off"):
        first = parse(["a b", "c d"], "dependency", parser, cache=tmp_path)
    assert [t.words for (t,) in first] == [["a", "b"], ["c", "d"]]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file modes")
def test_a_read_only_cache_is_read_but_not_written(tmp_path):  # pragma: no cover - not root in most CI
    parser = FakeParser()
    parse_sentences(["a b"], parser, cache=tmp_path)
    os.chmod(tmp_path / "parses.sqlite", 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert parse_sentences(["a b", "c d"], parser, cache=tmp_path)[1][0].words == ["c", "d"]
    finally:
        os.chmod(tmp_path, 0o755)


def test_info_and_clear(tmp_path):
    cache = ParseCache(tmp_path)
    parse_sentences([f"x{i} y" for i in range(25)], FakeParser(), cache=cache)
    info = cache.info()
    assert info["entries"] == 25 and info["bytes"] > 0 and info["path"].endswith("parses.sqlite")
    cache.clear()
    assert cache.info() == {"path": info["path"], "entries": 0, "bytes": 0}
    parse_sentences(["x y"], FakeParser(), cache=cache)
    assert cache.info()["entries"] == 1


def test_bracket_parser_reads_several_trees_per_text():
    parser = tn.parsers.BracketParser(binarize="right")
    (first, second), = parser.parse(["(S (NP (DT The) (NN cat)) (VP (VBZ sleeps)) (. .)) (S (NP-SBJ (PRP It)) (VP (VBD purred)))"])
    assert first.constituency.words == ["The", "cat", "sleeps", "."] and first.constituency.max_children == 2
    assert second.constituency.labels[0] == "S" and "NP-SBJ" not in second.constituency.labels
    assert isinstance(parser, tn.parsers.Parser) and "brackets" in parser.cache_key()
    with pytest.raises(ValueError, match="^tree 1: malformed"):
        parser.parse(["(S (NP a)"])
    with pytest.raises(ValueError, match="^text 2 of 2, tree 2: malformed"):  # counted from 1
        parser.parse(["(S (NP a) (VP b))", "(S (NP a) (VP b)) (S (NP a)"])


def test_clearing_from_another_handle_is_seen(tmp_path):
    parser = FakeParser()
    parse_sentences(["a b"], parser, cache=tmp_path)  # the process keeps a handle open
    ParseCache(tmp_path).clear()  # as `treenets cache clear` does
    parse_sentences(["a b"], parser, cache=tmp_path)
    assert parser.calls == 2
    assert ParseCache(tmp_path).info()["entries"] == 1
