"""Routing: every condition, strategies and their ties, hard limits over rules, dated data, zones."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fulfilment.domain.parcel import DimRule, Parcel, billable_weight_oz, dim_rule_on
from fulfilment.domain.rates import RateCard, card_on
from fulfilment.domain.routing import Facts, choose_service
from fulfilment.domain.zones import zone, zone_for_miles
from fulfilment.rules import load_rules
from fulfilment.rules.carriers import load_carriers

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules")
ON = date(2026, 11, 22)
TEE = Parcel(7.2, 10, 8, 1)
HEAVY = Parcel(12 * 16, 14, 10, 4)


def facts(parcel: Parcel = TEE, **values: object) -> Facts:
    return Facts(parcel=parcel, **{"state": "CA", "zip": "90001", "zone": 4, **values})  # type: ignore[arg-type]


CARRIERS_HEAD = (ROOT / "rules" / "carriers.yaml").read_text().split("rules:\n")[0] + "rules:\n"
Writer = Callable[[str], Path]


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write a carriers.yaml with the sample carriers and the given rules; returns its path."""

    def _write(rules_block: str) -> Path:
        path = tmp_path / "carriers.yaml"
        path.write_text(CARRIERS_HEAD + rules_block)
        return path

    return _write


def route(f: Facts, on: date = ON, rules=RULES.routes, rates=RULES.rates):
    return choose_service(rules, RULES.carriers, rates, f, on)


def test_light_parcel_goes_usps_ground_advantage() -> None:
    decision = route(facts())
    assert (decision.carrier, decision.service, decision.rule_id) == ("usps", "usps_ground_advantage", "light-usps")


def test_weight_band_edges() -> None:
    assert route(facts(Parcel(15.99, 6, 6, 2))).rule_id == "light-usps"
    assert route(facts(Parcel(16.0, 6, 6, 2))).rule_id == "mid-usps"
    assert route(facts(Parcel(80.0, 6, 6, 2))).rule_id == "mid-usps"
    assert route(facts(Parcel(80.1, 6, 6, 2))).rule_id == "heavy-ground"


def test_heavy_parcels_go_to_the_cheaper_of_ups_and_fedex_by_zone() -> None:
    near, far = route(facts(HEAVY, zone=2)), route(facts(HEAVY, zone=8))
    assert (near.rule_id, near.service, far.service) == ("heavy-ground", "ups_ground", "fedex_ground")
    prices = {q.service: q.price for q in far.quotes}
    assert prices["fedex_ground"] < prices["ups_ground"]
    assert "cheapest of 2 priced" in far.reason


def test_po_box_and_apo_go_usps() -> None:
    assert route(facts(HEAVY, po_box=True)).rule_id == "po-box-usps"
    decision = route(facts(HEAVY, military=True, region="military", zone=9))
    assert (decision.rule_id, decision.carrier) == ("military-usps", "usps")


def test_oversize_goes_to_a_ground_service_that_takes_it() -> None:
    beyond_usps = route(facts(Parcel(30 * 16, 60, 18, 18)))  # 132 in length + girth: only UPS/FedEx
    assert beyond_usps.rule_id == "oversize-ground" and beyond_usps.service in {"ups_ground", "fedex_ground"}
    excluded = {q.service: q.excluded for q in beyond_usps.quotes}
    assert "130 in length + girth" in excluded["usps_ground_advantage"]


def test_hard_limits_win_over_the_rules(write: Writer) -> None:
    carriers, rules = load_carriers(
        write(
            "  - id: ups-everything\n    ship: {carrier: ups, service: ups_ground}\n",
        )
    )
    decision = choose_service(rules, carriers, RULES.rates, facts(HEAVY, po_box=True), ON)
    assert decision.rule_id is None
    assert "UPS Ground does not deliver to PO Boxes" in decision.reason


def test_overweight_parcel_has_no_service_and_says_why() -> None:
    decision = route(facts(Parcel(200 * 16, 20, 20, 20), military=True, region="military"))
    assert decision.rule_id is None
    assert "70 lb" in decision.reason


def test_warehouse_carriers_limit_the_strategy() -> None:
    decision = route(facts(HEAVY, zone=8, ships_with=frozenset({"usps", "ups"})))
    assert decision.service == "ups_ground"
    assert any(q.excluded == "the warehouse does not ship with fedex" for q in decision.quotes)


def test_hold_rule_holds_with_its_reason() -> None:
    decision = route(facts(order_value=1500.0))
    assert decision.rule_id == "high-value-review" and decision.carrier is None
    assert decision.hold and "over $1,000" in decision.hold


def test_an_approved_hold_is_stepped_over() -> None:
    decision = choose_service(
        RULES.routes, RULES.carriers, RULES.rates, facts(order_value=1500.0), ON, frozenset({"high-value-review"})
    )
    assert decision.rule_id == "light-usps" and decision.hold is None
    assert decision.steps[0].reason == "a reviewer approved this hold"


# --- every condition type, read from YAML -------------------------------------------------------------------


def decide_with(write: Writer, when: str, f: Facts) -> str | None:
    block = (
        f"  - id: tested\n    when: {when}\n    ship: {{carrier: usps, service: usps_priority}}\n"
        "  - id: fallback\n    ship: {carrier: usps, service: usps_ground_advantage}\n"
    )
    carriers, rules = load_carriers(write(block), set(RULES.rates))
    return choose_service(rules, carriers, RULES.rates, f, ON).rule_id


CONDITIONS = [
    ("{weight_oz: {above: 7, up_to: 8}}", facts(), facts(Parcel(9, 10, 8, 1))),
    ("{weight_lb: {above: 10}}", facts(HEAVY), facts()),
    ("{actual_weight_oz: {up_to: 20}}", facts(Parcel(20, 14, 14, 14)), facts(Parcel(21, 1, 1, 1))),
    ("{length_in: {above: 12}}", facts(HEAVY), facts()),
    ("{width_in: {above: 9}}", facts(HEAVY), facts()),
    ("{height_in: {up_to: 1}}", facts(), facts(HEAVY)),
    ("{length_girth_in: {above: 40}}", facts(HEAVY), facts()),
    ("{zone: {above: 6}}", facts(zone=8), facts(zone=2)),
    ("{zone: [1, 2]}", facts(zone=2), facts(zone=3)),
    ("{state: [CA, NV]}", facts(), facts(state="NY")),
    ("{zip_prefix: ['900', '901']}", facts(), facts(zip="10001")),
    ("{zip: ['90001']}", facts(), facts(zip="90002")),
    ("{region: [alaska_hawaii, territory]}", facts(region="territory"), facts()),
    ("{po_box: true}", facts(po_box=True), facts()),
    ("{military: true}", facts(military=True), facts()),
    ("{residential: false}", facts(residential=False), facts()),
    ("{order_value: {above: 100}}", facts(order_value=150.0), facts(order_value=20.0)),
    ("{sku: [MUG-CRM-11]}", facts(skus=frozenset({"TEE", "MUG-CRM-11"})), facts(skus=frozenset({"TEE"}))),
    ("{category: [Kitchen]}", facts(categories=frozenset({"Kitchen"})), facts(categories=frozenset({"Tops"}))),
    ("{warehouse: [WH-WEST]}", facts(warehouse="WH-WEST"), facts(warehouse="WH-EAST")),
    ("{session: [Sunday live]}", facts(session="Sunday live"), facts(session="Monday")),
    ("{ship_by_hours: {up_to: 24}}", facts(ship_by_hours=10.0), facts(ship_by_hours=40.0)),
    ("{tag: [gift]}", facts(tags=frozenset({"gift", "vip"})), facts(tags=frozenset({"vip"}))),
]


@pytest.mark.parametrize(("when", "holds", "fails"), CONDITIONS, ids=[c[0].split(":")[0][1:] for c in CONDITIONS])
def test_each_condition_type(write: Writer, when: str, holds: Facts, fails: Facts) -> None:
    assert decide_with(write, when, holds) == "tested"
    assert decide_with(write, when, fails) == "fallback"


def test_all_conditions_of_a_rule_must_hold_and_explain_names_the_first_failure(write: Writer) -> None:
    carriers, rules = load_carriers(
        write(
            "  - id: both\n    when: {state: [CA], po_box: true}\n    ship: {carrier: usps, service: usps_priority}\n"
            "  - id: fallback\n    ship: {carrier: usps, service: usps_ground_advantage}\n"
        )
    )
    decision = choose_service(rules, carriers, RULES.rates, facts(), ON)
    assert decision.rule_id == "fallback"
    assert decision.steps[0].reason == "po_box: is no, the rule wants yes"


def test_rule_options_and_tags_come_with_the_decision(write: Writer) -> None:
    block = "    package: box-small\n    signature: true\n    insurance: true\n    tag: [fragile]\n"
    carriers, rules = load_carriers(
        write(
            "  - id: mugs\n    when: {sku: [MUG]}\n    ship: {carrier: usps, service: usps_priority}\n"
            + block
            + "  - id: fallback\n    ship: {carrier: usps, service: usps_ground_advantage}\n"
        )
    )
    d = choose_service(rules, carriers, RULES.rates, facts(skus=frozenset({"MUG"})), ON)
    assert (d.package, d.signature, d.insurance, d.tags) == ("box-small", True, True, ("fragile",))


# --- strategies and their ties ------------------------------------------------------------------------------


def card(service: str, carrier: str, price: str, days: int, start: date = date(2026, 1, 1)) -> RateCard:
    return RateCard(carrier, service, start, days, ((150 * 16, (Decimal(price),) * 9),))


def strategy(write: Writer, kind: str, rates) -> str | None:
    carriers, rules = load_carriers(
        write(
            f"  - id: pick\n    ship: {{{kind}: [ups_ground, fedex_ground, usps_priority]}}\n",
        ),
        set(rates),
    )
    return choose_service(rules, carriers, rates, facts(HEAVY), ON).service


def test_cheapest_tie_goes_to_the_faster_then_to_the_first_listed(write: Writer) -> None:
    rates = {
        ("ups", "ups_ground"): (card("ups_ground", "ups", "12.00", 4),),
        ("fedex", "fedex_ground"): (card("fedex_ground", "fedex", "12.00", 3),),
        ("usps", "usps_priority"): (card("usps_priority", "usps", "15.00", 2),),
    }
    assert strategy(write, "cheapest", rates) == "fedex_ground"  # same price, one day faster
    rates[("fedex", "fedex_ground")] = (card("fedex_ground", "fedex", "12.00", 4),)
    assert strategy(write, "cheapest", rates) == "ups_ground"  # same price and days: listed first


def test_fastest_tie_goes_to_the_cheaper_then_to_the_first_listed(write: Writer) -> None:
    rates = {
        ("ups", "ups_ground"): (card("ups_ground", "ups", "12.00", 2),),
        ("fedex", "fedex_ground"): (card("fedex_ground", "fedex", "11.00", 2),),
        ("usps", "usps_priority"): (card("usps_priority", "usps", "30.00", 3),),
    }
    assert strategy(write, "fastest", rates) == "fedex_ground"
    rates[("fedex", "fedex_ground")] = (card("fedex_ground", "fedex", "12.00", 2),)
    assert strategy(write, "fastest", rates) == "ups_ground"


def test_strategy_leaves_out_a_service_without_a_card_in_force(write: Writer) -> None:
    rates = {
        ("ups", "ups_ground"): (card("ups_ground", "ups", "9.00", 4, start=date(2027, 1, 1)),),
        ("fedex", "fedex_ground"): (card("fedex_ground", "fedex", "12.00", 4),),
        ("usps", "usps_priority"): (card("usps_priority", "usps", "15.00", 2),),
    }
    assert strategy(write, "cheapest", rates) == "fedex_ground"


# --- dated data ---------------------------------------------------------------------------------------------


def test_rate_card_switches_on_its_date() -> None:
    cards = RULES.rates[("usps", "usps_ground_advantage")]
    before, after = card_on(cards, date(2026, 7, 11)), card_on(cards, date(2026, 7, 12))
    assert before and after and before.effective_from == date(2026, 1, 18)
    assert after.effective_from == date(2026, 7, 12)
    assert after.price(8, 4) > before.price(8, 4)  # type: ignore[operator]
    assert card_on(cards, date(2025, 12, 31)) is None


def test_dimensional_weight_switches_on_its_date(write: Writer) -> None:
    big_light = Parcel(20.0, 14, 12, 12)  # 2,016 in³: above USPS's 1,728 threshold
    before = billable_weight_oz(big_light, dim_rule_on(RULES.carriers["usps"].dim_rules, date(2026, 7, 11)))
    after = billable_weight_oz(big_light, dim_rule_on(RULES.carriers["usps"].dim_rules, date(2026, 7, 12)))
    assert before[0] == 13 * 16  # ceil(2016 / 166) = 13 lb
    assert after[0] == 15 * 16  # ceil(2016 / 139) = 15 lb
    assert "dimensional" in after[1]
    block = (
        "  - id: up-to-14-lb\n    when: {weight_lb: {up_to: 14}}\n    ship: {carrier: usps, service: usps_priority}\n"
        "  - id: fallback\n    ship: {carrier: usps, service: usps_ground_advantage}\n"
    )
    carriers, rules = load_carriers(write(block))
    assert choose_service(rules, carriers, {}, facts(big_light), date(2026, 7, 11)).rule_id == "up-to-14-lb"
    assert choose_service(rules, carriers, {}, facts(big_light), date(2026, 7, 12)).rule_id == "fallback"


def test_small_box_below_threshold_uses_actual_weight() -> None:
    weight, how = billable_weight_oz(Parcel(5, 10, 10, 10), DimRule(date(2024, 1, 1), 139, 1728))
    assert weight == 5 and how.startswith("actual")


# --- zones --------------------------------------------------------------------------------------------------


def test_zone_bands_from_distance() -> None:
    assert [zone_for_miles(m) for m in (50, 51, 150, 300, 600, 1000, 1400, 1800, 1801)] == [1, 2, 2, 3, 4, 5, 6, 7, 8]


def test_zone_from_zip3_centroids_territories_and_chart() -> None:
    assert zone("08837", "08901")[0] == 1
    assert zone("08837", "90001")[0] == 8
    assert zone("90001", "94103")[0] == 4
    assert zone("08837", "00901", "PR")[0] == 9
    assert zone("08837", "09021", "AE")[0] == 9
    z, how = zone("08837", "90001", chart={"900": 7})
    assert z == 7 and "zone chart" in how


def test_warehouse_services_limit_the_rules() -> None:
    decision = route(facts(HEAVY, zone=8, ships_services=frozenset({"fedex_ground"})))
    assert decision.service == "fedex_ground"
    assert any(
        q.service == "ups_ground" and q.excluded == "the warehouse does not ship ups_ground" for q in decision.quotes
    )


def test_rules_describe_themselves_for_the_console() -> None:
    light = next(r for r in RULES.routes if r.id == "light-usps")
    assert "15.99" in light.describe_when() and light.describe_action() == "usps usps_ground_advantage"
    assert RULES.routes[-1].describe_when() == "always"
