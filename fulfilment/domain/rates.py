"""Rate cards: a price per billable-weight band and zone, in force from a date, and a transit time (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZONES = tuple(range(1, 10))
"""Rate cards have one price per zone 1–9 (9: territories and military)."""


@dataclass(frozen=True, slots=True)
class RateCard:
    """One service's prices from `effective_from` on: `bands` are (up to oz, price per zone 1–9), ascending."""

    carrier: str
    service: str
    effective_from: date
    transit_days: int
    bands: tuple[tuple[float, tuple[Decimal, ...]], ...]
    source: str = ""

    def price(self, billable_oz: float, zone: int) -> Decimal | None:
        """The price for this weight and zone; None above the heaviest band."""
        for up_to_oz, prices in self.bands:
            if billable_oz <= up_to_oz:
                return prices[min(max(zone, 1), len(prices)) - 1]
        return None


def card_on(cards: Sequence[RateCard], on: date) -> RateCard | None:
    """The card in force on a date: the latest `effective_from` not after it."""
    in_force = [c for c in cards if c.effective_from <= on]
    return max(in_force, key=lambda c: c.effective_from) if in_force else None
