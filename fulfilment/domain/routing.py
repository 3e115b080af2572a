"""Carrier and service choice: the first rule whose conditions hold and whose action can ship the parcel (pure).

A rule either ships with one `carrier` + `service`, picks by a strategy (`cheapest` / `fastest` among listed
services, priced from the rate cards), or holds the order for review. Carrier hard limits win over any rule: a
service that cannot take the parcel is never chosen, and the reason is recorded. Strategy ties are broken
deterministically: cheapest → fewer transit days → the order the rule lists; fastest → lower price → listed order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fulfilment.domain.parcel import DimRule, Parcel, billable_weight_oz, dim_rule_on
from fulfilment.domain.rates import RateCard, card_on


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
class Band:
    """A number above `above` (exclusive) and up to `up_to` (inclusive); messages show values ÷ `scale` in `unit`."""

    above: float | None = None
    up_to: float | None = None
    unit: str = ""
    scale: float = 1.0

    def holds(self, value: float) -> bool:
        return (self.above is None or value > self.above) and (self.up_to is None or value <= self.up_to)

    def describe(self) -> str:
        parts = []
        if self.above is not None:
            parts.append(f"> {self.show(self.above)}")
        if self.up_to is not None:
            parts.append(f"≤ {self.show(self.up_to)}")
        return " and ".join(parts) or "any value"

    def show(self, value: float) -> str:
        return f"{value / self.scale:g} {self.unit}".rstrip()


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of a rule's `when` on one fact: a number band, membership, a ZIP prefix, or a yes/no flag.

    For set-valued facts (SKUs, categories, tags) membership holds when any of the order's values is listed.
    """

    field: str
    fact: str
    band: Band | None = None
    values: frozenset[str] | None = None
    prefixes: tuple[str, ...] = ()
    flag: bool | None = None

    def failure(self, value: object) -> str | None:
        """Why the fact's value fails this condition, or None if it holds."""
        if self.band is not None:
            if value is None:
                return f"{self.field}: unknown"
            if not self.band.holds(float(value)):  # type: ignore[arg-type]
                return f"{self.field}: {self.band.show(float(value))} is not {self.band.describe()}"  # type: ignore[arg-type]
        elif self.values is not None:
            have = value if isinstance(value, frozenset) else frozenset({str(value)})
            if not have & self.values:
                shown = ", ".join(sorted(have)) or "none"
                return f"{self.field}: {shown} is not one of {', '.join(sorted(self.values))}"
        elif self.prefixes:
            if not str(value).startswith(self.prefixes):
                return f"{self.field}: {value} does not start with {', '.join(self.prefixes)}"
        elif self.flag is not None and bool(value) != self.flag:
            return f"{self.field}: is {'yes' if value else 'no'}, the rule wants {'yes' if self.flag else 'no'}"
        return None

    def describe(self) -> str:
        """The condition as a person reads it, e.g. ``weight_oz ≤ 15.99 oz`` or ``state in AK, HI``."""
        if self.band is not None:
            return f"{self.field} {self.band.describe()}"
        if self.values is not None:
            return f"{self.field} in {', '.join(sorted(self.values))}"
        if self.prefixes:
            return f"{self.field} starts with {', '.join(self.prefixes)}"
        return f"{self.field} is {'yes' if self.flag else 'no'}"


@dataclass(frozen=True, slots=True)
class Strategy:
    """Pick `cheapest` or `fastest` among (carrier, service) pairs, in the order the rule lists them."""

    kind: str
    services: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RouteRule:
    """One rule of carriers.yaml: conditions, then an action (ship, strategy or hold) and shipping options."""

    id: str
    conditions: tuple[Condition, ...] = ()
    carrier: str | None = None
    service: str | None = None
    strategy: Strategy | None = None
    hold: str | None = None
    package: str | None = None
    signature: bool = False
    insurance: bool = False
    tags: tuple[str, ...] = ()

    def describe_when(self) -> str:
        """The rule's conditions in words (``always`` for a default rule)."""
        return "; ".join(c.describe() for c in self.conditions) or "always"

    def describe_action(self) -> str:
        """What the rule does: ship with a service, pick by a strategy, or hold for review."""
        if self.hold is not None:
            return f"hold for review: {self.hold}"
        if self.strategy is not None:
            return f"{self.strategy.kind} of " + ", ".join(f"{c} {s}" for c, s in self.strategy.services)
        return f"{self.carrier} {self.service}"

    def carriers(self, all_carriers: Sequence[str]) -> tuple[str, ...]:
        """The carriers whose billable weight the rule's weight conditions are judged on."""
        if self.strategy is not None:
            return tuple(dict.fromkeys(c for c, _ in self.strategy.services))
        return (self.carrier,) if self.carrier else tuple(all_carriers)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules may test about one order and its parcel; `ships_with` = carriers of its warehouse and
    `ships_services`, when not empty, the only services it ships."""

    parcel: Parcel
    state: str = ""
    zip: str = ""
    zone: int = 0
    zone_how: str = ""
    region: str = "contiguous"
    po_box: bool = False
    military: bool = False
    residential: bool = True
    order_value: float = 0.0
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    warehouse: str = ""
    session: str = ""
    ship_by_hours: float | None = None
    tags: frozenset[str] = frozenset()
    ships_with: frozenset[str] | None = None
    ships_services: frozenset[str] = frozenset()

    def values(self) -> dict[str, object]:
        """The facts by the name conditions use (billable weight is added per rule)."""
        p = self.parcel
        return {
            "actual_oz": p.weight_oz,
            "length_in": p.length_in,
            "width_in": p.width_in,
            "height_in": p.height_in,
            "length_girth_in": p.length_plus_girth_in,
            "state": self.state,
            "zip": self.zip[:5],
            "zone": self.zone,
            "region": self.region,
            "po_box": self.po_box,
            "military": self.military,
            "residential": self.residential,
            "order_value": self.order_value,
            "sku": self.skus,
            "category": self.categories,
            "warehouse": self.warehouse,
            "session": self.session,
            "ship_by_hours": self.ship_by_hours,
            "tag": self.tags,
        }


@dataclass(frozen=True, slots=True)
class Quote:
    """A service's price and transit time for this parcel, or why it was left out of the comparison."""

    carrier: str
    service: str
    billable_oz: float
    price: Decimal | None = None
    transit_days: int | None = None
    excluded: str = ""

    def as_dict(self) -> dict[str, object]:
        """Plain JSON values (the price as text, to keep its cents exact)."""
        return {
            "carrier": self.carrier,
            "service": self.service,
            "billable_oz": self.billable_oz,
            "price": str(self.price) if self.price is not None else None,
            "transit_days": self.transit_days,
            "excluded": self.excluded,
        }


@dataclass(frozen=True, slots=True)
class Step:
    """What one rule did: ``matched``, ``failed`` (first condition that failed) or ``skipped`` (a limit)."""

    rule_id: str
    outcome: str
    reason: str


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The chosen service, or a hold, or neither; the billable weight; each rule's step; the quotes compared."""

    rule_id: str | None
    carrier: str | None = None
    service: str | None = None
    billable_weight_oz: float | None = None
    billable_how: str = ""
    hold: str | None = None
    package: str | None = None
    signature: bool = False
    insurance: bool = False
    tags: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    quotes: tuple[Quote, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(f"{s.rule_id}: {s.outcome}, {s.reason}" for s in self.steps) or "no rules"


RateCards = Mapping[tuple[str, str], Sequence[RateCard]]
"""(carrier, service) → its dated rate cards."""


def limit_breach(service: Service, parcel: Parcel, facts: Facts) -> str | None:
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
    if facts.po_box and not service.po_box:
        return f"{service.name} does not deliver to PO Boxes"
    if facts.military and not service.military:
        return f"{service.name} does not deliver to APO/FPO/DPO addresses"
    return None


class _Judge:
    """Per-order memo of billable weights, so each carrier's dimensional weight is computed once."""

    def __init__(self, carriers: Mapping[str, Carrier], facts: Facts, on: date) -> None:
        self.carriers, self.facts, self.on = carriers, facts, on
        self._billable: dict[str, tuple[float, str]] = {}

    def billable(self, carrier: str) -> tuple[float, str]:
        if carrier not in self._billable:
            rule = dim_rule_on(self.carriers[carrier].dim_rules, self.on)
            self._billable[carrier] = billable_weight_oz(self.facts.parcel, rule)
        return self._billable[carrier]

    def cannot(self, carrier: str, service: str) -> str | None:
        """Why this service may not ship this order (warehouse or hard limit), or None."""
        ships_with = self.facts.ships_with
        if ships_with is not None and carrier not in ships_with:
            return f"the warehouse does not ship with {carrier}"
        if self.facts.ships_services and service not in self.facts.ships_services:
            return f"the warehouse does not ship {service}"
        return limit_breach(self.carriers[carrier].services[service], self.facts.parcel, self.facts)

    def quote(self, carrier: str, service: str, rates: RateCards) -> Quote:
        billable, _ = self.billable(carrier)
        name = self.carriers[carrier].services[service].name
        breach = self.cannot(carrier, service)
        if breach:
            return Quote(carrier, service, billable, excluded=breach)
        card = card_on(rates.get((carrier, service), ()), self.on)
        if card is None:
            return Quote(carrier, service, billable, excluded=f"no {name} rate card in force on {self.on}")
        price = card.price(billable, self.facts.zone)
        if price is None:
            return Quote(carrier, service, billable, excluded=f"{name} rate card stops below {billable:g} oz")
        return Quote(carrier, service, billable, price, card.transit_days)


def _pick(kind: str, quotes: Sequence[Quote]) -> Quote | None:
    """The winner among priced quotes; ties go to the other measure, then to the earlier listed service."""
    priced = [(i, q) for i, q in enumerate(quotes) if q.price is not None]
    if not priced:
        return None
    if kind == "cheapest":
        return min(priced, key=lambda iq: (iq[1].price, iq[1].transit_days, iq[0]))[1]
    return min(priced, key=lambda iq: (iq[1].transit_days, iq[1].price, iq[0]))[1]


def _ship(rule: RouteRule, judge: _Judge, rates: RateCards) -> tuple[str, str, str, tuple[Quote, ...]] | str:
    """(carrier, service, how it was chosen, quotes compared) for a ship or strategy rule, or why it cannot ship."""
    if rule.strategy is None:
        carrier, service = rule.carrier or "", rule.service or ""
        return judge.cannot(carrier, service) or (carrier, service, service, ())
    quotes = tuple(judge.quote(c, s, rates) for c, s in rule.strategy.services)
    best = _pick(rule.strategy.kind, quotes)
    if best is None:
        return "no listed service can ship it (" + "; ".join(f"{q.service}: {q.excluded}" for q in quotes) + ")"
    priced = sum(q.price is not None for q in quotes)
    return best.carrier, best.service, f"{rule.strategy.kind} of {priced} priced: {best.service}", quotes


def choose_service(
    rules: Sequence[RouteRule],
    carriers: Mapping[str, Carrier],
    rates: RateCards,
    facts: Facts,
    on: date,
    approved_holds: frozenset[str] = frozenset(),
) -> RouteDecision:
    """Walk the rules in order; the first whose conditions hold and whose action can ship (or hold) decides.

    A hold rule in `approved_holds` (a reviewer already released the order from it) is stepped over.
    """
    judge = _Judge(carriers, facts, on)
    values = facts.values()
    steps: list[Step] = []
    for rule in rules:
        billable, how = max((judge.billable(c) for c in rule.carriers(list(carriers))), key=lambda w: w[0])
        values["billable_oz"] = billable
        failed = next((f for f in (c.failure(values[c.fact]) for c in rule.conditions) if f), None)
        if failed:
            steps.append(Step(rule.id, "failed", failed))
            continue
        options = {"package": rule.package, "signature": rule.signature, "insurance": rule.insurance, "tags": rule.tags}
        if rule.hold is not None:
            if rule.id in approved_holds:
                steps.append(Step(rule.id, "skipped", "a reviewer approved this hold"))
                continue
            steps.append(Step(rule.id, "matched", f"hold for review: {rule.hold}"))
            return RouteDecision(rule.id, None, None, billable, how, rule.hold, steps=tuple(steps), **options)
        shipped = _ship(rule, judge, rates)
        if isinstance(shipped, str):
            steps.append(Step(rule.id, "skipped", shipped))
            continue
        carrier, service, chosen, quotes = shipped
        billable, how = judge.billable(carrier)
        steps.append(Step(rule.id, "matched", f"{chosen} ({how})"))
        return RouteDecision(rule.id, carrier, service, billable, how, steps=tuple(steps), quotes=quotes, **options)
    return RouteDecision(None, steps=tuple(steps))
