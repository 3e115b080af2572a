"""carriers.yaml: carriers, their services and limits, dated dimensional weight, and the routing rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fulfilment.domain.parcel import DimRule
from fulfilment.domain.routing import Carrier, RouteRule, Service, WeightBand
from fulfilment.rules.checker import Checker
from fulfilment.yamlfile import ConfigInvalid, LineDict, load_yaml


def _load_service(c: Checker, carrier: str, token: str, m: LineDict, field: str) -> Service:
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


def _load_dim_rules(c: Checker, value: Any, where: LineDict, field: str) -> tuple[DimRule, ...]:
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


def _load_carriers(c: Checker, doc: LineDict) -> dict[str, Carrier]:
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


def _load_weight(c: Checker, m: LineDict, field: str) -> WeightBand:
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


def _load_routes(c: Checker, doc: LineDict, carriers: dict[str, Carrier]) -> tuple[RouteRule, ...]:
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
    c = Checker(path)
    doc = c.mapping(load_yaml(path), None, "", "(file)")
    if doc is None:
        raise ConfigInvalid(c.errors)
    c.unknown_keys(doc, {"carriers", "rules"}, "(file)")
    carriers = _load_carriers(c, doc)
    routes = _load_routes(c, doc, carriers)
    if c.errors:
        raise ConfigInvalid(c.errors)
    return carriers, routes
