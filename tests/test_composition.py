"""Composition: polarity (neutral as an answer), deciding phrases and flips, one verdict per text,
vocabulary coverage, and the measurements of treenets.models.analysis / examples/composition.py."""
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch

import treenets as tn
from treenets.models.analysis import (
    ScoredTree, composition_metrics, contrast_nodes, expected_calibration_error, negation_nodes,
)
from treenets.models.coverage import COVERAGE_THRESHOLD, coverage, coverage_warning
from treenets.models.document import aggregate
from treenets.models.explain import deciding_nodes, node_words, polarity_flips, trimmed_phrase
from treenets.models.polarity import decide_polarity, polarity_probs

from conftest import load_example

FIXTURE = Path(__file__).parent / "data" / "composition_fixture.tsv"
SST = ["(3 (2 The) (4 (3 (2 movie) (4 rocks)) (2 .)))", "(1 (2 A) (1 (1 dull) (2 film)))",
       "(3 (1 (2 It) (1 (2 is) (1 (2 not) (3 good)))) (3 (2 but) (4 (4 fun) (2 .))))",
       "(2 (2 (2 A) (2 man)) (2 (2 plays) (2 guitar)))"]
# "(The plot was boring) (but (the acting was great .))": polarity ids per node below
CONTRAST = ("(S (S (NP (DT The) (NN plot)) (VP (V was) (A boring))) (S' (CC but) (S'' (S (NP (DT the) (NN acting)) "
            "(VP (V was) (A great))) (. .))))")


# ------------------------------------------------------------------ polarity
def test_polarity_from_five_three_and_two_classes():
    five = torch.tensor([[0.1, 0.2, 0.3, 0.25, 0.15]])
    p = polarity_probs(five, tn.models.default_labels(5))
    assert p.tolist()[0] == pytest.approx([0.3, 0.3, 0.4])
    three = torch.tensor([[0.1, 0.8, 0.1]])  # sst2's masked neutral class, unmasked
    assert polarity_probs(three, ["negative", "neutral", "positive"]).tolist()[0] == pytest.approx([0.1, 0.8, 0.1])
    two = torch.tensor([[0.45, 0.55]])
    assert polarity_probs(two, ["negative", "positive"]).tolist()[0] == pytest.approx([0.45, 0.0, 0.55])
    with pytest.raises(ValueError, match="names no polarity"):
        polarity_probs(two, ["0", "1"])


def test_decide_polarity_rules():
    probs = torch.tensor([[0.3, 0.35, 0.35], [0.5, 0.45, 0.05], [0.55, 0.0, 0.45]])
    assert decide_polarity(probs).tolist() == [1, 0, 0]  # most probable (ties: the first)
    assert decide_polarity(probs, neutral_threshold=0.4).tolist() == [2, 1, 0]
    assert decide_polarity(probs, neutral_threshold=0.5).tolist() == [2, 0, 0]
    assert decide_polarity(probs, neutral_threshold=0.3).tolist() == [1, 1, 0]
    # a two-class model abstains below the confidence threshold
    assert decide_polarity(probs, neutral_threshold=0.9, abstain_threshold=0.6).tolist() == [1, 0, 1]


# ------------------------------------------------------------------ why
def test_deciding_phrase_of_x_but_y_is_y():
    tree = tn.Tree.from_brackets(CONTRAST)
    spans = node_words(tree)
    phrase = {i: " ".join(tree.tokens[k] for k in spans[i]) for i in range(len(tree))}
    by_phrase = {v: k for k, v in phrase.items()}
    pol = ["neutral"] * len(tree)
    for text, p in [("The plot was boring but the acting was great .", "positive"),
                    ("The plot was boring", "negative"), ("was boring", "negative"), ("boring", "negative"),
                    ("but the acting was great .", "positive"), ("the acting was great .", "positive"),
                    ("the acting was great", "positive"), ("was great", "positive"), ("great", "positive")]:
        pol[by_phrase[text]] = p
    deciding = deciding_nodes(tree, pol)
    assert [trimmed_phrase(tree, spans[i]) for i in deciding] == ["the acting was great"]
    flips = polarity_flips(tree, pol)
    assert (by_phrase["The plot was boring"], tree.root) in flips and len(flips) == 1
    # a neutral root is decided by itself; no flip through neutral
    assert deciding_nodes(tree, ["neutral"] * len(tree)) == [tree.root]
    assert polarity_flips(tree, ["neutral"] * len(tree)) == []


def test_trimmed_phrase_keeps_words_only_when_nothing_else():
    tree = tn.Tree.from_brackets("(X (Y but) (Z .))")
    spans = node_words(tree)
    assert trimmed_phrase(tree, spans[tree.root]) == "but ."


# ------------------------------------------------------------------ results, documents, coverage
@pytest.fixture(scope="module")
def tiny():
    trees = [tn.Tree.from_brackets(s) for s in SST]
    torch.manual_seed(0)
    vocab = tn.Vocab.build((t.words for t in trees), lower=True, normalize="ptb")
    model = tn.SentimentModel(vocab, 8, 6, cell_options={"leaf_input_only": True})
    return model.eval(), trees


def test_results_carry_polarity_reasons_and_coverage(tiny):
    model, trees = tiny
    results = model.predict(trees)
    for r in results:
        assert r.polarity in ("negative", "neutral", "positive")
        assert math.isclose(sum(r.polarity_probs.values()), 1.0, rel_tol=1e-5)
        five = r.probs
        assert r.polarity_probs["negative"] == pytest.approx(five["very negative"] + five["negative"], abs=1e-6)
        assert len(r.node_polarity) == len(r.tree) and r.deciding and r.coverage == 1.0 and r.warnings == []
        record = json.loads(json.dumps(r.to_dict()))
        assert record["polarity"] == r.polarity and record["deciding"][0]["phrase"] == r.deciding_phrases()[0]
        assert all("polarity" in n for n in record["nodes"]) and record["coverage"] == 1.0
    # a neutral node is drawn and pictured as neutral
    r = results[0]
    shown = r.display_labels()
    assert all(s == "neutral" for s, p in zip(shown, r.node_polarity) if p == "neutral")
    svg = ET.fromstring(r.to_svg())
    circles = svg.iter("{http://www.w3.org/2000/svg}circle")
    classes = {c.get("data-node"): c.get("class") for c in circles}
    assert all("deciding" in classes[str(i)] for i in r.deciding)


def test_unknown_words_give_a_warning(tiny):
    model, _ = tiny
    r = model.predict(tn.Tree.from_brackets("(2 (2 Ce) (2 (2 film) (2 (2 était) (2 magnifique))))"))[0]
    assert r.coverage == pytest.approx(0.25)  # only "film" is known
    assert r.warnings and "25%" in r.warnings[0] and "coverage" in r.to_dict()["warnings"][0]
    assert coverage(model.vocab, [".", ","]) == 1.0 and coverage(tn.Vocab(), ["a"]) is None
    assert coverage_warning(COVERAGE_THRESHOLD) is None


def test_one_verdict_per_text_is_the_word_weighted_mean(tiny):
    model, trees = tiny
    docs = model.classify([trees[0], trees[1]])
    assert [d.input for d in docs] == [1, 2] and [len(d.sentences) for d in docs] == [1, 1]
    results = model.predict(trees)
    for r in results:  # pretend they are the sentences of one input
        r.input = 1
    doc = aggregate(results)
    weights = [len(r.tree.words) for r in results]
    for pol in ("negative", "neutral", "positive"):
        want = sum(w * r.polarity_probs[pol] for w, r in zip(weights, results)) / sum(weights)
        assert doc.probs[pol] == pytest.approx(want, rel=1e-5)
    assert doc.label == max(doc.probs, key=doc.probs.get)
    assert doc.to_dict()["sentences"] == len(trees) and "word-weighted" in doc.to_dict()["rule"]
    with pytest.raises(ValueError, match="several inputs"):
        results[0].input = 2
        aggregate(results)


# ------------------------------------------------------------------ analysis
def test_negation_and_contrast_nodes_are_found():
    tree = tn.Tree.from_brackets(SST[2])
    words = node_words(tree)
    [(node, x)] = negation_nodes(tree)
    assert [tree.tokens[k] for k in words[x]] == ["good"] and tree.labels[node] == "1"
    [(node, x, y)] = contrast_nodes(tree)
    assert node == tree.root and [tree.tokens[k] for k in words[y]] == ["fun", "."]


def _scored(tree, p_pos, p_neu=None):
    """A ScoredTree whose every node has P(positive) p_pos[i] (rest negative, or p_neu neutral)."""
    n = len(tree)
    neu = torch.zeros(n) if p_neu is None else torch.tensor(p_neu)
    pos = torch.tensor(p_pos)
    probs3 = torch.stack([1 - pos - neu, neu, pos], 1)
    return ScoredTree(tree, probs3, decide_polarity(probs3))


def test_composition_metrics_count_what_they_say():
    tree = tn.Tree.from_brackets(SST[2])
    order = {" ".join(tree.tokens[k] for k in span): i for i, span in enumerate(node_words(tree))}
    p = [0.5] * len(tree)
    p[order["good"]], p[order["not good"]] = 0.9, 0.2  # an inversion: negated positive right
    p[order["It is not good but fun ."]] = 0.7  # root right (gold 3)
    right = composition_metrics([_scored(tree, p)])
    assert right["negated_positive"] == {"acc": 100.0, "n": 1}
    assert right["binary_root_negator"]["acc"] == right["binary_root_contrast"]["acc"] == 100.0
    assert right["binary_root_rest"]["n"] == 0 and right["but"] == {"acc": 100.0, "n": 1}
    p[order["not good"]] = 0.6  # no inversion
    p[order["It is not good but fun ."]] = 0.3
    wrong = composition_metrics([_scored(tree, p)])
    assert wrong["negated_positive"]["acc"] == 0.0 and wrong["binary_root_all"]["acc"] == 0.0
    assert wrong["but"]["acc"] == 0.0
    neutral = tn.Tree.from_brackets(SST[3])
    m = composition_metrics([_scored(neutral, [0.05] * len(neutral), [0.9] * len(neutral))])
    assert m["neutral_roots"] == {"answered_neutral": 100.0, "confident_polarity": 0.0, "n": 1}


def test_expected_calibration_error():
    assert expected_calibration_error([0.9, 0.9], [True, True]) == pytest.approx(0.1)
    assert expected_calibration_error([0.95, 0.55], [True, False]) == pytest.approx((0.05 + 0.55) / 2)
    with pytest.raises(ValueError):
        expected_calibration_error([], [])


# ------------------------------------------------------------------ the script, on tiny data
def test_composition_script_on_tiny_data(tmp_path, tiny):
    model, trees = tiny
    sst = tmp_path / "sst"
    sst.mkdir()
    for split in ("dev", "test"):
        (sst / f"{split}.txt").write_text("\n".join(SST) + "\n", encoding="utf-8")
    model.save(tmp_path / "model")
    script = load_example("composition")
    out = script.main(["--models", f"tiny={tmp_path / 'model'}", f"two={tmp_path / 'model'}+{tmp_path / 'model'}",
                       "--data-dir", str(tmp_path), "--no-fixture", "--out", str(tmp_path / "r.json")])
    assert set(out) == {"tiny", "two"}
    one, two = out["tiny"], out["two"]
    assert one["binary_root_all"]["n"] == 3 and one["neutral_roots"]["n"] == 1
    assert one["negated_positive"]["n"] == 1 and one["but"]["n"] == 1
    # the mean of a model with itself is the model
    assert {k: v for k, v in two.items() if k not in ("model", "members")} == \
        {k: v for k, v in one.items() if k not in ("model", "members")}
    assert json.loads((tmp_path / "r.json").read_text())["tiny"]["ece"]["n"] == 3


def test_fixture_is_well_formed():
    script = load_example("composition")
    rows = script.read_fixture(FIXTURE)
    assert len(rows) >= 40
    cats = {r["category"] for r in rows}
    assert cats == {"negated_praise", "negated_criticism", "but_pos", "but_neg", "neutral"}
    assert all(sum(r["category"] == c for r in rows) >= 8 for c in cats)


# ------------------------------------------------------------------ which model to use
def test_known_models_say_what_they_are_recommended_for():
    cards = tn.known_models(details=True)
    assert [c["name"] for c in cards] == tn.known_models()
    for card in cards:
        assert card["task"] in ("sentiment", "relatedness") and isinstance(card["available"], bool)
        assert all(isinstance(rank, int) for rank in card["recommended_for"].values())
    for use in ("sentiment", "binary", "relatedness"):
        name = tn.default_model(use)
        card = next(c for c in cards if c["name"] == name)
        assert card["available"] and use in card["recommended_for"]
        better = [c for c in cards if use in c["recommended_for"]
                  and c["recommended_for"][use] < card["recommended_for"][use]]
        assert all(not c["available"] for c in better)  # the best one this installation can run
    with pytest.raises(tn.models.UnknownModelError, match="no installed pretrained model"):
        tn.default_model("poetry")


def test_a_model_needing_a_missing_extra_fails_in_one_line(tmp_path, monkeypatch):
    import importlib.util

    from treenets.utils.extras import CONTEXTUAL_EXTRA, missing_extra

    config = {"model": {"embedding": {"kind": "contextual", "model_name_or_path": "all-MiniLM-L6-v2"}}}
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "transformers" else real(name, *a))
    assert missing_extra(config) == CONTEXTUAL_EXTRA
    assert missing_extra({"model": {}}) is None


# ------------------------------------------------------------------ ensembles
def test_an_ensemble_is_the_mean_of_its_members(tiny, tmp_path):
    from treenets.models.ensemble import SentimentEnsemble

    model, trees = tiny
    torch.manual_seed(1)
    other = tn.SentimentModel(model.vocab, 8, 6, cell_options={"leaf_input_only": True}).eval()
    ens = SentimentEnsemble([model, other], name="pair")
    want = (model.class_probs(model.batch(trees)) + other.class_probs(other.batch(trees))) / 2
    assert torch.allclose(ens.class_probs(ens.batch(trees)), want)
    results = ens.predict(trees)
    assert results[0].polarity is not None and len(results) == len(trees)
    assert ens.evaluate([t.map_labels(int) for t in trees])["roots"] == len(trees)
    with pytest.raises(ValueError, match="differ in 'labels'"):
        SentimentEnsemble([model, tn.SentimentModel(model.vocab, 8, 6, 2)])
    # a folder with ensemble.json loads as the mean of the models it names (beside it or pretrained)
    model.save(tmp_path / "a")
    other.save(tmp_path / "b")
    (tmp_path / "both").mkdir()
    (tmp_path / "both" / "ensemble.json").write_text(json.dumps({"task": "sentiment", "members": ["a", "b"],
                                                                 "metadata": {"neutral_threshold": 0.5}}))
    loaded = tn.load(tmp_path / "both")
    assert isinstance(loaded, SentimentEnsemble) and loaded.polarity_rule() == (0.5, None)
    assert torch.allclose(loaded.class_probs(loaded.batch(trees)), want, atol=1e-6)
    (tmp_path / "both" / "ensemble.json").write_text(json.dumps({"task": "sentiment", "members": []}))
    with pytest.raises(ValueError, match="members"):
        tn.load(tmp_path / "both")


def test_weights_can_be_stored_in_half_precision(tiny, tmp_path):
    model, trees = tiny
    model.save(tmp_path / "half", weights_dtype="float16")
    half = tn.load(tmp_path / "half")
    assert all(p.dtype == torch.float32 for p in half.parameters())
    assert torch.allclose(half.class_probs(half.batch(trees)), model.class_probs(model.batch(trees)), atol=2e-3)


@pytest.fixture(scope="module")
def stanza_ready(stanza_dir):
    pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")
    return stanza_dir


@pytest.mark.xfail(strict=True, reason="the recommended model still labels this sentence negative: stanza parses it "
                   "as VP coordination and 'was boring' wins (0.72 negative); its dev-chosen A-but-B rule (C = 1) "
                   "finds B = 'the acting was great' (positive 0.81) but only moves the root to 0.65 negative, "
                   "C = 4 would flip it and lost on dev (docs/composition.md); the rule itself is checked on a "
                   "hand-built tree in test_deciding_phrase_of_x_but_y_is_y and with sst5 in tests/test_contrast.py")
def test_the_recommended_model_names_the_acting_was_great(stanza_ready, minilm_dir):
    model = tn.load(tn.default_model("binary"))
    result = model.predict("The plot was boring but the acting was great.")[0]
    assert "the acting was great" in result.deciding_phrases()


def test_cli_prints_the_verdict_first_and_one_note_for_unreadable_text(capsys):
    from treenets import cli

    noise = "(2 (2 xqzt) (2 (2 film) (2 (2 blorvik) (2 wugglez))))"
    assert cli.main(["predict", "--model", "sst5", noise]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("input 1: ") and "over 1 sentence" in captured.out.splitlines()[0]
    notes = [line for line in captured.err.splitlines() if line.startswith("treenets: note: input 1: ")]
    assert len(notes) == 1 and "25%" in notes[0]
    assert cli.main(["predict", "--model", "sst5", "--format", "json", noise]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["coverage"] == 0.25 and record["warnings"] and record["document"]["warnings"]
    assert record["polarity"] in ("negative", "neutral", "positive") and record["deciding"]
