"""Conversions between :class:`~treenets.TreeBatch` and other graph libraries.

* ``dgl_graph.py``: ``TreeBatch.from_dgl`` / ``to_dgl`` and the cached
  conversion cells use when given a DGL graph (DGL imported only when called);
* ``pyg.py``: ``TreeBatch.from_edge_index`` (torch only), ``from_pyg`` and
  ``to_pyg`` (PyTorch Geometric imported only when called).

The DGL reference cells that used to live here are test oracles now:
:mod:`treenets.testing.dgl_reference`.
"""
