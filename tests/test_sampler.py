"""HeightBucketSampler and bucketed_batches: batches of trees of similar height."""
import pytest
import torch
from torch.utils.data import DataLoader

import treenets as tn
from treenets.structures.sampler import HeightBucketSampler, bucketed_batches


def _trees(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 12, (n,), generator=g).tolist()
    return [tn.Tree.chain([f"w{k}" for k in range(m)]) for m in lengths]


def _spread(batches, keys):
    return sum(max(keys[i] for i in b) - min(keys[i] for i in b) for b in batches) / len(batches)


def test_bucketed_batches_use_every_index_once_and_group_similar_keys():
    keys = torch.randint(0, 30, (400,), generator=torch.Generator().manual_seed(1)).tolist()
    batches = bucketed_batches(keys, 20, torch.Generator().manual_seed(0), pool_batches=5)
    assert sorted(i for b in batches for i in b) == list(range(400))
    assert all(len(b) == 20 for b in batches)
    plain = [list(range(i, i + 20)) for i in range(0, 400, 20)]
    assert _spread(batches, keys) < _spread(plain, keys) / 3
    assert bucketed_batches(keys, 20, torch.Generator().manual_seed(0), pool_batches=5) == batches
    firsts = [min(keys[i] for i in b) for b in batches]
    assert firsts != sorted(firsts)  # batch order is shuffled, not sorted by key


def test_bucketed_batches_without_generator_keep_pools_in_order():
    keys = [5, 1, 4, 2, 3, 0]
    assert bucketed_batches(keys, 2, pool_batches=1) == [[1, 0], [3, 2], [5, 4]]
    assert bucketed_batches(keys, 2, pool_batches=3) == [[5, 1], [3, 4], [2, 0]]


@pytest.mark.parametrize("kwargs,match", [({"batch_size": 0}, "batch_size"), ({"pool_batches": 0}, "pool_batches")])
def test_bad_sizes_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bucketed_batches([1, 2, 3], **{"batch_size": 2, **kwargs})
    with pytest.raises(ValueError, match=match):
        HeightBucketSampler([1, 2, 3], **{"batch_size": 2, **kwargs})


@pytest.mark.parametrize("n,batch_size,pool_batches", [(60, 7, 3), (60, 10, 2), (5, 10, 50), (0, 4, 2)])
def test_sampler_length_matches_its_batches(n, batch_size, pool_batches):
    sampler = HeightBucketSampler(_trees(n), batch_size, torch.Generator().manual_seed(0), pool_batches)
    assert len(list(sampler)) == len(sampler)


def test_sampler_feeds_a_dataloader_with_fewer_levels_per_batch():
    trees = _trees(80)
    vocab = tn.Vocab.build(t.words for t in trees)
    collate = lambda ts: tn.TreeBatch.from_trees(ts, vocab)
    sampler = tn.HeightBucketSampler(trees, 8, torch.Generator().manual_seed(0), pool_batches=10)
    bucketed = list(DataLoader(trees, batch_sampler=sampler, collate_fn=collate))
    plain = list(DataLoader(trees, batch_size=8, collate_fn=collate))
    assert sum(b.num_trees for b in bucketed) == len(trees)
    levels = lambda batches: sum(len(b.level_sizes) for b in batches)
    assert levels(bucketed) < levels(plain)
    # a new grouping on every pass; the same one without a generator
    assert list(sampler) != list(sampler)
    fixed = tn.HeightBucketSampler(trees, 8)
    assert list(fixed) == list(fixed)
    assert "80 trees" in repr(fixed)


def test_items_without_a_height_are_named():
    with pytest.raises(TypeError, match=r"item 1 is a str"):
        HeightBucketSampler([tn.Tree.chain(["a"]), "not a tree"], batch_size=2)
    assert HeightBucketSampler([3, 1.5, tn.Tree.chain(["a", "b"])], batch_size=2).heights == [3, 1.5, 1]
