"""parse_and_encode: parsing, caching, encoders, edge cases (needs stanza + the offline models)."""
import warnings

import pytest
import torch

import treenets as tn
from treenets import api

stanza = pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")


@pytest.fixture(scope="module")
def parsers_(stanza_dir):
    from treenets.parsers import StanzaParser

    torch.set_num_threads(1)
    return {
        "dependency": StanzaParser(dir=str(stanza_dir), dependency=True, constituency=False),
        "constituency": StanzaParser(dir=str(stanza_dir), dependency=False, constituency=True, binarize="right"),
    }


@pytest.mark.parametrize("kind", ["dependency", "constituency"])
def test_one_result_per_sentence(parsers_, tmp_path, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = tn.parse_and_encode(["The movie was great. I loved it!", "Bad."], tree=kind,
                                      encoder="untrained", parser=parsers_[kind], cache=tmp_path)
    assert len(results) == 3
    for r in results:
        assert r.node_states.shape == (len(r.tree), 150)
        assert r.root.shape == (150,)
        torch.testing.assert_close(r.root, r.node_states[r.tree.root])
        assert r.trained is False and r.encoder == "untrained"
    if kind == "dependency":
        assert results[0].tree.words == ["The", "movie", "was", "great", "."]
        assert all(t is not None for t in results[0].tree.tokens)
    else:
        assert results[0].tree.max_children <= 2
        assert results[0].tree.words == ["The", "movie", "was", "great", "."]


def test_states_match_running_the_encoder_directly(parsers_, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = tn.parse_and_encode("A dog runs in the park.", encoder="untrained", parser=parsers_["dependency"],
                                      cache=tmp_path)
    encoder, vocab = api.default_encoder("dependency")
    h, _ = encoder(tn.TreeBatch.from_trees([results[0].tree], vocab))
    torch.testing.assert_close(results[0].node_states, h.detach())


def test_cache_hit_does_not_parse_again(parsers_, tmp_path):
    class Counting:
        kinds = ("dependency",)

        def __init__(self, inner):
            self.inner, self.calls, self.key = inner, 0, inner.cache_key()

        def cache_key(self):
            return self.key

        def parse(self, texts):
            self.calls += 1
            return self.inner.parse(texts)

    counting = Counting(parsers_["dependency"])
    first = api.parse(["Cats sleep.", "Dogs bark loudly."], "dependency", counting, cache=tmp_path)
    second = api.parse(["Cats sleep.", "Dogs bark loudly."], "dependency", counting, cache=tmp_path)
    assert counting.calls == 1
    assert first == second
    assert tn.parsers.ParseCache(tmp_path).info()["entries"] == 2
    # a different configuration is a different key
    counting.key += " other"
    api.parse(["Cats sleep."], "dependency", counting, cache=tmp_path)
    assert counting.calls == 2


def test_empty_and_blank_text_give_no_sentences(tmp_path):
    class Exploding:
        def cache_key(self):
            return "exploding"

        def parse(self, texts):
            raise AssertionError("blank text must not reach the parser")

    assert tn.parse_and_encode("", parser=Exploding(), cache=tmp_path) == []
    assert tn.parse_and_encode(["  ", "\n\t"], parser=Exploding(), cache=tmp_path) == []


def test_long_input(parsers_, tmp_path):
    text = " ".join(["The quick brown fox jumps over the lazy dog."] * 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = tn.parse_and_encode(text, encoder="untrained", parser=parsers_["dependency"], cache=tmp_path,
                                      batch_size=7)
    assert len(results) == 40
    assert all(r.tree.words[:2] == ["The", "quick"] for r in results)
    torch.testing.assert_close(results[0].node_states, results[-1].node_states)


def test_trained_encoder_and_conversions(parsers_, tmp_path):
    trees = api.parse(["A man is playing a guitar."], "dependency", parsers_["dependency"], cache=tmp_path)[0]
    vocab = tn.Vocab.build(t.words for t in trees)
    model = tn.RelatednessModel(vocab, 6, 5, 4)
    tn.save_checkpoint(tmp_path / "m.pt", model)
    results = tn.parse_and_encode("A man is playing a guitar.", encoder=str(tmp_path / "m.pt"),
                                  parser=parsers_["dependency"], cache=tmp_path)
    assert results[0].trained is True and results[0].node_states.shape[1] == 5
    batch = api.batch_results(results, vocab)
    assert batch.num_trees == 1 and batch.node_data["h"].shape == (len(results[0].tree), 5)
    with pytest.raises(ValueError, match="vocab"):
        tn.parse_and_encode("A man.", encoder=model.encoder, parser=parsers_["dependency"], cache=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a model is a trained encoder that brings its own vocabulary
        from_model = tn.parse_and_encode("A man is playing a guitar.", encoder=model, parser=parsers_["dependency"],
                                         cache=tmp_path)
    torch.testing.assert_close(from_model[0].node_states, results[0].node_states)


def test_the_default_encoder_is_the_trained_sst5_model(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the default is trained
        results = tn.parse_and_encode("The movie was great. I loved it!", cache=tmp_path)
    assert len(results) == 2 and all(r.trained and r.encoder == "sst5" for r in results)
    sst5 = tn.load("sst5")
    assert results[0].node_states.shape == (len(results[0].tree), sst5.config["hidden_size"])
    assert results[0].tree.max_children == 2  # the model's own parser: binarized constituency trees
    h, _ = sst5.encoder(sst5.batch([results[0].tree]))
    torch.testing.assert_close(results[0].node_states, h.detach())
    with pytest.raises(ValueError, match="reads constituency trees, not dependency"):
        tn.parse_and_encode("Dogs bark.", tree="dependency", cache=tmp_path)
    sick = tn.parse_and_encode("Dogs bark.", encoder="sick", cache=tmp_path)
    assert sick[0].encoder == "sick" and sick[0].tree.tokens == ["Dogs", "bark", "."]


def test_a_model_directory_as_encoder(tmp_path, parsers_):
    trees = api.parse(["A man is playing a guitar."], "dependency", parsers_["dependency"], cache=tmp_path)[0]
    model = tn.RelatednessModel(tn.Vocab.build(t.words for t in trees), 6, 5, 4)
    model.save(tmp_path / "model")
    results = tn.parse_and_encode("A man is playing a guitar.", encoder=tmp_path / "model", cache=tmp_path)
    assert results[0].encoder == str(tmp_path / "model") and results[0].node_states.shape[1] == 5


def test_bad_arguments():
    with pytest.raises(ValueError, match="tree must be one of"):
        tn.parse_and_encode("x", tree="semantic")
    with pytest.raises(TypeError):
        api.parse([3], "dependency", cache=False)


def test_untrained_default_is_seeded_and_identical():
    a, _ = api.default_encoder("constituency")
    b, _ = api.default_encoder("constituency")
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert isinstance(a.cell, tn.NaryTreeLSTM)


def test_result_converts_to_a_dgl_graph(parsers_, tmp_path):
    pytest.importorskip("dgl", reason="DGL is an optional extra (pip install 'treenets[dgl]')")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = tn.parse_and_encode("Dogs bark at night.", encoder="untrained", parser=parsers_["dependency"],
                                     cache=tmp_path)[0]
    g = result.to_dgl()
    assert g.num_nodes() == len(result.tree) and g.num_edges() == len(result.tree) - 1
    torch.testing.assert_close(g.ndata["h"], result.node_states)
    back = tn.TreeBatch.from_dgl(g)
    assert back.parent.tolist() == result.tree.parents


def test_an_empty_constituent_names_its_text(tmp_path, monkeypatch):
    """A wordless leaf used to fail as "leaf node 11 (tree 3)", counting trees within the encoder's batch."""
    from treenets.parsers import BracketParser

    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    texts = ["(S (A a) (B b))"] * 3 + ["(S (A a) (B))"]
    with warnings.catch_warnings(), pytest.raises(ValueError, match=r"input 4, sentence 1: leaf node 2 \(from 0\) has no word"):
        warnings.simplefilter("ignore")
        tn.parse_and_encode(texts, parser=BracketParser(), encoder="untrained", tree="constituency", batch_size=2)
