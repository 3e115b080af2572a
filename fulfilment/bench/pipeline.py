"""The whole batch, end to end, against the floor: rendering the same labels into one canvas per chunk and
merging them, with no database or broker.

Modes: the embedded default (SQLite, in-process broker) and PostgreSQL + Redis with 1 and 2 `fulfil worker`
processes. Each mode imports the same TikTok export into a fresh database and runs `fulfil batch run`; the floor
is measured before the first mode and after each, and each mode is compared with the floors around it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from fulfilment.bench.measure import (
    ProcessCpu,
    descendants,
    fresh_postgres,
    fresh_redis_namespace,
    peak_rss_mb,
    timed,
    wait_until_idle,
)
from fulfilment.domain.shipments import LabelSpec
from fulfilment.domain.tracking import local_tracking_number
from fulfilment.ingest.tiktok_writer import write_tiktok_export
from fulfilment.labels.local import labels_pdf_bytes
from fulfilment.labels.merge import merge_pages
from fulfilment.rules import load_rules
from fulfilment.simulate import SAMPLE_CATALOG, catalog_csv, simulate_session

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 250
CORES = len(os.sched_getaffinity(0))
REDIS_URL = os.environ.get("FULFILMENT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
STAGE_OF = {
    "screened": "screen",
    "held": "screen",
    "allocated": "allocate",
    "backordered": "allocate",
    "routed": "route",
    "labelled": "label",
}


def bench_specs(orders: list) -> list[LabelSpec]:
    """A USPS label from the first warehouse for each simulated order."""
    warehouse = load_rules(ROOT / "rules").warehouses[0]
    return [
        LabelSpec(
            shipment_id=i,
            order_ids=(o.id,),
            warehouse=warehouse.code,
            ship_from=warehouse.address,
            ship_to=o.ship_to,
            carrier="usps",
            service="usps_ground_advantage",
            service_name="USPS Ground Advantage",
            tracking_number=local_tracking_number("usps", i + 1),
            weight_oz=8.0,
            items=tuple((ln.sku, ln.quantity) for ln in o.lines),
        )
        for i, o in enumerate(orders)
    ]


def floor_s(orders: list, work: Path) -> float:
    """Seconds to draw every order's label (one canvas per chunk) and merge them into one PDF."""
    specs = bench_specs(orders)

    def render_and_merge() -> None:
        pages = []
        for start in range(0, len(specs), CHUNK):
            path = work / f"floor-{start}.pdf"
            path.write_bytes(labels_pdf_bytes(specs[start : start + CHUNK]))
            pages.extend((path, i) for i in range(len(specs[start : start + CHUNK])))
        merge_pages(pages, work / "floor.pdf")

    return timed(render_and_merge)[1]


def _fulfil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "fulfilment", *args], env=env, capture_output=True, text=True)
    if result.returncode not in (0, 2):
        raise RuntimeError(f"fulfil {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result


def _stage_spans(database_url: str, batch_id: str) -> dict[str, float]:
    """Seconds from the batch's start to the last order leaving each stage (from the audit trail)."""
    url = database_url.replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            start = conn.execute(text("SELECT created_at FROM batches WHERE id = :b"), {"b": batch_id}).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT a.to_status, MAX(a.at) FROM audit a JOIN orders o ON o.id = a.entity_id "
                    "WHERE a.entity = 'order' AND o.batch_id = :b GROUP BY a.to_status"
                ),
                {"b": batch_id},
            ).all()
            batch_rows = conn.execute(
                text(
                    "SELECT to_status, MAX(at) FROM audit WHERE entity = 'batch' AND entity_id = :b GROUP BY to_status"
                ),
                {"b": batch_id},
            ).all()
    finally:
        engine.dispose()

    def seconds(at: Any) -> float:
        at = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        begin = start if isinstance(start, datetime) else datetime.fromisoformat(str(start))
        return round((at.replace(tzinfo=None) - begin.replace(tzinfo=None)).total_seconds(), 2)

    spans: dict[str, float] = {}
    for status, at in rows:
        stage = STAGE_OF.get(status)
        if stage:
            spans[stage] = max(spans.get(stage, 0.0), seconds(at))
    for status, at in batch_rows:
        if status in ("pushing", "completed", "completed_with_errors"):
            spans["documents" if status == "pushing" else "push"] = seconds(at)
    return spans


def seeded_env(url: str, export: Path, work: Path, name: str) -> tuple[dict[str, str], float]:
    """The environment of a `fulfil` process on the database at `url` (output under `work`/out-`name`), with the
    sample catalog, ample stock in every warehouse and `export` imported; returns it and the import's seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFILMENT_")}
    env |= {
        "FULFILMENT_DATABASE_URL": url,
        "FULFILMENT_RULES_DIR": str(ROOT / "rules"),
        "FULFILMENT_OUTPUT_DIR": str(work / f"out-{name}"),
    }
    catalog = work / "catalog.csv"
    catalog.write_text(catalog_csv())
    _fulfil(env, "catalog", "import", str(catalog))
    stock = work / "stock.csv"
    stock.write_text(
        "warehouse,sku,on_hand\n"
        + "".join(f"{w},{c.sku},1000000\n" for w in ("WH-EAST", "WH-CENTRAL", "WH-WEST") for c in SAMPLE_CATALOG)
    )
    _fulfil(env, "stock", "import", str(stock))
    _, import_s = timed(lambda: _fulfil(env, "import", "tiktok", str(export), "--json"))
    return env, import_s


def live_session(n: int, work: Path) -> tuple[list, Path]:
    """A simulated live session of `n` orders (no bad addresses, no cancellations) and its TikTok export."""
    orders = simulate_session(
        n, seed=1, start=datetime.now(UTC) - timedelta(hours=3), bad_address_rate=0.0, cancel_rate=0.0
    )
    export = work / "export.csv"
    write_tiktok_export(export, orders, ZoneInfo("America/Los_Angeles"))
    return orders, export


def _running(procs: list[subprocess.Popen[bytes]]) -> list[subprocess.Popen[bytes]]:
    """`procs`, all still running; RuntimeError once one has exited (a batch would wait for its steps forever)."""
    if any(proc.poll() is not None for proc in procs):
        raise RuntimeError("a worker exited: run `fulfil worker` with the same settings to see why")
    return procs


def _trees(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    """The running processes and their live descendants (a `fulfil worker` execs dramatiq, which forks its
    workers)."""
    return [pid for proc in _running(procs) for pid in [proc.pid, *descendants(proc.pid)]]


WORKER_START_S = 120.0
"""How long started workers may take to fork and boot before the run gives up."""


@contextmanager
def _workers(env: dict[str, str], count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` `fulfil worker` processes (one dramatiq process each, 2 threads), booted and idle; their process
    groups are stopped on leaving, however the run ends."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "fulfilment", "worker", "--processes", "1", "--threads", "2"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + WORKER_START_S
        while not all(descendants(proc.pid) for proc in _running(procs)):  # dramatiq forks its worker
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers did not start within {WORKER_START_S:.0f} s")
            time.sleep(0.05)
        wait_until_idle(lambda: _trees(procs), timeout_s=WORKER_START_S)
        yield procs
    finally:
        for proc in procs:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)


def _children_cpu_s() -> float:
    """CPU seconds used by this process's ended and waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_mode(mode: str, workers: int, export: Path, work: Path) -> dict[str, Any]:
    """Import the export into a fresh database and run one batch; returns timings and peak memory."""
    with ExitStack() as stack:
        url = f"sqlite:///{work / 'embedded.db'}" if mode == "embedded" else stack.enter_context(fresh_postgres())
        env, import_s = seeded_env(url, export, work, f"{mode}-{workers}")
        if mode != "embedded":
            namespace = stack.enter_context(fresh_redis_namespace(REDIS_URL, "bench-"))
            env |= {"FULFILMENT_REDIS_URL": REDIS_URL, "FULFILMENT_REDIS_NAMESPACE": namespace}
        procs = stack.enter_context(_workers(env, workers)) if workers else []
        booted = _trees(procs)  # a side job a worker forks counts in its worker's CPU once reaped (see ProcessCpu)
        cpu = ProcessCpu(url, booted) if procs else None
        children_before = _children_cpu_s()
        batch = subprocess.Popen(
            [sys.executable, "-m", "fulfilment", "batch", "run", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            started = time.perf_counter()
            peak_workers: dict[int, float] = {}
            peak_runner = 0.0
            while batch.poll() is None:
                peak_runner = max(peak_runner, peak_rss_mb(batch.pid))
                _running(procs)
                for pid in booted:
                    peak_workers[pid] = max(peak_workers.get(pid, 0.0), peak_rss_mb(pid))
                if cpu:
                    cpu.sample()
                with suppress(subprocess.TimeoutExpired):  # the end is seen within ~50 ms, not a whole sample
                    batch.wait(timeout=0.2)
            elapsed = time.perf_counter() - started
            out, err = batch.communicate()
            runner_cpu = _children_cpu_s() - children_before
            if cpu:
                cpu.sample()
            if batch.returncode != 0:
                raise RuntimeError(f"batch run failed: {err[-2000:]}")
        finally:
            if batch.poll() is None:  # a worker died under it: it would wait for its steps forever
                batch.kill()
                batch.communicate()
        summary = json.loads(out)
        return {
            "mode": mode,
            "workers": workers,
            "import_s": round(import_s, 2),
            "batch_s": round(elapsed, 2),
            "batch_internal_s": summary["elapsed_s"],
            "counts": summary["counts"],
            "stages_s": _stage_spans(url, summary["batch_id"]),
            "cpu_s": {"runner": round(runner_cpu, 2)} | (cpu.used_s() if cpu else {}),
            "peak_rss_mb": {
                "runner": round(peak_runner, 1),
                "workers": sorted((round(v, 1) for v in peak_workers.values()), reverse=True),
            },
        }


def run(n: int = 10_000, modes: tuple[str, ...] = ("embedded", "pg1", "pg2")) -> dict[str, Any]:
    """Measure the floor and each of `modes` (embedded, pg1, pg2) on one simulated live session of `n` orders, in a
    work folder removed afterwards (10,000 orders in three modes leave ~120 MB of files)."""
    with tempfile.TemporaryDirectory(prefix="fulfil-bench-") as work:
        return _measure(n, modes, Path(work))


def _measure(n: int, modes: tuple[str, ...], work: Path) -> dict[str, Any]:
    """The floor before the first mode and after each, each mode against the mean of the two floors around it:
    the machine's speed drifts over a run of several minutes (by a third within an hour here)."""
    orders, export = live_session(n, work)
    floors = [floor_s(orders, work)]
    runs = []
    for mode in modes:
        kind, workers = ("embedded", 0) if mode == "embedded" else ("postgresql", int(mode[2:]))
        measured = run_mode(kind, workers, export, work)
        floors.append(floor_s(orders, work))
        floor = (floors[-2] + floors[-1]) / 2
        measured["floor_s"] = round(floor, 2)
        measured["orders_per_s"] = round(n / measured["batch_s"], 1)
        measured["ratio_to_floor"] = round(measured["batch_s"] / floor, 2)
        if workers:  # the embedded default runs in one process, which the GIL keeps to about one core
            measured["busy_ratio_to_floor"] = round(sum(measured["cpu_s"].values()) / CORES / floor, 2)
        runs.append(measured)
    floor = sum(floors) / len(floors)
    return {
        "n": n,
        "floor_s": round(floor, 2),
        "floors_s": [round(f, 2) for f in floors],
        "floor_orders_per_s": round(n / floor, 1),
        "runs": runs,
    }


def markdown(results: dict[str, Any]) -> str:
    """A short table of the results."""
    lines = [
        f"### Batch end to end, {results['n']} orders (floor {results['floor_s']} s = "
        f"{results['floor_orders_per_s']} labels/s; measured {len(results['floors_s'])} times: "
        f"{', '.join(map(str, results['floors_s']))} s)",
        "",
        "| mode | workers | import s | batch s | orders/s | floor s | ÷ floor | CPU s: runner, workers, PostgreSQL, "
        "Redis | ÷ floor at full CPU | labelled | stages (s from start) | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        stages = ", ".join(f"{k} {v}" for k, v in r["stages_s"].items())
        cpu = ", ".join(str(r["cpu_s"].get(k, "-")) for k in ("runner", "workers", "postgresql", "redis"))
        rss = f"runner {r['peak_rss_mb']['runner']}, workers {r['peak_rss_mb']['workers']}"
        lines.append(
            f"| {r['mode']} | {r['workers']} | {r['import_s']} | {r['batch_s']} | {r['orders_per_s']} | "
            f"{r['floor_s']} | {r['ratio_to_floor']} | {cpu} | {r.get('busy_ratio_to_floor', '-')} | "
            f"{r['counts']['labelled']} | {stages} | {rss} |"
        )
    runs = {(r["mode"], r["workers"]): r for r in results["runs"]}
    one, two = runs.get(("postgresql", 1)), runs.get(("postgresql", 2))
    if one and two:
        per_stage = ", ".join(
            f"{stage} {one['stages_s'][stage] / two['stages_s'][stage]:.2f}x"
            for stage in ("screen", "allocate", "route", "label")
            if two["stages_s"].get(stage) and stage in one["stages_s"]
        )
        lines += [
            "",
            f"2 workers ÷ 1: batch {one['batch_s'] / two['batch_s']:.2f}x; time until every order left the stage: "
            f"{per_stage}",
        ]
    lines += [
        "",
        "floor s: the mean of the floors measured just before and just after the mode, which its ratios use. "
        f"÷ floor at full CPU: the batch's CPU seconds (runner, workers, PostgreSQL and Redis) ÷ {CORES} cores ÷ "
        "the floor, the ratio it would reach if every core were busy from start to end.",
    ]
    return "\n".join(lines)
