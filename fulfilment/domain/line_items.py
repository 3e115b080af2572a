"""A channel's line item ids per SKU, and handing them out to the parcels an order ships in (pure).

TikTok lists one line item per unit (``tiktok.md`` section 3) and a package names the line items it carries, so a
split order's parcels must each name their own units: the ids of a SKU are handed out in order, parcel by parcel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

LINE_ITEM_IDS = "line_item_ids"
"""`Order.extra` key holding the line item ids per SKU, as JSON ``{"SKU": ["id", ...]}``."""


def encode(by_sku: Mapping[str, Sequence[str]]) -> str:
    """The `extra` value for these ids per SKU."""
    return json.dumps({sku: list(ids) for sku, ids in by_sku.items()}, separators=(",", ":"))


def decode(value: str) -> dict[str, list[str]]:
    """Ids per SKU from an `extra` value; {} when empty or not in this form."""
    try:
        parsed = json.loads(value) if value else {}
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(sku): [str(i) for i in ids] for sku, ids in parsed.items() if isinstance(ids, list)}


def hand_out(
    by_sku: Mapping[str, Sequence[str]], parcels: Sequence[Sequence[tuple[str, int]]]
) -> list[list[list[str]]]:
    """The line item ids of each (sku, units) line of each parcel: the next `units` unused ids of that SKU.

    Raises ValueError when the parcels hold more units of a SKU than the order has line items for it.
    """
    used: dict[str, int] = {}
    out = []
    for items in parcels:
        lines = []
        for sku, units in items:
            start = used.get(sku, 0)
            available = by_sku.get(sku, ())
            if start + units > len(available):
                raise ValueError(f"{sku}: {start + units} units shipped but the order has {len(available)} line items")
            lines.append(list(available[start : start + units]))
            used[sku] = start + units
        out.append(lines)
    return out
