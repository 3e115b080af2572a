"""A large import refreshes the orders tables' planner statistics, so the batch that follows is planned on them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from fulfilment.demo import prepare_demo
from fulfilment.pipeline import Context
from fulfilment.store import orders


def _estimated_orders(ctx: Context) -> float | None:
    """The planner's row count of `orders` (None: never analysed)."""
    with ctx.session() as s:
        if s.get_bind().dialect.name == "sqlite":
            # each of the table's rows in sqlite_stat1 (one per index) starts with its row count
            row = s.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'orders' LIMIT 1")).first()
            return float(row[0].split()[0]) if row else None
        reltuples = s.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'orders'"))
        return None if reltuples < 0 else reltuples


def _has_statistics_table(ctx: Context) -> bool:
    with ctx.session() as s:
        if s.get_bind().dialect.name != "sqlite":
            return True
        return bool(s.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")))


def test_an_import_of_many_orders_refreshes_the_statistics(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "ANALYZE_AFTER", 50)
    _name, _export, counts = prepare_demo(ctx, 60, seed=3)
    assert counts["created"] >= 50
    assert _estimated_orders(ctx) == counts["created"]


def test_a_small_import_leaves_them_alone(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "ANALYZE_AFTER", 1000)
    prepare_demo(ctx, 60, seed=3)
    assert not _has_statistics_table(ctx) or _estimated_orders(ctx) is None
