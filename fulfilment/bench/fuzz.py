"""The importer fuzz suites at full size (tests/fuzzing.py): `n` generated cases per reader property (TikTok CSV
and XLSX, JSON, the stock/catalog/buyers tables, random bytes), n/10 per rules-loader property, and n/20 per
importer and database (SQLite, PostgreSQL) through the real import path."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from fulfilment.bench.measure import timed

ROOT = Path(__file__).resolve().parents[2]
SUITES = {
    "readers and rules": "tests/unit/test_fuzz_importers.py",
    "import path into SQLite and PostgreSQL": "tests/integration/test_fuzz_import_store.py",
}


def _run_suite(suite: str, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", suite]
    result, seconds = timed(lambda: subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True))
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    passed = re.search(r"(\d+) passed", tail)
    return {
        "passed_properties": int(passed.group(1)) if passed else 0,
        "ok": result.returncode == 0,
        "seconds": round(seconds, 1),
        "summary": tail,
        "failures": result.stdout[-4000:] if result.returncode else "",
    }


def run(n: int = 10_000) -> dict[str, Any]:
    """Run every fuzz property at full size; each suite in its own pytest process."""
    env = {
        **os.environ,
        "HYPOTHESIS_PROFILE": "bench",
        "FULFIL_FUZZ_EXAMPLES": str(n),
        "FULFIL_FUZZ_STORE_EXAMPLES": str(max(1, n // 20)),
    }
    return {"examples_per_property": n, "suites": {name: _run_suite(path, env) for name, path in SUITES.items()}}


def markdown(results: dict[str, Any]) -> str:
    """One row per suite: properties passed, time, failures."""
    n = results["examples_per_property"]
    rows = [
        f"| {name} | {r['passed_properties']} | {r['seconds']} | {'none' if r['ok'] else 'FAILURES (see JSON)'} |"
        for name, r in results["suites"].items()
    ]
    return "\n".join(
        [
            f"### Importer fuzzing: {n} cases per reader property, {n // 10} per rules property, "
            f"{max(1, n // 20)} per importer and database through `fulfil import`",
            "",
            "| suite | properties passed | seconds | failures |",
            "|---|---|---|---|",
            *rows,
        ]
    )
