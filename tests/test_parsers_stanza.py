"""Tests for treenets.parsers.stanza against a real stanza pipeline.

The pipeline needs the offline English models (the ``stanza_dir`` fixture);
everything about stanza Documents runs with no model at all.
"""
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

stanza = pytest.importorskip("stanza", reason="stanza is not installed: pip install 'treenets[stanza]'")

from stanza.utils.conll import CoNLL  # noqa: E402

from treenets.parsers import (  # noqa: E402
    MissingStanzaModelError,
    ParsedSentence,
    Parser,
    StanzaParser,
    sentences_from_document,
    stanza_tree_to_tree,
)
from treenets.structures.tree import Tree  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from test_formats_conllu import CONLLU  # noqa: E402  (one sample for both test files)

TEXT = "I don't like New York's crowded streets. It's fine (mostly)."


@pytest.fixture(scope="module")
def parser(stanza_dir):
    """One full pipeline (dependency + constituency) for the whole module: loading takes ~3 s."""
    return StanzaParser(dir=stanza_dir)


@pytest.fixture(scope="module")
def parsed(parser):
    return parser.parse(TEXT)


def _check_dependency(sent: ParsedSentence):
    dep = sent.dependency
    assert isinstance(dep, Tree)
    assert len(dep) == len(sent.words)
    assert dep.tokens == sent.words
    assert all(t is not None for t in dep.tokens)
    assert dep.rels is not None and all(isinstance(r, str) and r for r in dep.rels)
    roots = [i for i, p in enumerate(dep.parents) if p == -1]
    assert roots == [dep.root]
    assert dep.rels[dep.root] == "root"
    assert all(-1 <= p < len(dep) and p != i for i, p in enumerate(dep.parents))
    # the tree is connected: every node is reached from the root
    assert sorted(dep.preorder()) == list(range(len(dep)))


# ------------------------------------------------------------ real pipeline
def test_dependency_trees_have_one_node_per_word(parsed):
    assert len(parsed) == 2
    for sent in parsed:
        _check_dependency(sent)
        assert len(sent.upos) == len(sent.words) and all(sent.upos)


def test_multiword_tokens_are_expanded(parsed):
    first, second = parsed
    assert "don't" in first.tokens and "do" in first.words and "n't" in first.words
    k = first.words.index("do")
    assert first.word_to_token[k] == first.word_to_token[k + 1] == first.tokens.index("don't")
    assert second.words[:2] == ["It", "'s"] and second.tokens[0] == "It's"
    for sent in parsed:
        assert len(sent.word_to_token) == len(sent.words)
        assert sorted(set(sent.word_to_token)) == list(range(len(sent.tokens)))


def test_constituency_leaves_equal_the_words(parsed):
    for sent in parsed:
        tree = sent.constituency
        assert isinstance(tree, Tree)
        assert tree.words == sent.words == sent.dependency.words
        assert tree.labels[tree.root] != "ROOT"  # strip_root
        assert all(isinstance(lab, str) and lab for lab in tree.labels)
        # words sit on the leaves (preterminals), never on phrase nodes
        assert all((tok is None) == bool(kids) for tok, kids in zip(tree.tokens, tree.children))


@pytest.mark.parametrize("factor", ["left", "right"])
def test_binarized_trees_have_at_most_two_children(parser, factor):
    doc = parser.pipeline("The quick brown fox jumps over the very lazy dog , and the cat sleeps .")
    plain = StanzaParser.from_document(doc)
    binary = StanzaParser.from_document(doc, binarize=factor)
    assert plain[0].constituency.max_children > 2  # the test sentence needs binarizing
    for sent in binary:
        tree = sent.constituency
        assert tree.max_children <= 2
        assert all(len(k) != 1 for k in tree.children)  # unary chains collapsed
        assert tree.words == sent.words
        assert sent.dependency == plain[0].dependency  # dependency trees untouched
    kept = StanzaParser.from_document(doc, binarize=factor, collapse_unary=False)[0].constituency
    assert kept.max_children <= 2 and kept.words == plain[0].words


def test_instance_from_document_matches_parse(parser, parsed):
    doc = parser.pipeline(TEXT)
    again = parser.from_document(doc)
    assert [s.dependency for s in again] == [s.dependency for s in parsed]
    assert [s.constituency for s in again] == [s.constituency for s in parsed]


def test_many_texts_in_one_bulk_call(parser, parsed, monkeypatch):
    calls = []
    real = parser.pipeline.process
    monkeypatch.setattr(parser.pipeline, "process", lambda docs, *a, **k: calls.append(len(docs)) or real(docs, *a, **k))
    texts = ["The dog barks.", "", TEXT, "   ", "Cats sleep. Birds sing. Fish swim."]
    out = parser.parse(texts)
    assert calls == [3, 3]  # one bulk call per stage (the tokenizer, then the rest) for the three non-empty texts
    assert [len(r) for r in out] == [1, 0, 2, 0, 3]
    assert out[0][0].words == ["The", "dog", "barks", "."]
    assert [s.words for s in out[2]] == [s.words for s in parsed]
    assert [s.dependency for s in out[2]] == [s.dependency for s in parsed]
    assert [s.index for s in out[4]] == [0, 1, 2]
    for doc in out:
        for sent in doc:
            _check_dependency(sent)
            assert sent.constituency.words == sent.words


def test_empty_and_whitespace_text(parser):
    assert parser.parse("") == []
    assert parser.parse("  \n\t  ") == []
    assert parser.parse([]) == []
    assert parser.parse(["", "\n\n"]) == [[], []]
    assert parser("") == []


def test_bad_input_types(parser):
    with pytest.raises(TypeError, match="string"):
        parser.parse(42)
    with pytest.raises(TypeError, match="text 1"):
        parser.parse(["fine", None])


def test_pretokenized_constituency_only(stanza_dir):
    p = StanzaParser(dir=stanza_dir, dependency=False, tokenize_pretokenized=True, binarize="right")
    assert "depparse" not in p.processors and "mwt" not in p.processors
    out = p.parse("Do n't split me\nSecond sentence here .")
    assert [s.words for s in out] == [["Do", "n't", "split", "me"], ["Second", "sentence", "here", "."]]
    for s in out:
        assert s.dependency is None
        assert s.constituency.words == s.words and s.constituency.max_children <= 2


# ------------------------------------------------------- constructor checks
@pytest.mark.parametrize("kwargs, message", [
    ({"dependency": False, "constituency": False}, "nothing to parse"),
    ({"binarize": "middle"}, "binarize"),
    ({"batch_sizes": {"ner": 10}}, "ner"),
    ({"batch_sizes": {"pos": 0}}, "positive"),
    ({"processors": "tokenize"}, "processors"),
])
def test_bad_options_fail_before_loading(stanza_dir, kwargs, message):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        StanzaParser(dir=stanza_dir, **kwargs)
    assert time.perf_counter() - start < 2.0


def test_missing_models_empty_dir(tmp_path):
    start = time.perf_counter()
    with pytest.raises(MissingStanzaModelError) as info:
        StanzaParser(dir=tmp_path)
    assert time.perf_counter() - start < 2.0
    msg = str(info.value)
    assert str(tmp_path) in msg and "resources.json" in msg
    assert "stanza.download('en')" in msg and "STANZA_RESOURCES_DIR" in msg and "dir=" in msg
    assert isinstance(info.value, RuntimeError)


def test_missing_model_files_are_named(tmp_path, stanza_dir):
    """resources.json without the model files: stanza's own error, with the file and how to get it."""
    shutil.copy(os.path.join(stanza_dir, "resources.json"), tmp_path / "resources.json")
    with pytest.raises(MissingStanzaModelError) as info:
        StanzaParser(dir=tmp_path, constituency=False)
    msg = str(info.value)
    assert os.path.join(str(tmp_path), "en") in msg
    assert "stanza.download('en')" in msg and "STANZA_RESOURCES_DIR" in msg
    assert isinstance(info.value.__cause__, FileNotFoundError)  # detected from stanza's own exception


def test_missing_model_file_of_one_processor(tmp_path, stanza_dir):
    """All models but the constituency parser's: the error names that processor's file."""
    shutil.copytree(stanza_dir, tmp_path / "res")
    shutil.rmtree(tmp_path / "res" / "en" / "constituency")
    StanzaParser(dir=tmp_path / "res", constituency=False)  # what is there loads
    with pytest.raises(MissingStanzaModelError, match=r"constituency"):
        StanzaParser(dir=tmp_path / "res", dependency=False)


def test_unknown_language(stanza_dir):
    with pytest.raises(RuntimeError, match="'xx'.*unsupported"):
        StanzaParser(lang="xx", dir=stanza_dir)


def test_lazy_parser_loads_on_first_parse(tmp_path, stanza_dir):
    lazy = StanzaParser(dir=tmp_path, lazy=True)  # nothing there, but nothing loaded yet
    assert lazy._pipeline is None and "stanza" in lazy.cache_key()
    with pytest.raises(MissingStanzaModelError):
        lazy.parse("Dogs bark.")


def test_cache_key_names_what_changes_the_trees(stanza_dir):
    base = StanzaParser(dir=stanza_dir, constituency=False, lazy=True)
    assert isinstance(base, Parser)
    assert base.cache_key() == StanzaParser(dir=stanza_dir, constituency=False, lazy=True).cache_key()
    assert base.cache_key() == StanzaParser(dir=stanza_dir, constituency=False, lazy=True,
                                            batch_sizes={"pos": 100}).cache_key()  # speed only
    for other in (dict(constituency=True), dict(tokenize_pretokenized=True), dict(lang="fr")):
        options = dict(dir=stanza_dir, constituency=False, lazy=True)
        options.update(other)
        assert StanzaParser(**options).cache_key() != base.cache_key(), other
    binarized = StanzaParser(dir=stanza_dir, dependency=False, binarize="right", lazy=True)
    assert binarized.cache_key() != StanzaParser(dir=stanza_dir, dependency=False, lazy=True).cache_key()


def test_missing_models_via_environment_never_hangs(tmp_path):
    """STANZA_RESOURCES_DIR is read at call time; the error comes fast, in a fresh process."""
    code = textwrap.dedent("""
        from treenets.parsers import StanzaParser, MissingStanzaModelError
        try:
            StanzaParser()
        except MissingStanzaModelError as err:
            print("MISSING:", err)
        """)
    env = dict(os.environ, STANZA_RESOURCES_DIR=str(tmp_path), PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "MISSING:" in result.stdout and str(tmp_path) in result.stdout
    assert "Traceback" not in result.stderr


# -------------------------------------------------- documents, no model needed
def test_from_document_on_conllu_needs_no_model():
    doc = CoNLL.conll2doc(input_str=CONLLU)
    sents = StanzaParser.from_document(doc)
    assert [s.words for s in sents] == [["I", "do", "n't", "know", "."], ["Hi", "there"]]
    first = sents[0]
    assert first.dependency.parents == [3, 3, 3, -1, 3]
    assert first.dependency.rels == ["nsubj", "aux", "advmod", "root", "punct"]
    assert first.tokens == ["I", "don't", "know", "."] and first.word_to_token == [0, 1, 1, 2, 3]
    assert first.constituency is None and first.text == "I don't know."
    assert sents[1].dependency == Tree.from_parents(["Hi", "there"], [0, 1], rels=["root", "advmod"])


def test_from_document_required_trees_missing():
    doc = CoNLL.conll2doc(input_str=CONLLU)
    with pytest.raises(ValueError, match="sentence 1 .*no constituency tree"):
        sentences_from_document(doc, constituency=True)
    assert sentences_from_document(doc, dependency=False)[0].dependency is None
    with pytest.raises(ValueError, match="binarize"):
        sentences_from_document(doc, binarize="up")
    with pytest.raises(TypeError, match="stanza.Document"):
        sentences_from_document("not a document")


def test_from_document_reads_constituency_comment_and_checks_alignment():
    text = textwrap.dedent("""\
        # text = The dog barks.
        # constituency = (ROOT (S (NP (DT The) (NN dog)) (VP (VBZ barks)) (. .)))
        1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
        2\tdog\tdog\tNOUN\tNN\t_\t3\tnsubj\t_\t_
        3\tbarks\tbark\tVERB\tVBZ\t_\t0\troot\t_\t_
        4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_
        """)
    sent = StanzaParser.from_document(CoNLL.conll2doc(input_str=text))[0]
    assert str(sent.constituency) == "(S (NP (DT The) (NN dog)) (VP (VBZ barks)) (. .))"
    bad = CoNLL.conll2doc(input_str=text.replace("(NN dog)", "(NN cat)"))
    with pytest.raises(ValueError, match="do not match the words.*word 2: leaf 'cat' vs word 'dog'"):
        StanzaParser.from_document(bad)


def test_stanza_tree_to_tree():
    from stanza.models.constituency import tree_reader

    tree = tree_reader.read_trees("(ROOT (S (NP (DT the) (NN dog)) (VP (VBZ barks))))")[0]
    converted = stanza_tree_to_tree(tree)
    assert str(converted) == "(S (NP (DT the) (NN dog)) (VP (VBZ barks)))"
    assert stanza_tree_to_tree(tree, strip_root=False).labels[0] == "ROOT"


def test_multi_word_tokens_from_the_dictionary_by_default(stanza_dir):
    parser = StanzaParser(dir=stanza_dir, constituency=False)
    (sent,) = parser.parse("I'm sure the movie's plot wasn't great.")
    assert sent.words[:2] == ["I", "'m"] and "n't" in sent.words  # the treebank's own expansions
    assert "movie's" in sent.words  # an unseen token stays one word: never split into letters
    assert parser.cache_key() != StanzaParser(dir=stanza_dir, constituency=False, mwt="model",
                                              lazy=True).cache_key()
    with pytest.raises(ValueError, match="mwt must be"):
        StanzaParser(dir=stanza_dir, mwt="neural")
