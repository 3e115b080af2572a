"""Allocations per second on PostgreSQL with 1 and 2 worker processes.

`n` single-line orders (8 SKUs, stock for all of them over 3 warehouses) wait as backorders in 4 live
sessions; one batch per session claims them straight into allocation, and worker processes run the chunk
messages (screen, then allocate) from a shared queue, as `fulfil worker` would. Allocation within a batch runs
one chunk at a time, so parallelism comes from the batches; their chunks queue on the same stock rows.
Needs PostgreSQL: FULFILMENT_BENCH_PG_ADMIN (default postgresql://postgres@127.0.0.1:5432/postgres); a
database is created for each run and dropped after.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_N = 4000
SESSIONS = 4
SKUS = [f"SKU-{i}" for i in range(8)]
CHUNK_SIZE = "100"
PROCESS_COUNTS = (1, 2)


def _admin_url() -> str:
    return os.environ.get("FULFILMENT_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _env(url: str, out: str) -> dict[str, str]:
    rules = os.path.join(os.path.dirname(__file__), "..", "..", "rules")
    return {
        "FULFILMENT_DATABASE_URL": url,
        "FULFILMENT_RULES_DIR": os.path.abspath(os.environ.get("FULFILMENT_RULES_DIR", rules)),
        "FULFILMENT_OUTPUT_DIR": out,
        "FULFILMENT_CHUNK_SIZE": CHUNK_SIZE,
        "FULFILMENT_REDIS_URL": "",
    }


def _seed(ctx: Any, n: int) -> None:
    from fulfilment.store.inventory import sync_warehouses
    from fulfilment.store.models import LiveSession, Order, OrderLineRow, Stock

    start = datetime(2026, 11, 1, tzinfo=UTC)
    with ctx.session() as s:
        sync_warehouses(s, ctx.rules.warehouses)
        s.flush()
        s.add_all(
            Stock(warehouse_code=w.code, sku=k, on_hand=n, reserved=0) for w in ctx.rules.warehouses for k in SKUS
        )
        sessions = [LiveSession(name=f"bench-{i}") for i in range(SESSIONS)]
        s.add_all(sessions)
        s.flush()
        for i in range(n):
            order = Order(
                id=f"B{i:07d}",
                channel="tiktok",
                status="backordered",
                buyer=f"buyer{i}",
                ship_name=f"Buyer {i}",
                ship_street1=f"{i} Main St",
                ship_city="Dallas",
                ship_state="TX",
                ship_zip=("10001", "75201", "90012", "60601")[i % 4],
                created_at=start + timedelta(seconds=i),
                paid_at=start + timedelta(seconds=i),
                session_id=sessions[i % SESSIONS].id,
            )
            order.lines.append(OrderLineRow(sku=SKUS[i % len(SKUS)], quantity=1 + i % 2))
            s.add(order)


def _worker(env: dict[str, str], work: Any, ready: Any) -> None:
    """A worker process: run chunk messages until told to stop (None), sending back what follows."""
    os.environ.update(env)
    from fulfilment import batches
    from fulfilment.domain.zips import lookup
    from fulfilment.pipeline import context

    ctx = context()
    lookup("10001")  # a long-running worker has its ZIP table loaded already
    ready.put(True)
    while (message := work.get()) is not None:
        stage, target = message
        for following in batches.run_chunk_stage(ctx, target, stage):
            if following.stage in ("screen", "allocate"):
                work.put((following.stage, following.target))


def _measure(n: int, processes: int) -> dict[str, Any]:
    import psycopg
    from sqlalchemy import func, select

    from fulfilment import batches
    from fulfilment.config import load_settings
    from fulfilment.pipeline import context
    from fulfilment.store.db import dispose_engine
    from fulfilment.store.models import Order

    admin = _admin_url()
    name = f"fulfil_bench_{secrets.token_hex(4)}"
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    spawn = mp.get_context("spawn")
    try:
        with tempfile.TemporaryDirectory() as out:
            env = _env(url, out)
            ctx = context(load_settings(env))
            _seed(ctx, n)
            work, ready = spawn.Queue(), spawn.Queue()
            workers = [spawn.Process(target=_worker, args=(env, work, ready)) for _ in range(processes)]
            for p in workers:
                p.start()
            for _ in workers:
                ready.get(timeout=120)
            began = time.perf_counter()
            for i in range(SESSIONS):
                for message in batches.start_batch(ctx, f"bench-{i}")[1]:
                    work.put((message.stage, message.target))
            while True:
                with ctx.session() as s:
                    left = s.scalar(select(func.count()).where(Order.status.in_(("claimed", "screened"))))
                if not left:
                    break
                time.sleep(0.02)
            elapsed = time.perf_counter() - began
            for _ in workers:
                work.put(None)
            for p in workers:
                p.join(timeout=60)
            with ctx.session() as s:
                allocated = s.scalar(select(func.count()).where(Order.status == "allocated"))
            dispose_engine(url)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "processes": processes,
        "orders": n,
        "allocated": allocated,
        "seconds": round(elapsed, 3),
        "allocations_per_s": round(n / elapsed, 1),
    }


def run(n: int) -> dict[str, Any]:
    """Allocate `n` orders with 1 and then 2 worker processes, each on a fresh PostgreSQL database."""
    return {"benchmark": "allocate", "results": [_measure(n, p) for p in PROCESS_COUNTS]}
