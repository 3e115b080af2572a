"""PostgreSQL + Redis with two `fulfil worker` processes gives the same result as the embedded run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import create_engine, text

from tests.conftest import FIXTURES, REDIS_URL, ROOT, fulfil_env
from tests.e2e.test_cli import fulfil

OUTCOME = text(
    "SELECT id, status, warehouse_code, carrier, service, rule_id FROM orders WHERE batch_id IS NOT NULL ORDER BY id"
)


def outcomes(url: str) -> list[tuple]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(OUTCOME)]
    finally:
        engine.dispose()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FULFILMENT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "fulfilment", "worker", "--processes", "1", "--threads", "2"],
        env={**base, **env},
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_two_workers_match_the_embedded_run(tmp_path: Path, pg_url: str, redis_namespace: str, sqlite_url: str) -> None:
    embedded_env = fulfil_env(tmp_path / "embedded", sqlite_url)
    embedded = fulfil(embedded_env, "demo", "--orders", "300", "--seed", "21", "--json")
    assert embedded.returncode == 0, embedded.stderr
    expected = json.loads(embedded.stdout)

    env = fulfil_env(
        tmp_path / "distributed",
        pg_url,
        FULFILMENT_REDIS_URL=REDIS_URL,
        FULFILMENT_REDIS_NAMESPACE=redis_namespace,
    )
    assert fulfil(env, "db", "upgrade").returncode == 0
    workers = [start_worker(env, tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        distributed = fulfil(env, "demo", "--orders", "300", "--seed", "21", "--json", timeout=600)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    assert distributed.returncode == 0, distributed.stderr + "".join(
        (tmp_path / f"worker-{i}.log").read_text() for i in range(2)
    )
    got = json.loads(distributed.stdout)
    assert got["status"] == expected["status"]
    assert got["counts"] == expected["counts"]
    assert outcomes(pg_url) == outcomes(sqlite_url)
    slips = [PdfReader(run["outputs"]["packing_slips_pdf"]).pages for run in (got, expected)]
    assert len(slips[0]) > 0, "the slips are drawn by a worker's forked side job"
    untracked = [[p.extract_text().split("\n", 1)[1] for p in pages] for pages in slips]  # below the heading
    assert untracked[0] == untracked[1], "the same slips in the same order (tracking numbers go by labelling order)"


STEP_CODE = ("fulfilment.steps", "fulfilment.stages", "fulfilment.labels", "reportlab", "pypdf", "openpyxl", "requests")
"""What only a process that runs steps loads: the stages, label drawing, PDF merging, XLSX and HTTP clients."""

PROBE = f"""
import sys
from fulfilment.cli import app
try:
    app(['batch', 'run', '--json', '--timeout', '0'])
finally:
    loaded = [m for m in sys.modules if any(m == c or m.startswith(c + '.') for c in {STEP_CODE!r})]
    print(sorted(loaded), file=sys.stderr)
"""
"""`fulfil batch run` in a Python process that then lists, on stderr, the step code it loaded."""


def test_a_distributed_batch_run_claims_and_sends_without_loading_the_stages(
    tmp_path: Path, pg_url: str, redis_namespace: str
) -> None:
    env = fulfil_env(tmp_path, pg_url, FULFILMENT_REDIS_URL=REDIS_URL, FULFILMENT_REDIS_NAMESPACE=redis_namespace)
    assert fulfil(env, "db", "upgrade").returncode == 0
    assert fulfil(env, "import", "tiktok", str(FIXTURES / "tiktok-export-sample.csv")).returncode in (0, 2)
    base = {k: v for k, v in os.environ.items() if not k.startswith("FULFILMENT_")}
    # No worker runs: the run claims the orders, sends the first steps and stops waiting at once (--timeout 0).
    run = subprocess.run(
        [sys.executable, "-c", PROBE], env={**base, **env}, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["status"] == "running" and summary["counts"]["orders"] > 0
    assert run.stderr.strip().splitlines()[-1] == "[]", run.stderr
