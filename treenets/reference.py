"""Deprecated location: the per-node oracle moved to :mod:`treenets.testing.reference`.

This forwarding module exists only so that code written against the old path
keeps working for one release; import ``treenets.testing.reference`` instead.
"""
import warnings

from .testing.reference import *  # noqa: F401,F403
from .testing.reference import __all__  # noqa: F401

warnings.warn("treenets.reference moved to treenets.testing.reference", DeprecationWarning, stacklevel=2)
