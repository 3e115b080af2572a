"""TikTok Shop webhooks (``tiktok.md`` section 4): verify, ignore replays, and bring the order up to date.

A notification is handled once per ``tts_notification_id``. Cancellations cancel the order at whatever stage it
is (`store/cancel.py`); other order changes are read back from the API (the source of truth) and stored like a
pull. Delivery is not guaranteed, so the periodic pull stays the safety net.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from fulfilment.channels.tiktok_api import TikTokClient, TikTokError
from fulfilment.channels.tiktok_sign import verify_webhook
from fulfilment.ingest.tiktok_api import map_order
from fulfilment.pipeline import Context
from fulfilment.store.cancel import cancel_order
from fulfilment.store.models import WebhookEvent
from fulfilment.store.orders import upsert_orders

ORDER_STATUS_CHANGE, RECIPIENT_ADDRESS_UPDATE, CANCELLATION_STATUS_CHANGE = 1, 3, 11
CANCELLED = ("CANCEL", "CANCELLED")
ACTOR = "webhook:tiktok"


@dataclass(frozen=True, slots=True)
class Answer:
    """What to answer TikTok: HTTP status and a short text (a non-2xx makes TikTok deliver again)."""

    status: int
    text: str


def handle_notification(ctx: Context, client: TikTokClient, body: bytes, authorization: str) -> Answer:
    """Verify and apply one notification; a forged one changes nothing, a replayed one is acknowledged only."""
    settings = client.settings
    if not verify_webhook(settings.app_key, settings.app_secret, body, authorization):
        return Answer(401, "signature does not match")
    try:
        note = json.loads(body)
        note_id, kind, data = str(note["tts_notification_id"]), int(note["type"]), dict(note.get("data") or {})
    except (ValueError, KeyError, TypeError):
        return Answer(400, "not a TikTok notification")
    with ctx.session() as session:
        if session.get(WebhookEvent, note_id) is not None:
            return Answer(200, "already handled")
    order_id = str(data.get("order_id") or "")
    try:
        order = _fresh_order(client, kind, data, order_id)
    except TikTokError as exc:
        return Answer(503, f"could not read the order back: {exc}")
    try:
        with ctx.session() as session:
            session.add(WebhookEvent(id=note_id, type=kind, order_id=order_id or None, outcome=""))
            session.flush()
            outcome = _apply(session, kind, data, order_id, order)
            session.get(WebhookEvent, note_id).outcome = outcome  # type: ignore[union-attr]
    except IntegrityError:
        return Answer(200, "already handled")
    return Answer(200, outcome)


def _fresh_order(client: TikTokClient, kind: int, data: dict[str, Any], order_id: str) -> dict[str, Any] | None:
    """The order as the API has it now, when the notification needs it (not for a plain cancellation)."""
    if not order_id or kind not in (ORDER_STATUS_CHANGE, RECIPIENT_ADDRESS_UPDATE, CANCELLATION_STATUS_CHANGE):
        return None
    if kind == ORDER_STATUS_CHANGE and data.get("order_status") in CANCELLED:
        return None
    found = client.order_details([order_id])
    return found[0] if found else None


def _apply(session: Any, kind: int, data: dict[str, Any], order_id: str, order: dict[str, Any] | None) -> str:
    if kind == ORDER_STATUS_CHANGE and data.get("order_status") in CANCELLED:
        return cancel_order(session, order_id, "cancelled on TikTok", ACTOR)
    if order is None:
        return f"type {kind}: nothing to do"
    if order.get("status") == "CANCELLED":
        return cancel_order(session, order_id, "cancelled on TikTok", ACTOR)
    imported, reason = map_order(order)
    if imported is None:
        return f"not stored: {reason}"
    counts = upsert_orders(session, [imported], source="tiktok-webhook", actor=ACTOR)
    if counts.locked:
        return f"order already in a batch; TikTok now says: {order.get('status')} (check it by hand)"
    return "created" if counts.created else "updated" if counts.updated else "unchanged"
