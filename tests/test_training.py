import pytest
import torch

import treenets as tn
from treenets.structures.sampler import bucketed_batches
from treenets.training import minibatches, seed_everything, train_epoch


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


def _sst_like():
    trees = [tn.Tree.from_brackets(s) for s in ("(3 (2 a) (4 good))", "(1 (0 bad) (2 film))", "(4 (4 great) (2 b))",
                                                "(0 (1 awful) (2 c))", "(3 (2 d) (3 (4 fine) (2 e)))")] * 2
    return trees, tn.Vocab.build(t.words for t in trees)


def test_train_epoch_is_the_plain_loop():
    """train_epoch does exactly what the examples did by hand: the same updates, in the same order."""
    trees, vocab = _sst_like()

    def setup():
        torch.manual_seed(0)
        model = tn.SentimentModel(vocab, 6, 5, dropout=0.5)
        opts = [torch.optim.Adagrad(model.model_parameters(), lr=0.05, weight_decay=1e-4),
                torch.optim.SGD(model.embedding_parameters(), lr=0.1)]
        return model, opts

    model, opts = setup()
    torch.manual_seed(5)
    mean = train_epoch(model, minibatches(trees, 3, torch.Generator().manual_seed(1)), opts)

    ref, ref_opts = setup()
    torch.manual_seed(5)
    total = 0.0
    for chunk in minibatches(trees, 3, torch.Generator().manual_seed(1)):
        batch = tn.TreeBatch.from_trees(chunk, vocab)
        loss = ref.classifier.loss(ref(batch), batch.labels, reduction="sum") / batch.num_trees
        for o in ref_opts:
            o.zero_grad()
        loss.backward()
        for o in ref_opts:
            o.step()
        total += loss.item() * len(chunk)
    assert mean == pytest.approx(total / len(trees))
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        assert torch.equal(p, q), name
    assert model.training


def test_train_epoch_learns_both_tasks():
    trees, vocab = _sst_like()
    seed_everything(0)
    model = tn.SentimentModel(vocab, 6, 5, dropout=0.0)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.1)
    losses = [train_epoch(model, minibatches(trees, 4, torch.Generator().manual_seed(e)), [opt]) for e in range(15)]
    assert losses[-1] < losses[0] / 2

    a = [tn.Tree.from_parents(["a", "dog", "runs"], [2, 3, 0]), tn.Tree.from_parents(["cats", "sleep"], [2, 0])]
    b = [tn.Tree.from_parents(["a", "dog", "walks"], [2, 3, 0]), tn.Tree.from_parents(["a", "car"], [2, 0])]
    pairs = [(a[0], b[0], 4.8), (a[1], b[1], 1.1)] * 3
    seed_everything(0)
    rel = tn.RelatednessModel(tn.Vocab.build(t.words for t in a + b), 6, 5, 4, freeze_embeddings=False)
    opt = torch.optim.Adagrad(rel.parameters(), lr=0.1)
    losses = [train_epoch(rel, minibatches(pairs, 2), [opt]) for _ in range(15)]
    assert losses[-1] < losses[0] / 2
    assert rel.evaluate(pairs)["mse"] < 1.0


def test_train_epoch_stops_on_nan():
    trees, vocab = _sst_like()
    model = tn.SentimentModel(vocab, 6, 5)
    with torch.no_grad():
        model.classifier.linear.bias.fill_(float("nan"))
    before = [p.detach().clone() for p in model.model_parameters()]
    opt = torch.optim.SGD(model.model_parameters(), lr=0.1)
    with pytest.raises(FloatingPointError, match="batch 1 is nan"):
        train_epoch(model, minibatches(trees, 4), [opt])
    weight = model.classifier.linear.weight
    assert torch.equal(weight, before[[id(p) for p in model.model_parameters()].index(id(weight))])
    with pytest.raises(ValueError, match="at least one optimizer"):
        train_epoch(model, minibatches(trees, 4), [])


# ------------------------------------------------------------- training state
def _setup_sst(seed=0):
    trees, vocab = _sst_like()
    seed_everything(seed)
    model = tn.SentimentModel(vocab, 6, 5, dropout=0.5)
    opts = [torch.optim.Adagrad(model.model_parameters(), lr=0.05, weight_decay=1e-4),
            torch.optim.SGD(model.embedding_parameters(), lr=0.1, momentum=0.9)]
    sched = [torch.optim.lr_scheduler.StepLR(opts[0], step_size=1, gamma=0.5)]
    return trees, model, opts, sched


def _epochs(model, trees, opts, sched, generator, n):
    for _ in range(n):
        train_epoch(model, minibatches(trees, 3, generator), opts)
        for s in sched:
            s.step()


def test_saved_state_continues_exactly(tmp_path):
    """Two epochs, save, restore into a fresh model, two more epochs == four epochs without a break.

    Dropout, the momentum of SGD, AdaGrad's sums, the scheduler and the data order
    all depend on state that must come back.
    """
    from treenets.training import load_training_state, save_training_state

    trees, model, opts, sched = _setup_sst()
    generator = torch.Generator().manual_seed(3)
    _epochs(model, trees, opts, sched, generator, 4)
    want = {k: v.clone() for k, v in model.state_dict().items()}

    trees, model, opts, sched = _setup_sst()
    generator = torch.Generator().manual_seed(3)
    _epochs(model, trees, opts, sched, generator, 2)
    save_training_state(tmp_path / "last", model=model, optimizers=opts, schedulers=sched, generator=generator,
                        epoch=2, info={"best_score": 12.5, "args": {"seed": 0}})
    assert sorted(p.name for p in (tmp_path / "last").iterdir()) == ["state.json", "state.pt"]
    torch.rand(100)  # the random states move on ...
    _, model, opts, sched = _setup_sst(seed=99)  # ... and a new model starts elsewhere
    generator = torch.Generator().manual_seed(77)
    state = load_training_state(tmp_path / "last")
    assert state.epoch == 2 and state.info == {"best_score": 12.5, "args": {"seed": 0}} and state.world_size == 1
    assert state.restore(model, opts, sched, generator) is True
    _epochs(model, trees, opts, sched, generator, 2)
    for name, value in model.state_dict().items():
        assert torch.equal(value, want[name]), name

    # the check can fail: without the random states the masks differ
    _, model2, opts2, sched2 = _setup_sst(seed=99)
    generator2 = torch.Generator().manual_seed(77)
    state.rng = []
    assert state.restore(model2, opts2, sched2, generator2) is False
    _epochs(model2, trees, opts2, sched2, generator2, 2)
    assert not all(torch.equal(v, want[k]) for k, v in model2.state_dict().items())


def test_training_state_refuses_what_does_not_fit(tmp_path):
    from treenets.training import load_training_state, save_training_state

    trees, model, opts, sched = _setup_sst()
    save_training_state(tmp_path / "s", model=model, optimizers=opts, epoch=1)
    state = load_training_state(tmp_path / "s")
    with pytest.raises(ValueError, match="2 optimizers, this run 1"):
        state.restore(model, opts[:1])
    other = tn.SentimentModel(model.vocab, 6, 7)
    with pytest.raises(ValueError, match="does not fit this model"):
        state.restore(other, [torch.optim.SGD(other.parameters(), lr=1)] * 2)
    with pytest.raises(ValueError, match="no data-order generator"):
        state.restore(model, opts, generator=torch.Generator())
    with pytest.raises(ValueError, match="plain JSON"):
        save_training_state(tmp_path / "t", model=model, optimizers=opts, epoch=1, info={"x": object()})
    assert not (tmp_path / "t").exists()
    with pytest.raises(FileNotFoundError, match=r"no training state at .*nowhere"):
        load_training_state(tmp_path / "nowhere")


def test_training_state_is_plain_data_and_atomic(tmp_path, monkeypatch):
    """A state.pt holding other objects is refused (never unpickled); a failed save keeps the old state."""
    import pickle

    from treenets.training import load_training_state, save_training_state

    _, model, opts, _ = _setup_sst()
    save_training_state(tmp_path / "s", model=model, optimizers=opts, epoch=1)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"model": Evil()}, tmp_path / "s" / "state.pt", pickle_module=pickle)
    with pytest.raises(ValueError, match="is not a treenets training state"):
        load_training_state(tmp_path / "s")

    save_training_state(tmp_path / "s", model=model, optimizers=opts, epoch=1)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_training_state(tmp_path / "s", model=model, optimizers=opts, epoch=2)
    monkeypatch.undo()
    assert load_training_state(tmp_path / "s").epoch == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temporary folder left


def test_rank_seed():
    from treenets.training import rank_seed

    assert rank_seed(5, 0) == 5
    seeds = {rank_seed(5, r) for r in range(1, 9)} | {rank_seed(6, r) for r in range(1, 9)}
    assert len(seeds) == 16 and all(0 <= s < 2 ** 63 for s in seeds)


def test_all_gather_without_a_process_group_is_the_object():
    from treenets.training import all_gather, rng_state

    state = rng_state()
    assert all_gather(state) == [state]


def _flips(data: bytes, n: int):
    """``n`` copies of ``data``, each with one bit flipped, spread over the whole file."""
    for k in range(n):
        out = bytearray(data)
        offset = (k * len(data)) // n + k % 7
        out[offset] ^= 1 << (k % 8)
        yield offset, bytes(out)


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_a_flipped_bit_in_the_training_state_is_an_error_naming_the_file(tmp_path):
    """Every flipped bit either fails to load, with the file named, or leaves what is loaded unchanged
    (a bit in zip bookkeeping that nothing reads); the state never loads with changed values."""
    from treenets.training import load_training_state, save_training_state

    _, model, opts, sched = _setup_sst()
    generator = seed_everything(3)
    save_training_state(tmp_path / "s", model=model, optimizers=opts, schedulers=sched, generator=generator,
                        epoch=2, info={"best_score": 0.5})
    good = load_training_state(tmp_path / "s")
    for name in ("state.pt", "state.json"):
        original = (tmp_path / "s" / name).read_bytes()
        caught = 0
        for offset, data in _flips(original, 40 if name == "state.pt" else 20):
            (tmp_path / "s" / name).write_bytes(data)
            try:
                state = load_training_state(tmp_path / "s")
            except ValueError as err:
                assert name in str(err), (offset, str(err))
                caught += 1
                continue
            assert _same(state.model, good.model) and _same(state.optimizers, good.optimizers), offset
            assert state.epoch == good.epoch and state.info == good.info and _same(state.rng, good.rng), offset
        (tmp_path / "s" / name).write_bytes(original)
        assert caught >= (20 if name == "state.pt" else 18), (name, caught)


def test_state_json_and_state_pt_are_one_unit(tmp_path):
    from treenets.training import load_training_state, save_training_state

    _, model, opts, _ = _setup_sst()
    save_training_state(tmp_path / "a", model=model, optimizers=opts, epoch=1)
    save_training_state(tmp_path / "b", model=model, optimizers=opts, epoch=2)
    (tmp_path / "a" / "state.json").write_bytes((tmp_path / "b" / "state.json").read_bytes())
    with pytest.raises(ValueError, match=r"state\.pt is damaged or was changed.*state\.json beside it"):
        load_training_state(tmp_path / "a")


def test_a_flipped_bit_in_a_checkpoint_is_an_error_naming_the_file(tmp_path):
    _, model, _, _ = _setup_sst()
    tn.save_checkpoint(tmp_path / "m.pt", model, epoch=3)
    good, _ = tn.load_checkpoint(tmp_path / "m.pt")
    original = (tmp_path / "m.pt").read_bytes()
    caught = 0
    for offset, data in _flips(original, 40):
        (tmp_path / "m.pt").write_bytes(data)
        try:
            loaded, extra = tn.load_checkpoint(tmp_path / "m.pt")
        except ValueError as err:
            assert "m.pt" in str(err), (offset, str(err))
            caught += 1
            continue
        assert _same(loaded.state_dict(), good.state_dict()) and extra == {"epoch": 3}, offset
        assert loaded.config == good.config and loaded.vocab.itos == good.vocab.itos, offset
    assert caught >= 20, caught  # the rest fell on zip bookkeeping that nothing reads: loaded unchanged


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork to kill a write at each step")
def test_a_kill_at_every_step_of_the_state_write_leaves_a_state_to_resume_from(tmp_path):
    """save_training_state killed after each file-system operation (a forked child that dies without any
    cleanup): a complete state, the old epoch or the new one, is always there to resume from."""
    from test_atomic import _killed_at

    from treenets.training import load_training_state, save_training_state

    _, model, opts, _ = _setup_sst()
    target = tmp_path / "run" / "last"
    save_training_state(target, model=model, optimizers=opts, epoch=1)
    step, epoch = 0, 1
    while True:
        killed = _killed_at(step, lambda: save_training_state(target, model=model, optimizers=opts,
                                                              epoch=epoch + 1), exchange=True)
        got = load_training_state(target).epoch
        assert got in (epoch, epoch + 1), (step, got)
        epoch = got
        if not killed:
            break
        step += 1
    assert step >= 4


@pytest.mark.parametrize("field, value, message", [
    ("hidden_size", 12000, r"m\.pt: tensor 'encoder\.cell\.W\.weight' has shape \[20, 6\], but its config makes "
                           r"it \[48000, 6\]"),
    ("n_classes", 1e9, r"\"config\.n_classes\" must be an integer"),
    ("freeze_embeddings", "no", r"\"config\.freeze_embeddings\" must be true or false"),
    ("dropout", float("nan"), r"\"config\.dropout\" must be a finite number"),
])
def test_a_checkpoint_config_is_checked_before_anything_is_built(tmp_path, field, value, message):
    """Changed on purpose (its checksum updated): still refused, before the model is built for real."""
    from treenets.utils.digest import content_digest

    _, model, _, _ = _setup_sst()
    tn.save_checkpoint(tmp_path / "m.pt", model)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload.pop("sha256")
    payload["config"][field] = value
    torch.save({**payload, "sha256": content_digest(payload)}, tmp_path / "m.pt")
    with pytest.raises(ValueError, match=message):
        tn.load_checkpoint(tmp_path / "m.pt")
