"""The risk screen as a pure function: every check on both sides of its threshold, with the shipped defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fulfilment.domain import risk
from fulfilment.domain.address import classify
from fulfilment.domain.orders import Address
from fulfilment.domain.risk import BuyerHistory, RiskContext, ScreenOrder, SeenOrder, burst_address_key, screen
from fulfilment.domain.states import MILITARY, NONCONTIGUOUS, TERRITORIES
from fulfilment.rules import load_rules
from fulfilment.simulate import broken_addresses, realistic_addresses

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules").risk
T0 = datetime(2026, 11, 21, 19, 0, tzinfo=UTC)
HOME = Address("Jane Doe", "123 Main St", "Cambridge", "MA", "02139")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def order(
    oid: str,
    buyer: str = "buyer1",
    minutes: float = 0,
    ship_to: Address = HOME,
    ip: str | None = None,
    amount: str = "40",
    lines: tuple[tuple[str, int], ...] = (("SKU-1", 1),),
    **flags: bool,
) -> ScreenOrder:
    return ScreenOrder(
        id=oid,
        buyer=buyer,
        created_at=at(minutes),
        ship_to=ship_to,
        address_key=burst_address_key(ship_to),
        amount=Decimal(amount),
        lines=lines,
        buyer_ip=ip,
        **flags,
    )


def street(number: int) -> Address:
    return replace(HOME, street1=f"{number} Oak St")


NO_CONTEXT = RiskContext()


def codes(orders: list[ScreenOrder], context: RiskContext = NO_CONTEXT, rules=RULES) -> dict[str, list[str]]:
    return {oid: [h.code for h in holds] for oid, holds in screen(orders, context, rules).items()}


def test_a_plain_order_passes() -> None:
    assert codes([order("1")]) == {"1": []}


# --- address ------------------------------------------------------------------------------------------------


def test_address_problems_become_holds_with_their_code_and_can_be_switched_off() -> None:
    broken = order("1", ship_to=replace(HOME, zip="90001"))
    [hold] = screen([broken], RiskContext(), RULES)["1"]
    assert (hold.code, hold.reason) == ("ADDRESS_ZIP_STATE_MISMATCH", "ZIP 90001 is in CA, not MA")
    assert hold.details["field"] == "zip"
    assert codes([broken], rules=replace(RULES, address=False)) == {"1": []}


def test_realistic_addresses_raise_no_address_hold_and_remote_only_where_remote() -> None:
    addresses = realistic_addresses(600, seed=23)
    orders = [order(str(i), buyer=f"b{i}", minutes=i * 7, ship_to=a) for i, a in enumerate(addresses)]
    result = codes(orders)
    for o in orders:
        remote = o.ship_to.state in NONCONTIGUOUS | TERRITORIES | MILITARY
        assert result[o.id] == (["REMOTE_DESTINATION"] if remote else []), o.ship_to
    flags = [classify(a) for a in addresses]
    assert sum(f.is_po_box for f in flags) > 20 and sum(f.is_military for f in flags) > 20
    assert sum(f.is_territory for f in flags) > 10 and sum(f.is_alaska_hawaii for f in flags) > 10
    assert sum(1 for a in addresses if a.street2) > 50 and {a.city for a in addresses} >= {"APO", "FPO"}


def test_broken_addresses_are_all_held_with_their_code() -> None:
    broken = broken_addresses(350, seed=29)
    orders = [order(str(i), buyer=f"b{i}", minutes=i * 7, ship_to=a) for i, (a, _) in enumerate(broken)]
    result = codes(orders)
    for o, (_, code) in zip(orders, broken, strict=True):
        assert code in result[o.id], (o.ship_to, code, result[o.id])


# --- high return rate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orders", "returns", "held"),
    [
        (5, 2, True),  # 40%
        (10, 3, True),  # exactly 30%: reaches the threshold
        (10, 2, False),  # 20%
        (4, 4, False),  # 100% but below the minimum of 5 orders
        (1, 1, False),  # one return in one order is not 100%
        (5, 0, False),
    ],
)
def test_high_return_rate_threshold_and_minimum(orders: int, returns: int, held: bool) -> None:
    context = RiskContext(history={"buyer1": BuyerHistory(orders, returns)})
    assert codes([order("1")], context) == {"1": ["HIGH_RETURN_RATE"] if held else []}


def test_high_return_reason_names_the_numbers() -> None:
    context = RiskContext(history={"buyer1": BuyerHistory(8, 3)})
    [hold] = screen([order("1")], context, RULES)["1"]
    assert hold.reason == "buyer buyer1 returned 3 of 8 orders (38%); the limit is 30%"
    assert hold.details == {"orders": 8, "returns": 3, "rate": 0.375, "limit": 0.3}


# --- bursts -------------------------------------------------------------------------------------------------


def test_ip_burst_needs_four_orders_and_two_buyers_within_fifteen_minutes() -> None:
    four = [order(str(i), buyer=f"b{i % 2}", minutes=i * 5, ip="203.0.113.9") for i in range(4)]
    assert codes(four) == {str(i): ["IP_BURST"] for i in range(4)}  # 0, 5, 10, 15 minutes: inclusive
    assert codes(four[:3]) == {str(i): [] for i in range(3)}
    one_buyer = [replace(o, buyer="b0") for o in four]
    assert all(not c for c in codes(one_buyer).values())
    spread = [replace(o, created_at=at(i * 5.1)) for i, o in enumerate(four)]  # 15.3 minutes
    assert all(not c for c in codes(spread).values())
    no_ip = [replace(o, buyer_ip=None) for o in four]
    assert all(not c for c in codes(no_ip).values())


def test_ip_burst_reason_and_details() -> None:
    four = [order(str(i), buyer=f"b{i % 2}", minutes=i, ip="203.0.113.9") for i in range(4)]
    [hold] = screen(four, RiskContext(), RULES)["0"]
    assert hold.reason == "4 orders from IP 203.0.113.9 by 2 different buyers within 15 minutes"
    assert hold.details["buyers"] == ["b0", "b1"] and hold.details["order_ids"] == ["0", "1", "2", "3"]


def test_address_burst_needs_three_buyers_within_an_hour() -> None:
    three = [order(str(i), buyer=f"b{i}", minutes=i * 30) for i in range(3)]  # 0, 30, 60 minutes
    assert codes(three) == {str(i): ["ADDRESS_BURST"] for i in range(3)}
    assert all(not c for c in codes(three[:2]).values())
    late = [*three[:2], replace(three[2], created_at=at(61))]
    assert all(not c for c in codes(late).values())
    same_buyer_many_orders = [order(str(i), buyer="b0", minutes=i) for i in range(6)]  # a normal live session
    assert all(not c for c in codes(same_buyer_many_orders).values())


def test_address_burst_matches_the_normalised_address() -> None:
    spellings = [
        replace(HOME, street1="123 Main Street", street2="Apt 4"),
        replace(HOME, street1="123 MAIN ST.", street2="#4", zip="02139-4307"),
        replace(HOME, street1="Apt 4", street2="123 main st"),
    ]
    orders = [order(str(i), buyer=f"b{i}", minutes=i, ship_to=a) for i, a in enumerate(spellings)]
    assert codes(orders) == {str(i): ["ADDRESS_BURST"] for i in range(3)}
    masked = [order(str(i), buyer=f"b{i}", minutes=i, ship_to=replace(HOME, street1="1** M*** St")) for i in range(3)]
    assert all("ADDRESS_BURST" not in c for c in codes(masked).values())


def test_buyer_burst_needs_three_addresses_within_an_hour() -> None:
    three = [order(str(i), minutes=i * 20, ship_to=street(i + 1)) for i in range(3)]
    assert codes(three) == {str(i): ["BUYER_BURST"] for i in range(3)}
    two_addresses = [
        replace(o, ship_to=street(1 + i % 2), address_key=burst_address_key(street(1 + i % 2)))
        for i, o in enumerate(three)
    ]
    assert all(not c for c in codes(two_addresses).values())
    late = [*three[:2], replace(three[2], created_at=at(70))]
    assert all(not c for c in codes(late).values())


def test_bursts_count_orders_from_earlier_batches() -> None:
    earlier = [SeenOrder(f"old{i}", f"b{i}", None, burst_address_key(HOME), at(-10 - i)) for i in range(2)]
    now = order("new", buyer="b9")
    assert codes([now], RiskContext(seen=earlier)) == {"new": ["ADDRESS_BURST"]}
    long_ago = [replace(s, created_at=at(-120)) for s in earlier]
    assert codes([now], RiskContext(seen=long_ago)) == {"new": []}


def test_burst_checks_can_be_switched_off() -> None:
    three = [order(str(i), buyer=f"b{i}", minutes=i) for i in range(3)]
    rules = replace(RULES, address_burst=replace(RULES.address_burst, enabled=False))
    assert all(not c for c in codes(three, rules=rules).values())


# --- remote, value, quantity, source flags ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ship_to", "held"),
    [
        (Address("A", "85 Kam Hwy", "Haleiwa", "HI", "96712"), True),
        (Address("A", "PO Box 1452", "Anchorage", "AK", "99501"), True),
        (Address("A", "Calle Luna 12", "San Juan", "PR", "00926"), True),
        (Address("A", "18 Kongens Gade", "St Thomas", "VI", "00802"), True),
        (Address("A", "PSC 1234 Box 5678", "APO", "AE", "09012"), True),
        (Address("A", "Unit 8400 Box 100", "DPO", "AA", "34001"), True),
        (Address("A", "1 Main St", "Los Angeles", "CA", "90001"), False),
        (Address("A", "PO Box 9", "Cambridge", "MA", "02139"), False),
    ],
)
def test_remote_destination(ship_to: Address, held: bool) -> None:
    assert codes([order("1", ship_to=ship_to)]) == {"1": ["REMOTE_DESTINATION"] if held else []}
    assert codes([order("1", ship_to=ship_to)], rules=replace(RULES, remote_action="route_only")) == {"1": []}


@pytest.mark.parametrize(("amount", "held"), [("500.00", False), ("500.01", True), ("12.50", False)])
def test_high_value_is_strictly_over_500(amount: str, held: bool) -> None:
    assert codes([order("1", amount=amount)]) == {"1": ["HIGH_VALUE"] if held else []}


@pytest.mark.parametrize(
    ("lines", "held"),
    [
        ((("A", 10),), False),
        ((("A", 11),), True),
        ((("A", 6), ("A", 5)), True),  # one SKU on two lines
        ((("A", 6), ("B", 6)), False),  # 12 units, but of two SKUs
    ],
)
def test_high_quantity_of_one_sku(lines: tuple[tuple[str, int], ...], held: bool) -> None:
    result = screen([order("1", lines=lines)], RiskContext(), RULES)["1"]
    assert [h.code for h in result] == (["HIGH_QUANTITY"] if held else [])
    if held:
        assert result[0].details == {"sku": "A", "quantity": 11}


def test_source_flags_hold_when_set() -> None:
    flagged = order("1", buyer_cancel_request=True, address_changed=True)
    assert codes([flagged]) == {"1": [risk.BUYER_CANCEL_REQUEST, risk.ADDRESS_CHANGED]}
    rules = replace(RULES, buyer_cancel_request=False, address_changed=False)
    assert codes([flagged], rules=rules) == {"1": []}


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(st.tuples(st.integers(0, 180), st.sampled_from("abcd")), min_size=1, max_size=30),
    min_orders=st.integers(1, 6),
    min_distinct=st.integers(1, 4),
    window=st.integers(0, 60),
)
def test_burst_windows_match_the_definition(
    events: list[tuple[int, str]], min_orders: int, min_distinct: int, window: int
) -> None:
    """An order is held iff some window of `window` minutes holding it has enough orders and distinct buyers."""
    orders = [order(str(i), buyer=b, minutes=m, ip="198.51.100.1") for i, (m, b) in enumerate(events)]
    rule = risk.BurstRule(True, min_orders, min_distinct, timedelta(minutes=window))
    rules = replace(
        RULES,
        address=False,
        remote=False,
        ip_burst=rule,
        address_burst=replace(rule, enabled=False),
        buyer_burst=replace(rule, enabled=False),
    )
    held = {oid for oid, c in codes(orders, rules=rules).items() if c}

    def meets(start: int) -> bool:
        inside = [(m, b) for m, b in events if start <= m <= start + window]
        return len(inside) >= min_orders and len({b for _, b in inside}) >= min_distinct

    expected = {str(i) for i, (m, _) in enumerate(events) if any(s <= m <= s + window and meets(s) for s, _ in events)}
    assert held == expected
