"""A large import refreshes PostgreSQL's planner statistics of the orders tables, so the batch that follows is
planned on them; SQLite keeps its built-in estimates."""

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
            analysed = s.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"))
            return 0.0 if analysed else None
        reltuples = s.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'orders'"))
        return None if reltuples < 0 else reltuples


def test_an_import_of_many_orders_refreshes_the_statistics(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "ANALYZE_AFTER", 50)
    _name, _export, counts = prepare_demo(ctx, 60, seed=3)
    assert counts["created"] >= 50
    expected = None if ctx.settings.database_url.startswith("sqlite") else counts["created"]
    assert _estimated_orders(ctx) == expected


def test_a_small_import_leaves_them_alone(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "ANALYZE_AFTER", 1000)
    prepare_demo(ctx, 60, seed=3)
    assert _estimated_orders(ctx) is None
