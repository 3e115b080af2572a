"""The demo: sample catalog and stock, a simulated live session written as a TikTok export and imported."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fulfilment.ingest.tables import TABLES, read_table
from fulfilment.ingest.tiktok_export import parse_tiktok_export
from fulfilment.ingest.tiktok_writer import write_tiktok_export
from fulfilment.pipeline import Context
from fulfilment.simulate import simulate_session
from fulfilment.store.inventory import set_stock, sync_warehouses, upsert_catalog
from fulfilment.store.orders import upsert_orders

SAMPLES = Path(__file__).with_name("samples")


def _good_rows(path: Path, kind: str) -> list[tuple[int, dict[str, object]]]:
    rows = list(read_table(path, TABLES[kind]))
    bad = [r for r in rows if not isinstance(r, tuple)]
    if bad:
        raise ValueError(f"the bundled sample {path} has bad rows: {bad}")
    return rows  # type: ignore[return-value]


def load_samples(ctx: Context) -> None:
    """Sync the warehouses and load the bundled sample catalog and stock."""
    with ctx.session() as session:
        sync_warehouses(session, ctx.rules.warehouses)
        upsert_catalog(session, _good_rows(SAMPLES / "catalog.csv", "catalog"))
        set_stock(session, _good_rows(SAMPLES / "stock.csv", "stock"))


def prepare_demo(ctx: Context, orders: int, seed: int | None) -> tuple[str, Path, dict[str, int]]:
    """Load the sample catalog and stock, simulate a session of `orders` orders, export and import it.

    Returns the live session's name, the export file written and the import counts.
    """
    seed = int(time.time()) if seed is None else seed
    name = f"demo-{seed}"
    load_samples(ctx)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    simulated = simulate_session(orders, seed=seed, start=start)
    export = ctx.batch_dir(name) / "tiktok-export.csv"
    write_tiktok_export(export, simulated, ctx.settings.shop_timezone)
    parsed = parse_tiktok_export(export, ctx.settings.shop_timezone)
    with ctx.session() as session:
        counts = upsert_orders(session, parsed.orders, source=export.name, actor="demo", live_session=name)
    return name, export, counts.as_dict()
