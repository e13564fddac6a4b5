"""WordInputs: inputs stored once per distinct word give every cell, on every engine, the dense path's results."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from _cellcheck import random_trees
from test_cells import CASES, HAND_TREES, IN, fitting_trees
from treenets import ChildSumTreeLSTM, NaryTreeLSTM, SpanMean, Tree, TreeBatch, TreeEncoder, Vocab
from treenets.cells import base as cell_base
from treenets.cells.engine import use_engine
from treenets.cells.inputs import WordInputs

ENGINES = [pytest.param(c, e, id=f"{c.id}-{e}") for c in CASES for e in ("eager", "fused")
           if e == "eager" or c.make().has_fused_kernel]


def word_inputs(batch: TreeBatch, words: int, seed: int = 0, dtype=torch.float64) -> WordInputs:
    """Few distinct words (so that they repeat), -1 at some nodes with children."""
    gen = torch.Generator().manual_seed(seed)
    index = torch.randint(0, words, (batch.num_nodes,), generator=gen)
    inner = batch.internal_order
    index[inner[torch.rand(inner.numel(), generator=gen) < 0.5]] = -1
    return WordInputs(torch.randn(words, IN, generator=gen, dtype=dtype), index)


def states_and_grads(cell, batch, x):
    cell.zero_grad()
    h, c = cell(batch, x)
    (h.square().sum() + c.sum()).backward()
    return h.detach(), c.detach(), [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in cell.parameters()]


@pytest.mark.parametrize("case, engine", ENGINES)
def test_equal_to_the_dense_inputs_without_gradients(case, engine):
    trees = fitting_trees(case)
    batch = TreeBatch.from_trees(trees)
    wi = word_inputs(batch, words=3)
    cell = case.make().eval()
    with use_engine(engine), torch.no_grad():
        h, c = cell(batch, wi)
        h_dense, c_dense = cell(batch, wi.dense())
    # the same products row by row; only their rounding may differ (a product's kernel depends on its row count)
    torch.testing.assert_close(h, h_dense, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c, c_dense, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case, engine", ENGINES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_values_and_gradients_equal_the_dense_inputs(case, engine, data):
    trees = data.draw(st.lists(random_trees(max_nodes=9, max_children=case.max_children), min_size=1, max_size=3))
    batch = TreeBatch.from_trees(trees)
    wi = word_inputs(batch, words=data.draw(st.integers(1, 5)), seed=len(trees))
    vectors = wi.vectors.clone().requires_grad_()
    cell = case.make()
    with use_engine(engine):
        h, c, grads = states_and_grads(cell, batch, WordInputs(vectors, wi.index))
        g_words = vectors.grad.clone()
        vectors.grad = None
        h2, c2, grads2 = states_and_grads(cell, batch, WordInputs(vectors, wi.index).dense())
    torch.testing.assert_close(h, h2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c, c2, rtol=1e-12, atol=1e-12)
    for g, g2 in zip(grads, grads2):
        torch.testing.assert_close(g, g2, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g_words, vectors.grad, rtol=1e-10, atol=1e-12)


def test_projection_runs_once_per_word_not_per_node(monkeypatch):
    """The point of it: W multiplies V rows (distinct words), not the leaves' rows."""
    batch = TreeBatch.from_trees([HAND_TREES[5], HAND_TREES[6]] * 4)
    wi = word_inputs(batch, words=2, dtype=torch.float32)
    rows = []
    real = cell_base.F.linear
    monkeypatch.setattr(cell_base.F, "linear", lambda x, *a: rows.append(x.shape[0]) or real(x, *a))
    with torch.no_grad():
        NaryTreeLSTM(IN, 4, leaf_input_only=True)(batch, wi)
    assert rows == [2]
    rows.clear()
    with torch.no_grad():
        NaryTreeLSTM(IN, 4, leaf_input_only=True)(batch, wi.dense())
    assert rows == [int(batch.leaf_order.numel())]


@pytest.mark.parametrize("engine", ["eager", "fused"])
def test_phrase_nodes_without_words_are_not_projected(engine, monkeypatch):
    """Constituency trees under a cell with inputs everywhere: no node with children holds a word, so only the
    leaves' projection runs (not W on every word for rows that are all thrown away)."""
    batch = TreeBatch.from_trees([HAND_TREES[5], HAND_TREES[6]] * 2)
    wi = word_inputs(batch, words=3)
    index = wi.index.clone()
    index[batch.internal_order] = -1
    rows = []
    real = cell_base.F.linear
    # the input projections (in_size IN = 3 columns), not the level steps' products (hidden size 4)
    monkeypatch.setattr(cell_base.F, "linear",
                        lambda x, *a: (rows.append(x.shape[0]) if x.shape[1] == IN else None) or real(x, *a))
    cell = ChildSumTreeLSTM(IN, 4).double()
    with use_engine(engine):
        h, c = cell(batch, WordInputs(wi.vectors, index))
        assert rows == [3]
        index[batch.internal_order[0]] = 1  # one phrase node with a word: its projection runs too
        rows.clear()
        h2, c2 = cell(batch, WordInputs(wi.vectors, index))
        assert rows == [3, 3]
        dense = cell(batch, WordInputs(wi.vectors, index).dense())
    torch.testing.assert_close(h2, dense[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c2, dense[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("engine", ["eager", "fused"])
def test_a_leaf_without_a_word_gets_a_zero_input_as_in_the_dense_path(engine):
    batch = TreeBatch.from_trees([HAND_TREES[5]])
    wi = word_inputs(batch, words=2)
    index = wi.index.clone()
    index[batch.leaf_order[0]] = -1
    wi = WordInputs(wi.vectors, index)
    cell = NaryTreeLSTM(IN, 4).double()
    with use_engine(engine), torch.no_grad():
        h, c = cell(batch, wi)
        h2, c2 = cell(batch, wi.dense())
    torch.testing.assert_close(h, h2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c, c2, rtol=1e-12, atol=1e-12)
    assert torch.equal(wi.dense()[batch.leaf_order[0]], torch.zeros(IN, dtype=torch.float64))


def test_dropout_in_training_draws_a_mask_per_node_as_the_dense_inputs_do():
    batch = TreeBatch.from_trees([HAND_TREES[5], HAND_TREES[6]])
    wi = word_inputs(batch, words=2)
    cell = NaryTreeLSTM(IN, 4, dropout=0.5).double().train()
    torch.manual_seed(7)
    h, _ = cell(batch, wi)
    torch.manual_seed(7)
    h2, _ = cell(batch, wi.dense())
    torch.testing.assert_close(h, h2, rtol=1e-12, atol=1e-12)


def test_bad_word_inputs_say_what_is_wrong():
    batch = TreeBatch.from_trees([HAND_TREES[5]])
    cell = NaryTreeLSTM(IN, 4).double()
    n = batch.num_nodes
    with pytest.raises(ValueError, match=r"WordInputs.vectors has shape \(2, 5\), expected \[V, in_size=3\]"):
        cell(batch, WordInputs(torch.zeros(2, 5, dtype=torch.float64), torch.zeros(n, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"WordInputs.index has shape \(2,\), expected \[num_nodes=5\]"):
        cell(batch, WordInputs(torch.zeros(2, IN, dtype=torch.float64), torch.zeros(2, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"WordInputs.index\[3\] = 2 is outside -1..1 \(vectors has 2 rows\)"):
        cell(batch, WordInputs(torch.zeros(2, IN, dtype=torch.float64), torch.tensor([0, 1, 0, 2, -1])))
    with pytest.raises(ValueError, match=r"WordInputs.index must be an integer tensor, not torch.float32"):
        cell(batch, WordInputs(torch.zeros(2, IN, dtype=torch.float64), torch.zeros(n)))


def _encoder(cell):
    torch.manual_seed(0)
    vocab = Vocab(["the", "film", "is", "good", "not", "bad"], unk="<unk>")
    return vocab, TreeEncoder(nn.Embedding(len(vocab), IN), cell)


@pytest.mark.parametrize("engine", ["eager", "fused"])
def test_the_encoder_looks_words_up_once_and_equals_the_cell_of_its_embeddings(engine, monkeypatch):
    vocab, enc = _encoder(NaryTreeLSTM(IN, 4, leaf_input_only=True))
    trees = [Tree.from_brackets("(3 (2 (2 the) (2 film)) (3 (2 is) (3 good)))"),
             Tree.from_brackets("(2 (2 the) (2 (2 film) (2 (2 is) (2 (1 not) (1 bad)))))")]
    batch = TreeBatch.from_trees(trees, vocab)
    seen = []
    real = enc.cell.forward
    monkeypatch.setattr(enc.cell, "forward", lambda b, x, *a: seen.append(x) or real(b, x, *a))
    enc.eval()
    with use_engine(engine), torch.no_grad():
        h, c = enc(batch)
        h2, c2 = enc.cell(batch, enc.embed(batch))
    assert isinstance(seen[0], WordInputs) and seen[0].vectors.shape[0] == 6  # distinct words, not 9 leaves
    torch.testing.assert_close(h, h2)
    torch.testing.assert_close(c, c2)


def test_a_cell_with_its_own_forward_gets_dense_inputs():
    vocab, enc = _encoder(SpanMean(IN, 4))
    batch = TreeBatch.from_trees([Tree.from_brackets("(3 (2 the) (3 good))")], vocab)
    h, _ = enc(batch)
    torch.testing.assert_close(h, enc.cell(batch, enc.embed(batch))[0])
