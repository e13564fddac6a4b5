"""predict and similarity: inputs (raw text, brackets, Trees, iterables), results, the model-owned parser, SVG."""
import itertools
import math
import xml.etree.ElementTree as ET

import pytest
import torch

import treenets as tn
from treenets.formats import is_bracketed
from treenets.formats.svg import OTHER_COLOR, SENTIMENT_COLORS, write_html

SVG = "{http://www.w3.org/2000/svg}"
SST = ["(3 (2 The) (4 (3 (2 movie) (4 rocks)) (2 .)))", "(1 (2 A) (1 (1 dull) (2 film)))"]


@pytest.fixture(scope="module")
def tiny():
    trees = [tn.Tree.from_brackets(s) for s in SST]
    torch.manual_seed(0)
    model = tn.SentimentModel(tn.Vocab.build((t.words for t in trees), lower=True, normalize="ptb"), 8, 6,
                              cell_options={"leaf_input_only": True})
    return model.eval(), trees


@pytest.fixture(scope="module")
def stanza_ready(stanza_dir):
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    return stanza_dir


def test_bracket_strings_are_recognized():
    assert is_bracketed("(S (NP (DT The) (NN cat)) (VP (VBZ sleeps)))")
    assert is_bracketed("  (3 (2 The) (4 rocks))") and is_bracketed("((S (NP x) (VP y)))")
    assert is_bracketed("(S (NP a) (VP b)) (S (NP c) (VP d))")  # two trees
    for prose in ["(See below.)", "(This is (really) good)", "(a b)", "The (cat) sat.", "(Hello (world))",
                  "(x (y z)", "(x (y z)))", "", "()", "Great movie!"]:
        assert not is_bracketed(prose), prose


def test_predict_trees_and_brackets(tiny):
    model, trees = tiny
    results = model.predict([trees[0], SST[1], "(S (NP (DT a) (NN b)) (VP c) (X d))"])
    assert [r.input for r in results] == [1, 2, 3] and [r.sentence for r in results] == [1, 1, 1]  # from 1
    assert results[0].tree == trees[0] and results[0].text == "The movie rocks ."
    assert results[1].text == "A dull film"
    assert results[2].tree.max_children == 2  # binarized the model's way
    names = model.labels
    for r in results:
        assert r.label in names and set(r.probs) == set(names)
        assert math.isclose(sum(r.probs.values()), 1.0, rel_tol=1e-5)
        assert len(r.node_labels) == len(r.node_probs) == len(r.tree)
        assert r.label == r.node_labels[r.tree.root] and r.probs == r.node_probs[r.tree.root]
        assert all(lab == max(p, key=p.get) for lab, p in zip(r.node_labels, r.node_probs))
    classes, probs = model.predict_batch(model.batch(trees[:1]))
    assert results[0].node_labels == [names[c] for c in classes.tolist()]
    assert results[0].node_probs[0]["neutral"] == pytest.approx(probs[0, 2].item())


def test_predict_batches_streams_and_keeps_the_mode(tiny):
    model, trees = tiny
    model.train()
    many = [trees[i % 2] for i in range(7)]
    eager = model.predict(many, batch_size=64)
    lazy = model.predict(iter(many), batch_size=2, lazy=True)
    assert not isinstance(lazy, list)
    first = next(lazy)
    assert first.input == 1 and first.probs == eager[0].probs
    rest = list(lazy)
    assert [r.input for r in rest] == list(range(2, 8))
    assert [r.probs for r in rest] == [r.probs for r in eager[1:]]
    assert model.training  # predict puts the mode back
    model.eval()
    # a generator that never ends: lazily, only what is asked for is read
    endless = model.predict((trees[0] for _ in itertools.count()), batch_size=3, lazy=True)
    assert len(list(itertools.islice(endless, 5))) == 5


def test_predict_rejects_what_it_cannot_read(tiny):
    model, _ = tiny
    with pytest.raises(TypeError, match="input 2: expected a string or a treenets.Tree, got a int"):
        model.predict(["(S (NP a) (VP b))", 3])
    with pytest.raises(ValueError, match="input_format"):
        model.predict("x", input_format="xml")
    with pytest.raises(ValueError, match="input 1: "):
        model.predict("(S (NP a) (VP b", input_format="brackets")
    dep = tn.SentimentModel(tn.Vocab(["a"]), 4, 3, cell="childsum")
    with pytest.raises(ValueError, match="reads dependency trees"):
        dep.predict("(S (NP (DT a) (NN b)) (VP c))")
    # lazily, an input that cannot be read yields its error in its place, and the others go on
    from treenets.parsers import ParseError

    out = list(model.predict(["(S (NP a) (VP b))", 3, "(S (NP a) (VP b"], input_format="brackets", lazy=True))
    assert [type(r).__name__ for r in out] == ["SentimentResult", "ParseError", "ParseError"]
    assert [r.input for r in out] == [1, 2, 3] and isinstance(out[1], ParseError)
    assert out[1].reason == "expected a string or a treenets.Tree, got a int"


def test_results_to_dict_and_drawing(tiny):
    model, trees = tiny
    r = model.predict(trees[0])[0]
    record = r.to_dict()
    assert record["label"] == r.label and len(record["nodes"]) == len(r.tree)
    assert record["nodes"][r.tree.root]["phrase"] == "The movie rocks ."
    assert [n["word"] for n in record["nodes"] if n["word"]] == ["The", "movie", "rocks", "."]
    drawing = r.draw(unicode=False)
    assert drawing.splitlines()[-1].split() == ["The", "movie", "rocks", "."]
    assert str(r).startswith(r.label)


def _svg_circles(svg):
    root = ET.fromstring(svg)
    return root, root.findall(f".//{SVG}circle")


def test_svg_has_one_coloured_shape_per_node_matching_the_labels(tiny):
    model, trees = tiny
    for r in model.predict([trees[0], trees[1]]):
        root, circles = _svg_circles(r.to_svg())
        assert len(circles) == len(r.tree)
        assert [c.get("fill") for c in circles] == [SENTIMENT_COLORS[lab] for lab in r.node_labels]
        assert [c.find(f"{SVG}title").text.split(" (")[0] for c in circles] == r.node_labels
        words = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "word"]
        assert words == r.tree.words
        assert r._repr_svg_() == r.to_svg()


def test_svg_colours_the_sst_demo_scale_and_escapes_text():
    tree = tn.Tree.from_brackets("(S (A <b>&amp;</b>) (B x) (C y) (D z) (E w) (F v))")
    labels = ["very negative", "very positive", "negative", "neutral", "positive", "very negative", "mystery"]
    svg = tn.formats.svg.tree_svg(tree, labels, caption="a <caption> & more")
    root, circles = _svg_circles(svg)
    fills = [c.get("fill") for c in circles]
    assert fills == [SENTIMENT_COLORS.get(lab, OTHER_COLOR) for lab in labels]
    assert SENTIMENT_COLORS["very negative"] != SENTIMENT_COLORS["negative"] != SENTIMENT_COLORS["neutral"]
    assert "<b>&amp;</b>" in [t.text for t in root.iter(f"{SVG}text")]
    page = write_html([tn.formats.svg.LabelledTree(tree, labels, caption="x < y")])
    assert page.startswith("<!DOCTYPE html>") and "x &lt; y" in page and page.count("<svg") == 1
    with pytest.raises(ValueError, match="labels"):
        tn.formats.svg.tree_svg(tree, labels[:2])


# ------------------------------------------------------------- with stanza
def test_the_model_owns_its_parser(stanza_ready, tmp_path, tiny):
    """A constituency model parses raw text into binarized constituency trees, whatever the caller's default."""
    from treenets import api

    model, _ = tiny
    assert api.default_parser().kinds == ("dependency",)  # the library's default is dependency
    parser = model.parser()
    assert parser.kinds == ("constituency",) and parser.binarize == "right" and model.parser() is parser
    results = model.predict("The movie was not bad at all. I loved it!", cache=tmp_path)
    assert [r.input for r in results] == [1, 1] and [r.sentence for r in results] == [1, 2]
    assert results[0].text == "The movie was not bad at all."
    for r in results:
        tree = r.tree
        assert tree.max_children <= 2
        assert all(tree.tokens[i] is None for i in range(len(tree)) if tree.children[i])  # words at the leaves
    dep = tn.SentimentModel(model.vocab, 8, 6, cell="childsum")
    assert dep.parser().kinds == ("dependency",)
    assert all(t is not None for t in dep.predict("Dogs bark.", cache=tmp_path)[0].tree.tokens)


@pytest.mark.parametrize("name, labels", [("sst5", 5), ("sst2", 2)])
def test_pretrained_sentiment_models_predict_raw_text(stanza_ready, tmp_path, name, labels):
    model = tn.load(name)
    texts = ["This is one of the best films of the year, a joy from start to finish.",
             "A boring, lifeless and thoroughly unpleasant mess."]
    results = model.predict(texts, cache=tmp_path)
    assert len(results) == 2 and len(results[0].probs) == labels
    good, bad = (sum(p for k, p in r.probs.items() if "positive" in k) for r in results)
    assert good > 0.5 > bad


def test_pretrained_similarity(stanza_ready, tmp_path):
    model = tn.load("sick")
    same = model.similarity("A man is playing a guitar.", "A man is playing the guitar.", cache=tmp_path)
    scores = model.similarity(["A man is playing a guitar.", "A dog runs in the park."],
                              ["A man plays a guitar.", "The stock market fell sharply today."], cache=tmp_path)
    assert isinstance(same, float) and 1.0 <= same <= 5.0 and len(scores) == 2
    assert scores[0] > 4.0 > 2.5 > scores[1]
    # one text is one sentence: the model's parser does not split it
    assert isinstance(model.similarity("A man sings. He plays.", "A man sings.", cache=tmp_path), float)
    with pytest.raises(ValueError, match="b\\[0\\] is blank"):
        model.similarity(["A man sings."], [" "], cache=tmp_path)
    with pytest.raises(ValueError, match="same length"):
        model.similarity(["a"], ["b", "c"])
    with pytest.raises(TypeError, match="two sentences or two lists"):
        model.similarity("a", ["b"])
