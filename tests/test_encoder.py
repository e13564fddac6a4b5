"""TreeEncoder: embedding lookup with zero inputs for wordless nodes, then a cell."""
import pytest
import torch
from torch import nn

from treenets import ChildSumTreeLSTM, NaryTreeLSTM, SLSTM, Tree, TreeBatch, TreeEncoder, Vocab
from treenets.testing.reference import reference_forward

SST = "(3 (2 (2 The) (2 Rock)) (4 (2 is) (2 great)))"


def make_encoder(cell_cls=ChildSumTreeLSTM, **kwargs):
    torch.manual_seed(0)
    vocab = Vocab(["The", "Rock", "is", "great", "a", "dog", "barks"])
    emb = nn.Embedding(len(vocab), 3).double()
    cell = cell_cls(3, 4, **kwargs).double()
    return vocab, TreeEncoder(emb, cell)


def test_embed_zeroes_nodes_without_words():
    vocab, enc = make_encoder()
    tree = Tree.from_brackets(SST)
    batch = TreeBatch.from_trees([tree], vocab)
    x = enc.embed(batch)
    for node, tok in enumerate(tree.tokens):
        expected = torch.zeros(3, dtype=torch.float64) if tok is None else enc.embedding.weight[vocab[tok]]
        torch.testing.assert_close(x[node], expected)


def test_unknown_words_use_the_unknown_row():
    vocab, enc = make_encoder()
    batch = TreeBatch.from_trees([Tree.from_parents(["zebra", "barks"], [2, 0])], vocab)
    x = enc.embed(batch)
    torch.testing.assert_close(x[0], enc.embedding.weight[0])


@pytest.mark.parametrize("cell_cls, kwargs", [(ChildSumTreeLSTM, {}), (NaryTreeLSTM, {"leaf_input_only": True}),
                                              (SLSTM, {})])
def test_forward_is_cell_of_embeddings_and_matches_reference(cell_cls, kwargs):
    vocab, enc = make_encoder(cell_cls, **kwargs)
    trees = [Tree.from_brackets(SST), Tree.from_brackets("(1 (2 a) (3 (2 dog) (1 barks)))")]
    batch = TreeBatch.from_trees(trees, vocab)
    h, c = enc(batch)
    assert h.shape == (batch.num_nodes, 4) and enc.hidden_size == 4
    x = enc.embed(batch)
    h2, c2 = enc.cell(batch, x)
    torch.testing.assert_close(h, h2)
    h3, c3 = reference_forward(enc.cell, trees, x)
    torch.testing.assert_close(h, h3)
    torch.testing.assert_close(c, c3)


def test_gradients_reach_only_used_embedding_rows():
    vocab, enc = make_encoder()
    batch = TreeBatch.from_trees([Tree.from_brackets(SST)], vocab)
    h, _ = enc(batch)
    h[batch.roots].sum().backward()
    grad = enc.embedding.weight.grad
    used = {vocab[w] for w in ["The", "Rock", "is", "great"]}
    for row in range(grad.shape[0]):
        assert (grad[row].abs().sum() > 0) == (row in used)


def test_size_mismatch_and_foreign_word_ids():
    with pytest.raises(ValueError, match="embedding size"):
        TreeEncoder(nn.Embedding(5, 2), ChildSumTreeLSTM(3, 4))
    vocab, enc = make_encoder()
    big = Vocab([f"w{i}" for i in range(20)])
    batch = TreeBatch.from_trees([Tree.from_parents(["w19"], [0])], big)
    with pytest.raises(ValueError, match="outside the embedding"):
        enc(batch)


def test_rejects_non_batches():
    _, enc = make_encoder()
    with pytest.raises(TypeError, match="TreeBatch"):
        enc([Tree.from_brackets(SST)])


def test_embed_words_zeroes_nodes_without_a_word():
    vocab, enc = make_encoder()
    batch = TreeBatch.from_trees([Tree.from_brackets(SST)], vocab)
    x = enc.embed_words(batch.word_ids)
    assert bool((batch.word_ids < 0).any()) and bool((batch.word_ids >= 0).any())
    assert bool((x[batch.word_ids < 0] == 0).all())
    torch.testing.assert_close(x[batch.word_ids >= 0], enc.embedding.weight[batch.word_ids[batch.word_ids >= 0]])
    torch.testing.assert_close(enc.embed(batch), x)


def test_a_batch_without_word_ids_raises_instead_of_zero_inputs():
    vocab, enc = make_encoder()
    trees = [Tree.from_brackets(SST)]
    with pytest.raises(ValueError, match=r"needs word ids.*built without a vocabulary.*from_trees\(trees, vocab\)"
                                         r".*call the cell directly"):
        enc(TreeBatch.from_trees(trees))
    parents = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0]))
    with pytest.raises(ValueError, match=r"pass word_ids= to TreeBatch.from_parent_tensor"):
        enc(parents)
    # the cell itself takes inputs of your own on the same batch
    h, _ = enc.cell(parents, torch.randn(3, 3, dtype=torch.float64))
    assert h.shape == (3, 4)


def test_a_leaf_without_a_word_raises_but_phrase_nodes_may_have_none():
    _, enc = make_encoder()
    ok = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0]), word_ids=torch.tensor([-1, 2, 3]))
    assert ok.first_wordless_leaf == -1 and ok.word_source == "word_ids"
    enc(ok)
    batch = TreeBatch.from_parent_tensor(torch.tensor([-1, 0, 0, -1, 3]), word_ids=torch.tensor([-1, 2, 3, 4, -1]))
    assert batch.first_wordless_leaf == 4
    with pytest.raises(ValueError, match=r"leaf node 4 \(tree 1\) has no word id \(-1\)"):
        enc(batch)


@pytest.mark.parametrize("cell_cls, kwargs", [(ChildSumTreeLSTM, {}), (NaryTreeLSTM, {}),
                                              (NaryTreeLSTM, {"leaf_input_only": True}), (SLSTM, {})])
def test_a_nan_unknown_row_never_reaches_nodes_without_a_word(cell_cls, kwargs):
    """Inputs of wordless nodes used to be x * 0, and NaN * 0 is NaN: every phrase node was poisoned."""
    vocab, enc = make_encoder(cell_cls, **kwargs)
    with torch.no_grad():
        enc.embedding.weight[vocab.unk_index] = float("nan")
    batch = TreeBatch.from_trees([Tree.from_brackets(SST)], vocab)  # every word known; phrases have none
    x = enc.embed(batch)
    assert torch.equal(x[batch.word_ids < 0], torch.zeros_like(x[batch.word_ids < 0]))
    h, c = enc(batch)
    assert torch.isfinite(h).all() and torch.isfinite(c).all()
    h.sum().backward()
    assert torch.isfinite(enc.embedding.weight.grad).all()


class _Ones(nn.Module):
    """An embedding module that reads the batch itself: ones at every node."""
    embedding_dim = 3

    def forward(self, batch):
        return torch.ones(batch.num_nodes, 3)


def test_a_module_embedding_gets_its_leaves_checked_and_must_say_its_size():
    cell = ChildSumTreeLSTM(3, 4)
    encoder = TreeEncoder(_Ones(), cell)
    good = Tree([-1, 0], ["a", "b"])
    wordless_leaf = Tree([-1, 0, 0], ["a", "b", None])
    h, _ = encoder(TreeBatch.from_trees([good], Vocab()))
    assert h.shape == (2, 4)
    with pytest.raises(ValueError, match="leaf"):  # used to get the module's row in silence
        encoder(TreeBatch.from_trees([wordless_leaf], Vocab()))
    with pytest.raises(ValueError, match="integer embedding_dim"):
        TreeEncoder(nn.Linear(3, 3), cell)
