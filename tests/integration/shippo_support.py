"""Helpers for the Shippo tests: a batch of orders that all reach the label stage, and the run settings."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
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


def clean_orders(ctx: Context, n: int, seed: int = 3) -> str:
    """`n` orders with good addresses, none cancelled, and stock for all of them; returns the session name."""
    name = f"shippo-{seed}"
    with ctx.session() as session:
        sync_warehouses(session, ctx.rules.warehouses)
        catalog = _good_rows(SAMPLES / "catalog.csv", "catalog")
        upsert_catalog(session, catalog)
        warehouse = ctx.rules.warehouses[0].code
        rows = [
            (i, {"warehouse": warehouse, "sku": row["sku"], "on_hand": 10 * n}) for i, (_, row) in enumerate(catalog)
        ]
        set_stock(session, rows)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    orders = simulate_session(n, seed=seed, start=start, bad_address_rate=0.0, cancel_rate=0.0)
    with ctx.session() as session:
        upsert_orders(session, orders, source="shippo-test", actor="test", live_session=name)
    return name
