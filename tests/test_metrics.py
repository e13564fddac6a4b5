import pytest
import torch

from treenets.models.metrics import relatedness_metrics


def test_relatedness_metrics_known_values():
    m = relatedness_metrics(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0]))
    assert m["mse"] == pytest.approx(1 / 3)
    assert m["spearman"] == pytest.approx(1.0)
    assert 0.9 < m["pearson"] < 1.0


def test_relatedness_metrics_checks_shapes():
    with pytest.raises(ValueError, match=r"\(3,\) predictions but \(2,\) gold"):
        relatedness_metrics(torch.ones(3), torch.ones(2))
