"""Load and validate rules/*.yaml into domain objects; every error names the file, line and field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fulfilment.domain.orders import Address
from fulfilment.domain.parcel import DimRule
from fulfilment.domain.routing import Carrier, RouteRule, Service, WeightBand
from fulfilment.domain.states import state_code
from fulfilment.yamlfile import ConfigError, ConfigInvalid, LineDict, load_yaml


@dataclass(frozen=True, slots=True)
class WarehouseConfig:
    """A warehouse: its code, name, ship-from address and the carriers it ships with."""

    code: str
    name: str
    address: Address
    active: bool
    carriers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the stages decide with, loaded from one rules directory."""

    warehouses: tuple[WarehouseConfig, ...]
    carriers: dict[str, Carrier]
    routes: tuple[RouteRule, ...]


class _Checker:
    """Collects errors for one file so that a single run reports all of them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[ConfigError] = []

    def error(self, where: LineDict | None, key: str, field: str, message: str, hint: str = "") -> None:
        line = where.line_of(key) if isinstance(where, LineDict) else 0
        self.errors.append(ConfigError(str(self.path), line, field, message, hint))

    def mapping(self, value: Any, where: LineDict | None, key: str, field: str) -> LineDict | None:
        if isinstance(value, LineDict):
            return value
        self.error(where, key, field, f"expected a mapping of keys, got {_kind(value)}")
        return None

    def text(self, m: LineDict, key: str, field: str, required: bool = True) -> str:
        value = m.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(m, key, f"{field}.{key}", "is missing")
            return ""
        if not isinstance(value, str | int):
            self.error(m, key, f"{field}.{key}", f"expected text, got {_kind(value)}")
            return ""
        return str(value).strip()

    def number(self, m: LineDict, key: str, field: str) -> float | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.error(m, key, f"{field}.{key}", f"expected a number ≥ 0, got {value!r}")
            return None
        return float(value)

    def unknown_keys(self, m: LineDict, allowed: set[str], field: str) -> None:
        for key in m:
            if key not in allowed:
                self.error(m, key, f"{field}.{key}", "unknown field", f"allowed here: {', '.join(sorted(allowed))}")


def _kind(value: Any) -> str:
    return {dict: "a mapping", LineDict: "a mapping", list: "a list", str: "text"}.get(type(value), repr(value))


def _load_address(c: _Checker, m: LineDict, field: str) -> Address | None:
    c.unknown_keys(m, {"name", "street1", "street2", "city", "state", "zip", "phone"}, field)
    values = {k: c.text(m, k, field, required=k not in {"street2", "phone"}) for k in ("name", "street1", "city")}
    state_text = c.text(m, "state", field)
    zip_text = c.text(m, "zip", field)
    state = state_code(state_text) if state_text else None
    if state_text and state is None:
        c.error(m, "state", f"{field}.state", f"{state_text!r} is not a US state", "use a code such as NJ")
    if zip_text and not (len(zip_text) in (5, 10) and zip_text[:5].isdigit()):
        c.error(
            m,
            "zip",
            f"{field}.zip",
            f"{zip_text!r} is not a ZIP code",
            "quote ZIPs with leading zeros: '08817'",
        )
    if not all(values.values()) or state is None or not zip_text:
        return None
    return Address(
        state=state,
        zip=zip_text,
        street2=c.text(m, "street2", field, required=False),
        phone=c.text(m, "phone", field, required=False),
        **values,
    )


def load_warehouses(path: Path, carriers: dict[str, Carrier] | None) -> tuple[WarehouseConfig, ...]:
    """Read warehouses.yaml: an ordered list under `warehouses:`; raises ConfigInvalid with every error.

    Carrier codes are checked against `carriers` (skipped when None: carriers.yaml itself is broken).
    """
    c = _Checker(path)
    doc = c.mapping(load_yaml(path), None, "", "(file)")
    result: list[WarehouseConfig] = []
    items = doc.get("warehouses") if doc else None
    if doc is not None and not isinstance(items, list):
        c.error(doc, "warehouses", "warehouses", "expected a list of warehouses")
        items = []
    seen: set[str] = set()
    for i, item in enumerate(items or []):
        field = f"warehouses[{i}]"
        m = c.mapping(item, doc, "warehouses", field)
        if m is None:
            continue
        c.unknown_keys(m, {"code", "name", "address", "active", "carriers"}, field)
        code = c.text(m, "code", field)
        if code in seen:
            c.error(m, "code", f"{field}.code", f"warehouse {code!r} is listed twice")
        seen.add(code)
        address_map = c.mapping(m.get("address"), m, "address", f"{field}.address")
        address = _load_address(c, address_map, f"{field}.address") if address_map else None
        active = m.get("active", True)
        if not isinstance(active, bool):
            c.error(m, "active", f"{field}.active", f"expected true or false, got {active!r}")
        ships = m.get("carriers", sorted(carriers or ()))
        if not isinstance(ships, list) or not ships:
            c.error(m, "carriers", f"{field}.carriers", "expected a list of carrier codes")
            ships = []
        for code_ in ships:
            if carriers is not None and code_ not in carriers:
                c.error(
                    m,
                    "carriers",
                    f"{field}.carriers",
                    f"unknown carrier {code_!r}",
                    f"known: {', '.join(carriers)}",
                )
        if code and address:
            name = c.text(m, "name", field, required=False) or code
            result.append(WarehouseConfig(code, name, address, bool(active), tuple(map(str, ships))))
    if doc is not None and not items:
        c.error(doc, "warehouses", "warehouses", "no warehouses defined", "list at least one warehouse")
    if c.errors:
        raise ConfigInvalid(c.errors)
    return tuple(result)


def _load_service(c: _Checker, carrier: str, token: str, m: LineDict, field: str) -> Service:
    c.unknown_keys(m, {"name", "max_weight_lb", "max_length_in", "max_length_girth_in", "po_box", "military"}, field)
    max_lb = c.number(m, "max_weight_lb", field)
    return Service(
        carrier=carrier,
        token=token,
        name=c.text(m, "name", field, required=False) or token,
        max_weight_oz=max_lb * 16 if max_lb is not None else None,
        max_length_in=c.number(m, "max_length_in", field),
        max_length_girth_in=c.number(m, "max_length_girth_in", field),
        po_box=bool(m.get("po_box", False)),
        military=bool(m.get("military", False)),
    )


def _load_dim_rules(c: _Checker, value: Any, where: LineDict, field: str) -> tuple[DimRule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        c.error(where, "dim_weight", field, "expected a list of {effective_from, divisor, min_cubic_in}")
        return ()
    rules = []
    for i, item in enumerate(value):
        m = c.mapping(item, where, "dim_weight", f"{field}[{i}]")
        if m is None:
            continue
        c.unknown_keys(m, {"effective_from", "divisor", "min_cubic_in"}, f"{field}[{i}]")
        start = m.get("effective_from")
        divisor = c.number(m, "divisor", f"{field}[{i}]")
        if not isinstance(start, dt.date):
            c.error(
                m,
                "effective_from",
                f"{field}[{i}].effective_from",
                "expected a date",
                "write it as 2026-07-12",
            )
        elif divisor:
            rules.append(DimRule(start, divisor, c.number(m, "min_cubic_in", f"{field}[{i}]") or 0.0))
        else:
            c.error(m, "divisor", f"{field}[{i}].divisor", "expected a divisor above 0")
    return tuple(rules)


def _load_carriers(c: _Checker, doc: LineDict) -> dict[str, Carrier]:
    carriers: dict[str, Carrier] = {}
    block = c.mapping(doc.get("carriers"), doc, "carriers", "carriers")
    for code, value in (block or {}).items():
        field = f"carriers.{code}"
        m = c.mapping(value, block, code, field)
        if m is None:
            continue
        c.unknown_keys(m, {"name", "services", "dim_weight"}, field)
        services_map = c.mapping(m.get("services"), m, "services", f"{field}.services") or LineDict()
        services = {}
        for token, spec in services_map.items():
            spec_map = c.mapping(spec if spec is not None else LineDict(), services_map, token, f"{field}.{token}")
            if spec_map is not None:
                services[token] = _load_service(c, code, token, spec_map, f"{field}.services.{token}")
        dims = _load_dim_rules(c, m.get("dim_weight"), m, f"{field}.dim_weight")
        carriers[code] = Carrier(code, c.text(m, "name", field, required=False) or code, services, dims)
    return carriers


def _load_weight(c: _Checker, m: LineDict, field: str) -> WeightBand:
    bounds: dict[str, float | None] = {"above": None, "up_to": None}
    for key, factor in (("weight_oz", 1.0), ("weight_lb", 16.0)):
        band = m.get(key)
        if band is None:
            continue
        band_map = c.mapping(band, m, key, f"{field}.{key}")
        if band_map is None:
            continue
        c.unknown_keys(band_map, {"above", "up_to"}, f"{field}.{key}")
        for bound in bounds:
            value = c.number(band_map, bound, f"{field}.{key}")
            if value is not None:
                bounds[bound] = value * factor
    band = WeightBand(bounds["above"], bounds["up_to"])
    if band.above_oz is not None and band.up_to_oz is not None and band.above_oz >= band.up_to_oz:
        c.error(m, "weight_oz" if "weight_oz" in m else "weight_lb", field, "the band is empty: above ≥ up_to")
    return band


def _load_routes(c: _Checker, doc: LineDict, carriers: dict[str, Carrier]) -> tuple[RouteRule, ...]:
    items = doc.get("rules")
    if not isinstance(items, list) or not items:
        c.error(
            doc,
            "rules",
            "rules",
            "expected a list of rules",
            "end the list with a default rule with no `when`",
        )
        return ()
    routes: list[RouteRule] = []
    seen: set[str] = set()
    catch_all: str | None = None
    for i, item in enumerate(items):
        field = f"rules[{i}]"
        m = c.mapping(item, doc, "rules", field)
        if m is None:
            continue
        c.unknown_keys(m, {"id", "when", "ship"}, field)
        rule_id = c.text(m, "id", field) or f"#{i + 1}"
        field = f"rule {rule_id}"
        if rule_id in seen:
            c.error(m, "id", f"{field}.id", f"rule id {rule_id!r} is used twice")
        seen.add(rule_id)
        if catch_all:
            c.error(m, "id", field, f"unreachable: rule {catch_all!r} above it matches every parcel")
        when = m.get("when") or LineDict()
        when_map = c.mapping(when, m, "when", f"{field}.when")
        weight = WeightBand()
        if when_map is not None:
            c.unknown_keys(when_map, {"weight_oz", "weight_lb"}, f"{field}.when")
            weight = _load_weight(c, when_map, f"{field}.when")
        ship = c.mapping(m.get("ship"), m, "ship", f"{field}.ship")
        if ship is None:
            continue
        c.unknown_keys(ship, {"carrier", "service"}, f"{field}.ship")
        carrier, service = c.text(ship, "carrier", f"{field}.ship"), c.text(ship, "service", f"{field}.ship")
        if carrier and carrier not in carriers:
            c.error(
                ship,
                "carrier",
                f"{field}.ship.carrier",
                f"unknown carrier {carrier!r}",
                f"known: {', '.join(carriers)}",
            )
        elif carrier and service and service not in carriers[carrier].services:
            offered = ", ".join(carriers[carrier].services)
            c.error(
                ship,
                "service",
                f"{field}.ship.service",
                f"{carrier} offers no service {service!r}",
                f"offered: {offered}",
            )
        else:
            routes.append(RouteRule(rule_id, carrier, service, weight))
        if not m.get("when"):
            catch_all = rule_id
    if routes and catch_all is None:
        c.error(doc, "rules", "rules", "no default rule", "end the list with a rule that has no `when`")
    return tuple(routes)


def load_carriers(path: Path) -> tuple[dict[str, Carrier], tuple[RouteRule, ...]]:
    """Read carriers.yaml: the carriers and their services, then the ordered routing rules."""
    c = _Checker(path)
    doc = c.mapping(load_yaml(path), None, "", "(file)")
    if doc is None:
        raise ConfigInvalid(c.errors)
    c.unknown_keys(doc, {"carriers", "rules"}, "(file)")
    carriers = _load_carriers(c, doc)
    routes = _load_routes(c, doc, carriers)
    if c.errors:
        raise ConfigInvalid(c.errors)
    return carriers, routes


def load_rules(rules_dir: Path) -> Rules:
    """Load every rule file of a directory; raises ConfigInvalid listing all errors of all files."""
    errors: list[ConfigError] = []
    carriers: dict[str, Carrier] | None = None
    routes: tuple[RouteRule, ...] = ()
    warehouses: tuple[WarehouseConfig, ...] = ()
    try:
        carriers, routes = load_carriers(rules_dir / "carriers.yaml")
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
    try:
        warehouses = load_warehouses(rules_dir / "warehouses.yaml", carriers)
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
    if errors or carriers is None:
        raise ConfigInvalid(errors)
    return Rules(warehouses, carriers, routes)
