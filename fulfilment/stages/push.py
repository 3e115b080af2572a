"""Push: hand tracking numbers back to the sales channel — the bulk upload file for orders from export files,
one API call per shipment (through the outbox, retried, never twice) for orders pulled from the TikTok API."""

from __future__ import annotations

from functools import cache

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfilment.channels.base import FILE_CHANNEL, TIKTOK_API_CHANNEL, ChannelError, Push, TrackingChannel
from fulfilment.channels.bulk_file import write_tracking_upload
from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.channels.tiktok_push import TikTokApiChannel
from fulfilment.config import TikTokSettings
from fulfilment.domain.shipments import TrackingRow
from fulfilment.domain.tracking import PROVIDER_NAMES
from fulfilment.ingest.tiktok_api import LINE_ITEM_IDS, LINE_ITEM_SKUS
from fulfilment.pipeline import Context
from fulfilment.store import outbox
from fulfilment.store.models import Outbox, Reservation, Shipment, ShipmentOrder, utcnow

MAX_ATTEMPTS = 8
"""Transient failures after which a push is parked for a person."""
MAX_BACKOFF_S = 60
"""The longest a push waits for its next attempt after a transient failure."""


def push_tracking(ctx: Context, session: Session, batch_id: str) -> dict[str, str]:
    """Write the tracking upload (XLSX and CSV) with every sent or pending row of the batch; mark them sent."""
    rows = session.execute(
        select(Outbox.id, Outbox.order_id, Shipment.tracking_number, Shipment.carrier)
        .join(Shipment, Shipment.id == Outbox.shipment_id)
        .where(
            Outbox.batch_id == batch_id,
            Outbox.channel == FILE_CHANNEL,
            Outbox.status.in_(["pending", "sent"]),
        )
        .order_by(Outbox.order_id)
    ).all()
    folder = ctx.batch_dir(batch_id)
    xlsx, csv = folder / "tracking-upload.xlsx", folder / "tracking-upload.csv"
    write_tracking_upload(
        [TrackingRow(order_id, tracking or "", PROVIDER_NAMES[carrier]) for _, order_id, tracking, carrier in rows],
        xlsx,
        csv,
    )
    session.execute(
        update(Outbox)
        .where(Outbox.batch_id == batch_id, Outbox.channel == FILE_CHANNEL, Outbox.status == "pending")
        .values(status="sent", sent_at=utcnow(), attempts=Outbox.attempts + 1)
    )
    return {"tracking_xlsx": str(xlsx), "tracking_csv": str(csv)}


@cache
def _tiktok_channel(settings: TikTokSettings) -> TikTokApiChannel:
    """One channel (and so one provider-id cache and one HTTP session) per process and credentials."""
    return TikTokApiChannel(TikTokClient(settings))


def api_channel(ctx: Context) -> TrackingChannel | None:
    """The TikTok API channel for these settings, or None when the API is not configured."""
    return _tiktok_channel(ctx.settings.tiktok) if ctx.settings.tiktok else None


def _attempt(channel: TrackingChannel, push: Push, attempt: int) -> str:
    """Send unless an earlier attempt already took; returns the channel's id for the push."""
    if attempt > 1 and (found := channel.already_sent(push)):
        return found
    try:
        return channel.send(push)
    except ChannelError as exc:
        # A refusal ("already shipped") after an uncertain earlier attempt may be that attempt having landed late.
        if exc.transient or attempt == 1 or not (found := channel.already_sent(push)):
            raise
        return found


def push_one(ctx: Context, outbox_id: int, channel: TrackingChannel | None) -> str:
    """One attempt at one API push: ``sent``, ``retry`` (transient error, try later), ``parked`` (a person must
    look; the channel's message is kept), or ``skipped`` (not open, or another worker holds it)."""
    with ctx.session() as session:
        claimed = outbox.claim(session, outbox_id, TIKTOK_API_CHANNEL, ctx.settings.push_lease_s)
    if claimed is None:
        return "skipped"
    with ctx.session() as session:
        extra = {**claimed.extra, LINE_ITEM_IDS: ",".join(package_line_items(session, claimed))}
    push = Push(claimed.order_id, claimed.tracking_number, PROVIDER_NAMES[claimed.carrier], extra)
    external, error = None, None
    if channel is None:
        status, error = "parked", "the TikTok API is not configured (TIKTOK_APP_KEY etc.)"
    elif not extra[LINE_ITEM_IDS]:
        status, error = "parked", "the order ships in several packages, but which line item is which SKU is unknown"
    else:
        try:
            external, status = _attempt(channel, push, claimed.attempts), "sent"
        except ChannelError as exc:
            error = str(exc)
            status = "retry" if exc.transient and claimed.attempts < MAX_ATTEMPTS else "parked"
            if exc.transient and status == "parked":
                error = f"gave up after {claimed.attempts} attempts: {error}"
    with ctx.session() as session:
        outbox.finish(session, claimed, status, external, error)
    return status


def package_line_items(session: Session, claimed: outbox.Claimed) -> list[str]:
    """The order's line item ids in the claimed push's package: all of them, unless the order was split across
    warehouses; then each package takes its units' ids, SKU by SKU, packages in shipment order (so a retry names
    the same ids). Empty when a split order's line items carry no SKUs."""
    ids = [i for i in claimed.extra.get(LINE_ITEM_IDS, "").split(",") if i]
    packages = session.execute(
        select(ShipmentOrder.shipment_id, Shipment.warehouse_code)
        .join(Shipment, Shipment.id == ShipmentOrder.shipment_id)
        .where(ShipmentOrder.order_id == claimed.order_id)
        .order_by(ShipmentOrder.shipment_id)
    ).all()
    if len(packages) < 2:
        return ids
    skus = claimed.extra.get(LINE_ITEM_SKUS, "").split(",")
    if len(skus) != len(ids):
        return []
    unused: dict[str, list[str]] = {}
    for item_id, sku in zip(ids, skus, strict=True):
        unused.setdefault(sku, []).append(item_id)
    units = session.execute(
        select(Reservation.warehouse_code, Reservation.sku, Reservation.quantity)
        .where(Reservation.order_id == claimed.order_id, Reservation.status == "deducted")
        .order_by(Reservation.id)
    ).all()
    for shipment_id, warehouse in packages:
        taken = []
        for _, sku, quantity in (u for u in units if u.warehouse_code == warehouse):
            taken += unused.get(sku, [])[:quantity]
            unused[sku] = unused.get(sku, [])[quantity:]
        if shipment_id == claimed.shipment_id:
            return taken
    return []


def open_pushes(session: Session, batch_id: str | None = None) -> list[int]:
    """Outbox ids of API pushes still to make (of one batch, if given)."""
    return outbox.open_rows(session, TIKTOK_API_CHANNEL, batch_id)
