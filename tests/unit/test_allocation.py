"""Warehouse choice over available stock (pure): policies, overrides, split or backorder, and the reasons."""

from fulfilment.domain.allocation import Override, Policy, Site, candidates, choose, demand, preference, shortfall

RANKED = ["WH-EAST", "WH-CENTRAL", "WH-WEST"]
SITES = [Site("WH-EAST", "08837"), Site("WH-CENTRAL", "75062"), Site("WH-WEST", "91761")]
MILES = {  # made-up distances from each warehouse to the destination ZIPs used below
    ("08837", "10001"): 30.0,
    ("75062", "10001"): 1370.0,
    ("91761", "10001"): 2430.0,
    ("08837", "90001"): 2440.0,
    ("75062", "90001"): 1230.0,
    ("91761", "90001"): 40.0,
    ("08837", "64101"): 1090.0,
    ("75062", "64101"): 460.0,
    ("91761", "64101"): 1350.0,
}


def miles(a: str, b: str) -> float | None:
    return MILES.get((a, b))


def plenty(*warehouses: str, sku: str = "A", units: int = 10) -> dict[tuple[str, str], int]:
    return {(w, sku): units for w in warehouses}


def test_demand_adds_lines_of_one_sku() -> None:
    assert demand([("A", 1), ("B", 2), ("A", 3)]) == {"A": 4, "B": 2}


def test_first_warehouse_that_has_everything_wins_in_rank_order() -> None:
    stock = {
        ("WH-EAST", "A"): 5,
        ("WH-EAST", "B"): 0,
        ("WH-CENTRAL", "A"): 1,
        ("WH-CENTRAL", "B"): 1,
        ("WH-WEST", "A"): 9,
        ("WH-WEST", "B"): 9,
    }
    assert candidates({"A": 1, "B": 1}, RANKED, stock) == ["WH-CENTRAL", "WH-WEST"]
    assert candidates({"A": 2, "B": 1}, RANKED, stock) == ["WH-WEST"]


def test_shortfall_names_each_short_sku() -> None:
    stock = {("WH-EAST", "A"): 1, ("WH-WEST", "B"): 3}
    reason = shortfall({"A": 2, "B": 1, "C": 1}, RANKED, stock)
    assert "A: needs 2, 1 available at best (WH-EAST)" in reason
    assert "C: needs 1, none available" in reason
    assert "B:" not in reason


def test_ranked_takes_the_file_order_and_names_who_was_short() -> None:
    stock = {("WH-EAST", "A"): 0, ("WH-CENTRAL", "A"): 5, ("WH-WEST", "A"): 5}
    decision = choose({"A": 2}, "CA", "90001", SITES, Policy("ranked"), stock, miles)
    assert decision.parts == (("WH-CENTRAL", {"A": 2}),)
    assert decision.reason == "allocated from WH-CENTRAL (ranked 2nd; WH-EAST short of stock)"


def test_closest_takes_the_nearest_warehouse_with_stock() -> None:
    stock = plenty("WH-EAST", "WH-CENTRAL", "WH-WEST")
    to_la = choose({"A": 1}, "CA", "90001", SITES, Policy("closest"), stock, miles)
    to_ny = choose({"A": 1}, "NY", "10001", SITES, Policy("closest"), stock, miles)
    assert to_la.parts[0][0] == "WH-WEST" and "closest, 40 mi" in to_la.reason
    assert to_ny.parts[0][0] == "WH-EAST"
    stock[("WH-WEST", "A")] = 0
    fallback = choose({"A": 1}, "CA", "90001", SITES, Policy("closest"), stock, miles)
    assert fallback.parts[0][0] == "WH-CENTRAL" and "WH-WEST short of stock" in fallback.reason


def test_tie_radius_prefers_rank_among_near_warehouses() -> None:
    assert [w for w, _ in preference(SITES, "64101", Policy("closest"), miles)] == ["WH-CENTRAL", "WH-EAST", "WH-WEST"]
    tied = Policy("closest", tie_radius_miles=700)
    assert [w for w, _ in preference(SITES, "64101", tied, miles)] == ["WH-EAST", "WH-CENTRAL", "WH-WEST"]
    decision = choose({"A": 1}, "MO", "64101", SITES, tied, plenty(*RANKED), miles)
    assert decision.parts[0][0] == "WH-EAST"
    assert "1090 mi, within 700 mi of the closest, first by rank" in decision.reason


def test_unknown_distance_goes_last() -> None:
    order = preference(SITES, "00000", Policy("closest"), miles)
    assert [w for w, _ in order] == RANKED and all(m is None for _, m in order)


def test_state_override_limits_the_warehouses() -> None:
    policy = Policy("ranked", overrides=(Override("hawaii-from-west", ("WH-WEST",), states=frozenset({"HI"})),))
    decision = choose({"A": 1}, "HI", "96813", SITES, policy, plenty(*RANKED), miles)
    assert decision.parts == (("WH-WEST", {"A": 1}),)
    assert "override hawaii-from-west: only WH-WEST" in decision.reason
    elsewhere = choose({"A": 1}, "NY", "10001", SITES, policy, plenty(*RANKED), miles)
    assert elsewhere.parts[0][0] == "WH-EAST" and "override" not in elsewhere.reason
    empty_west = plenty("WH-EAST", "WH-CENTRAL")
    assert choose({"A": 1}, "HI", "96813", SITES, policy, empty_west, miles).backordered


def test_sku_override_applies_to_orders_with_that_sku() -> None:
    policy = Policy("closest", overrides=(Override("oversize", ("WH-CENTRAL",), skus=frozenset({"BIG"})),))
    stock = {**plenty(*RANKED), **plenty(*RANKED, sku="BIG")}
    decision = choose({"A": 1, "BIG": 1}, "NY", "10001", SITES, policy, stock, miles)
    assert decision.parts == (("WH-CENTRAL", {"A": 1, "BIG": 1}),)
    assert "override oversize" in decision.reason


def test_split_uses_the_fewest_warehouses_or_backorders_when_off() -> None:
    stock = {("WH-EAST", "A"): 1, ("WH-CENTRAL", "B"): 1, ("WH-WEST", "A"): 1, ("WH-WEST", "B"): 1, ("WH-EAST", "B"): 0}
    needed = {"A": 2, "B": 1}
    split = choose(needed, "NY", "10001", SITES, Policy("ranked", allow_split=True), stock, miles)
    assert split.parts == (("WH-EAST", {"A": 1}), ("WH-WEST", {"A": 1, "B": 1}))
    assert split.reason.startswith("split across 2 warehouses: WH-EAST (A×1) + WH-WEST (A×1, B×1)")
    assert "A: needs 2, 1 available at best" in split.reason
    held = choose(needed, "NY", "10001", SITES, Policy("ranked", allow_split=False), stock, miles)
    assert held.backordered and "splitting is off (allow_split)" in held.reason


def test_split_prefers_two_warehouses_over_three() -> None:
    stock = {("WH-EAST", "A"): 1, ("WH-CENTRAL", "A"): 1, ("WH-WEST", "A"): 2}
    split = choose({"A": 3}, "NY", "10001", SITES, Policy("ranked", allow_split=True), stock, miles)
    assert split.parts == (("WH-EAST", {"A": 1}), ("WH-WEST", {"A": 2}))


def test_nothing_anywhere_is_backordered_even_with_split() -> None:
    decision = choose(
        {"A": 5}, "NY", "10001", SITES, Policy("ranked", allow_split=True), plenty(*RANKED, units=1), miles
    )
    assert decision.backordered
    assert decision.reason == (
        "backordered: no warehouse can ship the whole order: A: needs 5, 1 available at best (WH-EAST); "
        "not even split across warehouses"
    )
