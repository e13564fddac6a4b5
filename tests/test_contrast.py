"""The A-but-B rule (Hu et al. 2016) on the root: finding B, the reweighting, config, shipped models."""
import json
import math

import pytest
import torch

import treenets as tn
from _model_files import confident_tiny_model, resum
from treenets.models.contrast import (
    GRID, apply_contrast_rule, check_contrast_rule, choose_weight, find_contrast, reweight,
)
from treenets.models.ensemble import SentimentEnsemble
from treenets.models.explain import node_words
from treenets.models.polarity import polarity_groups, polarity_probs
from treenets.models.temperature import root_log_probs

from conftest import load_example

SST = [
    "(3 (1 (2 slow) (2 start)) (3 (2 but) (4 (2 a) (4 (4 wonderful) (2 ending)))))",
    "(1 (2 The) (1 (2 plot) (1 (2 is) (1 dull))))",
    "(1 (3 (2 (2 Great) (2 cast)) (2 but)) (1 (2 a) (1 (1 dull) (2 script))))",
    "(2 (2 A) (2 (2 man) (2 (2 plays) (2 guitar))))",
]


def words_of(tree, node):
    return " ".join(tree.tokens[i] for i in node_words(tree)[node])


def b_phrase(brackets, node=None):
    tree = tn.Tree.from_brackets(brackets)
    found = find_contrast(tree, node)
    if found is None:
        return None
    assert tree.tokens[found[0]].lower() == "but"
    return words_of(tree, found[1])


# ------------------------------------------------------------------ finding B
def test_b_is_the_highest_node_starting_after_but():
    # right-branching: (A (but B))
    assert b_phrase(SST[0]) == "a wonderful ending"
    # left-branching: ((A but) B)
    assert b_phrase(SST[2]) == "a dull script"
    # B ends with the sentence's full stop when the tree puts it there
    assert b_phrase("(3 (1 dull) (3 (2 but) (4 (4 (4 great) (2 fun)) (2 .))))") == "great fun ."
    # the node starting after "but" whose parent starts with "but": B is that node, not its parent
    assert b_phrase("(3 (1 dull) (3 (3 (2 but) (4 great)) (2 fun)))") == "great"
    # no rule on "but"-less sentences
    assert b_phrase(SST[1]) is None


def test_but_without_a_or_without_b_does_not_fire():
    assert b_phrase("(2 (2 But) (3 (2 it) (3 works)))") is None  # "But ..." opens the sentence: no A
    assert b_phrase("(2 (2 ``) (2 (2 But) (3 (2 it) (3 works))))") is None  # punctuation is no A
    assert b_phrase("(2 (2 nothing) (2 (2 but) (2 .)))") is None  # nothing after it but punctuation
    # a sentence opening with "But" that holds another one: the rule reads the second
    assert b_phrase("(3 (2 But) (3 (1 slow) (3 (2 but) (4 fun))))") == "fun"


def test_case_punctuation_and_the_first_of_several_buts():
    assert b_phrase("(3 (1 dull) (3 (2 BUT) (4 fun)))") == "fun"
    # punctuation right after "but" is skipped: B starts at the next word
    assert b_phrase("(3 (1 dull) (3 (2 but) (3 (2 ,) (4 (4 great) (2 fun)))))") == "great fun"
    # several: the first, and B as high as the tree allows (here it holds the second "but", as Hu et al.'s
    # "everything after the first but" does) ...
    right = "(3 (1 A) (3 (2 but) (3 (1 B) (3 (2 but) (4 C)))))"
    assert b_phrase(right) == "B but C"
    # ... or only up to where the tree closes it
    left = "(3 (1 (1 A) (1 (2 but) (1 B))) (3 (2 but) (4 C)))"
    assert b_phrase(left) == "B"


def test_the_rule_reads_inside_a_given_node_only():
    tree = tn.Tree.from_brackets("(3 (1 (1 dull) (2 but)) (3 (4 (4 fun) (2 ,)) (2 really)))")
    left, right = tree.children[tree.root]
    assert words_of(tree, find_contrast(tree)[1]) == "fun , really"  # the highest node starting at "fun"
    assert find_contrast(tree, left) is None  # "dull but": its B lies outside it
    assert find_contrast(tree, right) is None


def test_other_words_are_only_measured():
    tree = tn.Tree.from_brackets("(3 (1 dull) (3 (2 though) (4 fun)))")
    assert find_contrast(tree) is None
    assert words_of(tree, find_contrast(tree, word="though")[1]) == "fun"


def test_a_dependency_tree_has_no_b():
    # "dull but fun": "fun" (under the root "dull") heads "but", so no node starts after "but"
    tree = tn.Tree.from_parents(["dull", "but", "fun"], [0, 3, 1])  # heads from 1, 0: the root
    assert find_contrast(tree) is None


# ------------------------------------------------------------------ the equation
def test_weight_zero_is_the_identity():
    probs = torch.tensor([[0.7, 0.3], [0.2, 0.8]])
    sigma = torch.tensor([[0.1, 0.0, 0.9], [0.9, 0.0, 0.1]])
    assert reweight(probs, sigma, ([0], [], [1]), 0.0) is probs
    tree = tn.Tree.from_brackets("(3 (1 dull) (3 (2 but) (4 fun)))")
    full = torch.rand(len(tree), 5).softmax(1)
    for off in (0, None, 0.0):
        out, firings = apply_contrast_rule(full, [tree], tn.models.default_labels(5), off)
        assert out is full and firings == [None]


def test_two_classes_by_hand():
    # p(neg, pos) = (0.8, 0.2); B says (0.1, 0.9); C = 2:
    # q(neg) ~ 0.8 exp(-2 (1 - 0.1)), q(pos) ~ 0.2 exp(-2 (1 - 0.9))
    q = reweight(torch.tensor([[0.8, 0.2]]), torch.tensor([[0.1, 0.0, 0.9]]), ([0], [], [1]), 2.0)
    neg, pos = 0.8 * math.exp(-1.8), 0.2 * math.exp(-0.2)
    assert q[0].tolist() == pytest.approx([neg / (neg + pos), pos / (neg + pos)])
    assert q[0, 1] == pytest.approx(0.553224, abs=1e-6)  # the answer turns positive, as B is


def test_five_classes_follow_their_polarity():
    labels = tn.models.default_labels(5)
    groups = polarity_groups(labels)
    p = torch.tensor([[0.3, 0.3, 0.2, 0.15, 0.05]])
    sigma = torch.tensor([[0.1, 0.2, 0.7]])
    c = 3.0
    q = reweight(p, sigma, groups, c)[0]
    assert float(q.sum()) == pytest.approx(1.0)
    # within a polarity the ratio stays; across, it moves by exp(C (sigma_a - sigma_b))
    assert float(q[0] / q[1]) == pytest.approx(1.0)
    assert float(q[3] / q[4]) == pytest.approx(3.0)
    assert float(q[3] / q[0]) == pytest.approx(0.5 * math.exp(c * (0.7 - 0.1)))
    assert float(q[2] / q[0]) == pytest.approx((0.2 / 0.3) * math.exp(c * (0.2 - 0.1)))


def test_only_roots_where_the_rule_fires_change():
    labels = tn.models.default_labels(5)
    trees = [tn.Tree.from_brackets(s) for s in SST]
    n = sum(len(t) for t in trees)
    torch.manual_seed(0)
    full = torch.randn(n, 5).softmax(1)
    out, firings = apply_contrast_rule(full, trees, labels, 4.0)
    changed = (out != full).any(dim=1).nonzero().flatten().tolist()
    offsets = [0]
    for t in trees[:-1]:
        offsets.append(offsets[-1] + len(t))
    assert changed == [offsets[0] + trees[0].root, offsets[2] + trees[2].root]
    assert [f is not None for f in firings] == [True, False, True, False]
    f = firings[0]
    assert words_of(trees[0], f.b_node) == "a wonderful ending" and f.weight == 4.0 and f.word == "but"
    assert torch.equal(f.before, full[trees[0].root])
    sigma = polarity_probs(full[offsets[0] + f.b_node][None], labels)
    want = reweight(full[trees[0].root][None], sigma, polarity_groups(labels), 4.0)[0]
    assert torch.allclose(out[trees[0].root], want)
    with pytest.raises(ValueError, match="rows of probabilities"):
        apply_contrast_rule(full[:-1], trees, labels, 4.0)


# ------------------------------------------------------------------ config
@pytest.mark.parametrize("bad", [3, None, {"weight": -1}, {"weight": 101}, {"weight": "2"}, {"weight": True},
                                 {"weight": float("nan")}, {"C": 2}, {"weight": 1, "words": ["yet"]}, []])
def test_check_contrast_rule_refuses_with_file_and_key(bad):
    with pytest.raises(ValueError, match=r"^config\.json: \"model\.contrast_rule\" must be an object"):
        check_contrast_rule(bad, "config.json", "model.contrast_rule")


def test_check_contrast_rule_accepts():
    assert check_contrast_rule({"weight": 0}) == {"weight": 0.0}
    assert check_contrast_rule({"weight": 2.5}) == {"weight": 2.5}
    assert check_contrast_rule({"weight": 100}) == {"weight": 100.0}


@pytest.fixture()
def tiny():
    return confident_tiny_model(SST)


def test_without_the_key_nothing_changes(tiny, tmp_path):
    model, trees = tiny
    assert model.contrast_weight is None and "contrast_rule" not in model.config
    batch = model.batch(trees)
    with torch.no_grad():
        softmax = (model(batch) / model.temperature).softmax(dim=1)
    assert torch.equal(model.class_probs(batch), softmax)  # bit for bit
    results = model.predict(trees)
    assert all(r.contrast is None and "contrast" not in r.to_dict() for r in results)
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert "contrast_rule" not in config["model"]
    loaded = tn.load(tmp_path / "m")
    assert loaded.contrast_weight is None
    assert [r.to_dict() for r in loaded.predict(trees)] == [r.to_dict() for r in results]


def test_the_weight_is_saved_loaded_and_checked(tiny, tmp_path):
    model, trees = tiny
    model.contrast_weight = 2.5
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["contrast_rule"] == {"weight": 2.5}
    loaded = tn.load(tmp_path / "m")
    assert loaded.contrast_weight == 2.5
    assert torch.equal(loaded.class_probs(loaded.batch(trees)), model.class_probs(model.batch(trees)))
    for bad in ({"weight": -0.5}, {"weight": "high"}, 4):
        config["model"]["contrast_rule"] = bad
        (tmp_path / "m" / "config.json").write_text(json.dumps(config))
        resum(tmp_path / "m", "config.json")
        with pytest.raises(ValueError, match=r"config\.json: \"model\.contrast_rule\" must be an object"):
            tn.load(tmp_path / "m")
    with pytest.raises(ValueError, match="contrast_rule"):
        model.contrast_weight = -1
    with pytest.raises(ValueError, match="contrast_rule"):
        tn.SentimentModel(model.vocab, 8, 6, contrast_rule={"weight": 1e9})
    model.contrast_weight = None
    assert "contrast_rule" not in model.config


def test_the_rule_in_predict_json_and_deciding_phrases(tiny):
    model, trees = tiny
    tree = trees[0]  # slow start but a wonderful ending
    before = model.predict(tree)[0]
    model.contrast_weight = 100.0  # B decides whatever the root thought
    after = model.predict(tree)[0]
    assert after.contrast is not None and after.contrast["phrase"] == "a wonderful ending"
    assert after.contrast["label_before"] == before.label and after.contrast["polarity_before"] == before.polarity
    b = after.contrast["b_node"]
    assert after.polarity == after.node_polarity[b]  # C = 100: the root follows B
    assert after.contrast["changed"] == (after.label != before.label or after.polarity != before.polarity)
    if after.contrast["changed"]:
        assert after.deciding_phrases() == ["a wonderful ending"]
    record = after.to_dict()
    assert record["contrast"]["phrase"] == "a wonderful ending" and json.dumps(record)
    # every other node, and the sentences where it does not fire, as without the rule
    assert after.node_probs[:tree.root] + after.node_probs[tree.root + 1:] == \
        before.node_probs[:tree.root] + before.node_probs[tree.root + 1:]
    no_but = [r.to_dict() for r in model.predict(trees[1:2])]
    model.contrast_weight = None
    assert no_but == [r.to_dict() for r in model.predict(trees[1:2])]
    # predict_batch and classify give the same answer
    model.contrast_weight = 100.0
    classes, probs = model.predict_batch(model.batch([tree]))
    assert probs[tree.root].tolist() == pytest.approx([after.probs[k] for k in model.predicted_labels])
    doc = model.classify([tree])[0]
    assert doc.probs == pytest.approx(after.polarity_probs)


def test_temperature_is_fit_without_the_rule(tiny):
    model, trees = tiny
    plain = root_log_probs(model, trees)
    model.contrast_weight = 50.0
    ruled = root_log_probs(model, trees)
    assert torch.equal(plain[0], ruled[0])


def test_an_ensembles_own_rule_and_its_members_rules_off(tiny, tmp_path):
    model, trees = tiny
    model.save(tmp_path / "a")
    other = tn.load(tmp_path / "a")
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.1)
    other.save(tmp_path / "b")
    a, b = tn.load(tmp_path / "a"), tn.load(tmp_path / "b")
    mean = (a.class_probs(a.batch(trees)) + b.class_probs(b.batch(trees))) / 2
    a.contrast_weight = b.contrast_weight = 9.0  # members' rules never apply inside an ensemble
    ens = SentimentEnsemble([a, b])
    assert torch.allclose(ens.class_probs(trees), mean)
    ens.contrast_weight = 3.0
    want, firings = apply_contrast_rule(mean, trees, a.labels, 3.0)
    assert torch.allclose(ens.class_probs(trees), want) and firings[0] is not None
    assert ens.predict(trees[0])[0].contrast["weight"] == 3.0
    (tmp_path / "ens").mkdir()
    spec = {"task": "sentiment", "members": ["a", "b"], "contrast_rule": {"weight": 3.0}}
    (tmp_path / "ens" / "ensemble.json").write_text(json.dumps(spec))
    loaded = tn.load(tmp_path / "ens")
    assert loaded.contrast_weight == 3.0 and torch.allclose(loaded.class_probs(trees), want)
    spec["contrast_rule"] = {"weight": -3}
    (tmp_path / "ens" / "ensemble.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=r"ensemble\.json: \"contrast_rule\" must be an object"):
        tn.load(tmp_path / "ens")


# ------------------------------------------------------------------ choosing C on dev
class _Fixed:
    """A stand-in model: fixed two-class probabilities per node."""

    labels = ["negative", "positive"]

    def __init__(self, probs):
        self.probs = probs

    def prepare(self, tree):
        return tree

    def batch(self, trees):
        return list(trees)

    def class_probs(self, trees, contrast_weight=None):
        assert contrast_weight == 0.0
        return torch.cat([self.probs(t) for t in trees])


def test_choose_weight_only_when_strictly_better_and_the_smallest_of_the_best():
    # root leans negative (0.6), B "fun" clearly positive, gold positive: any C >= 0.5 fixes it
    trees = [tn.Tree.from_brackets("(3 (1 dull) (3 (2 but) (4 fun)))").map_labels(int),
             tn.Tree.from_brackets("(1 (2 so) (1 dull))").map_labels(int)]

    def probs(tree):
        rows = torch.full((len(tree), 2), 0.5)
        rows[tree.root] = torch.tensor([0.6, 0.4])
        for i, tok in enumerate(tree.tokens):
            if tok == "fun":
                rows[i] = torch.tensor([0.05, 0.95])
        return rows

    found = choose_weight(_Fixed(probs), trees, GRID)
    assert found["roots"] == 2 and found["fires"] == 1
    assert found["grid"][0.0] == 50.0 and found["grid"][0.5] == 100.0 and found["weight"] == 0.5
    # nothing better than C = 0: the rule stays off
    same = choose_weight(_Fixed(lambda t: torch.full((len(t), 2), 0.5)), trees, GRID)
    assert same["weight"] is None
    with pytest.raises(ValueError, match="must hold 0"):
        choose_weight(_Fixed(probs), trees, [1.0, 2.0])


def test_the_selection_script_writes_the_choice(tiny, tmp_path, monkeypatch):
    model, trees = tiny
    model.save(tmp_path / "m")
    script = load_example("contrast_rule")
    monkeypatch.setattr(script, "choose_weight", lambda *a, **k: {
        "weight": 1.5, "grid": {0.0: 50.0, 1.5: 60.0}, "roots": 10, "fires": 2, "word": "but"})
    monkeypatch.setattr(script, "load_sst", lambda *a, **k: trees)
    out = script.main([str(tmp_path / "m"), "--out", str(tmp_path / "w"), "--data-dir", str(tmp_path)])
    assert out[str(tmp_path / "m")]["weight"] == 1.5
    written = tn.load(tmp_path / "w")
    assert written.contrast_weight == 1.5 and written.metadata["contrast_rule"]["dev_grid"] == {"0": 50.0,
                                                                                                 "1.5": 60.0}
    monkeypatch.setattr(script, "choose_weight", lambda *a, **k: {
        "weight": None, "grid": {0.0: 50.0, 1.5: 50.0}, "roots": 10, "fires": 2, "word": "but"})
    script.main([str(tmp_path / "w"), "--write", "--data-dir", str(tmp_path)])
    assert tn.load(tmp_path / "w").contrast_weight is None  # off again: the key is gone


# ------------------------------------------------------------------ shipped models
def test_shipped_weights_are_the_dev_choices():
    for name in ("sst2", "sst5"):
        model = tn.load(name)
        meta = model.metadata["contrast_rule"]
        assert model.contrast_weight == meta["weight"]
        grid = {float(k): v for k, v in meta["dev_grid"].items()}
        assert grid[model.contrast_weight] > grid[0.0]
        assert min(w for w, v in grid.items() if v == max(grid.values())) == model.contrast_weight


def test_shipped_sst5_end_to_end():
    model = tn.load("sst5")
    text = ("(3 (2 (2 The) (2 (2 plot) (2 (2 was) (1 boring)))) (3 (2 but) (3 (2 (2 the) (2 acting)) "
            "(3 (2 was) (4 great)))))")
    ruled = model.predict(text)[0]
    tree = ruled.tree
    assert ruled.contrast is not None and ruled.contrast["weight"] == model.contrast_weight
    assert ruled.contrast["phrase"] == "the acting was great"
    weight = model.contrast_weight
    model.contrast_weight = None
    plain = model.predict(text)[0]
    assert ruled.node_probs[:tree.root] == plain.node_probs[:tree.root]
    # the root's answer by the equation, from the model's own probabilities without the rule
    full = model.class_probs(model.batch([tree]))
    sigma = polarity_probs(full[ruled.contrast["b_node"]][None], model.labels)
    want = reweight(full[tree.root][None], sigma, polarity_groups(model.labels), weight)[0]
    assert [ruled.probs[k] for k in model.labels] == pytest.approx(want.tolist(), abs=1e-6)
    model.contrast_weight = 8.0  # a weight that lets B win here, to see the explanation follow
    strong = model.predict(text)[0]
    assert strong.polarity == "positive" and strong.contrast["changed"]
    assert strong.deciding_phrases() == ["the acting was great"]
    assert strong.to_dict()["deciding"] == [{"id": strong.contrast["b_node"], "phrase": "the acting was great"}]
    assert "[B of the 'but' rule, which changed the answer]" in strong.titles()[strong.contrast["b_node"]]
    from treenets.cli.main import render_text

    assert f'contrast rule: "the acting was great" after "but" turned {strong.contrast["polarity_before"]}' \
        in render_text(strong)


def test_evaluate_scores_the_answers_with_the_rule(tiny):
    model, trees = tiny
    plain = model.evaluate(trees)
    model.contrast_weight = 100.0
    ruled = model.evaluate(trees)
    results = model.predict(trees)
    names = model.labels
    gold = [names[int(t.labels[t.root])] for t in trees]
    assert ruled["root_acc"] == pytest.approx(100.0 * sum(r.label == g for r, g in zip(results, gold)) / len(trees))
    assert ruled["roots"] == plain["roots"] and ruled["nodes"] == plain["nodes"]
    model.contrast_weight = None
    assert model.evaluate(trees) == plain


def test_shipped_transformer_models_carry_their_dev_choice(minilm_dir):
    for name in ("sst5-minilm", "sst-ensemble"):
        model = tn.load(name)
        meta = model.metadata["contrast_rule"]
        assert model.contrast_weight == meta["weight"] and meta["fires"] == 100 and meta["roots"] == 872
        grid = {float(k): v for k, v in meta["dev_grid"].items()}
        assert grid[model.contrast_weight] > grid[0.0]


def test_cli_json_names_b(capsys):
    from treenets import cli

    text = "(3 (1 (2 slow) (2 start)) (3 (2 but) (4 (2 a) (4 (4 wonderful) (2 ending)))))"
    assert cli.main(["predict", "--model", "sst5", "--format", "json", text]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["contrast"]["phrase"] == "a wonderful ending" and record["contrast"]["weight"] == 2.0
    assert cli.main(["predict", "--model", "sst5", "--format", "json", "(1 (2 A) (1 (1 dull) (2 film)))"]) == 0
    assert "contrast" not in json.loads(capsys.readouterr().out.splitlines()[0])
