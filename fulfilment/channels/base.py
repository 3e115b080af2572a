"""Where tracking numbers go back, one shipment at a time: the protocol every API channel follows.

The bulk-upload file (`bulk_file.py`) is written once per batch and needs no protocol; channels that take one
push per shipment (the TikTok Partner API, signed webhooks to other shops) implement :class:`TrackingChannel`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from fulfilment.domain.line_items import LINE_ITEM_IDS

FILE_CHANNEL = "tiktok_file"
"""Outbox channel of orders from export files: their tracking goes into the batch's bulk-upload file."""
TIKTOK_API_CHANNEL = "tiktok_api"
"""Outbox channel of orders pulled from the TikTok API: each shipment is pushed through the API."""


WEBHOOK_PREFIX = "webhook:"
"""Outbox channel of orders from a shop configured as a webhook channel: ``webhook:<name>``."""


def outbox_channel(order_channel: str, extra: Mapping[str, str], webhooks: Collection[str] = ()) -> str:
    """The outbox channel for an order: a configured webhook channel of the same name; the TikTok API when the
    order came from it (it has line item ids); else the bulk-upload file."""
    if order_channel in webhooks:
        return WEBHOOK_PREFIX + order_channel
    return TIKTOK_API_CHANNEL if order_channel == "tiktok" and extra.get(LINE_ITEM_IDS) else FILE_CHANNEL


@dataclass(frozen=True, slots=True)
class PushItem:
    """Units of one SKU in the parcel, with the channel's line item ids for them when it has them."""

    sku: str
    quantity: int
    line_item_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Push:
    """One tracking number to hand back for one order: TikTok's provider name, the carrier's own service,
    what of the order the parcel carries, the order's channel data, and `key`, the same on every attempt."""

    order_id: str
    tracking_number: str
    provider_name: str
    extra: Mapping[str, str] = field(default_factory=dict)
    items: tuple[PushItem, ...] = ()
    carrier: str = ""
    service: str = ""
    key: str = ""


class ChannelError(Exception):
    """A push that did not go through; `transient` means trying again later may succeed."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class TrackingChannel(Protocol):
    """A sales channel that takes tracking numbers one shipment at a time."""

    name: str

    def already_sent(self, push: Push) -> str | None:
        """The channel's id for this tracking number on this order if it already holds it, else None."""
        ...

    def send(self, push: Push) -> str:
        """Hand the tracking number over; returns the channel's id for it (raises ChannelError)."""
        ...
