import pickle

import pytest
import torch
import torch.nn.functional as F

import treenets as tn
from treenets.data import SickPair
from treenets.models import TaskModel, build_cell


def _trees():
    return [tn.Tree.from_brackets("(3 (2 The) (4 (3 (2 movie) (4 rocks)) (2 .)))"),
            tn.Tree.from_brackets("(1 (1 bad) (2 film))")]


def _pairs():
    a = [tn.Tree.from_parents(["a", "dog", "runs"], [2, 3, 0]), tn.Tree.from_parents(["the", "cat", "sleeps"], [2, 3, 0]),
         tn.Tree.from_parents(["dogs", "bark"], [2, 0])]
    b = [tn.Tree.from_parents(["a", "dog", "walks"], [2, 3, 0]), tn.Tree.from_parents(["a", "man", "sings"], [2, 3, 0]),
         tn.Tree.from_parents(["cats", "sleep"], [2, 0])]
    return [(x, y, s) for x, y, s in zip(a, b, [4.5, 1.2, 2.0])]


def _vocab(trees):
    return tn.Vocab.build(t.words for t in trees)


@pytest.mark.parametrize("cell", ["nary", "childsum", "slstm"])
def test_sentiment_checkpoint_round_trip(tmp_path, cell):
    torch.manual_seed(0)
    trees = _trees()
    vocab = _vocab(trees)
    model = tn.SentimentModel(vocab, 8, 6, 5, cell=cell, cell_options={"leaf_input_only": True}).eval()
    assert model.vocab is vocab
    before = model(model.batch(trees))
    tn.save_checkpoint(tmp_path / "m.pt", model, mode="fine")
    loaded, extra = tn.load_checkpoint(tmp_path / "m.pt")
    assert extra["mode"] == "fine" and loaded.training
    assert loaded.vocab.itos == vocab.itos and loaded.vocab["zebra"] == vocab["zebra"]
    after = loaded.eval()(loaded.batch(trees))
    torch.testing.assert_close(before, after)


def test_relatedness_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    a = tn.Tree.from_parents(["a", "dog", "runs"], [2, 3, 0])
    b = tn.Tree.from_parents(["the", "cat", "sleeps"], [2, 3, 0])
    vocab = tn.Vocab.build([a.words, b.words])
    model = tn.RelatednessModel(vocab, 8, 6, 4, cell_options={"output_gate": False}).eval()
    left, right = model.batch([a]), model.batch([b])
    before = model(left, right)
    assert before.shape == (1, 5)
    torch.testing.assert_close(before.exp().sum(1), torch.ones(1))
    tn.save_checkpoint(tmp_path / "r.pt", model)
    loaded, _ = tn.load_checkpoint(tmp_path / "r.pt")
    torch.testing.assert_close(before, loaded.eval()(left, right))
    assert loaded.encoder.embedding.weight.requires_grad is False  # frozen, as in the paper


def test_models_take_the_vocab_itself():
    with pytest.raises(TypeError, match="takes the Vocab itself"):
        tn.SentimentModel(10, 4, 3)
    with pytest.raises(TypeError, match="takes the Vocab itself"):
        tn.RelatednessModel({"a": 0}, 4, 3)
    vocab = tn.Vocab(["a", "b"])
    model = tn.SentimentModel(vocab, 4, 3)
    assert model.encoder.embedding.num_embeddings == len(vocab) == model.config["vocab_size"]
    assert "vocab=3 words" in repr(model) and isinstance(model, TaskModel)


def test_batch_uses_the_model_vocabulary():
    trees = _trees()
    model = tn.SentimentModel(_vocab(trees), 4, 3)
    batch = model.batch(trees)
    assert batch.num_trees == 2 and batch.device == model.device
    assert batch.word_ids.tolist() == tn.TreeBatch.from_trees(trees, model.vocab).word_ids.tolist()
    unseen = model.batch([tn.Tree.chain(["zebra"])])
    assert unseen.word_ids.tolist() == [model.vocab.unk_index]
    (collated,) = model.collate(trees)
    assert torch.equal(collated.labels, batch.labels)


def test_model_parameters_exclude_embedding():
    model = tn.SentimentModel(tn.Vocab(["a"] * 9), 4, 3, 5)
    names = {id(p) for p in model.model_parameters()}
    assert id(model.encoder.embedding.weight) not in names
    assert len(names) == len([p for p in model.parameters()]) - 1
    assert model.embedding_parameters() == [model.encoder.embedding.weight]


def test_sentiment_loss_reductions():
    torch.manual_seed(0)
    trees = _trees()
    model = tn.SentimentModel(_vocab(trees), 4, 3, dropout=0.0)
    batch = model.batch(trees)
    logits = model(batch)
    per_node = F.cross_entropy(logits, batch.labels, reduction="none")  # every node is labelled here
    # the paper: summed over a tree's nodes, averaged over the trees
    torch.testing.assert_close(model.loss(batch), per_node.sum() / 2)
    torch.testing.assert_close(model.loss(batch, reduction="tree"), per_node.sum() / 2)
    torch.testing.assert_close(model.loss(batch, reduction="mean"), per_node.mean())
    torch.testing.assert_close(model.loss(batch, reduction="sum"), per_node.sum())
    with pytest.raises(ValueError, match="unknown reduction"):
        model.loss(batch, reduction="max")
    unlabelled = tn.TreeBatch.from_trees([tn.Tree.chain(["a", "b"])], model.vocab)
    for reduction in ("tree", "mean", "sum"):  # nothing to learn from: an error, not NaN or a silent zero
        with pytest.raises(ValueError, match="none of the 2 nodes has a label"):
            model.loss(unlabelled, reduction=reduction)


def test_sentiment_loss_trains():
    torch.manual_seed(0)
    trees = _trees()
    model = tn.SentimentModel(_vocab(trees), 4, 3, dropout=0.0)
    batch = model.batch(trees)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.5)
    first = model.loss(batch).item()
    for _ in range(20):
        opt.zero_grad()
        model.loss(batch).backward()
        opt.step()
    assert model.loss(batch).item() < first / 2


def test_sentiment_predict_batch_masks_classes_and_keeps_the_mode():
    torch.manual_seed(0)
    trees = _trees()
    model = tn.SentimentModel(_vocab(trees), 4, 3, 3, masked_classes=(1,), dropout=0.5)
    with torch.no_grad():  # make the masked class the most likely everywhere
        model.classifier.linear.bias.copy_(torch.tensor([0.0, 50.0, 0.0]))
    batch = model.batch(trees)
    classes, probs = model.predict_batch(batch)
    assert model.training  # restored
    assert classes.shape == (batch.num_nodes,) and probs.shape == (batch.num_nodes, 3)
    assert not bool((classes == 1).any())
    assert bool((probs[:, 1] == 0).all())
    torch.testing.assert_close(probs.sum(1), torch.ones(batch.num_nodes))
    assert torch.equal(classes, probs.argmax(1))
    again, _ = model.predict_batch(batch)  # eval mode inside: no dropout, so the same answer
    assert torch.equal(classes, again) and not probs.requires_grad


def test_sentiment_evaluate_counts_roots_and_nodes():
    trees = [tn.Tree.from_brackets("(3 (2 a) (4 b))"), tn.Tree.from_brackets("(1 (0 c) (2 d))")]
    model = tn.SentimentModel(_vocab(trees), 4, 3, 5, dropout=0.0)
    with torch.no_grad():  # force every prediction to class 2
        model.classifier.linear.weight.zero_()
        model.classifier.linear.bias.copy_(torch.tensor([0, 0, 5.0, 0, 0]))
    model.eval()
    result = model.evaluate(trees, batch_size=1)
    assert not model.training  # the mode it had
    assert result == {"root_acc": 0.0, "node_acc": pytest.approx(100 * 2 / 6), "roots": 2, "nodes": 6}
    model.train()
    assert model.evaluate(trees, device="cpu") == result and model.training
    with pytest.raises(ValueError, match="batch_size"):
        model.evaluate(trees, batch_size=0)
    for nothing in ([], [tn.Tree.chain(["a", "b"])]):  # an accuracy over nothing used to be 0%
        with pytest.raises(ValueError, match="nothing to score: 0 labelled roots"):
            model.evaluate(nothing)


def test_sentiment_evaluate_matches_predict_batch():
    torch.manual_seed(1)
    trees = _trees() * 3
    model = tn.SentimentModel(_vocab(trees), 4, 3, 5)
    batch = model.batch(trees)
    classes, _ = model.predict_batch(batch)
    correct = classes == batch.labels
    result = model.evaluate(trees, batch_size=4)
    assert result["node_acc"] == pytest.approx(100 * float(correct.float().mean()))
    assert result["root_acc"] == pytest.approx(100 * float(correct[batch.roots].float().mean()))


def test_relatedness_loss_predict_and_evaluate():
    torch.manual_seed(0)
    pairs = _pairs()
    vocab = tn.Vocab.build(t.words for p in pairs for t in p[:2])
    model = tn.RelatednessModel(vocab, 6, 5, 4)
    left, right, scores = model.collate(pairs)
    assert left.num_trees == right.num_trees == 3 and scores.tolist() == pytest.approx([4.5, 1.2, 2.0])
    log_probs = model(left, right)
    expected = F.kl_div(log_probs, tn.sparse_target(scores), reduction="batchmean")
    torch.testing.assert_close(model.loss(left, right, scores), expected)
    pred = model.predict_batch(left, right)
    assert model.training and pred.shape == (3,) and bool(((pred >= 1) & (pred <= 5)).all())
    torch.testing.assert_close(pred, log_probs.detach().exp() @ torch.arange(1.0, 6.0))
    result = model.evaluate(pairs, batch_size=2)
    assert set(result) == {"pearson", "spearman", "mse", "pairs"} and result["pairs"] == 3
    assert result["mse"] == pytest.approx(float(((pred.double() - torch.tensor([4.5, 1.2, 2.0], dtype=torch.float64))
                                                 ** 2).mean()))
    assert model.training
    # SickPair-like objects work as well as tuples
    sick = [SickPair(str(i), a, b, s) for i, (a, b, s) in enumerate(pairs)]
    assert model.evaluate(sick) == result
    with pytest.raises(TypeError, match="pair 0"):
        model.collate(["not a pair"])
    with pytest.raises(ValueError, match="at least 2 pairs"):
        model.evaluate(pairs[:1])


def test_relatedness_loss_trains():
    torch.manual_seed(0)
    pairs = _pairs()
    model = tn.RelatednessModel(tn.Vocab.build(t.words for p in pairs for t in p[:2]), 6, 5, 4,
                                freeze_embeddings=False)
    inputs = model.collate(pairs)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.2)
    first = model.loss(*inputs).item()
    for _ in range(30):
        opt.zero_grad()
        model.loss(*inputs).backward()
        opt.step()
    assert model.loss(*inputs).item() < first / 2


def test_bad_checkpoint_and_cell_names(tmp_path):
    with pytest.raises(FileNotFoundError):
        tn.load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a treenets checkpoint"):
        tn.load_checkpoint(junk)
    with pytest.raises(ValueError, match="unknown cell"):
        build_cell("gru", 3, 3)


class _Payload:
    """Anything but plain data: unpickling it would run code."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_with_objects_is_refused(tmp_path, capsys):
    model = tn.SentimentModel(tn.Vocab(["a"]), 4, 3)
    tn.save_checkpoint(tmp_path / "ok.pt", model)
    payload = torch.load(tmp_path / "ok.pt", weights_only=True)
    payload["extra"] = {"evil": _Payload()}
    torch.save(payload, tmp_path / "evil.pt", pickle_module=pickle)
    with pytest.raises(ValueError, match="not a treenets checkpoint"):
        tn.load_checkpoint(tmp_path / "evil.pt")
    assert "must never run" not in capsys.readouterr().out


def test_damaged_checkpoint_names_the_problem(tmp_path):
    model = tn.SentimentModel(tn.Vocab(["a", "b"]), 4, 3)
    tn.save_checkpoint(tmp_path / "ok.pt", model)
    payload = torch.load(tmp_path / "ok.pt", weights_only=True)
    payload["vocab"]["itos"] = payload["vocab"]["itos"][:2]
    torch.save(payload, tmp_path / "short.pt")
    with pytest.raises(ValueError, match="short.pt is a damaged treenets checkpoint: the checksum"):
        tn.load_checkpoint(tmp_path / "short.pt")
    torch.save(_sealed(payload), tmp_path / "short.pt")  # changed on purpose, its checksum updated
    with pytest.raises(ValueError, match="damaged.*3 words but its vocabulary has 2"):
        tn.load_checkpoint(tmp_path / "short.pt")


def test_relatedness_mismatched_batches():
    model = tn.RelatednessModel(tn.Vocab(["a", "b"]), 4, 3)
    one = model.batch([tn.Tree.chain(["a"])])
    two = model.batch([tn.Tree.chain(["a"]), tn.Tree.chain(["b"])])
    with pytest.raises(ValueError, match="1 left trees but 2 right trees"):
        model(one, two)


def _sealed(payload):
    """``payload`` with its checksum recomputed: a change made on purpose, which the checks after it must catch."""
    from treenets.utils.digest import content_digest

    if not isinstance(payload, dict) or "sha256" not in payload:
        return payload
    body = {k: v for k, v in payload.items() if k != "sha256"}
    return {**body, "sha256": content_digest(body)}


def _corrupt(base, what):
    payload = {**base, "config": dict(base["config"]), "vocab": dict(base["vocab"]),
               "state_dict": dict(base["state_dict"])}
    first = next(iter(payload["state_dict"]))
    if what == "no config":
        del payload["config"]
    elif what == "config list":
        payload["config"] = [1, 2]
    elif what == "vocab None":
        payload["vocab"] = None
    elif what == "itos int":
        payload["vocab"]["itos"] = 5
    elif what == "itos ints":
        payload["vocab"]["itos"] = [1, 2, 3]
    elif what == "state list":
        payload["state_dict"] = [1]
    elif what == "state shape":
        payload["state_dict"][first] = torch.zeros(7)
    elif what == "state nan":
        payload["state_dict"][first] = torch.full_like(payload["state_dict"][first], float("nan"))
    elif what == "cell_options int":
        payload["config"]["cell_options"] = 5
    elif what == "hidden str":
        payload["config"]["hidden_size"] = "x"
    elif what == "task list":
        payload["task"] = ["sentiment"]
    elif what == "extra list":
        payload["extra"] = [1]
    return payload


@pytest.mark.parametrize("what", ["no config", "config list", "vocab None", "itos int", "itos ints", "state list",
                                  "state shape", "state nan", "cell_options int", "hidden str", "task list",
                                  "extra list"])
def test_corrupt_payloads_are_a_value_error_naming_the_file(tmp_path, what):
    """A corrupt payload used to escape as KeyError or TypeError, or to load (NaN weights, int tokens)."""
    model = tn.SentimentModel(tn.Vocab(["a", "b"]), 4, 3)
    tn.save_checkpoint(tmp_path / "ok.pt", model)
    base = torch.load(tmp_path / "ok.pt", weights_only=True)
    torch.save(_sealed(_corrupt(base, what)), tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"bad\.pt is (not a|a damaged) treenets checkpoint"):
        tn.load_checkpoint(tmp_path / "bad.pt")


def test_truncated_or_flipped_files_are_a_value_error(tmp_path):
    model = tn.SentimentModel(tn.Vocab(["a", "b"]), 4, 3)
    tn.save_checkpoint(tmp_path / "ok.pt", model)
    data = (tmp_path / "ok.pt").read_bytes()
    rng = __import__("random").Random(0)
    for k in range(40):
        bad = bytearray(data[:rng.randrange(len(data))] if k % 2 else data)
        if k % 2 == 0:
            for _ in range(8):
                bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        (tmp_path / "bad.pt").write_bytes(bytes(bad))
        try:
            tn.load_checkpoint(tmp_path / "bad.pt")
        except ValueError as err:
            assert "bad.pt" in str(err)
