"""Warehouse choice: which warehouses could ship an order whole, in preference order (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def demand(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Units needed per SKU (lines of one SKU added up)."""
    needed: dict[str, int] = {}
    for sku, quantity in lines:
        needed[sku] = needed.get(sku, 0) + quantity
    return needed


def candidates(
    needed: Mapping[str, int], warehouses: Sequence[str], available: Mapping[tuple[str, str], int]
) -> list[str]:
    """The warehouses, in the given order, whose available stock covers every SKU of the order."""
    return [w for w in warehouses if all(available.get((w, sku), 0) >= q for sku, q in needed.items())]


def shortfall(needed: Mapping[str, int], warehouses: Sequence[str], available: Mapping[tuple[str, str], int]) -> str:
    """A human reason why no warehouse can ship the order whole: per SKU, what is needed and the most on offer."""
    parts = []
    for sku, quantity in sorted(needed.items()):
        best = max(warehouses, key=lambda w: available.get((w, sku), 0), default=None)
        have = available.get((best, sku), 0) if best else 0
        if have < quantity:
            where = f"{have} available at best ({best})" if best and have else "none available"
            parts.append(f"{sku}: needs {quantity}, {where}")
    return "no warehouse can ship the whole order: " + "; ".join(parts)
