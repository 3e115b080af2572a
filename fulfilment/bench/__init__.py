"""Benchmarks, one module per area; each exposes `run(n: int) -> dict` and is run by `scripts/bench NAME`."""
