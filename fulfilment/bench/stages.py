"""Each chunk stage on its own, with 1 and 2 worker processes: orders per second and the 2 ÷ 1 ratio.

One simulated live session of `n` orders (as in `pipeline`) is imported into a fresh PostgreSQL database and
claimed into one batch. The stages then run one after another, each over every chunk before the next starts:
worker processes take chunk steps from a shared queue as `fulfil worker` would, follow the hand-offs within the
stage (allocation's, from one chunk to the next) and hold back the next stage's steps. So each stage's time is its
own. Screen and route read and write only their chunk's rows; allocation runs one chunk at a time per batch by
design (stock goes in ship-by order, the chunk's stock rows locked), so it cannot gain from a second process;
label plans, draws and settles the labels (local provider). Needs PostgreSQL (FULFILMENT_BENCH_PG_ADMIN).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from fulfilment.bench.measure import ProcessCpu, fresh_postgres
from fulfilment.bench.pipeline import CORES, live_session, seeded_env
from fulfilment.pipeline import CHUNK_STAGES

PROCESS_COUNTS = (1, 2)


def _worker(env: dict[str, str], work: Any, ready: Any) -> None:
    """A worker process: run chunk steps until told to stop (None), queueing the hand-offs within the stage."""
    os.environ.update(env)
    from fulfilment import heap, steps
    from fulfilment.domain.zips import lookup
    from fulfilment.pipeline import context

    heap.tune()
    ctx = context()
    lookup("10001")  # a long-running worker has its ZIP table loaded already
    ready.put(True)
    while (message := work.get()) is not None:
        stage, target = message
        for following in steps.run_chunk_stage(ctx, target, stage):
            if following.stage == stage:
                work.put((stage, following.target))


def _measure(processes: int, export: Path, work: Path) -> dict[str, Any]:
    """Claim the session into a batch on a fresh database and time each stage over every chunk."""
    from sqlalchemy import func, select

    from fulfilment import batches
    from fulfilment.config import load_settings
    from fulfilment.pipeline import context
    from fulfilment.store.db import dispose_engine
    from fulfilment.store.models import Chunk, Order

    spawn = mp.get_context("spawn")
    with fresh_postgres() as url:
        env, _ = seeded_env(url, export, work, f"stages-{processes}")
        env["FULFILMENT_REDIS_URL"] = ""
        ctx = context(load_settings(env))
        queue, ready = spawn.Queue(), spawn.Queue()
        workers = [spawn.Process(target=_worker, args=(env, queue, ready)) for _ in range(processes)]
        for p in workers:
            p.start()
        for _ in workers:
            ready.get(timeout=120)
        batch_id, first = batches.start_batch(ctx)
        chunks = [m.target for m in first]
        seconds: dict[str, float] = {}
        used: dict[str, float] = {}
        orders: dict[str, int] = {}
        for stage in CHUNK_STAGES:
            with ctx.session() as s:
                orders[stage] = s.scalar(
                    select(func.count()).where(Order.batch_id == batch_id, Order.status.in_(batches.IN_FLIGHT))
                )
            cpu = ProcessCpu(url, [p.pid for p in workers])
            began = time.perf_counter()
            for chunk in [chunks[0]] if stage == "allocate" else chunks:
                queue.put((stage, chunk))
            polls = 0
            while True:
                with ctx.session() as s:
                    left = s.scalar(select(func.count()).where(Chunk.batch_id == batch_id, Chunk.stage == stage))
                if not left:
                    break
                polls += 1
                if polls % 10 == 0:
                    cpu.sample()
                time.sleep(0.02)
            seconds[stage] = round(time.perf_counter() - began, 3)
            cpu.sample()
            by_kind = cpu.used_s()
            used[stage] = round(by_kind["workers"] + by_kind["postgresql"], 2)
        for _ in workers:
            queue.put(None)
        for p in workers:
            p.join(timeout=60)
        dispose_engine(url)
    return {
        "processes": processes,
        "seconds": seconds,
        "cpu_s": used,
        "orders_per_s": {stage: round(orders[stage] / seconds[stage], 1) for stage in CHUNK_STAGES},
    }


def run(n: int = 10_000) -> dict[str, Any]:
    """Time each chunk stage of an `n`-order session with 1 and then 2 worker processes, in a work folder removed
    afterwards."""
    with tempfile.TemporaryDirectory(prefix="fulfil-bench-") as folder:
        work = Path(folder)
        _, export = live_session(n, work)
        results = [_measure(p, export, work) for p in PROCESS_COUNTS]
    one, two = results[0], results[-1]
    return {
        "benchmark": "stages",
        "n": n,
        "results": results,
        "scaling": {stage: round(one["seconds"][stage] / two["seconds"][stage], 2) for stage in CHUNK_STAGES},
        "scaling_at_full_cpu": {
            stage: round(one["seconds"][stage] / (two["cpu_s"][stage] / CORES), 2) for stage in CHUNK_STAGES
        },
    }


def markdown(results: dict[str, Any]) -> str:
    """A short table: seconds and orders per second per stage and process count, and the 2 ÷ 1 ratio."""
    lines = [
        f"### Chunk stages one at a time, {results['n']} orders, PostgreSQL",
        "",
        "| processes | " + " | ".join(f"{s} s (orders/s)" for s in CHUNK_STAGES) + " |",
        "|---|" + "---|" * len(CHUNK_STAGES),
    ]
    for r in results["results"]:
        cells = " | ".join(
            f"{r['seconds'][s]} ({r['orders_per_s'][s]}; {r['cpu_s'][s] / r['seconds'][s]:.2f} cores busy)"
            for s in CHUNK_STAGES
        )
        lines.append(f"| {r['processes']} | {cells} |")
    lines.append("| 2 ÷ 1 | " + " | ".join(f"{results['scaling'][s]}x" for s in CHUNK_STAGES) + " |")
    full = results["scaling_at_full_cpu"]
    lines.append("| 2 ÷ 1 at full CPU | " + " | ".join(f"{full[s]}x" for s in CHUNK_STAGES) + " |")
    lines += [
        "",
        f"Cores busy: the CPU seconds of the worker processes and PostgreSQL (the server's own processes and this "
        f"database's backends, this one's polling included) during the stage ÷ its seconds. 2 ÷ 1 at "
        f"full CPU: the 1-process time ÷ the 2-process run's CPU seconds spread over all {CORES} cores, the most a "
        "second process could gain at that CPU cost.",
    ]
    return "\n".join(lines)
