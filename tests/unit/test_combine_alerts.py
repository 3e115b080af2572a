"""Combining keys, chunks that keep one buyer's parcels together, and low-stock alerts (pure)."""

from fulfilment.domain.alerts import AlertRules, low_stock
from fulfilment.domain.combine import address_key, chunks_keeping_groups, groups


def test_address_key_ignores_case_and_spacing_but_not_the_street() -> None:
    a = address_key("amy", "Amy Li", "1 Main St", "", "02139")
    assert a == address_key("amy", "AMY  LI", "1 main st", "", "02139-4307")
    assert a != address_key("amy", "Amy Li", "2 Main St", "", "02139")
    assert a != address_key("bob", "Amy Li", "1 Main St", "", "02139")


def test_groups_respect_the_limit_and_first_appearance() -> None:
    assert groups(["a", "b", "a", "a", "c", "a"], 3) == [[0, 2, 3], [1], [4], [5]]


def test_chunks_keep_a_group_together_and_move_it_up() -> None:
    keys = ["a", "b", "c", "a", "d", "e", "b"]
    assert chunks_keeping_groups(keys, 3) == [[0, 3], [1, 6, 2], [4, 5]]
    assert chunks_keeping_groups(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert chunks_keeping_groups(["x"] * 5, 2) == [[0, 1], [2, 3], [4]]


def test_low_stock_by_threshold_per_sku_and_by_sell_through() -> None:
    rules = AlertRules(low_stock_below=10, per_sku={"MUG": 50}, stockout_within_hours=6)
    alerts = low_stock({"TEE": 5, "MUG": 40, "CAP": 100, "BAG": 30}, {"BAG": 10.0, "CAP": 1.0}, rules)
    by_sku = {a.sku: a.reason for a in alerts}
    assert set(by_sku) == {"TEE", "MUG", "BAG"}
    assert by_sku["TEE"] == "5 available, under the threshold of 10"
    assert by_sku["MUG"] == "40 available, under the threshold of 50"
    assert by_sku["BAG"] == "selling 10.0/h this session: out of stock in about 3.0 h"


def test_a_sold_out_sku_says_so_instead_of_a_zero_hour_forecast() -> None:
    rules = AlertRules(low_stock_below=10, per_sku={"LAMP": 0}, stockout_within_hours=6)
    alerts = {a.sku: a.reason for a in low_stock({"LAMP": 0, "TEE": 0}, {"LAMP": 4.0, "TEE": 2.0}, rules)}
    assert alerts["LAMP"] == "selling 4.0/h this session: sold out"
    assert alerts["TEE"] == "0 available, under the threshold of 10; selling 2.0/h this session: sold out"
