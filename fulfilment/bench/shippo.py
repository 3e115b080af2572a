"""Label throughput: the local renderer, and Shippo's path against the local stand-in with every answer slowed
to 200 ms under live rate limits, against the rate-limit floor (labels / limit per minute: 1,000 labels at
500/min = 120 s).

Each mode runs one batch of clean orders (good addresses, stock for all) on a fresh SQLite database, in a child
process, as `fulfil batch run` does. The Shippo run is capped at FULFILMENT_BENCH_SHIPPO_ORDERS (default 200)
orders, since at full latency a large run takes minutes; the rate limit is scaled to a short window
(FULFILMENT_BENCH_SHIPPO_WINDOW_S, default 6 s: 500/min = 50 per 6 s) so that a short run still feels it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LIVE_LIMIT_PER_MIN = 500
LATENCY_S = 0.2
CONCURRENCY = 8


def _batch(orders: int, env: dict[str, str]) -> tuple[int, float]:
    """Labelled orders and seconds for one batch run of `orders` clean orders in a child process with `env`."""
    code = (
        "import json, time\n"
        "from fulfilment.config import load_settings\n"
        "from fulfilment.pipeline import context\n"
        "from fulfilment.runner import run_batch\n"
        "from tests.integration.shippo_support import clean_orders\n"
        "ctx = context(load_settings())\n"
        f"name = clean_orders(ctx, {orders}, seed=4)\n"
        "t = time.perf_counter()\n"
        "summary = run_batch(ctx, name)\n"
        "print(json.dumps([summary['counts']['labelled'], time.perf_counter() - t]))\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FULFILMENT_", "SHIPPO_"))}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, cwd=ROOT, capture_output=True, text=True, check=True
    )
    labelled, seconds = json.loads(done.stdout.strip().splitlines()[-1])
    return labelled, seconds


def run(n: int = 1_000) -> dict[str, Any]:
    """Time `n` labels drawn locally and up to FULFILMENT_BENCH_SHIPPO_ORDERS bought through the stand-in."""
    from tests.integration.shippo_support import shippo_env, unscreened_rules
    from tests.standins.shippo import ShippoStandIn

    shippo_n = min(n, int(os.environ.get("FULFILMENT_BENCH_SHIPPO_ORDERS", "200")))
    window_s = int(os.environ.get("FULFILMENT_BENCH_SHIPPO_WINDOW_S", "6"))
    limit = max(1, LIVE_LIMIT_PER_MIN * window_s // 60)
    with tempfile.TemporaryDirectory(prefix="bench-shippo-") as tmp:
        work = Path(tmp)
        local_env = {
            **shippo_env(work / "local", f"sqlite:///{tmp}/local.db", ""),
            "FULFILMENT_LABEL_PROVIDER": "local",
            "FULFILMENT_RULES_DIR": str(unscreened_rules(work)),
        }
        local_labels, local_s = _batch(n, local_env)
        with ShippoStandIn(latency_s=LATENCY_S) as standin:
            env = shippo_env(
                work / "shippo",
                f"sqlite:///{tmp}/shippo.db",
                standin.url,
                SHIPPO_API_TOKEN="shippo_live_bench",
                FULFILMENT_SHIPPO_TIMEOUT_S="30",
                FULFILMENT_SHIPPO_RATE_LIMIT=str(limit),
                FULFILMENT_SHIPPO_RATE_WINDOW_S=str(window_s),
                FULFILMENT_SHIPPO_BACKOFF_S="0.2",
                FULFILMENT_SHIPPO_CONCURRENCY=str(CONCURRENCY),
            )
            shippo_labels, shippo_s = _batch(shippo_n, env)
            calls = len(standin.state.requests)
    floor_s = shippo_labels / LIVE_LIMIT_PER_MIN * 60
    return {
        "benchmark": "shippo",
        "local_labels": local_labels,
        "local_s": round(local_s, 2),
        "local_labels_per_s": round(local_labels / local_s, 1),
        "shippo_labels": shippo_labels,
        "shippo_s": round(shippo_s, 2),
        "shippo_labels_per_s": round(shippo_labels / shippo_s, 2),
        "shippo_calls": calls,
        "latency_ms": LATENCY_S * 1000,
        "rate_limit": f"{LIVE_LIMIT_PER_MIN}/min per POST kind ({limit} per {window_s} s)",
        "concurrency": CONCURRENCY,
        "floor_s": round(floor_s, 2),
        "share_of_floor_speed": round(floor_s / shippo_s, 2),
        "floor_1000_labels_s": 1000 / LIVE_LIMIT_PER_MIN * 60,
        "projected_1000_labels_s": round(shippo_s / shippo_labels * 1000, 1),
    }


def markdown(r: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    return "\n".join(
        [
            "| labels | count | seconds | labels/s |",
            "|---|---:|---:|---:|",
            f"| local (whole batch) | {r['local_labels']} | {r['local_s']} | {r['local_labels_per_s']} |",
            f"| Shippo stand-in, {r['latency_ms']:.0f} ms answers | {r['shippo_labels']} | {r['shippo_s']} "
            f"| {r['shippo_labels_per_s']} |",
            "",
            f"Rate limit {r['rate_limit']}, {r['concurrency']} purchases at once, {r['shippo_calls']} API calls. "
            f"Rate-limit floor for {r['shippo_labels']} labels: {r['floor_s']} s; the Shippo path runs at "
            f"{r['share_of_floor_speed']:.0%} of the floor's speed "
            f"(1,000 labels: floor {r['floor_1000_labels_s']:.0f} s, projected {r['projected_1000_labels_s']} s).",
        ]
    )
