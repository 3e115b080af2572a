"""Carrier and service choice: the first rule whose conditions hold and whose service can take the parcel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from fulfilment.domain.parcel import DimRule, Parcel, billable_weight_oz, dim_rule_on


@dataclass(frozen=True, slots=True)
class Service:
    """A carrier service and its hard limits (None = no limit)."""

    carrier: str
    token: str
    name: str
    max_weight_oz: float | None = None
    max_length_in: float | None = None
    max_length_girth_in: float | None = None
    po_box: bool = False
    military: bool = False


@dataclass(frozen=True, slots=True)
class Carrier:
    """A carrier: its TikTok provider name, services and dated dimensional-weight rules."""

    code: str
    name: str
    services: dict[str, Service]
    dim_rules: tuple[DimRule, ...] = ()


@dataclass(frozen=True, slots=True)
class WeightBand:
    """Billable weight above `above_oz` (exclusive) and up to `up_to_oz` (inclusive)."""

    above_oz: float | None = None
    up_to_oz: float | None = None

    def holds(self, weight_oz: float) -> bool:
        return (self.above_oz is None or weight_oz > self.above_oz) and (
            self.up_to_oz is None or weight_oz <= self.up_to_oz
        )

    def describe(self) -> str:
        parts = []
        if self.above_oz is not None:
            parts.append(f"> {self.above_oz:g} oz")
        if self.up_to_oz is not None:
            parts.append(f"≤ {self.up_to_oz:g} oz")
        return " and ".join(parts) or "any weight"


@dataclass(frozen=True, slots=True)
class RouteRule:
    """One rule of carriers.yaml: conditions, and the service it picks."""

    id: str
    carrier: str
    service: str
    weight: WeightBand = field(default_factory=WeightBand)


@dataclass(frozen=True, slots=True)
class Destination:
    """What routing needs to know about where a parcel goes."""

    state: str
    is_po_box: bool = False
    is_military: bool = False


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The chosen service (or None), the billable weight it was judged on, and why, rule by rule."""

    rule_id: str | None
    carrier: str | None
    service: str | None
    billable_weight_oz: float | None
    trace: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.trace)


def limit_breach(service: Service, parcel: Parcel, billable_oz: float, dest: Destination) -> str | None:
    """Why the service cannot take this parcel to this destination, or None if it can."""
    if service.max_weight_oz is not None and parcel.weight_oz > service.max_weight_oz:
        return f"{service.name} takes at most {service.max_weight_oz / 16:g} lb, parcel weighs {parcel.weight_oz:g} oz"
    if service.max_length_in is not None and parcel.length_in > service.max_length_in:
        return f"{service.name} takes at most {service.max_length_in:g} in length"
    if service.max_length_girth_in is not None and parcel.length_plus_girth_in > service.max_length_girth_in:
        return (
            f"{service.name} takes at most {service.max_length_girth_in:g} in length + girth, "
            f"parcel is {parcel.length_plus_girth_in:g} in"
        )
    if dest.is_po_box and not service.po_box:
        return f"{service.name} does not deliver to PO Boxes"
    if dest.is_military and not service.military:
        return f"{service.name} does not deliver to APO/FPO/DPO addresses"
    return None


def choose_service(
    rules: Sequence[RouteRule],
    carriers: dict[str, Carrier],
    parcel: Parcel,
    dest: Destination,
    on: date,
    ships_with: frozenset[str] | None = None,
    services: frozenset[str] = frozenset(),
) -> RouteDecision:
    """Walk the rules in order; the first whose weight band holds and whose service takes the parcel decides.

    `ships_with` limits the carriers to those that collect from the parcel's warehouse, and `services`, when
    not empty, the services it ships.
    """
    trace: list[str] = []
    for rule in rules:
        if ships_with is not None and rule.carrier not in ships_with:
            trace.append(f"{rule.id}: skipped, the warehouse does not ship with {rule.carrier}")
            continue
        if services and rule.service not in services:
            trace.append(f"{rule.id}: skipped, the warehouse does not ship {rule.service}")
            continue
        carrier = carriers[rule.carrier]
        billable, how = billable_weight_oz(parcel, dim_rule_on(carrier.dim_rules, on))
        if not rule.weight.holds(billable):
            trace.append(f"{rule.id}: billable {billable:g} oz is not {rule.weight.describe()}")
            continue
        breach = limit_breach(carrier.services[rule.service], parcel, billable, dest)
        if breach:
            trace.append(f"{rule.id}: skipped, {breach}")
            continue
        trace.append(f"{rule.id}: matched ({how})")
        return RouteDecision(rule.id, rule.carrier, rule.service, billable, tuple(trace))
    return RouteDecision(None, None, None, None, tuple(trace) or ("no rules",))
