"""Conversions between :class:`~treenets.TreeBatch` and other graph libraries."""
