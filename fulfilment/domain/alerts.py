"""Low-stock alerts after a batch: SKUs under their threshold, or selling fast enough to run out soon (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AlertRules:
    """Alert when a SKU's available units (all active warehouses) are under `low_stock_below` (or its own
    threshold in `per_sku`), or when the session's sell-through would empty it within `stockout_within_hours`."""

    low_stock_below: int = 10
    per_sku: dict[str, int] = field(default_factory=dict)
    stockout_within_hours: float | None = 24.0


@dataclass(frozen=True, slots=True)
class StockAlert:
    """One SKU to restock: units still available and why it is listed."""

    sku: str
    available: int
    reason: str


def low_stock(available: Mapping[str, int], sold_per_hour: Mapping[str, float], rules: AlertRules) -> list[StockAlert]:
    """The SKUs to restock, by SKU: under threshold, or out of stock within the horizon at the session's rate."""
    alerts = []
    for sku in sorted(set(available) | set(sold_per_hour)):
        units = max(available.get(sku, 0), 0)
        threshold = rules.per_sku.get(sku, rules.low_stock_below)
        reasons = []
        if units < threshold:
            reasons.append(f"{units} available, under the threshold of {threshold}")
        rate = sold_per_hour.get(sku, 0.0)
        horizon = rules.stockout_within_hours
        if horizon and rate > 0 and units / rate < horizon:
            when = f"out of stock in about {units / rate:.1f} h" if units else "sold out"
            reasons.append(f"selling {rate:.1f}/h this session: {when}")
        if reasons:
            alerts.append(StockAlert(sku, units, "; ".join(reasons)))
    return alerts
