"""Warehouse choice over available stock (pure)."""

from fulfilment.domain.allocation import candidates, demand, shortfall

RANKED = ["WH-EAST", "WH-CENTRAL", "WH-WEST"]


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
