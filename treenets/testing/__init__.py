"""Test oracles for treenets' cells, kept out of the main namespace (like ``torch.testing``).

``import treenets`` never imports this package. It holds two independent
implementations of every cell that share a batched cell's parameters:

* :mod:`treenets.testing.reference`: plain per-node PyTorch, written from the
  papers' equations (:func:`reference_forward`, :class:`RecursiveTreeLSTM`);
* :mod:`treenets.testing.dgl_reference`: the same cells run by DGL's
  ``prop_nodes_topo`` (needs DGL; import that submodule explicitly).

The tests compare the batched engine with both; the benchmarks time them as
baselines.
"""
from .reference import RecursiveTreeLSTM, forest_structure, gate_matrices, reference_forward

__all__ = ["reference_forward", "RecursiveTreeLSTM", "forest_structure", "gate_matrices"]
