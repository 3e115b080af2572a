"""Push: hand tracking numbers back to the sales channel — the bulk upload file for orders from export files,
one call per (order, parcel) through the outbox (retried, never twice) for orders pulled from the TikTok API and
orders of shops configured as webhook channels."""

from __future__ import annotations

from functools import cache

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfilment.channels.base import (
    FILE_CHANNEL,
    TIKTOK_API_CHANNEL,
    WEBHOOK_PREFIX,
    ChannelError,
    Push,
    PushItem,
    TrackingChannel,
)
from fulfilment.channels.bulk_file import write_tracking_upload
from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.channels.tiktok_push import TikTokApiChannel
from fulfilment.channels.webhook_push import WebhookChannel
from fulfilment.config import TikTokSettings, WebhookSettings
from fulfilment.domain.shipments import TrackingRow
from fulfilment.domain.tracking import PROVIDER_NAMES
from fulfilment.pipeline import Context
from fulfilment.store import outbox
from fulfilment.store.models import Outbox, Shipment, utcnow


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


@cache
def _webhook_channel(settings: WebhookSettings) -> WebhookChannel:
    """One channel (and so one HTTP session) per process and webhook settings."""
    return WebhookChannel(settings)


def api_channel(ctx: Context) -> TrackingChannel | None:
    """The TikTok API channel for these settings, or None when the API is not configured."""
    return _tiktok_channel(ctx.settings.tiktok) if ctx.settings.tiktok else None


def channel_for(ctx: Context, name: str) -> TrackingChannel | None:
    """The channel that pushes outbox rows of channel `name`, or None when it is not configured."""
    if name == TIKTOK_API_CHANNEL:
        return api_channel(ctx)
    hook = next((w for w in ctx.settings.webhooks if WEBHOOK_PREFIX + w.name == name), None)
    return _webhook_channel(hook) if hook else None


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


def push_one(ctx: Context, outbox_id: int, channel: TrackingChannel | None = None) -> str:
    """One attempt at one push through the row's channel (or `channel`, when given): ``sent``, ``retry``
    (transient error, try later), ``parked`` (a person must look; the channel's message is kept), or ``skipped``
    (not open, or another worker holds it)."""
    with ctx.session() as session:
        claimed = outbox.claim(session, outbox_id, ctx.settings.push_lease_s)
    if claimed is None:
        return "skipped"
    channel = channel or channel_for(ctx, claimed.channel)
    push = Push(
        claimed.order_id,
        claimed.tracking_number,
        PROVIDER_NAMES[claimed.carrier],
        claimed.extra,
        tuple(PushItem(i["sku"], int(i["quantity"]), tuple(i.get("line_item_ids", ()))) for i in claimed.items),
        claimed.carrier,
        claimed.service,
        f"{claimed.order_id}:{claimed.tracking_number}",
    )
    external, error = None, None
    if channel is None:
        status, error = "parked", f"channel {claimed.channel} is not configured (see the README's Settings)"
    else:
        try:
            external, status = _attempt(channel, push, claimed.attempts), "sent"
        except ChannelError as exc:
            error = str(exc)
            status = "retry" if exc.transient and claimed.attempts < outbox.MAX_ATTEMPTS else "parked"
            if exc.transient and status == "parked":
                error = f"gave up after {claimed.attempts} attempts: {error}"
    with ctx.session() as session:
        outbox.finish(session, claimed, status, external, error)
    return status


def open_pushes(session: Session, batch_id: str | None = None) -> list[int]:
    """Outbox ids of one-by-one pushes (API and webhooks) still to make (of one batch, if given)."""
    return outbox.open_rows(session, batch_id)
