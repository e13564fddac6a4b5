import pytest
import torch

import treenets as tn
from treenets.sampler import bucketed_batches
from treenets.training import evaluate_sentiment, minibatches, relatedness_metrics


def test_minibatches_cover_everything_once():
    items = list(range(53))
    batches = list(minibatches(items, 10, torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [10, 10, 10, 10, 10, 3]
    assert sorted(x for b in batches for x in b) == items
    assert list(minibatches(items, 25))[0] == items[:25]  # no generator: in order
    with pytest.raises(ValueError):
        list(minibatches(items, 0))


def test_bucketed_minibatches_follow_bucketed_batches():
    keys = torch.randint(0, 30, (400,), generator=torch.Generator().manual_seed(1)).tolist()
    items = [f"item{i}" for i in range(400)]
    batches = list(minibatches(items, 20, torch.Generator().manual_seed(0), bucket_by=lambda it: keys[int(it[4:])],
                               pool_batches=5))
    expected = bucketed_batches(keys, 20, torch.Generator().manual_seed(0), pool_batches=5)
    assert batches == [[items[i] for i in b] for b in expected]
    with pytest.raises(ValueError, match="pool_batches"):
        list(minibatches(items, 20, bucket_by=len, pool_batches=0))


def test_bucketing_by_height_cuts_levels_per_batch():
    trees = [tn.Tree.chain([f"w{i}" for i in range(n)]) for n in (1, 9, 2, 8, 3, 7, 4, 6)]
    vocab = tn.Vocab.build(t.words for t in trees)
    levels = lambda groups: sum(len(tn.TreeBatch.from_trees(g, vocab).level_sizes) for g in groups)
    bucketed = list(minibatches(trees, 2, bucket_by=lambda t: t.height))
    assert levels(bucketed) < levels(list(minibatches(trees, 2)))


def test_relatedness_metrics_known_values():
    m = relatedness_metrics(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0]))
    assert m["mse"] == pytest.approx(1 / 3)
    assert m["spearman"] == pytest.approx(1.0)
    assert 0.9 < m["pearson"] < 1.0


def test_evaluate_sentiment_counts_roots_and_nodes():
    trees = [tn.Tree.from_brackets("(3 (2 a) (4 b))"), tn.Tree.from_brackets("(1 (0 c) (2 d))")]
    vocab = tn.Vocab.build(t.words for t in trees)
    model = tn.SentimentModel(len(vocab), 4, 3, 5, dropout=0.0)
    with torch.no_grad():  # force every prediction to class 2
        model.classifier.linear.weight.zero_()
        model.classifier.linear.bias.copy_(torch.tensor([0, 0, 5.0, 0, 0]))
    result = evaluate_sentiment(model, trees, vocab)
    assert result["roots"] == 2 and result["nodes"] == 6
    assert result["root_acc"] == 0.0
    assert result["node_acc"] == pytest.approx(100 * 2 / 6)
