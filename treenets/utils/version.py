"""The package's version, in a module that imports nothing (so ``treenets --version`` answers at once)."""

__version__ = "0.2.0"
