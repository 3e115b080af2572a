"""The TikTok Partner API as a tracking channel: mark the line items of one parcel shipped in one package (a split
order's parcels each name their own units; the orders of a combined parcel each get a package with its number)."""

from __future__ import annotations

from fulfilment.channels.base import TIKTOK_API_CHANNEL, ChannelError, Push
from fulfilment.channels.tiktok_api import TikTokClient, TikTokError


class TikTokApiChannel:
    """Pushes through ``POST /fulfillment/202309/orders/{id}/packages`` with the provider id looked up (cached)."""

    name = TIKTOK_API_CHANNEL

    def __init__(self, client: TikTokClient) -> None:
        self.client = client

    def already_sent(self, push: Push) -> str | None:
        try:
            packages = self.client.packages(push.order_id)
        except TikTokError as exc:
            raise ChannelError(str(exc), exc.transient) from exc
        return next((str(p["id"]) for p in packages if p.get("tracking_number") == push.tracking_number), None)

    def send(self, push: Push) -> str:
        line_items = [i for item in push.items for i in item.line_item_ids]
        option = push.extra.get("delivery_option_id", "")
        if not line_items or len(line_items) != sum(item.quantity for item in push.items) or not option:
            raise ChannelError(
                "the parcel's line item ids or the delivery option from the TikTok API are unknown", False
            )
        try:
            provider = self.client.provider_id(option, push.provider_name)
            return self.client.ship_package(push.order_id, push.tracking_number, provider, line_items)
        except TikTokError as exc:
            raise ChannelError(str(exc), exc.transient) from exc
