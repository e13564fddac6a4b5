"""Speed and memory benchmarks of treenets (not part of the installed package).

Run each from the repository root as a module, e.g. ``python -m benchmarks.run --quick``.
"""
