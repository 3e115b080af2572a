"""Importing a TikTok export of `n` rows (default 200,000, TikTok's largest), CSV and XLSX, on PostgreSQL.

The export is a simulated live session (`simulate_session`) written by the export writer; each format is
imported by `fulfil import tiktok FILE --json` into a fresh database. The import runs in its own process, so
its CPU time (user + system) and peak memory (VmHWM, sampled) are its own; PostgreSQL's server time is not in the CPU
figure but is in the wall time. The floor, measured in the same run, is the CPU time of only reading the same
file (csv.reader over every cell; inflating every XLSX member), so the ratio import ÷ floor is what parsing,
checking and storing cost on top of reading, whatever the machine's load.
Needs PostgreSQL: FULFILMENT_BENCH_PG_ADMIN (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fulfilment.bench.measure import fresh_postgres, peak_rss_mb
from fulfilment.domain.orders import ImportedOrder
from fulfilment.ingest.tiktok_writer import write_tiktok_export
from fulfilment.simulate import simulate_session

DEFAULT_N = 200_000
ROOT = Path(__file__).resolve().parents[2]
SHOP_TZ = ZoneInfo("America/Los_Angeles")
FORMATS = ("csv", "xlsx")


def export_orders(rows: int) -> list[ImportedOrder]:
    """Simulated orders holding exactly `rows` SKU lines (the last order may lose some lines)."""
    orders: list[ImportedOrder] = []
    total, seed = 0, 1
    while total < rows:
        more = simulate_session(
            max(1, (rows - total) * 3 // 4 + 10),
            seed=seed,
            start=datetime(2026, 11, 1, 18, tzinfo=UTC) + timedelta(days=seed),
            bad_address_rate=0.0,
        )
        for order in more:
            if total >= rows:
                break
            order.lines[:] = order.lines[: rows - total]
            orders.append(order)
            total += len(order.lines)
        seed += 1
    return orders


def _run_measured(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command to its end: its wall time, own CPU time (user + system), peak RSS and stdout.

    The peak is the child's VmHWM, sampled until it exits: wait4's ru_maxrss would include the memory of
    this (large) process, which a forked child counts as its own until it executes the command.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        pid = subprocess.Popen(args, env=env, stdout=out, stderr=err).pid
        peak = 0.0
        while True:
            peak = max(peak, peak_rss_mb(pid))
            done, status, usage = os.wait4(pid, os.WNOHANG)  # reaped here, not by Popen: its own usage
            if done:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 2):
            raise RuntimeError(f"{' '.join(args)} failed ({code}): {err.read()[-2000:]}")
        return {
            "wall_s": round(wall, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(peak, 1),
            "stdout": out.read(),
        }


def floor_cpu_s(path: Path, fmt: str) -> float:
    """CPU seconds of a separate process that only reads the export: every CSV cell (csv.reader), or every
    XLSX member inflated (the XML a reader must at least get out of the archive)."""
    script = (
        "import csv, sys\n"
        "with open(sys.argv[1], encoding='utf-8-sig', newline='') as f:\n"
        "    for row in csv.reader(f): pass\n"
        if fmt == "csv"
        else "import sys, zipfile\n"
        "with zipfile.ZipFile(sys.argv[1]) as book:\n"
        "    for name in book.namelist():\n"
        "        with book.open(name) as member:\n"
        "            while member.read(1 << 20): pass\n"
    )
    return _run_measured([sys.executable, "-c", script, str(path)])["cpu_s"]


def import_once(path: Path, work: Path) -> dict[str, Any]:
    """Import `path` with `fulfil import tiktok` into a fresh PostgreSQL database; usage and counts."""
    with fresh_postgres() as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FULFILMENT_")}
        env |= {
            "FULFILMENT_DATABASE_URL": url,
            "FULFILMENT_RULES_DIR": str(ROOT / "rules"),
            "FULFILMENT_OUTPUT_DIR": str(work / "out"),
            "FULFILMENT_REDIS_URL": "",
        }
        fulfil = [sys.executable, "-m", "fulfilment"]
        subprocess.run([*fulfil, "db", "upgrade"], env=env, check=True, capture_output=True)
        measured = _run_measured([*fulfil, "import", "tiktok", str(path), "--json"], env)
    counts = json.loads(measured.pop("stdout"))
    if counts["rejected_rows"] or counts["created"] != counts["orders"]:
        raise RuntimeError(f"the import did not store every order: {counts}")
    measured["orders"] = counts["orders"]
    measured["created"] = counts["created"]
    measured["rejected_rows"] = len(counts["rejected_rows"])
    return measured


def run(n: int = DEFAULT_N) -> dict[str, Any]:
    """Write an `n`-row export as CSV and XLSX and measure the floor and the import of each, in a work folder
    removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="fulfil-bench-ingest-") as work:
        return _measure(n, Path(work))


def _measure(n: int, work: Path) -> dict[str, Any]:
    orders = export_orders(n)
    results: dict[str, Any] = {"rows": n, "orders": len(orders), "runs": []}
    for fmt in FORMATS:
        path = work / f"export.{fmt}"
        write_tiktok_export(path, orders, SHOP_TZ, fmt=fmt)
        floor = floor_cpu_s(path, fmt)
        measured = import_once(path, work)
        measured |= {
            "format": fmt,
            "file_mb": round(path.stat().st_size / 2**20, 1),
            "floor_cpu_s": floor,
            "rows_per_s": round(n / measured["wall_s"]),
            "rows_per_cpu_s": round(n / max(measured["cpu_s"], 0.01)),
            "ratio_to_floor": round(measured["cpu_s"] / max(floor, 0.01), 2),
            "load_1min": round(os.getloadavg()[0], 1),
        }
        results["runs"].append(measured)
        path.unlink()
    return results


def markdown(results: dict[str, Any]) -> str:
    """A short table of the results."""
    lines = [
        f"### Import of a {results['rows']}-row TikTok export ({results['orders']} orders), PostgreSQL",
        "",
        "| format | MiB | wall s | CPU s | floor CPU s | ÷ floor | rows/s (wall) | rows/CPU s | peak RSS MiB | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['format']} | {r['file_mb']} | {r['wall_s']} | {r['cpu_s']} | {r['floor_cpu_s']} | "
            f"{r['ratio_to_floor']} | {r['rows_per_s']} | {r['rows_per_cpu_s']} | {r['peak_rss_mb']} | "
            f"{r['load_1min']} |"
        )
    return "\n".join(lines)
