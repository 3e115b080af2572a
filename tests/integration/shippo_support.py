"""Helpers for the Shippo tests: a batch of orders that all reach the label stage, and the run settings."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path

from fulfilment.demo import SAMPLES, _good_rows
from fulfilment.pipeline import Context
from fulfilment.simulate import simulate_session
from fulfilment.store.inventory import set_stock, sync_warehouses, upsert_catalog
from fulfilment.store.orders import upsert_orders
from tests.conftest import ROOT, fulfil_env


def unscreened_rules(tmp_path: Path) -> Path:
    """A copy of the repository's rules with every risk check off: these tests are about labels, so no order
    is held for review."""
    rules = tmp_path / "rules"
    if not rules.exists():
        shutil.copytree(ROOT / "rules", rules)
        risk = rules / "risk.yaml"
        risk.write_text(risk.read_text().replace("enabled: true", "enabled: false"))
    return rules


def shippo_env(tmp_path: Path, database_url: str, standin_url: str, **extra: str) -> dict[str, str]:
    """Settings for a run against the stand-in: no risk holds, one parcel per order (no combining), short
    timeouts and backoff, a 1 s rate-limit window."""
    settings = {
        "FULFILMENT_COMBINE": "0",
        "FULFILMENT_RULES_DIR": str(unscreened_rules(tmp_path)),
        "FULFILMENT_LABEL_PROVIDER": "shippo",
        "SHIPPO_API_TOKEN": "shippo_test_standin",
        "SHIPPO_BASE_URL": standin_url,
        "FULFILMENT_SHIPPO_TIMEOUT_S": "1.0",
        "FULFILMENT_SHIPPO_RATE_LIMIT": "5000",
        "FULFILMENT_SHIPPO_RATE_WINDOW_S": "1",
        "FULFILMENT_SHIPPO_BACKOFF_S": "0.02",
        "FULFILMENT_SHIPPO_CONCURRENCY": "8",
    }
    return fulfil_env(tmp_path, database_url, **{**settings, **extra})


SMALL_PARCEL_UNITS = 3
"""Units at most per order in `clean_orders`: every such parcel has a service (larger ones may fit none)."""


def clean_orders(ctx: Context, n: int, seed: int = 3) -> str:
    """`n` small orders with good addresses, none cancelled, and stock for all of them in every warehouse;
    returns the session name. Every one of them reaches the label stage."""
    name = f"shippo-{seed}"
    with ctx.session() as session:
        sync_warehouses(session, ctx.rules.warehouses)
        catalog = _good_rows(SAMPLES / "catalog.csv", "catalog")
        upsert_catalog(session, catalog)
        rows = [
            (i, {"warehouse": w.code, "sku": row["sku"], "on_hand": 10 * n})
            for i, (w, (_, row)) in enumerate(product(ctx.rules.warehouses, catalog))
        ]
        set_stock(session, rows)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    simulated = simulate_session(3 * n, seed=seed, start=start, bad_address_rate=0.0, cancel_rate=0.0)
    orders = [o for o in simulated if sum(line.quantity for line in o.lines) <= SMALL_PARCEL_UNITS][:n]
    assert len(orders) == n, "not enough small orders simulated"
    with ctx.session() as session:
        upsert_orders(session, orders, source="shippo-test", actor="test", live_session=name)
    return name
