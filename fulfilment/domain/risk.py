"""The risk screen: pure checks over plain order data and the context the caller loaded (no I/O).

Each check is switched and tuned by `RiskRules` (from rules/risk.yaml) and yields `RiskHold`s: a stable code,
a human reason and the values that triggered it. Bursts look for many identities behind one thing (an IP,
an address, a buyer) inside a time window over the orders' own timestamps, counting every order the caller
passes in `RiskContext.seen` (earlier batches included).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fulfilment.domain import zips
from fulfilment.domain.address import MILITARY_CITIES, check_address, classify, normalise
from fulfilment.domain.orders import Address
from fulfilment.domain.states import MILITARY, NONCONTIGUOUS, TERRITORIES, state_code

HIGH_RETURN_RATE = "HIGH_RETURN_RATE"
IP_BURST = "IP_BURST"
ADDRESS_BURST = "ADDRESS_BURST"
BUYER_BURST = "BUYER_BURST"
REMOTE_DESTINATION = "REMOTE_DESTINATION"
HIGH_VALUE = "HIGH_VALUE"
HIGH_QUANTITY = "HIGH_QUANTITY"
BUYER_CANCEL_REQUEST = "BUYER_CANCEL_REQUEST"
ADDRESS_CHANGED = "ADDRESS_CHANGED"

REMOTE_STATES = NONCONTIGUOUS | TERRITORIES | MILITARY
SHOWN_IDENTITIES = 10
"""At most this many buyers / addresses are listed in a burst hold's details."""


# --- rules --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReturnRule:
    """Hold a buyer whose returns ÷ orders reaches `rate`, once they have at least `min_orders` orders."""

    enabled: bool = True
    rate: float = 0.30
    min_orders: int = 5


@dataclass(frozen=True, slots=True)
class BurstRule:
    """Hold orders when, within `window`, one key has at least `min_orders` orders and `min_distinct`
    different identities (buyers or addresses)."""

    enabled: bool = True
    min_orders: int = 1
    min_distinct: int = 2
    window: timedelta = timedelta(minutes=60)


@dataclass(frozen=True, slots=True)
class Threshold:
    """Hold when a value is strictly above `above`."""

    enabled: bool = True
    above: Decimal = Decimal("0")


@dataclass(frozen=True, slots=True)
class RiskRules:
    """Every check's switch and numbers; the defaults are those of the shipped rules/risk.yaml.

    `remote_action` is ``hold`` (Alaska, Hawaii, territories and APO/FPO/DPO wait for a reviewer) or
    ``route_only`` (no hold: routing alone deals with them).
    """

    address: bool = True
    high_return: ReturnRule = ReturnRule()
    ip_burst: BurstRule = BurstRule(min_orders=4, min_distinct=2, window=timedelta(minutes=15))
    address_burst: BurstRule = BurstRule(min_orders=3, min_distinct=3, window=timedelta(minutes=60))
    buyer_burst: BurstRule = BurstRule(min_orders=3, min_distinct=3, window=timedelta(minutes=60))
    remote: bool = True
    remote_action: str = "hold"
    high_value: Threshold = Threshold(above=Decimal("500"))
    high_quantity: Threshold = Threshold(above=Decimal("10"))
    buyer_cancel_request: bool = True
    address_changed: bool = True


# --- inputs and outputs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScreenOrder:
    """What the screen reads of one order. `address_key` is :func:`burst_address_key` of `ship_to`;
    `lines` are (sku, quantity) pairs."""

    id: str
    buyer: str
    created_at: datetime
    ship_to: Address
    address_key: str
    amount: Decimal = Decimal("0")
    lines: tuple[tuple[str, int], ...] = ()
    buyer_ip: str | None = None
    buyer_cancel_request: bool = False
    address_changed: bool = False


@dataclass(frozen=True, slots=True)
class SeenOrder:
    """An order that counts towards bursts: who, from where, to where, when."""

    id: str
    buyer: str
    buyer_ip: str | None
    address_key: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BuyerHistory:
    """A buyer's past orders and returns (imported history plus orders shipped by the tool), and when they last
    returned something, if known."""

    orders: int = 0
    returns: int = 0
    last_return_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the screen needs beyond the orders: buyer histories and every order near them in time."""

    history: Mapping[str, BuyerHistory] = field(default_factory=dict)
    seen: Sequence[SeenOrder] = ()


@dataclass(frozen=True, slots=True)
class RiskHold:
    """One reason to hold an order: code, human reason and the values that triggered it."""

    code: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def burst_address_key(addr: Address) -> str:
    """The normalised address key bursts group on; empty (never grouped) for an empty or masked street."""
    street = f"{addr.street1} {addr.street2}"
    if not street.strip() or "*" in street:  # TikTok masks hidden parts with stars
        return ""
    return normalise(addr)


# --- the screen ---------------------------------------------------------------------------------------------


def screen(orders: Sequence[ScreenOrder], context: RiskContext, rules: RiskRules) -> dict[str, list[RiskHold]]:
    """Every check over every order: the holds per order id (an empty list: the order passes)."""
    seen = _merge_seen(orders, context.seen)
    bursts = _burst_holds(seen, rules)
    result: dict[str, list[RiskHold]] = {}
    for order in orders:
        holds = _order_holds(order, context.history.get(order.buyer), rules)
        holds.extend(bursts.get(order.id, []))
        result[order.id] = holds
    return result


def _order_holds(order: ScreenOrder, history: BuyerHistory | None, rules: RiskRules) -> list[RiskHold]:
    """The checks that need only the order itself and its buyer's history."""
    holds: list[RiskHold] = []
    if rules.address:
        holds.extend(RiskHold(p.code, p.reason, asdict(p)) for p in check_address(order.ship_to))
    if rules.high_return.enabled and history is not None:
        holds.extend(_high_return(order.buyer, history, rules.high_return))
    if rules.remote and rules.remote_action == "hold":
        holds.extend(_remote(order.ship_to))
    if rules.high_value.enabled and order.amount > rules.high_value.above:
        reason = f"order value ${order.amount} is over ${rules.high_value.above}"
        holds.append(RiskHold(HIGH_VALUE, reason, {"amount": str(order.amount), "above": str(rules.high_value.above)}))
    if rules.high_quantity.enabled:
        holds.extend(_high_quantity(order.lines, rules.high_quantity))
    if rules.buyer_cancel_request and order.buyer_cancel_request:
        holds.append(RiskHold(BUYER_CANCEL_REQUEST, "the buyer asked to cancel this order"))
    if rules.address_changed and order.address_changed:
        holds.append(RiskHold(ADDRESS_CHANGED, "the shipping address was changed after payment"))
    return holds


def _high_return(buyer: str, history: BuyerHistory, rule: ReturnRule) -> list[RiskHold]:
    if history.orders < rule.min_orders or history.orders <= 0:
        return []
    rate = history.returns / history.orders
    if rate < rule.rate:
        return []
    reason = (
        f"buyer {buyer} returned {history.returns} of {history.orders} orders ({rate:.0%}); "
        f"the limit is {rule.rate:.0%}"
    )
    details: dict[str, Any] = {
        "orders": history.orders,
        "returns": history.returns,
        "rate": round(rate, 4),
        "limit": rule.rate,
    }
    if history.last_return_at is not None:
        details["last_return_at"] = history.last_return_at.isoformat()
    return [RiskHold(HIGH_RETURN_RATE, reason, details)]


def _maybe_remote(addr: Address) -> bool:
    """A cheap superset of classify()'s remote cases (state, the ZIP's state or type, an APO/FPO/DPO city), so
    that the street lines are only read for addresses that may be remote."""
    info = zips.lookup(addr.zip)
    stated = state_code(addr.state) if addr.state.strip() else None
    return (
        stated in REMOTE_STATES
        or (info is not None and (info.state in REMOTE_STATES or info.type == "MILITARY"))
        or addr.city.strip().upper() in MILITARY_CITIES
    )


def _remote(addr: Address) -> list[RiskHold]:
    if not _maybe_remote(addr):
        return []
    flags = classify(addr)
    if flags.is_military:
        where = "an APO/FPO/DPO military address"
    elif flags.is_territory:
        where = f"the US territory {addr.state.strip().upper()}"
    elif flags.is_alaska_hawaii:
        where = "Alaska" if addr.state.strip().upper() in ("AK", "ALASKA") else "Hawaii"
    else:
        return []
    return [RiskHold(REMOTE_DESTINATION, f"ships to {where}", {"state": addr.state, "zip": addr.zip})]


def _high_quantity(lines: Iterable[tuple[str, int]], rule: Threshold) -> list[RiskHold]:
    per_sku: Counter[str] = Counter()
    for sku, quantity in lines:
        per_sku[sku] += quantity
    return [
        RiskHold(HIGH_QUANTITY, f"{quantity} units of {sku}, over {rule.above}", {"sku": sku, "quantity": quantity})
        for sku, quantity in sorted(per_sku.items())
        if quantity > rule.above
    ]


# --- bursts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BurstKind:
    code: str
    key: Callable[[SeenOrder], str | None]
    identity: Callable[[SeenOrder], str]
    rule: Callable[[RiskRules], BurstRule]
    noun: str
    describe: Callable[[str, int, int, int], str]


_BURSTS = (
    _BurstKind(
        IP_BURST,
        lambda o: o.buyer_ip,
        lambda o: o.buyer,
        lambda r: r.ip_burst,
        "buyers",
        lambda key, n, d, m: f"{n} orders from IP {key} by {d} different buyers within {m} minutes",
    ),
    _BurstKind(
        ADDRESS_BURST,
        lambda o: o.address_key,
        lambda o: o.buyer,
        lambda r: r.address_burst,
        "buyers",
        lambda key, n, d, m: f"{d} different buyers ship to {key!r} within {m} minutes ({n} orders)",
    ),
    _BurstKind(
        BUYER_BURST,
        lambda o: o.buyer,
        lambda o: o.address_key or "(no address)",
        lambda r: r.buyer_burst,
        "addresses",
        lambda key, n, d, m: f"buyer {key} ships to {d} different addresses within {m} minutes ({n} orders)",
    ),
)


def _merge_seen(orders: Sequence[ScreenOrder], seen: Sequence[SeenOrder]) -> list[SeenOrder]:
    """The screened orders plus the context's, each order once (the screened version wins)."""
    merged = {s.id: s for s in seen}
    for o in orders:
        merged[o.id] = SeenOrder(o.id, o.buyer, o.buyer_ip, o.address_key, o.created_at)
    return list(merged.values())


def _burst_holds(seen: Sequence[SeenOrder], rules: RiskRules) -> dict[str, list[RiskHold]]:
    holds: dict[str, list[RiskHold]] = {}
    for kind in _BURSTS:
        rule = kind.rule(rules)
        if not rule.enabled:
            continue
        groups: dict[str, list[SeenOrder]] = {}
        for order in seen:
            key = kind.key(order)
            if key:
                groups.setdefault(key, []).append(order)
        for key, group in groups.items():
            if len(group) < max(rule.min_orders, rule.min_distinct):
                continue
            for order_id, window in _windows(group, kind.identity, rule).items():
                holds.setdefault(order_id, []).append(_burst_hold(kind, key, window, rule))
    return holds


def _windows(
    group: list[SeenOrder], identity: Callable[[SeenOrder], str], rule: BurstRule
) -> dict[str, list[SeenOrder]]:
    """Each order of the group that lies in a window of `rule.window` meeting the rule, with that window.

    A sliding window over the orders in time order: one pass, each order entering and leaving once.
    """
    events = sorted(group, key=lambda o: (o.created_at, o.id))
    counts: Counter[str] = Counter()
    flagged: dict[str, list[SeenOrder]] = {}
    end = 0
    for start, first in enumerate(events):
        while end < len(events) and events[end].created_at - first.created_at <= rule.window:
            counts[identity(events[end])] += 1
            end += 1
        if end - start >= rule.min_orders and len(counts) >= rule.min_distinct:
            window = events[start:end]
            for order in window:
                flagged.setdefault(order.id, window)
        counts[identity(first)] -= 1
        if not counts[identity(first)]:
            del counts[identity(first)]
    return flagged


def _burst_hold(kind: _BurstKind, key: str, window: list[SeenOrder], rule: BurstRule) -> RiskHold:
    identities = sorted({kind.identity(o) for o in window})
    minutes = int(rule.window.total_seconds() // 60)
    details = {
        "key": key,
        "orders": len(window),
        kind.noun: identities[:SHOWN_IDENTITIES],
        f"distinct_{kind.noun}": len(identities),
        "order_ids": [o.id for o in window][: SHOWN_IDENTITIES * 2],
        "from": window[0].created_at.isoformat(),
        "to": window[-1].created_at.isoformat(),
        "window_minutes": minutes,
    }
    return RiskHold(kind.code, kind.describe(key, len(window), len(identities), minutes), details)
