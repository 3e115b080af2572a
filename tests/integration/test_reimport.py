"""Re-importing an export: repeats change nothing, changes reach only orders not yet claimed by a batch."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select, update

from fulfilment import batches
from fulfilment.domain.address import AddressFlags
from fulfilment.ingest.tiktok_export import parse_tiktok_export
from fulfilment.pipeline import Context
from fulfilment.store.models import AuditEntry, LiveSession, Order
from fulfilment.store.orders import upsert_orders
from tests.conftest import FIXTURES


def test_reexport_updates_unclaimed_orders_only(ctx: Context) -> None:
    parsed = parse_tiktok_export(FIXTURES / "tiktok-export-sample.csv", ctx.settings.shop_timezone)
    with ctx.session() as s:
        assert upsert_orders(s, parsed.orders, "sample.csv", "test", live_session="Sunday live").created == 2
    with ctx.session() as s:  # stored in bulk (COPY on PostgreSQL): every value and default as an INSERT gives
        for imported in parsed.orders:
            stored = s.get(Order, imported.id)
            assert (stored.extra, stored.tags, stored.amount) == (imported.extra, [], imported.amount)
            assert stored.created_at == imported.created_at and stored.updated_at is not None
            assert [(ln.sku, ln.quantity, ln.unit_price) for ln in stored.lines] == [
                (ln.sku, ln.quantity, ln.unit_price) for ln in imported.lines
            ]
        imported_rows = select(AuditEntry.entity_id, AuditEntry.actor).where(
            AuditEntry.reason == "imported from sample.csv"
        )
        assert sorted(s.execute(imported_rows).all()) == sorted((o.id, "test") for o in parsed.orders)
    with ctx.session() as s:
        assert upsert_orders(s, parsed.orders, "sample.csv", "test").as_dict() == {
            "created": 0,
            "updated": 0,
            "unchanged": 2,
            "locked": 0,
        }

    first, second = parsed.orders
    with ctx.session() as s:  # as a screen of an earlier batch left them (the order was backordered since)
        s.execute(update(Order).where(Order.id == first.id).values(address_flags=AddressFlags(is_po_box=True).bits))
    moved = replace(first.ship_to, street1="500 Other St")
    with ctx.session() as s:
        counts = upsert_orders(s, [replace(first, ship_to=moved), second], "re-export.csv", "test")
    assert (counts.updated, counts.unchanged) == (1, 1)
    with ctx.session() as s:
        assert s.get(Order, first.id).ship_street1 == "500 Other St"
        assert s.get(Order, first.id).address_flags is None, "the flags were read off the old address"
        assert s.scalar(select(func.count()).select_from(LiveSession).where(LiveSession.name == "Sunday live")) == 1
        assert s.get(Order, second.id).session_id is not None
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.entity_id == first.id, AuditEntry.reason.like("updated%"))
            )
            == 1
        )

    batches.start_batch(ctx)
    again = replace(first, ship_to=replace(moved, street1="1 Late Change Ave"))
    with ctx.session() as s:
        counts = upsert_orders(s, [again, second], "late.csv", "test")
    assert counts.locked == [first.id] and counts.updated == 0
    with ctx.session() as s:
        assert s.get(Order, first.id).ship_street1 == "500 Other St"
