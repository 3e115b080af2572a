"""carriers.yaml: carriers, their services and limits, dated dimensional weight, and the routing rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fulfilment.domain.parcel import DimRule
from fulfilment.domain.routing import Band, Carrier, Condition, RouteRule, Service, Strategy
from fulfilment.domain.states import state_code
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


BANDS: dict[str, tuple[str, float, str]] = {
    "weight_oz": ("billable_oz", 1.0, "oz"),
    "weight_lb": ("billable_oz", 16.0, "lb"),
    "actual_weight_oz": ("actual_oz", 1.0, "oz"),
    "length_in": ("length_in", 1.0, "in"),
    "width_in": ("width_in", 1.0, "in"),
    "height_in": ("height_in", 1.0, "in"),
    "length_girth_in": ("length_girth_in", 1.0, "in"),
    "zone": ("zone", 1.0, ""),
    "order_value": ("order_value", 1.0, "USD"),
    "ship_by_hours": ("ship_by_hours", 1.0, "h"),
}
"""Conditions on a number: `{above: x, up_to: y}` (fact, factor to the fact's unit, unit shown)."""

LISTS = {
    "state": "state",
    "zip": "zip",
    "region": "region",
    "sku": "sku",
    "category": "category",
    "warehouse": "warehouse",
    "session": "session",
    "tag": "tag",
}
"""Conditions on membership: a list of values, any of which matches."""

FLAGS = {"po_box": "po_box", "military": "military", "residential": "residential"}
REGIONS = ("contiguous", "alaska_hawaii", "territory", "military")
STRATEGIES = ("cheapest", "fastest")
RULE_FIELDS = {"id", "when", "ship", "hold", "package", "signature", "insurance", "tag"}


def _band(c: Checker, m: LineDict, key: str, field: str) -> Band | None:
    fact, factor, unit = BANDS[key]
    band_map = c.mapping(m.get(key), m, key, f"{field}.{key}")
    if band_map is None:
        return None
    c.unknown_keys(band_map, {"above", "up_to"}, f"{field}.{key}")
    above, up_to = c.number(band_map, "above", f"{field}.{key}"), c.number(band_map, "up_to", f"{field}.{key}")
    band = Band(None if above is None else above * factor, None if up_to is None else up_to * factor, unit, factor)
    if band.above is not None and band.up_to is not None and band.above >= band.up_to:
        c.error(
            m, key, f"{field}.{key}", "the band is empty: above ≥ up_to", "above is the lower bound, up_to the upper"
        )
    return band


def _values(c: Checker, m: LineDict, key: str, field: str) -> frozenset[str] | None:
    raw = m.get(key)
    items = raw if isinstance(raw, list) else [raw]
    if not items or any(not isinstance(v, str | int) or isinstance(v, bool) for v in items):
        c.error(m, key, f"{field}.{key}", f"expected a value or a list of values, got {raw!r}", f"e.g. {key}: [a, b]")
        return None
    values = frozenset(str(v).strip() for v in items)
    bad: list[str] = []
    hint = ""
    if key == "state":
        bad, hint = [v for v in values if state_code(v) != v.upper()], "use 2-letter codes such as NJ, PR, AE"
        values = frozenset(v.upper() for v in values)
    elif key == "region":
        bad, hint = [v for v in values if v not in REGIONS], f"regions: {', '.join(REGIONS)}"
    elif key == "zone":
        bad, hint = [v for v in values if v not in {str(z) for z in range(1, 10)}], "zones are 1 to 9"
    elif key == "zip":
        bad, hint = [v for v in values if not (len(v) == 5 and v.isdigit())], "5-digit ZIPs, quoted: '08817'"
    if bad:
        c.error(m, key, f"{field}.{key}", f"not valid: {', '.join(sorted(bad))}", hint)
        return None
    return values


def _conditions(c: Checker, when: LineDict, field: str) -> tuple[Condition, ...]:
    c.unknown_keys(when, {*BANDS, *LISTS, *FLAGS, "zip_prefix"}, field)
    conditions: list[Condition] = []
    for key in when:
        if key in BANDS:
            if key == "zone" and isinstance(when[key], list):
                values = _values(c, when, key, field)
                if values is not None:
                    conditions.append(Condition(key, "zone", values=values))
                continue
            band = _band(c, when, key, field)
            if band is not None:
                conditions.append(Condition(key, BANDS[key][0], band=band))
        elif key in LISTS:
            values = _values(c, when, key, field)
            if values is not None:
                conditions.append(Condition(key, LISTS[key], values=values))
        elif key in FLAGS:
            if not isinstance(when[key], bool):
                c.error(when, key, f"{field}.{key}", f"expected true or false, got {when[key]!r}")
            else:
                conditions.append(Condition(key, FLAGS[key], flag=when[key]))
        elif key == "zip_prefix":
            prefixes = _values(c, when, key, field)
            if prefixes is not None and not all(p.isdigit() and 1 <= len(p) <= 5 for p in prefixes):
                c.error(
                    when, key, f"{field}.{key}", "expected ZIP prefixes of 1–5 digits", "quote them: ['100', '112']"
                )
            elif prefixes is not None:
                conditions.append(Condition(key, "zip", prefixes=tuple(sorted(prefixes))))
    return tuple(conditions)


def _service_index(carriers: dict[str, Carrier]) -> dict[str, str]:
    """Service token → carrier code."""
    return {token: code for code, carrier in carriers.items() for token in carrier.services}


def _strategy(
    c: Checker, ship: LineDict, kind: str, field: str, carriers: dict[str, Carrier], priced: set[tuple[str, str]]
) -> Strategy | None:
    tokens = ship.get(kind)
    index = _service_index(carriers)
    if not isinstance(tokens, list) or len(tokens) < 2:
        c.error(ship, kind, f"{field}.{kind}", "expected a list of two or more services", "[ups_ground, fedex_ground]")
        return None
    services: list[tuple[str, str]] = []
    for token in map(str, tokens):
        if token not in index:
            c.error(
                ship, kind, f"{field}.{kind}", f"no carrier offers a service {token!r}", f"known: {', '.join(index)}"
            )
        elif (index[token], token) not in priced:
            c.error(
                ship,
                kind,
                f"{field}.{kind}",
                f"{token} has no rate card, so it cannot be compared",
                "add a file under rules/rates/ for it",
            )
        else:
            services.append((index[token], token))
    return Strategy(kind, tuple(services)) if len(services) == len(tokens) else None


def _action(
    c: Checker, m: LineDict, field: str, carriers: dict[str, Carrier], priced: set[tuple[str, str]]
) -> dict[str, Any] | None:
    """The rule's ship or hold action as RouteRule fields; None when it is invalid."""
    if ("ship" in m) == ("hold" in m):
        c.error(m, "id", field, "a rule needs exactly one of `ship` or `hold`", "ship: {carrier: usps, service: …}")
        return None
    if "hold" in m:
        reason = c.text(m, "hold", field)
        return {"hold": reason} if reason else None
    ship = c.mapping(m.get("ship"), m, "ship", f"{field}.ship")
    if ship is None:
        return None
    c.unknown_keys(ship, {"carrier", "service", *STRATEGIES}, f"{field}.ship")
    kinds = [k for k in STRATEGIES if k in ship]
    if kinds:
        strategy = _strategy(c, ship, kinds[0], f"{field}.ship", carriers, priced)
        return {"strategy": strategy} if strategy else None
    carrier, service = c.text(ship, "carrier", f"{field}.ship"), c.text(ship, "service", f"{field}.ship")
    if carrier and carrier not in carriers:
        c.error(
            ship, "carrier", f"{field}.ship.carrier", f"unknown carrier {carrier!r}", f"known: {', '.join(carriers)}"
        )
    elif carrier and service and service not in carriers[carrier].services:
        offered = ", ".join(carriers[carrier].services)
        c.error(
            ship, "service", f"{field}.ship.service", f"{carrier} offers no service {service!r}", f"offered: {offered}"
        )
    elif carrier and service:
        return {"carrier": carrier, "service": service}
    return None


def _options(c: Checker, m: LineDict, field: str) -> dict[str, Any]:
    options: dict[str, Any] = {"package": c.text(m, "package", field, required=False) or None}
    for key in ("signature", "insurance"):
        if key in m and not isinstance(m[key], bool):
            c.error(m, key, f"{field}.{key}", f"expected true or false, got {m[key]!r}")
        options[key] = m.get(key) is True
    tags = m.get("tag", [])
    tags = tags if isinstance(tags, list) else [tags]
    options["tags"] = tuple(str(t) for t in tags)
    return options


def _load_routes(
    c: Checker, doc: LineDict, carriers: dict[str, Carrier], priced: set[tuple[str, str]]
) -> tuple[RouteRule, ...]:
    items = doc.get("rules")
    if not isinstance(items, list) or not items:
        c.error(doc, "rules", "rules", "expected a list of rules", "end the list with a default rule with no `when`")
        return ()
    routes: list[RouteRule] = []
    seen: set[str] = set()
    catch_all: str | None = None
    for i, item in enumerate(items):
        field = f"rules[{i}]"
        m = c.mapping(item, doc, "rules", field)
        if m is None:
            continue
        c.unknown_keys(m, RULE_FIELDS, field)
        rule_id = c.text(m, "id", field) or f"#{i + 1}"
        field = f"rule {rule_id}"
        if rule_id in seen:
            c.error(m, "id", f"{field}.id", f"rule id {rule_id!r} is used twice", "give every rule its own id")
        seen.add(rule_id)
        if catch_all:
            c.error(
                m,
                "id",
                field,
                f"unreachable: rule {catch_all!r} above it matches every parcel",
                "move this rule above the default, or delete it",
            )
        when = c.mapping(m.get("when") or LineDict(), m, "when", f"{field}.when")
        conditions = _conditions(c, when, f"{field}.when") if when is not None else ()
        action = _action(c, m, field, carriers, priced)
        options = _options(c, m, field)
        if action is not None:
            routes.append(RouteRule(rule_id, conditions, **action, **options))
        if not m.get("when"):
            catch_all = rule_id
    if routes and catch_all is None:
        c.error(doc, "rules", "rules", "no default rule", "end the list with a rule that has no `when`")
    return tuple(routes)


def load_carriers(
    path: Path, priced: set[tuple[str, str]] | None = None
) -> tuple[dict[str, Carrier], tuple[RouteRule, ...]]:
    """Read carriers.yaml: carriers and services, then the ordered rules.

    `priced` is the (carrier, service) pairs that have rate cards; a strategy may only compare those.
    """
    c = Checker(path)
    doc = c.mapping(load_yaml(path), None, "", "(file)")
    if doc is None:
        raise ConfigInvalid(c.errors)
    c.unknown_keys(doc, {"carriers", "rules"}, "(file)")
    carriers = _load_carriers(c, doc)
    routes = _load_routes(c, doc, carriers, priced or set())
    if c.errors:
        raise ConfigInvalid(c.errors)
    return carriers, routes
