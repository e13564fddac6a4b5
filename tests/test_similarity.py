"""SimilarityHead and the sparse target distribution."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from treenets import SimilarityHead, sparse_target


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(1.0, 5.0, allow_nan=False), min_size=1, max_size=6))
def test_sparse_target_properties(scores):
    y = torch.tensor(scores, dtype=torch.float64)
    p = sparse_target(y, 5)
    r = torch.arange(1, 6, dtype=torch.float64)
    assert p.shape == (len(scores), 5)
    torch.testing.assert_close(p @ r, y, atol=1e-12, rtol=0)
    torch.testing.assert_close(p.sum(1), torch.ones_like(y), atol=1e-12, rtol=0)
    assert (p >= 0).all()
    assert ((p > 0).sum(1) <= 2).all()
    # mass only on floor(y) and floor(y) + 1 (1-based)
    for row, s in zip(p, scores):
        nz = {k + 1 for k in torch.nonzero(row).flatten().tolist()}
        assert nz <= {math.floor(s), math.floor(s) + 1}


def test_sparse_target_by_hand():
    p = sparse_target(torch.tensor([1.0, 2.25, 5.0, 3.0]), 5)
    expected = torch.tensor([[1, 0, 0, 0, 0],
                             [0, 0.75, 0.25, 0, 0],
                             [0, 0, 0, 0, 1],
                             [0, 0, 1, 0, 0]], dtype=p.dtype)
    torch.testing.assert_close(p, expected)


def test_sparse_target_integer_scores_and_other_k():
    p = sparse_target(torch.tensor([2, 3]), 3)
    assert p.is_floating_point()
    torch.testing.assert_close(p, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))


@pytest.mark.parametrize("bad", [0.999, 5.001, -3.0, 6.0, float("nan"), float("inf")])
def test_sparse_target_out_of_range(bad):
    with pytest.raises(ValueError, match="pair 1"):
        sparse_target(torch.tensor([3.0, bad]), 5)


def make_head(hidden=4, sim_hidden=6):
    torch.manual_seed(0)
    return SimilarityHead(hidden, sim_hidden, 5).double()


def test_forward_by_hand():
    head = make_head()
    hl = torch.randn(3, 4, dtype=torch.float64)
    hr = torch.randn(3, 4, dtype=torch.float64)
    W = head.hidden.weight
    W_x, W_plus = W[:, :4], W[:, 4:]
    h_s = torch.sigmoid((hl * hr) @ W_x.T + (hl - hr).abs() @ W_plus.T + head.hidden.bias)
    p_hat = torch.softmax(h_s @ head.out.weight.T + head.out.bias, dim=1)
    log_probs = head(hl, hr)
    torch.testing.assert_close(log_probs.exp(), p_hat)
    # symmetric in its two sentences
    torch.testing.assert_close(head(hr, hl), log_probs)
    # predict = r^T p
    r = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    torch.testing.assert_close(head.predict(log_probs), p_hat @ r)
    assert ((head.predict(log_probs) >= 1) & (head.predict(log_probs) <= 5)).all()


def test_loss_is_kl_by_hand():
    head = make_head()
    hl = torch.randn(4, 4, dtype=torch.float64)
    hr = torch.randn(4, 4, dtype=torch.float64)
    scores = torch.tensor([1.0, 2.6, 4.0, 5.0], dtype=torch.float64)
    log_probs = head(hl, hr)
    p_hat = log_probs.exp().tolist()
    total = 0.0
    for b, y in enumerate(scores.tolist()):
        fl = math.floor(y)
        p = [0.0] * 5
        if fl < 5:
            p[fl] += y - fl  # class floor(y) + 1, 0-based index floor(y)
        p[fl - 1] += fl - y + 1
        total += sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, p_hat[b]) if pi > 0)
    assert float(head.loss(log_probs, scores).detach()) == pytest.approx(total / 4, rel=1e-10)


def test_loss_gradient_flows_and_perfect_prediction_is_zero():
    head = make_head()
    hl = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    head.loss(head(hl, torch.randn(2, 4, dtype=torch.float64)), torch.tensor([2.0, 4.5])).backward()
    assert hl.grad.abs().sum() > 0
    target = sparse_target(torch.tensor([2.0, 3.5], dtype=torch.float64))
    eps = 1e-300
    assert float(head.loss((target + eps).log(), torch.tensor([2.0, 3.5]))) == pytest.approx(0.0, abs=1e-9)


def test_shape_mismatch():
    head = make_head()
    with pytest.raises(ValueError, match="differ in shape"):
        head(torch.zeros(2, 4, dtype=torch.float64), torch.zeros(3, 4, dtype=torch.float64))


def test_loss_rejects_out_of_range_scores():
    head = make_head()
    with pytest.raises(ValueError, match="outside"):
        head.loss(head(torch.zeros(1, 4, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64)),
                  torch.tensor([7.0]))


def test_loss_over_no_pairs_raises_instead_of_nan():
    head = SimilarityHead(4, 3)
    log_probs = head(torch.zeros(0, 4), torch.zeros(0, 4))
    with pytest.raises(ValueError, match="no pairs"):
        head.loss(log_probs, torch.zeros(0))
    with pytest.raises(ValueError, match="do not match"):
        head.loss(head(torch.zeros(2, 4), torch.zeros(2, 4)), torch.tensor([1.0, 2.0, 3.0]))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 5), st.lists(st.floats(0.0, 6.0), min_size=5, max_size=5))
def test_loss_is_finite_or_an_error(pairs, scores):
    head = SimilarityHead(3, 2)
    scores = torch.tensor(scores[:pairs], dtype=torch.float32)
    log_probs = head(torch.randn(pairs, 3), torch.randn(pairs, 3))
    try:
        loss = head.loss(log_probs, scores)
    except ValueError as err:
        assert pairs == 0 or "outside" in str(err)
        return
    assert torch.isfinite(loss)
