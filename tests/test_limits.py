"""Limits on what reaches a parser (treenets.parsers.limits): characters per text and per token,
words per sentence; refused with an error naming the limit, or split on request."""
import pickle

import pytest

from treenets.parsers import DEFAULT_LIMITS, LimitError, ParseError, TextLimits, parse_chunk


def test_defaults_and_validation():
    assert DEFAULT_LIMITS.max_words == 400 and DEFAULT_LIMITS.long_sentences == "error"
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="max_words must be a positive integer"):
            TextLimits(max_words=bad)
    with pytest.raises(ValueError, match="long_sentences must be one of"):
        TextLimits(long_sentences="truncate")
    assert TextLimits(max_chars=None).max_chars is None
    assert DEFAULT_LIMITS.replace(max_words=10).max_words == 10 and DEFAULT_LIMITS.max_words == 400


def test_characters_per_text():
    limits = TextLimits(max_chars=20, max_token_chars=None)
    limits.check_text("x" * 20)
    with pytest.raises(LimitError, match="21 characters, over the limit of 20 \\(max_chars\\)") as info:
        limits.check_text("x" * 21)
    assert (info.value.limit, info.value.value, info.value.found) == ("max_chars", 20, 21)


def test_characters_per_token_names_the_offset():
    limits = TextLimits(max_token_chars=5)
    limits.check_text("abcde fghij\tklmno\nxyz")
    with pytest.raises(LimitError, match="a run of 7 characters without a space at character 4") as info:
        limits.check_text("abc 1234567 de")
    assert info.value.limit == "max_token_chars" and info.value.found == 7


def test_words_per_sentence_error_or_split():
    limits = TextLimits(max_words=3)
    assert limits.check_words(3, 1) is False
    with pytest.raises(LimitError, match="sentence 2 has 4 words, over the limit of 3"):
        limits.check_words(4, 2)
    assert TextLimits(max_words=3, long_sentences="split").check_words(4, 2) is True
    assert TextLimits(max_words=None).check_words(10 ** 6, 1) is False


def test_only_splitting_changes_the_cache_key_part():
    assert DEFAULT_LIMITS.cache_part() is None and TextLimits(max_words=9).cache_part() is None
    assert TextLimits(max_words=9, long_sentences="split").cache_part() == {"split_at_words": 9}


def test_limit_error_pickles_with_its_index():
    err = LimitError("too long", "max_words", 3, 4)
    err.index = 7
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.limit, back.value, back.found, back.index) == ("too long", "max_words", 3, 4, 7)


class _CountingLimitedParser:
    """Refuses texts over 5 characters, naming the text's place in the call, and counts its calls."""
    kinds = ("dependency",)

    def __init__(self):
        self.calls = 0

    def cache_key(self):
        return "counting"

    def parse(self, texts):
        self.calls += 1
        for i, text in enumerate(texts):
            try:
                TextLimits(max_chars=5).check_text(text)
            except LimitError as err:
                err.index = i
                raise
        return [[] for _ in texts]


def test_parse_chunk_names_the_text_a_limit_refused_without_parsing_each_alone():
    parser = _CountingLimitedParser()
    with pytest.raises(ParseError, match="input 12 .*over the limit of 5") as info:
        parse_chunk(parser, ["ok", "fine", "much too long", "ok"], [10, 11, 12, 13])
    assert info.value.input == 12 and parser.calls == 1
    # the loop's parse_each: the refused text gets its error, the texts around it are parsed together again
    from treenets.parsers import parse_each

    parser = _CountingLimitedParser()
    out = parse_each(parser, ["ok", "fine", "much too long", "ok"], [10, 11, 12, 13])
    assert out[:2] == [[], []] and out[3] == [] and isinstance(out[2], ParseError) and out[2].input == 12
    assert parser.calls == 3


# ------------------------------------------------------------------ stanza
def _words(n):
    return " ".join(["film", "story", "actor", "music", "plot", "scene"][k % 6] for k in range(n))


@pytest.fixture(scope="module")
def dependency_parser(stanza_dir):
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    from treenets.parsers import StanzaParser

    return StanzaParser(dir=stanza_dir, dependency=True, constituency=False, limits=TextLimits(max_words=30))


def test_stanza_refuses_a_long_sentence_after_tokenizing(dependency_parser):
    with pytest.raises(LimitError, match="sentence 2 has 40 words, over the limit of 30") as info:
        dependency_parser.parse(["Fine.", "A short one. " + _words(40)])
    assert info.value.index == 1
    ok = dependency_parser.parse(["A short one. " + _words(30)])[0]
    assert [len(s.words) for s in ok] == [4, 30]


def test_stanza_refuses_a_long_token_before_the_tokenizer(dependency_parser):
    with pytest.raises(LimitError, match="max_token_chars"):
        dependency_parser.parse(["x" * 5000])  # the tokenizer alone takes seconds on this


def test_stanza_splits_long_sentences_on_request(stanza_dir):
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    from treenets.parsers import StanzaParser

    limits = TextLimits(max_words=30, long_sentences="split")
    parser = StanzaParser(dir=stanza_dir, dependency=True, constituency=True, binarize="right", limits=limits)
    sentences = parser.parse(["It is short. " + _words(70)])[0]
    assert [len(s.words) for s in sentences] == [4, 30, 30, 10]
    assert sum((s.words for s in sentences[1:]), []) == _words(70).split()
    for s in sentences:
        assert len(s.dependency) == len(s.words) and s.constituency.words == s.words
    plain = StanzaParser(dir=stanza_dir, dependency=True, constituency=True, binarize="right", lazy=True)
    assert parser.cache_key() != plain.cache_key()
    assert StanzaParser(dir=stanza_dir, lazy=True, limits=TextLimits(max_words=30)).cache_key() == \
        StanzaParser(dir=stanza_dir, lazy=True).cache_key()


def test_bracket_parser_checks_characters_per_text():
    pytest.importorskip("nltk", reason="nltk is not installed")
    from treenets.parsers import BracketParser

    parser = BracketParser(limits=TextLimits(max_chars=45))
    assert parser.parse(["(S (NP (DT The) (NN cat)) (VP (VBZ sleeps)))"])[0][0].words == ["The", "cat", "sleeps"]
    with pytest.raises(LimitError, match="over the limit of 45 \\(max_chars\\)") as info:
        parser.parse(["(X a)", "(S (NP (DT The) (NN cat)) (VP (VBZ sleeps)) (. .))"])
    assert info.value.index == 1


def test_command_line_limits(stanza_dir, tmp_path, monkeypatch, capsys):
    """--max-words reaches the parser: over it a one-line error (exit 2), or a split with --split-long-sentences."""
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    from treenets.cli import main

    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    assert main(["parse", "--max-words", "3", "The film was good."]) == 2
    err = capsys.readouterr().err
    assert "over the limit of 3" in err and len(err.strip().splitlines()) == 1
    assert main(["parse", "--max-words", "3", "--split-long-sentences", "The film was good."]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2  # 5 words (with the full stop) in pieces of 3 and 2
    lines = tmp_path / "in.txt"
    lines.write_text("A fine film.\n" + _words(12) + "\nGood.\n")
    assert main(["encode", "--model", "sick", "--max-words", "10", "--input", str(lines), "--quiet"]) == 1
    records = [r for r in capsys.readouterr().out.splitlines() if r.strip()]
    assert '"input": 2, "error"' in records[1] and "over the limit of 10" in records[1]
    assert len(records) == 3
