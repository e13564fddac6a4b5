"""NodeClassifier: logits, the loss over labelled nodes, accuracy counts."""
import math

import pytest
import torch

from treenets import NodeClassifier, Tree, TreeBatch


def make_head(hidden=4, n_classes=3, **kwargs):
    torch.manual_seed(0)
    return NodeClassifier(hidden, n_classes, **kwargs).double()


def test_logits_are_a_linear_map():
    head = make_head()
    h = torch.randn(6, 4, dtype=torch.float64)
    torch.testing.assert_close(head(h), h @ head.linear.weight.T + head.linear.bias)


def test_loss_ignores_unlabelled_nodes():
    head = make_head()
    logits = torch.randn(5, 3, dtype=torch.float64)
    labels = torch.tensor([2, -1, 0, -1, 1])
    by_hand = 0.0
    for k in (0, 2, 4):
        z = logits[k]
        log_norm = math.log(sum(math.exp(float(v)) for v in z))
        by_hand -= float(z[labels[k]]) - log_norm
    by_hand /= 3
    assert float(head.loss(logits, labels)) == pytest.approx(by_hand, rel=1e-12)
    # changing an unlabelled node's logits does not change the loss
    other = logits.clone()
    other[1] += torch.tensor([10.0, -3.0, 2.0], dtype=torch.float64)
    assert float(head.loss(other, labels)) == pytest.approx(by_hand, rel=1e-12)


def test_loss_gradient_is_zero_on_unlabelled_nodes():
    head = make_head()
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    head.loss(logits, torch.tensor([-1, 1, -1, 0])).backward()
    assert logits.grad[[0, 2]].abs().sum() == 0
    assert logits.grad[[1, 3]].abs().sum() > 0


@pytest.mark.parametrize("bad", [3, -2])
def test_labels_out_of_range(bad):
    head = make_head()
    with pytest.raises(ValueError, match=f"node 1 has label {bad}"):
        head.loss(torch.zeros(3, 3, dtype=torch.float64), torch.tensor([0, bad, 1]))


def test_accuracy_counts():
    head = make_head(n_classes=3)
    a = Tree.from_brackets("(2 (1 a) (0 b))")  # nodes 0, 1, 2
    b = Tree.from_brackets("(1 (_ c) (2 d))")  # nodes 3, 4, 5; node 4 unlabelled
    batch = TreeBatch.from_trees([a, b])
    assert batch.labels.tolist() == [2, 1, 0, 1, -1, 2]
    pred = torch.tensor([2, 0, 0, 2, 1, 2])  # right: 0, 2, 5; wrong: 1, 3; node 4 ignored
    logits = torch.nn.functional.one_hot(pred, 3).double()
    acc = head.accuracy(logits, batch)
    assert acc == {"root_correct": 1, "root_total": 2, "node_correct": 3, "node_total": 5}


def test_accuracy_skips_unlabelled_roots():
    head = make_head(n_classes=2)
    batch = TreeBatch.from_trees([Tree.from_brackets("(_ (1 a) (0 b))")])
    logits = torch.nn.functional.one_hot(torch.tensor([0, 1, 0]), 2).double()
    acc = head.accuracy(logits, batch)
    assert acc == {"root_correct": 0, "root_total": 0, "node_correct": 2, "node_total": 2}


def test_dropout_only_in_training():
    head = make_head(dropout=0.5)
    h = torch.randn(50, 4, dtype=torch.float64)
    head.eval()
    torch.testing.assert_close(head(h), head.linear(h))
    head.train()
    assert not torch.allclose(head(h), head.linear(h))


def test_needs_two_classes():
    with pytest.raises(ValueError):
        NodeClassifier(4, 1)


def test_loss_with_no_labelled_node_raises_instead_of_nan_or_a_silent_zero():
    """A mean over no node is 0/0; a zero would train on nothing in silence (e.g. labels 'NP' all become -1)."""
    head = make_head()
    logits = head(torch.randn(3, 4, dtype=torch.float64))
    labels = torch.tensor([-1, -1, -1])
    for reduction in ("mean", "sum", "tree"):
        with pytest.raises(ValueError, match="none of the 3 nodes has a label"):
            head.loss(logits, labels, reduction, num_trees=1)
    assert head.loss(logits, labels, "none").abs().sum() == 0  # per node: zero where unlabelled
    with pytest.raises(ValueError, match="integer tensor"):
        head.loss(logits, torch.tensor([0.0, 1.0, 2.7]))


def test_sum_reduction():
    head = make_head()
    logits = torch.randn(4, 3, dtype=torch.float64)
    labels = torch.tensor([0, -1, 2, 1])
    mean = head.loss(logits, labels)
    total = head.loss(logits, labels, reduction="sum")
    assert float(total) == pytest.approx(3 * float(mean), rel=1e-12)
    with pytest.raises(ValueError, match="none of the 4 nodes has a label"):
        head.loss(logits, torch.tensor([-1, -1, -1, -1]), reduction="sum")


def test_tree_reduction_sums_nodes_and_averages_trees():
    head = make_head()
    logits = torch.randn(4, 3, dtype=torch.float64)
    labels = torch.tensor([0, -1, 2, 1])
    total = head.loss(logits, labels, reduction="sum")
    assert float(head.loss(logits, labels, reduction="tree", num_trees=2)) == pytest.approx(float(total) / 2)
    with pytest.raises(ValueError, match="num_trees"):
        head.loss(logits, labels, reduction="tree")
    with pytest.raises(ValueError, match="unknown reduction"):
        head.loss(logits, labels, reduction="max")
    per_node = head.loss(logits, labels, reduction="none")
    assert per_node.shape == (4,) and float(per_node[1]) == 0.0
    assert float(per_node.sum()) == pytest.approx(float(head.loss(logits, labels, reduction="sum")))

def test_masked_class_is_trained_but_never_predicted():
    import treenets as tn

    head = NodeClassifier(4, 3, masked_classes=(1,))
    batch = tn.TreeBatch.from_trees([tn.Tree.from_brackets("(2 (1 a) (0 b))")])
    # neutral (1) scores highest everywhere, positive (2) beats negative (0)
    logits = torch.tensor([[0.0, 9.0, 1.0], [0.0, 9.0, 1.0], [0.0, 9.0, 1.0]])
    assert head.predict(logits).tolist() == [2, 2, 2]
    counts = head.accuracy(logits, batch)
    # the neutral node counts neither as right nor wrong
    assert counts == {"root_correct": 1, "root_total": 1, "node_correct": 1, "node_total": 2}
    loss = head.loss(logits.requires_grad_(), batch.labels)  # label 1 is still trained on
    assert loss.item() > 0
    with pytest.raises(ValueError, match="masked_classes"):
        NodeClassifier(4, 2, masked_classes=(0,))
    for wrong in ("1", [True], [1.0], ["1"]):  # "1" was applied as class 1 but saved as ["1"]
        with pytest.raises(ValueError, match="masked_classes must be a list of class ids"):
            NodeClassifier(4, 3, masked_classes=wrong)
