"""Parcel facts from order lines and the catalog: actual, dimensional and billable weight (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Item:
    """One SKU in a parcel with its unit weight (oz) and box (inches)."""

    sku: str
    quantity: int
    weight_oz: float
    length_in: float
    width_in: float
    height_in: float


@dataclass(frozen=True, slots=True)
class Parcel:
    """A packed parcel: total weight in ounces and outer dimensions in inches, longest first."""

    weight_oz: float
    length_in: float
    width_in: float
    height_in: float

    @property
    def cubic_in(self) -> float:
        return self.length_in * self.width_in * self.height_in

    @property
    def length_plus_girth_in(self) -> float:
        return self.length_in + 2 * (self.width_in + self.height_in)


@dataclass(frozen=True, slots=True)
class DimRule:
    """A carrier's dimensional-weight divisor from a date on; applies above `min_cubic_in`."""

    effective_from: date
    divisor: float
    min_cubic_in: float = 0.0


def pack(items: Sequence[Item]) -> Parcel:
    """Estimate the parcel for items packed together: the widest footprint, heights stacked."""
    if not items:
        raise ValueError("a parcel needs at least one item")
    weight = sum(i.weight_oz * i.quantity for i in items)
    dims = [sorted((i.length_in, i.width_in, i.height_in), reverse=True) for i in items]
    length = max(d[0] for d in dims)
    width = max(d[1] for d in dims)
    height = sum(d[2] * i.quantity for d, i in zip(dims, items, strict=True))
    length, width, height = sorted((length, width, height), reverse=True)
    return Parcel(weight_oz=round(weight, 2), length_in=length, width_in=width, height_in=height)


def dim_rule_on(rules: Sequence[DimRule], on: date) -> DimRule | None:
    """The rule in force on a date: the latest `effective_from` not after it."""
    in_force = [r for r in rules if r.effective_from <= on]
    return max(in_force, key=lambda r: r.effective_from) if in_force else None


def billable_weight_oz(parcel: Parcel, rule: DimRule | None) -> tuple[float, str]:
    """Billable weight in ounces and how it was computed (actual vs dimensional, rounded up to the pound)."""
    if rule is None or parcel.cubic_in <= rule.min_cubic_in:
        return parcel.weight_oz, f"actual {parcel.weight_oz:g} oz"
    dim_lb = math.ceil(parcel.cubic_in / rule.divisor)
    dim_oz = dim_lb * 16.0
    if dim_oz > parcel.weight_oz:
        how = f"dimensional {parcel.cubic_in:g} in³ ÷ {rule.divisor:g} = {dim_lb} lb > actual {parcel.weight_oz:g} oz"
        return dim_oz, how
    return parcel.weight_oz, f"actual {parcel.weight_oz:g} oz ≥ dimensional {dim_lb} lb"
