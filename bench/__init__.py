"""Benchmarks, each run from the repository root as ``python -m bench.<name>``.

What each one measures and prints, with the current figures: docs/performance.md.
"""
