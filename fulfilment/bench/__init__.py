"""Benchmarks, one module per benchmark, each with ``run(n: int) -> dict`` and ``DEFAULT_N``; run them with
``scripts/bench [name ...]``. Speed is measured only here, never asserted in tests."""
