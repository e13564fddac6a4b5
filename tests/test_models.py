import pytest
import torch

import treenets as tn
from treenets.models import build_cell


def _trees():
    return [tn.Tree.from_brackets("(3 (2 The) (4 (3 (2 movie) (4 rocks)) (2 .)))"),
            tn.Tree.from_brackets("(1 (1 bad) (2 film))")]


@pytest.mark.parametrize("cell", ["nary", "childsum", "slstm"])
def test_sentiment_checkpoint_round_trip(tmp_path, cell):
    torch.manual_seed(0)
    trees = _trees()
    vocab = tn.Vocab.build(t.words for t in trees)
    model = tn.SentimentModel(len(vocab), 8, 6, 5, cell=cell, cell_options={"leaf_input_only": True}).eval()
    batch = tn.TreeBatch.from_trees(trees, vocab)
    before = model(batch)
    tn.save_checkpoint(tmp_path / "m.pt", model, vocab, mode="fine")
    loaded, vocab2, extra = tn.load_checkpoint(tmp_path / "m.pt")
    assert extra["mode"] == "fine"
    assert vocab2.itos == vocab.itos and vocab2["zebra"] == vocab["zebra"]
    after = loaded.eval()(tn.TreeBatch.from_trees(trees, vocab2))
    torch.testing.assert_close(before, after)


def test_relatedness_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    a = tn.Tree.from_parents(["a", "dog", "runs"], [2, 3, 0])
    b = tn.Tree.from_parents(["the", "cat", "sleeps"], [2, 3, 0])
    vocab = tn.Vocab.build([a.words, b.words])
    model = tn.RelatednessModel(len(vocab), 8, 6, 4, cell_options={"output_gate": False}).eval()
    left, right = tn.TreeBatch.from_trees([a], vocab), tn.TreeBatch.from_trees([b], vocab)
    before = model(left, right)
    assert before.shape == (1, 5)
    torch.testing.assert_close(before.exp().sum(1), torch.ones(1))
    tn.save_checkpoint(tmp_path / "r.pt", model, vocab)
    loaded, _, _ = tn.load_checkpoint(tmp_path / "r.pt")
    torch.testing.assert_close(before, loaded.eval()(left, right))
    assert loaded.encoder.embedding.weight.requires_grad is False  # frozen, as in the paper


def test_model_parameters_exclude_embedding():
    model = tn.SentimentModel(10, 4, 3, 5)
    names = {id(p) for p in model.model_parameters()}
    assert id(model.encoder.embedding.weight) not in names
    assert len(names) == len([p for p in model.parameters()]) - 1


def test_bad_checkpoint_and_cell_names(tmp_path):
    with pytest.raises(FileNotFoundError):
        tn.load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a treenets checkpoint"):
        tn.load_checkpoint(junk)
    with pytest.raises(ValueError, match="unknown cell"):
        build_cell("gru", 3, 3)


def test_relatedness_mismatched_batches():
    model = tn.RelatednessModel(10, 4, 3)
    one = tn.TreeBatch.from_trees([tn.Tree.chain(["a"])])
    two = tn.TreeBatch.from_trees([tn.Tree.chain(["a"]), tn.Tree.chain(["b"])])
    with pytest.raises(ValueError, match="1 left trees but 2 right trees"):
        model(one, two)
