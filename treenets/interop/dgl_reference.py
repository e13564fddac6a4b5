"""Deprecated location: the DGL oracle moved to :mod:`treenets.testing.dgl_reference`.

This forwarding module exists only so that code written against the old path
keeps working for one release; import ``treenets.testing.dgl_reference`` instead.
"""
import warnings

from ..testing.dgl_reference import *  # noqa: F401,F403
from ..testing.dgl_reference import __all__  # noqa: F401

warnings.warn("treenets.interop.dgl_reference moved to treenets.testing.dgl_reference", DeprecationWarning,
              stacklevel=2)
