"""Routing: weight bands on billable weight, dated dimensional weight, hard limits over rules."""

from datetime import date
from pathlib import Path

import pytest

from fulfilment.domain.parcel import DimRule, Item, Parcel, billable_weight_oz, dim_rule_on, pack
from fulfilment.domain.routing import Destination, choose_service
from fulfilment.rules import load_rules

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules")
ON = date(2026, 11, 22)
HOME = Destination("CA")


def route(parcel: Parcel, dest: Destination = HOME, on: date = ON, ships_with: frozenset[str] | None = None):
    return choose_service(RULES.routes, RULES.carriers, parcel, dest, on, ships_with)


def test_light_parcel_goes_usps_ground_advantage() -> None:
    decision = route(Parcel(7.2, 10, 8, 1))
    assert (decision.carrier, decision.service, decision.rule_id) == (
        "usps",
        "usps_ground_advantage",
        "light-usps",
    )


def test_weight_band_edges() -> None:
    assert route(Parcel(15.99, 6, 6, 2)).rule_id == "light-usps"
    assert route(Parcel(16.0, 6, 6, 2)).rule_id == "mid-usps"
    assert route(Parcel(80.0, 6, 6, 2)).rule_id == "mid-usps"
    assert route(Parcel(80.1, 6, 6, 2)).rule_id == "heavy-ups"


def test_heavy_parcel_to_po_box_falls_back_to_usps_with_reason() -> None:
    decision = route(Parcel(12 * 16, 14, 10, 4), Destination("TX", is_po_box=True))
    assert decision.rule_id == "default-usps"
    assert "UPS Ground does not deliver to PO Boxes" in decision.reason


def test_overweight_parcel_has_no_service_and_says_why() -> None:
    decision = route(Parcel(200 * 16, 20, 20, 20), Destination("AE", is_military=True))
    assert decision.rule_id is None
    assert "70 lb" in decision.reason


def test_dimensional_weight_switches_on_its_date() -> None:
    big_light = Parcel(20.0, 14, 12, 12)  # 2,016 in³: above USPS's 1,728 threshold
    before = billable_weight_oz(big_light, dim_rule_on(RULES.carriers["usps"].dim_rules, date(2026, 7, 11)))
    after = billable_weight_oz(big_light, dim_rule_on(RULES.carriers["usps"].dim_rules, date(2026, 7, 12)))
    assert before[0] == 13 * 16  # ceil(2016 / 166) = 13 lb
    assert after[0] == 15 * 16  # ceil(2016 / 139) = 15 lb
    assert "dimensional" in after[1]


def test_small_box_below_threshold_uses_actual_weight() -> None:
    weight, how = billable_weight_oz(Parcel(5, 10, 10, 10), DimRule(date(2024, 1, 1), 139, 1728))
    assert weight == 5 and how.startswith("actual")


def test_warehouse_carriers_limit_the_rules() -> None:
    decision = route(Parcel(10 * 16, 12, 10, 8), ships_with=frozenset({"usps"}))
    assert decision.carrier == "usps"
    assert "does not ship with ups" in decision.reason


def test_warehouse_services_limit_the_rules() -> None:
    only_fedex = frozenset({"fedex_ground"})
    decision = choose_service(RULES.routes, RULES.carriers, Parcel(10 * 16, 12, 10, 8), HOME, ON, None, only_fedex)
    assert decision.rule_id is None
    assert "heavy-ups: skipped, the warehouse does not ship ups_ground" in decision.reason


def test_pack_stacks_heights_and_sums_weight() -> None:
    parcel = pack([Item("TEE", 2, 6.0, 10, 8, 1), Item("MUG", 1, 14.0, 6, 6, 5)])
    assert parcel.weight_oz == 26.0
    assert (parcel.length_in, parcel.width_in, parcel.height_in) == (10, 8, 7)


def test_pack_refuses_no_items() -> None:
    with pytest.raises(ValueError):
        pack([])
