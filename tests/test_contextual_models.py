"""Task models over transformer features: embedding=, saving and rebuilding, the fine-tuning optimizers."""
import json

import pytest
import torch

import treenets as tn
from conftest import load_example
from treenets.models import build_embedding, embedding_spec


TREES = [tn.Tree.from_brackets("(3 (2 The) (4 (3 (2 movie) (4 rocks)) (2 .)))"),
         tn.Tree.from_brackets("(1 (2 -LRB-) (1 (1 dull) (2 -RRB-)))"),
         tn.Tree.from_brackets("(4 (2 a) (4 (3 truly) (4 (4 fine) (2 film))))")]


def sentiment(emb, cell="nary", **options):
    torch.manual_seed(0)
    return tn.SentimentModel(None, None, 6, 5, cell=cell, cell_options=options, embedding=emb)


@pytest.mark.parametrize("cell,options", [("nary", {"leaf_input_only": True}), ("span-mean", {})])
def test_frozen_model_saves_no_transformer_and_rebuilds_from_its_config(minilm_dir, tmp_path, cell, options):
    emb = tn.ContextualEmbedding("all-MiniLM-L6-v2", cache=False)
    model = sentiment(emb, cell, **options)
    assert model.config["embed_size"] == 384 and len(model.vocab) == 1
    spec = model.config["embedding"]
    assert spec["kind"] == "contextual" and spec["model_name_or_path"] == "all-MiniLM-L6-v2"
    assert spec["identity"] == emb.identity() and json.loads(json.dumps(model.config)) == model.config
    assert model.embedding_parameters() == [] and len(model.model_parameters()) == len(list(model.parameters())) > 0
    assert not any(k.startswith("encoder.embedding") for k in model.state_dict())
    batch = model.batch(TREES)
    want = model.predict_batch(batch)[1]
    tn.save_checkpoint(tmp_path / "m.pt", model)
    loaded, _ = tn.load_checkpoint(tmp_path / "m.pt")
    assert isinstance(loaded.encoder.embedding, tn.ContextualEmbedding) and not loaded.encoder.embedding.finetune
    assert loaded.config == model.config
    torch.testing.assert_close(loaded.predict_batch(loaded.batch(TREES))[1], want, atol=1e-6, rtol=1e-5)
    # and as a model directory (what the examples keep as OUT/best): no transformer weights in it
    model.save(tmp_path / "dir")
    assert (tmp_path / "dir" / "model.safetensors").stat().st_size < 100_000
    again = tn.load(tmp_path / "dir")
    assert isinstance(again.encoder.embedding, tn.ContextualEmbedding) and again.config == model.config
    torch.testing.assert_close(again.predict_batch(again.batch(TREES))[1], want, atol=1e-6, rtol=1e-5)
    assert [r.label for r in again.predict(TREES)] == [r.label for r in model.predict(TREES)]


def test_a_different_transformer_is_refused_and_named(minilm_dir, tmp_path):
    model = sentiment(tn.ContextualEmbedding(minilm_dir, cache=False))
    tn.save_checkpoint(tmp_path / "m.pt", model)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["config"]["embedding"]["identity"]["weights"] = "0" * 64
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt is a damaged treenets checkpoint: the checksum"):  # the checkpoint's own checksum
        tn.load_checkpoint(tmp_path / "other.pt")
    from treenets.utils.digest import content_digest

    payload.pop("sha256")
    torch.save({**payload, "sha256": content_digest(payload)}, tmp_path / "other.pt")  # changed on purpose
    with pytest.raises(ValueError, match="weights differ"):
        tn.load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="kind 'glove'"):
        build_embedding({"kind": "glove"})


def test_a_saved_spec_cannot_choose_files_or_download(minilm_dir, tmp_path):
    """A saved model names its transformer by identity and an allowed folder; it never picks the cache's place,
    a folder outside the allowed ones, or a Hub name."""
    model = sentiment(tn.ContextualEmbedding("all-MiniLM-L6-v2", cache=False))
    spec = model.config["embedding"]
    with pytest.raises(ValueError, match="not 'cache'.*machine's choice"):
        build_embedding({**spec, "cache": str(tmp_path / "anywhere")})
    assert not (tmp_path / "anywhere").exists()
    with pytest.raises(ValueError, match="needs its 'identity'"):
        build_embedding({k: v for k, v in spec.items() if k != "identity"})
    for name in ("bert-base-uncased", str(minilm_dir / ".." / ".." / ".."), str(tmp_path)):
        with pytest.raises(ValueError, match="not in an allowed place.*never downloads"):
            build_embedding({**spec, "model_name_or_path": name})
    # a folder under a root the user allows is fine (here: a copy of MiniLM)
    import shutil

    shutil.copytree(minilm_dir, tmp_path / "models" / "minilm")
    model2 = sentiment(tn.ContextualEmbedding(tmp_path / "models" / "minilm", cache=False))
    model2.save(tmp_path / "dir")
    with pytest.raises(ValueError, match="not in an allowed place"):
        tn.load(tmp_path / "dir")
    again = tn.load(tmp_path / "dir", transformer_roots=[tmp_path / "models"])
    assert again.encoder.embedding.source == str((tmp_path / "models" / "minilm").resolve())


def test_a_custom_embedding_module_is_named_in_the_config():
    class Ones(torch.nn.Module):
        embedding_dim = 3

        def forward(self, batch):
            return torch.ones(batch.num_nodes, 3)

    model = tn.SentimentModel(None, None, 4, embedding=Ones())
    assert model.config["embedding"] == embedding_spec(Ones()) and model.config["embedding"]["kind"] == "custom"
    assert model.loss(model.batch(TREES)).isfinite()
    with pytest.raises(ValueError, match="embed_size 5"):
        tn.SentimentModel(None, 5, 4, embedding=Ones())
    with pytest.raises(TypeError, match="nn.Embedding"):
        model.load_embeddings(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="cannot rebuild an embedding of kind 'custom'"):
        build_embedding(model.config["embedding"])


def _snapshot(params):
    return [p.detach().clone() for p in params]


def _changed(before, params):
    return [not torch.equal(a, p.detach()) for a, p in zip(before, params)]


def test_finetune_trains_the_transformer_only_through_its_own_optimizer(minilm_dir, tmp_path):
    """The examples' optimizers: AdaGrad on the model (never the transformer), AdamW on the transformer."""
    common = load_example("contextual_common")
    args = load_example("train_sst").parse_args(["--contextual", "all-MiniLM-L6-v2", "--finetune",
                                                 "--contextual-lr", "1e-3"])
    emb = tn.ContextualEmbedding(args.contextual, finetune=True)
    model = sentiment(emb, leaf_input_only=True)
    transformer = list(emb.transformer.parameters())
    assert {id(p) for p in model.embedding_parameters()} == {id(p) for p in transformer}
    assert not {id(p) for p in model.model_parameters()} & {id(p) for p in transformer}
    adagrad = torch.optim.Adagrad(model.model_parameters(), lr=0.05)
    (adamw,) = common.contextual_optimizers(model, args)
    assert isinstance(adamw, torch.optim.AdamW) and adamw.param_groups[0]["lr"] == 1e-3
    assert common.contextual_optimizers(model, load_example("train_sst").parse_args(
        ["--contextual", "all-MiniLM-L6-v2"])) == [], "frozen: no transformer optimizer"

    def step(optimizer):
        adagrad.zero_grad()
        adamw.zero_grad()
        model.loss(model.batch(TREES)).backward()
        optimizer.step()

    rest = model.model_parameters()
    before_t, before_r = _snapshot(transformer), _snapshot(rest)
    step(adagrad)
    assert not any(_changed(before_t, transformer)), "AdaGrad must not touch the transformer"
    assert any(_changed(before_r, rest))
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in transformer), "gradients reach it"
    before_t, before_r = _snapshot(transformer), _snapshot(rest)
    step(adamw)
    assert any(_changed(before_t, transformer)), "AdamW trains the transformer"
    assert not any(_changed(before_r, rest))

    # a fine-tuned model saves its transformer and comes back with the trained weights
    assert any(k.startswith("encoder.embedding.transformer.") for k in model.state_dict())
    tn.save_checkpoint(tmp_path / "ft.pt", model)
    loaded, _ = tn.load_checkpoint(tmp_path / "ft.pt")
    assert loaded.encoder.embedding.finetune
    for a, b in zip(loaded.encoder.embedding.transformer.parameters(), transformer):
        assert torch.equal(a, b)
    model.save(tmp_path / "ft")
    again = tn.load(tmp_path / "ft")
    assert again.encoder.embedding.finetune
    for a, b in zip(again.encoder.embedding.transformer.parameters(), transformer):
        assert torch.equal(a, b)
