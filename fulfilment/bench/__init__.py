"""Benchmarks run by `scripts/bench`: one module per benchmark, each exposing `run(n: int) -> dict`.

Figures are reported against a floor measured in the same run (the machine is shared and noisy), never
asserted in tests.
"""
