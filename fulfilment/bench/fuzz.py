"""The importer fuzz suites at full size: `n` generated cases per importer (tests/unit/test_fuzz_importers.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from fulfilment.bench.measure import timed

ROOT = Path(__file__).resolve().parents[2]
SUITE = "tests/unit/test_fuzz_importers.py"


def run(n: int = 10_000) -> dict[str, Any]:
    """Run every fuzz property with `n` examples (XLSX gets a tenth: each case writes a workbook)."""
    env = {**os.environ, "HYPOTHESIS_PROFILE": "bench", "FULFIL_FUZZ_EXAMPLES": str(n)}
    result, seconds = timed(
        lambda: subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", SUITE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
    )
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    passed = re.search(r"(\d+) passed", tail)
    return {
        "examples_per_property": n,
        "passed_properties": int(passed.group(1)) if passed else 0,
        "ok": result.returncode == 0,
        "seconds": round(seconds, 1),
        "summary": tail,
        "failures": result.stdout[-4000:] if result.returncode else "",
    }


def markdown(results: dict[str, Any]) -> str:
    """One line per run: examples, properties passed, time."""
    state = "no failure" if results["ok"] else "FAILURES (see JSON)"
    return (
        f"### Importer fuzzing: {results['examples_per_property']} cases per property\n\n"
        f"{results['passed_properties']} properties passed in {results['seconds']} s — {state}"
    )
