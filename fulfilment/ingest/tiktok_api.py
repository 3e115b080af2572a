"""Orders from the TikTok Shop Partner API: map order JSON to `ImportedOrder`s (pure) and pull them into the store.

Mapping follows ``tiktok.md`` section 3: ``line_items`` has one element per unit, so quantity is the count of
elements per SKU; only ``AWAITING_SHIPMENT`` seller-shipped orders without a buyer cancel request are pending.
The line item ids (per SKU) and the delivery option go into `extra`, for pushing tracking back.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.domain import line_items
from fulfilment.domain.orders import Address, ImportedOrder, OrderLine
from fulfilment.domain.states import state_code
from fulfilment.ingest.tiktok_export import CHANNEL
from fulfilment.pipeline import Context
from fulfilment.store.models import ChannelCursor, utcnow
from fulfilment.store.orders import UpsertCounts, upsert_orders

CURSOR = "tiktok_api"
OVERLAP_S = 120
"""The next pull starts this long before the last one did (clock skew; re-reading an order changes nothing)."""
DELIVERY_OPTION_ID = "delivery_option_id"


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value or "0"))
    except InvalidOperation:
        return Decimal("0")


def order_status(order: dict[str, Any]) -> tuple[str, str]:
    """(status, skip reason): ``pending``, ``cancelled``, or ``skipped`` with a readable reason."""
    status = order.get("status", "")
    if status == "CANCELLED":
        return "cancelled", ""
    if status != "AWAITING_SHIPMENT":
        return "skipped", f"status {status or '(empty)'}"
    if order.get("shipping_type") != "SELLER":
        return "skipped", "shipped by TikTok"
    if order.get("is_buyer_request_cancel"):
        return "skipped", "buyer asked to cancel"
    return "pending", ""


def _district(address: dict[str, Any], level: str) -> dict[str, Any]:
    return next((d for d in address.get("district_info") or [] if d.get("address_level") == level), {})


def _state(address: dict[str, Any]) -> str:
    """USPS code from the L1 district (``US-CA`` iso code, else its name); '' when unknown."""
    l1 = _district(address, "L1")
    iso = str(l1.get("iso_code") or "")
    if iso.upper().startswith("US-"):
        return iso[3:].upper()
    return state_code(str(l1.get("address_name") or "")) or ""


def _sku(item: dict[str, Any]) -> str:
    return str(item.get("seller_sku") or item.get("sku_id") or "")


def _lines(items: list[dict[str, Any]]) -> list[OrderLine]:
    """One line per SKU in first-seen order; quantity is the number of line items (units) of that SKU."""
    counts: Counter[str] = Counter()
    first: dict[str, dict[str, Any]] = {}
    for item in items:
        sku = _sku(item)
        counts[sku] += 1
        first.setdefault(sku, item)
    return [
        OrderLine(sku, counts[sku], _money(item.get("sale_price")), str(item.get("product_name") or ""))
        for sku, item in first.items()
    ]


def _line_item_ids(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The line item ids of each SKU, in the order TikTok lists them."""
    by_sku: dict[str, list[str]] = {}
    for item in items:
        by_sku.setdefault(_sku(item), []).append(str(item["id"]))
    return by_sku


def map_order(order: dict[str, Any]) -> tuple[ImportedOrder | None, str]:
    """The order as an ImportedOrder, or (None, skip reason)."""
    status, reason = order_status(order)
    if reason:
        return None, reason
    address = order.get("recipient_address") or {}
    extra_lines = (address.get(f"address_line{n}") for n in (2, 3, 4))
    ship_to = Address(
        name=str(address.get("name") or ""),
        street1=str(address.get("address_line1") or "").strip(),
        street2=", ".join(str(part).strip() for part in extra_lines if part and str(part).strip()),
        city=str(_district(address, "L3").get("address_name") or _district(address, "L2").get("address_name") or ""),
        state=_state(address),
        zip=str(address.get("postal_code") or "").strip(),
        country=str(address.get("region_code") or "US").upper(),
        phone=str(address.get("phone_number") or ""),
    )
    extra = {
        line_items.LINE_ITEM_IDS: line_items.encode(_line_item_ids(order.get("line_items", []))),
        DELIVERY_OPTION_ID: str(order.get("delivery_option_id") or ""),
        "auto_combine_group_id": str(order.get("auto_combine_group_id") or ""),
    }
    created = _time(order.get("create_time"))
    imported = ImportedOrder(
        id=str(order["id"]),
        channel=CHANNEL,
        status=status,
        buyer=str(order.get("user_id") or ""),
        ship_to=ship_to,
        lines=_lines(order.get("line_items", [])),
        created_at=created or utcnow(),
        paid_at=_time(order.get("paid_time")),
        amount=_money((order.get("payment") or {}).get("total_amount")),
        buyer_message=str(order.get("buyer_message") or ""),
        extra={k: v for k, v in extra.items() if v},
    )
    return imported, ""


@dataclass(slots=True)
class PullResult:
    """What a pull did: pages and orders read, how the store changed, skipped orders by reason."""

    since: int | None
    until: int
    pages: int = 0
    orders: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "pages": self.pages,
            "orders": self.orders,
            **self.counts.as_dict(),
            "skipped": dict(self.skipped),
        }


def last_pull(ctx: Context) -> int | None:
    """Unix time the next pull starts from (the last successful pull's start, less an overlap), or None."""
    with ctx.session() as session:
        return session.scalar(select(ChannelCursor.position).where(ChannelCursor.name == CURSOR))


def pull_orders(
    ctx: Context, client: TikTokClient, since: int | None = None, clock: Callable[[], float] = time.time
) -> PullResult:
    """Search orders updated since `since` (default: from the last successful pull), fetch their details and
    upsert them page by page; the cursor moves on only when every page is stored."""
    since = last_pull(ctx) if since is None else since
    until = int(clock())
    result = PullResult(since, until)
    filters: dict[str, Any] = {"update_time_lt": until}
    if since is not None:
        filters["update_time_ge"] = since
    for ids in client.search_orders(filters):
        result.pages += 1
        mapped = []
        for order in client.order_details(ids):
            imported, reason = map_order(order)
            if imported is None:
                result.skipped[reason] += 1
            else:
                mapped.append(imported)
        result.orders += len(ids)
        with ctx.session() as session:
            counts = upsert_orders(session, mapped, source="tiktok-api", actor="pull:tiktok")
        result.counts.created += counts.created
        result.counts.updated += counts.updated
        result.counts.unchanged += counts.unchanged
        result.counts.locked.extend(counts.locked)
    with ctx.session() as session:
        cursor = session.get(ChannelCursor, CURSOR) or ChannelCursor(name=CURSOR)
        cursor.position = until - OVERLAP_S
        cursor.updated_at = utcnow()
        session.add(cursor)
    return result
