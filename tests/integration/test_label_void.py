"""`fulfil label void ORDER`: the label refunded (Shippo) or dropped (local), the units back and held, the order
back to allocated and labelled again by the next batch; a channel cancellation voids the same way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fulfilment.cli import app
from fulfilment.config import load_settings
from fulfilment.pipeline import Context, context
from fulfilment.runner import run_batch
from fulfilment.stages.label import refund_labels
from fulfilment.store import stock
from fulfilment.store.cancel import cancel_order
from fulfilment.store.models import AuditEntry, Order, Outbox, Reservation, Shipment, ShipmentOrder
from tests.integration.shippo_support import clean_orders, shippo_env
from tests.standins.shippo import ShippoStandIn


@pytest.fixture
def standin() -> Iterator[ShippoStandIn]:
    with ShippoStandIn() as s:
        yield s


def make_ctx(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, standin: ShippoStandIn, **extra: str):
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in shippo_env(tmp_path, sqlite_url, standin.url, **extra).items():
        monkeypatch.setenv(key, value)
    return context(load_settings())


def shipments_of(ctx: Context, order_id: str) -> list[Shipment]:
    with ctx.session() as s:
        return list(
            s.scalars(
                select(Shipment)
                .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
                .where(ShipmentOrder.order_id == order_id)
                .order_by(Shipment.id)
            )
        )


def held_units(ctx: Context, order_id: str) -> tuple[set[str], int]:
    with ctx.session() as s:
        rows = s.execute(select(Reservation.status, Reservation.sku).where(Reservation.order_id == order_id)).all()
        on_hand = sum(h for _, sku, h, _ in stock.levels(s) if sku in {r.sku for r in rows})
    return {r.status for r in rows}, on_hand


@pytest.mark.parametrize("provider", ["shippo", "local"])
def test_void_refunds_puts_stock_back_and_the_next_batch_labels_the_order_again(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, standin: ShippoStandIn, provider: str
) -> None:
    ctx = make_ctx(tmp_path, sqlite_url, monkeypatch, standin, FULFILMENT_LABEL_PROVIDER=provider)
    name = clean_orders(ctx, 3)
    first = run_batch(ctx, name, timeout_s=120)
    assert first["counts"]["labelled"] == 3
    with ctx.session() as s:
        order_id = s.scalars(select(Order.id).order_by(Order.id)).first()
    (old,) = shipments_of(ctx, order_id)
    statuses, on_hand_before = held_units(ctx, order_id)
    assert statuses == {"deducted"}

    result = CliRunner().invoke(app, ["label", "void", order_id, "--json"])

    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["shipments"] == [old.id] and outcome["allocated"] == [order_id]
    assert outcome["refunds_pending"] == 0
    assert [p["order"] for p in outcome["tell_channel"]] == [order_id], "the tracking file already went out"
    (voided,) = shipments_of(ctx, order_id)
    assert voided.status == "voided"
    statuses, on_hand_after = held_units(ctx, order_id)
    assert statuses == {"reserved"} and on_hand_after > on_hand_before, "units back on the shelf, held again"
    with ctx.session() as s:
        order = s.get(Order, order_id)
        assert (order.status, order.batch_id) == ("allocated", None)
        flagged = s.scalars(select(AuditEntry.reason).where(AuditEntry.to_status == "channel_to_tell")).all()
    assert flagged and old.tracking_number in flagged[0]
    if provider == "shippo":
        ledger = {row["transaction"]: row["status"] for row in standin.ledger()}
        assert ledger[old.shippo_transaction_id] == "REFUNDED"

    again = run_batch(ctx, timeout_s=120)

    assert again["counts"] == {"orders": 1, "labelled": 1, "held": 0, "backordered": 0, "failed": 0}
    old_again, new = shipments_of(ctx, order_id)
    assert new.status == "labelled" and new.tracking_number != old.tracking_number
    assert held_units(ctx, order_id)[0] == {"deducted"}
    if provider == "shippo":
        assert sorted(len(t) for t in standin.live_labels().values()) == [1, 1, 1], "one live label per order"


def test_void_refuses_an_order_that_is_not_labelled(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, standin: ShippoStandIn
) -> None:
    ctx = make_ctx(tmp_path, sqlite_url, monkeypatch, standin)
    clean_orders(ctx, 1)
    with ctx.session() as s:
        order_id = s.scalars(select(Order.id)).one()

    pending = CliRunner().invoke(app, ["label", "void", order_id])
    unknown = CliRunner().invoke(app, ["label", "void", "NO-SUCH-ORDER"])

    assert pending.exit_code == 1 and "is pending" in pending.output
    assert unknown.exit_code == 1 and "no order 'NO-SUCH-ORDER'" in unknown.output


def test_a_channel_cancellation_of_a_labelled_order_refunds_its_shippo_label(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, standin: ShippoStandIn
) -> None:
    ctx = make_ctx(tmp_path, sqlite_url, monkeypatch, standin)
    name = clean_orders(ctx, 2)
    run_batch(ctx, name, timeout_s=120)
    with ctx.session() as s:
        order_id = s.scalars(select(Order.id).order_by(Order.id)).first()
        with_unsent = s.scalar(select(Outbox.id).where(Outbox.order_id == order_id))
        s.get(Outbox, with_unsent).status = "pending"
    (shipment,) = shipments_of(ctx, order_id)

    with ctx.session() as s:
        done = cancel_order(s, order_id, "cancelled on TikTok", "webhook:tiktok")
    assert "label voided" in done
    assert shipments_of(ctx, order_id)[0].status == "refund_due", "the refund is an intent until it is made"

    assert refund_labels(ctx) == 0
    assert shipments_of(ctx, order_id)[0].status == "voided"
    assert {row["transaction"]: row["status"] for row in standin.ledger()}[shipment.shippo_transaction_id] == "REFUNDED"
    with ctx.session() as s:
        assert s.get(Outbox, with_unsent).status == "cancelled"
        assert set(s.scalars(select(Reservation.status).where(Reservation.order_id == order_id))) == {"released"}
