"""Rule files: a mistake is named by file, line and field, with a hint a seller can act on."""

import shutil
from pathlib import Path

import pytest

from fulfilment.domain.orders import Address
from fulfilment.rules import load_rules
from fulfilment.stages.route import destination_facts
from fulfilment.yamlfile import ConfigInvalid

ROOT = Path(__file__).resolve().parents[2]


def rules_with(tmp_path: Path, **files: str) -> Path:
    """A copy of the sample rules directory with some files replaced (`rates/x.yaml` → rates__x_yaml)."""
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target, dirs_exist_ok=True)
    for name, text in files.items():
        path = target / name.replace("__", "/").replace("_yaml", ".yaml").replace("_csv", ".csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return target


def errors_for(tmp_path: Path, **files: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as caught:
        load_rules(rules_with(tmp_path, **files))
    return [str(e) for e in caught.value.errors]


def sample(name: str) -> str:
    return (ROOT / "rules" / name).read_text()


def line_of(text: str, needle: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)


CARRIERS = sample("carriers.yaml")


def carriers_error(tmp_path: Path, old: str, new: str) -> str:
    text = CARRIERS.replace(old, new, 1)
    assert text != CARRIERS
    [error] = errors_for(tmp_path, carriers_yaml=text)
    return error


def test_shipped_rules_are_valid() -> None:
    rules = load_rules(ROOT / "rules")
    assert [w.code for w in rules.warehouses] == ["WH-EAST", "WH-CENTRAL", "WH-WEST"]
    assert rules.routes[-1].id == "default-usps"
    assert len(rules.rates[("usps", "usps_ground_advantage")]) == 2


def test_unknown_carrier_is_named_with_line(tmp_path: Path) -> None:
    text = CARRIERS.replace(
        "ship: {carrier: usps, service: usps_ground_advantage}", "ship: {carrier: dhl, service: x}", 1
    )
    [error] = errors_for(tmp_path, carriers_yaml=text)
    line = line_of(text, "carrier: dhl")
    assert f"carriers.yaml:{line}: rule po-box-usps.ship.carrier: unknown carrier 'dhl'" in error
    assert "known: usps, ups, fedex" in error


def test_service_not_offered_by_carrier(tmp_path: Path) -> None:
    error = carriers_error(
        tmp_path, "{carrier: usps, service: usps_ground_advantage}", "{carrier: ups, service: fedex_ground}"
    )
    assert "ups offers no service 'fedex_ground'" in error and "offered: ups_ground" in error


def test_missing_default_rule(tmp_path: Path) -> None:
    text = CARRIERS.split("  - id: default-usps")[0]
    [error] = errors_for(tmp_path, carriers_yaml=text)
    assert "no default rule" in error and "rule that has no `when`" in error


def test_rule_after_catch_all_is_unreachable(tmp_path: Path) -> None:
    text = CARRIERS + "  - id: never\n    ship: {carrier: fedex, service: fedex_ground}\n"
    [error] = errors_for(tmp_path, carriers_yaml=text)
    assert f"carriers.yaml:{line_of(text, 'id: never')}: rule never" in error
    assert "unreachable: rule 'default-usps' above it matches every parcel" in error and "move this rule" in error


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    text = CARRIERS.replace("  usps:\n", "  usps:\n   bad: [\n", 1)
    [error] = errors_for(tmp_path, carriers_yaml=text)
    assert "carriers.yaml:" in error and "YAML syntax error" in error and "indentation" in error


def test_a_tab_in_the_indentation_is_named_with_its_line(tmp_path: Path) -> None:
    text = CARRIERS.replace("  usps:\n", "  usps:\n\tbad: 1\n", 1)
    [error] = errors_for(tmp_path, carriers_yaml=text)
    assert f"carriers.yaml:{line_of(text, 'bad: 1')}: (syntax)" in error and "found character '\\t'" in error


@pytest.mark.parametrize("character", ["\x00", "\x07", "\ufffe"])
def test_a_control_character_is_named_with_its_line_not_a_crash(tmp_path: Path, character: str) -> None:
    text = CARRIERS.replace("  usps:\n", f"  usps:\n    # Größe × Gewicht\n    note: a{character}b\n", 1)
    [error] = errors_for(tmp_path, carriers_yaml=text)
    code = f"{ord(character):04x}"
    assert f"carriers.yaml:{line_of(text, 'note: a')}: (file): character #x{code} is not allowed" in error
    assert f'the escape "{character.encode("unicode_escape").decode()}"' in error


def test_misspelt_field_gets_allowed_list(tmp_path: Path) -> None:
    error = carriers_error(tmp_path, "when: {weight_oz: {up_to: 15.99}}", "when: {weight_oz: {upto: 15.99}}")
    assert "rule light-usps.when.weight_oz.upto: unknown field" in error and "allowed here: above, up_to" in error


def test_misspelt_condition_lists_the_conditions(tmp_path: Path) -> None:
    error = carriers_error(tmp_path, "when: {po_box: true}", "when: {pobox: true}")
    assert "rule po-box-usps.when.pobox: unknown field" in error and "po_box" in error and "zip_prefix" in error


def test_empty_weight_band(tmp_path: Path) -> None:
    error = carriers_error(tmp_path, "{above: 0.999, up_to: 5}", "{above: 5, up_to: 1}")
    assert "rule mid-usps.when.weight_lb: the band is empty" in error


def test_bad_dim_weight_date(tmp_path: Path) -> None:
    error = carriers_error(tmp_path, "effective_from: 2026-07-12", "effective_from: July 12")
    assert "expected a date" in error and "2026-07-12" in error


def test_unknown_region_and_bad_state(tmp_path: Path) -> None:
    error = carriers_error(tmp_path, "region: [military]", "region: [overseas]")
    assert "not valid: overseas" in error and "regions: contiguous, alaska_hawaii, territory, military" in error
    error = carriers_error(tmp_path, "region: [military]", "state: [Jersey]")
    assert "rule military-usps.when.state: not valid: Jersey" in error and "2-letter codes" in error


def test_yes_no_condition_with_text(tmp_path: Path) -> None:
    error = carriers_error(tmp_path, "when: {po_box: true}", "when: {po_box: sometimes}")
    assert "rule po-box-usps.when.po_box: expected true or false" in error


def test_duplicate_rule_id(tmp_path: Path) -> None:
    error = carriers_error(tmp_path, "id: mid-usps", "id: light-usps")
    assert "rule id 'light-usps' is used twice" in error


def test_rule_without_action(tmp_path: Path) -> None:
    error = carriers_error(
        tmp_path, "    ship: {carrier: usps, service: usps_ground_advantage}\n  - id: military", "  - id: military"
    )
    assert "rule po-box-usps: a rule needs exactly one of `ship` or `hold`" in error


def test_strategy_with_unknown_or_unpriced_service(tmp_path: Path) -> None:
    error = carriers_error(tmp_path, "cheapest: [ups_ground, fedex_ground]}", "cheapest: [ups_ground, fedex_home]}")
    assert "rule heavy-ground.ship.cheapest: no carrier offers a service 'fedex_home'" in error
    (tmp_path / "x").mkdir()
    text = CARRIERS.replace("cheapest: [ups_ground, fedex_ground]}", "cheapest: [ups_ground, usps_priority]}")
    rules = rules_with(tmp_path / "x", carriers_yaml=text)
    (rules / "rates" / "usps_priority-2026-01-18.yaml").unlink()
    with pytest.raises(ConfigInvalid) as caught:
        load_rules(rules)
    assert any("usps_priority has no rate card" in str(e) and "rules/rates/" in str(e) for e in caught.value.errors)


def test_rate_card_mistakes(tmp_path: Path) -> None:
    card = sample("rates/ups_ground-2026-01-01.yaml")
    broken = card.replace("{up_to_lb: 3,", "{up_to_lb: 2,").replace(
        "effective_from: 2026-01-01", "effective_from: soon"
    )
    broken = broken.replace("{up_to_lb: 5, zones: [", "{up_to_lb: 5, zones: [1.00, ")
    errors = errors_for(tmp_path, **{"rates__ups_ground-2026-01-01_yaml": broken})
    assert any("ups_ground-2026-01-01.yaml:6: effective_from: expected a date" in e for e in errors)
    assert any(
        f":{line_of(broken, '{up_to_lb: 2, zones: [11.39')}: prices[2]: overlapping weight bands" in e
        and "lightest to heaviest" in e
        for e in errors
    )
    assert any("prices[4].zones: expected 9 prices" in e for e in errors)


@pytest.mark.parametrize("price", ["1000000000000000000000000000000", ".inf", ".nan", "-1"])
def test_a_price_out_of_range_is_named_not_a_crash(tmp_path: Path, price: str) -> None:
    card = sample("rates/ups_ground-2026-01-01.yaml").replace("zones: [10.03,", f"zones: [{price},", 1)
    errors = errors_for(tmp_path, **{"rates__ups_ground-2026-01-01_yaml": card})
    assert any("prices[0].zones: expected 9 prices from 0 to 100,000" in e for e in errors), errors


@pytest.mark.parametrize("value", ["true", "3", "HI"])
def test_override_states_that_are_not_a_list_are_named_not_a_crash(tmp_path: Path, value: str) -> None:
    text = sample("warehouses.yaml").replace("states: [HI, AK]", f"states: {value}")
    errors = errors_for(tmp_path, warehouses_yaml=text)
    assert any(f":{line_of(text, 'states: ' + value)}: overrides[0].states: expected a list" in e for e in errors)


def test_rate_card_for_a_service_that_does_not_exist(tmp_path: Path) -> None:
    card = sample("rates/ups_ground-2026-01-01.yaml").replace("service: ups_ground", "service: ups_air")
    [error] = errors_for(tmp_path, **{"rates__ups_air_yaml": card})
    assert "ups_air.yaml" in error and "ups/ups_air is not a service in carriers.yaml" in error


def test_bad_zone_chart_rows(tmp_path: Path) -> None:
    chart = "dest_zip3,zone\n100,2\n9x1,4\n900,12\n100,3\n"
    errors = errors_for(tmp_path, zones__088_csv=chart)
    assert any("zones/088.csv:3: dest_zip3: '9x1' is not a ZIP3" in e for e in errors)
    assert any("zones/088.csv:4: zone: zone 12 is not 1–9" in e for e in errors)
    assert any("zones/088.csv:5: dest_zip3: 100 is listed twice" in e for e in errors)
    assert all("hint: each row is a 3-digit destination ZIP prefix and a zone 1–9" in e for e in errors)


def test_zone_chart_overrides_the_computed_zone_for_its_origin(tmp_path: Path) -> None:
    rules = load_rules(rules_with(tmp_path, zones__088_csv="dest_zip3,zone\n900,7\n"))
    assert rules.zone_charts == {"088": {"900": 7}}
    east, west = rules.warehouse("WH-EAST"), rules.warehouse("WH-WEST")
    to_la = Address("Ann Lee", "1 Main St", "Los Angeles", "CA", "90001")
    assert destination_facts(to_la, east, rules)["zone"] == 7  # WH-EAST ships from 08837
    assert destination_facts(to_la, west, rules)["zone_how"].endswith(
        "between ZIP3 " + west.address.zip[:3] + " and 900"
    )


def test_warehouse_with_bad_state_zip_and_carrier(tmp_path: Path) -> None:
    text = sample("warehouses.yaml").replace("state: NJ", "state: Jersey").replace('zip: "08837"', "zip: 8837")
    text = text.replace("carriers: [usps, ups, fedex]", "carriers: [usps, pony]", 1)
    errors = errors_for(tmp_path, warehouses_yaml=text)
    assert any("'Jersey' is not a US state" in e for e in errors)
    assert any("'8837' is not a ZIP code" in e and "quote ZIPs" in e for e in errors)
    assert any("unknown carrier 'pony'" in e for e in errors)
    assert all("warehouses.yaml:" in e for e in errors)


def test_duplicate_warehouse_and_missing_file(tmp_path: Path) -> None:
    text = sample("warehouses.yaml").replace("code: WH-WEST", "code: WH-EAST")
    assert any("'WH-EAST' is listed twice" in e for e in errors_for(tmp_path, warehouses_yaml=text))
    (tmp_path / "rules" / "warehouses.yaml").unlink()
    with pytest.raises(ConfigInvalid, match="file not found"):
        load_rules(tmp_path / "rules")


def test_shipped_risk_rules_hold_the_issue_defaults() -> None:
    risk = load_rules(ROOT / "rules").risk
    assert (risk.high_return.rate, risk.high_return.min_orders) == (0.30, 5)
    assert (risk.ip_burst.min_orders, risk.ip_burst.min_distinct, risk.ip_burst.window.total_seconds()) == (4, 2, 900)
    assert (risk.address_burst.min_distinct, risk.address_burst.window.total_seconds()) == (3, 3600)
    assert (risk.buyer_burst.min_distinct, risk.buyer_burst.window.total_seconds()) == (3, 3600)
    assert (risk.remote, risk.remote_action) == (True, "hold")
    assert (risk.high_value.above, risk.high_quantity.above) == (500, 10)


def test_missing_risk_file_is_an_error(tmp_path: Path) -> None:
    folder = rules_with(tmp_path)
    (folder / "risk.yaml").unlink()
    with pytest.raises(ConfigInvalid) as caught:
        load_rules(folder)
    assert [str(e) for e in caught.value.errors] == [f"{folder / 'risk.yaml'}:0: (file): file not found"]


def test_risk_mistakes_are_named_with_line_and_field(tmp_path: Path) -> None:
    text = (
        sample("risk.yaml")
        .replace("rate: 0.30", "rate: 30")
        .replace("action: hold", "action: ignore")
        .replace("min_buyers: 2,", "min_buyers: two,")
        .replace("high_quantity: {enabled: true", "high_quantity: {enabled: yes please")
    )
    text += "  velocity: {enabled: true}\n"
    lines = {
        key: next(i for i, t in enumerate(text.splitlines(), 1) if key in t)
        for key in ("rate: 30", "action: ignore", "min_buyers: two", "yes please", "velocity")
    }
    errors = errors_for(tmp_path, risk_yaml=text)
    path = tmp_path / "rules" / "risk.yaml"
    assert any(e.startswith(f"{path}:{lines['rate: 30']}: checks.high_return_rate.rate: 30") for e in errors), errors
    assert any(
        f":{lines['action: ignore']}: checks.remote_destination.action: unknown action 'ignore'" in e
        and "route_only" in e
        for e in errors
    )
    assert any(f":{lines['min_buyers: two']}: checks.ip_burst.min_buyers" in e for e in errors)
    assert any(f":{lines['yes please']}: checks.high_quantity.enabled: expected true or false" in e for e in errors)
    assert any(f":{lines['velocity']}: checks.velocity: unknown field" in e for e in errors)
    assert len(errors) == 5


def test_risk_checks_can_be_switched_off_and_left_out(tmp_path: Path) -> None:
    text = "checks:\n  ip_burst: {enabled: false}\n  remote_destination: {action: route_only}\n"
    risk = load_rules(rules_with(tmp_path, risk_yaml=text)).risk
    assert not risk.ip_burst.enabled and risk.ip_burst.min_orders == 4
    assert risk.remote_action == "route_only" and risk.address_burst.enabled


def test_shipped_warehouse_policy_overrides_and_alerts() -> None:
    rules = load_rules(ROOT / "rules")
    assert rules.allocation.mode == "closest" and rules.allocation.allow_split
    [override] = rules.allocation.overrides
    assert override.states == {"HI", "AK"} and override.warehouses == ("WH-WEST",)
    assert rules.alerts.per_sku["HOODIE-GRY-L"] == 30
    assert str(rules.warehouses[0].cutoff) == "16:00:00"


def test_warehouse_policy_mistakes_are_named(tmp_path: Path) -> None:
    text = (
        sample("warehouses.yaml")
        .replace("mode: closest", "mode: nearest")
        .replace("warehouses: [WH-WEST]", "warehouses: [WH-NORTH]")
        .replace('cutoff: "16:00"', 'cutoff: "4pm"')
        .replace(
            '    carriers: [usps, ups, fedex]\n    cutoff: "15:00"', "    carriers: [usps]\n    services: [ups_ground]"
        )
    )
    errors = errors_for(tmp_path, warehouses_yaml=text)
    assert any("policy.mode: unknown mode 'nearest'" in e and "ranked, closest" in e for e in errors)
    assert any("overrides[0].warehouses: unknown warehouse 'WH-NORTH'" in e for e in errors)
    assert any("warehouses[0].cutoff: '4pm' is not a time of day" in e for e in errors)
    assert any("warehouses[1].services: unknown service 'ups_ground'" in e for e in errors)
    assert all("warehouses.yaml:" in e for e in errors) and len(errors) == 4


def test_a_missing_rules_folder_is_one_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        load_rules(tmp_path / "nowhere")
    (error,) = caught.value.errors
    assert error.file.endswith("nowhere") and "no rules folder" in error.message
    assert "FULFILMENT_RULES_DIR" in error.hint
