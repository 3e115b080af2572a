"""Rule files: a mistake is named by file, line and field, with a hint a seller can act on."""

from pathlib import Path

import pytest

from fulfilment.rules import load_rules
from fulfilment.yamlfile import ConfigInvalid

ROOT = Path(__file__).resolve().parents[2]


def rules_with(tmp_path: Path, carriers: str | None = None, warehouses: str | None = None) -> Path:
    for name, text in (("carriers.yaml", carriers), ("warehouses.yaml", warehouses)):
        (tmp_path / name).write_text(text if text is not None else (ROOT / "rules" / name).read_text())
    return tmp_path


def errors_for(tmp_path: Path, **files: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as caught:
        load_rules(rules_with(tmp_path, **files))
    return [str(e) for e in caught.value.errors]


def sample(name: str) -> str:
    return (ROOT / "rules" / name).read_text()


def test_shipped_rules_are_valid() -> None:
    rules = load_rules(ROOT / "rules")
    assert [w.code for w in rules.warehouses] == ["WH-EAST", "WH-CENTRAL", "WH-WEST"]
    assert rules.routes[-1].id == "default-usps"


def test_unknown_carrier_is_named_with_line(tmp_path: Path) -> None:
    text = sample("carriers.yaml").replace(
        "ship: {carrier: ups, service: ups_ground}", "ship: {carrier: dhl, service: x}"
    )
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "carrier: dhl" in t)
    [error] = errors_for(tmp_path, carriers=text)
    assert f"carriers.yaml:{line}:" in error and "unknown carrier 'dhl'" in error and "known: usps, ups, fedex" in error


def test_service_not_offered_by_carrier(tmp_path: Path) -> None:
    text = sample("carriers.yaml").replace("service: ups_ground}", "service: fedex_ground}")
    [error] = errors_for(tmp_path, carriers=text)
    assert "ups offers no service 'fedex_ground'" in error and "offered: ups_ground" in error


def test_missing_default_rule(tmp_path: Path) -> None:
    text = sample("carriers.yaml").split("  # UPS refuses")[0]
    [error] = errors_for(tmp_path, carriers=text)
    assert "no default rule" in error


def test_rule_after_catch_all_is_unreachable(tmp_path: Path) -> None:
    text = sample("carriers.yaml") + "  - id: never\n    ship: {carrier: fedex, service: fedex_ground}\n"
    [error] = errors_for(tmp_path, carriers=text)
    assert "rule never" in error and "unreachable" in error and "default-usps" in error


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    text = sample("carriers.yaml").replace("  usps:\n", "  usps:\n   bad: [\n", 1)
    [error] = errors_for(tmp_path, carriers=text)
    assert "carriers.yaml:" in error and "YAML syntax error" in error


def test_misspelt_field_gets_allowed_list(tmp_path: Path) -> None:
    text = sample("carriers.yaml").replace("when: {weight_oz: {up_to: 15.99}}", "when: {weight_oz: {upto: 15.99}}")
    [error] = errors_for(tmp_path, carriers=text)
    assert "upto: unknown field" in error and "allowed here: above, up_to" in error


def test_empty_weight_band(tmp_path: Path) -> None:
    text = sample("carriers.yaml").replace("{above: 0.999, up_to: 5}", "{above: 5, up_to: 1}")
    assert any("the band is empty" in e for e in errors_for(tmp_path, carriers=text))


def test_bad_dim_weight_date(tmp_path: Path) -> None:
    text = sample("carriers.yaml").replace("effective_from: 2026-07-12", "effective_from: July 12")
    assert any("expected a date" in e and "2026-07-12" in e for e in errors_for(tmp_path, carriers=text))


def test_warehouse_with_bad_state_zip_and_carrier(tmp_path: Path) -> None:
    text = sample("warehouses.yaml").replace("state: NJ", "state: Jersey").replace('zip: "08837"', "zip: 8837")
    text = text.replace("carriers: [usps, ups, fedex]", "carriers: [usps, pony]", 1)
    errors = errors_for(tmp_path, warehouses=text)
    assert any("'Jersey' is not a US state" in e for e in errors)
    assert any("'8837' is not a ZIP code" in e and "quote ZIPs" in e for e in errors)
    assert any("unknown carrier 'pony'" in e for e in errors)
    assert all("warehouses.yaml:" in e for e in errors)


def test_duplicate_warehouse_and_missing_file(tmp_path: Path) -> None:
    text = sample("warehouses.yaml").replace("code: WH-WEST", "code: WH-EAST")
    assert any("'WH-EAST' is listed twice" in e for e in errors_for(tmp_path, warehouses=text))
    (tmp_path / "warehouses.yaml").unlink()
    with pytest.raises(ConfigInvalid, match="file not found"):
        load_rules(tmp_path)


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
    errors = errors_for(tmp_path, warehouses=text)
    assert any("policy.mode: unknown mode 'nearest'" in e and "ranked, closest" in e for e in errors)
    assert any("overrides[0].warehouses: unknown warehouse 'WH-NORTH'" in e for e in errors)
    assert any("warehouses[0].cutoff: '4pm' is not a time of day" in e for e in errors)
    assert any("warehouses[1].services: unknown service 'ups_ground'" in e for e in errors)
    assert all("warehouses.yaml:" in e for e in errors) and len(errors) == 4
