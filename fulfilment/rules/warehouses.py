"""warehouses.yaml: the warehouses in rank order (ship-from, carriers, services, cut-off), the allocation
policy with its overrides, and the low-stock alert thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path

from fulfilment.domain.alerts import AlertRules
from fulfilment.domain.allocation import Override, Policy
from fulfilment.domain.orders import Address
from fulfilment.domain.routing import Carrier
from fulfilment.domain.states import state_code
from fulfilment.rules.checker import Checker, kind, load_address
from fulfilment.yamlfile import ConfigInvalid, LineDict, load_yaml

MODES = ("ranked", "closest")


@dataclass(frozen=True, slots=True)
class WarehouseConfig:
    """A warehouse: code, name, ship-from address, active flag, the carriers (and, if listed, the only
    services) it ships with, and its daily cut-off in the shop's time zone (None: none)."""

    code: str
    name: str
    address: Address
    active: bool
    carriers: tuple[str, ...]
    services: tuple[str, ...] = ()
    cutoff: time | None = None


@dataclass(frozen=True, slots=True)
class WarehouseRules:
    """Everything warehouses.yaml says."""

    warehouses: tuple[WarehouseConfig, ...]
    policy: Policy
    alerts: AlertRules


def _codes(c: Checker, m: LineDict, key: str, field: str, known: set[str] | None, what: str) -> tuple[str, ...]:
    """A non-empty list of codes under `key`, each checked against `known` (skipped when None)."""
    value = m.get(key)
    if not isinstance(value, list) or not value:
        c.error(m, key, f"{field}.{key}", f"expected a list of {what}")
        return ()
    for code in value:
        if not isinstance(code, str):
            c.error(m, key, f"{field}.{key}", f"expected a code, got {kind(code)}")
        elif known is not None and code not in known:
            c.error(m, key, f"{field}.{key}", f"unknown {what[:-1]} {code!r}", f"known: {', '.join(sorted(known))}")
    return tuple(map(str, value))


def _cutoff(c: Checker, m: LineDict, field: str) -> time | None:
    text = c.text(m, "cutoff", field, required=False)
    if not text:
        return None
    try:
        return time.fromisoformat(text if len(text) > 4 else text.zfill(5))
    except ValueError:
        c.error(m, "cutoff", f"{field}.cutoff", f"{text!r} is not a time of day", 'write it as "15:00" (quoted)')
        return None


def _warehouse(
    c: Checker, m: LineDict, field: str, code: str, carriers: dict[str, Carrier] | None
) -> WarehouseConfig | None:
    c.unknown_keys(m, {"code", "name", "address", "active", "carriers", "services", "cutoff"}, field)
    address_map = c.mapping(m.get("address"), m, "address", f"{field}.address")
    address = load_address(c, address_map, f"{field}.address") if address_map else None
    active = m.get("active", True)
    if not isinstance(active, bool):
        c.error(m, "active", f"{field}.active", f"expected true or false, got {active!r}")
    ships = _codes(c, m, "carriers", field, set(carriers) if carriers else None, "carriers") if "carriers" in m else ()
    ships = ships or tuple(sorted(carriers or ()))
    services: tuple[str, ...] = ()
    if "services" in m:
        offered = {s for code_ in ships for s in (carriers[code_].services if carriers and code_ in carriers else ())}
        services = _codes(c, m, "services", field, offered if carriers else None, "services")
    cutoff = _cutoff(c, m, field)
    if not (code and address):
        return None
    name = c.text(m, "name", field, required=False) or code
    return WarehouseConfig(code, name, address, bool(active), ships, services, cutoff)


def _policy(c: Checker, doc: LineDict, codes: set[str]) -> Policy:
    mode, radius, split = "ranked", 0.0, False
    m = c.mapping(doc["policy"], doc, "policy", "policy") if "policy" in doc else None
    if m is not None:
        c.unknown_keys(m, {"mode", "tie_radius_miles", "allow_split"}, "policy")
        mode = c.text(m, "mode", "policy", required=False) or "ranked"
        if mode not in MODES:
            c.error(m, "mode", "policy.mode", f"unknown mode {mode!r}", f"use one of: {', '.join(MODES)}")
        radius = c.number(m, "tie_radius_miles", "policy") or 0.0
        split = m.get("allow_split", False)
        if not isinstance(split, bool):
            c.error(m, "allow_split", "policy.allow_split", f"expected true or false, got {split!r}")
    overrides = []
    items = doc.get("overrides", [])
    if not isinstance(items, list):
        c.error(doc, "overrides", "overrides", "expected a list of overrides")
        items = []
    for i, item in enumerate(items):
        field = f"overrides[{i}]"
        o = c.mapping(item, doc, "overrides", field)
        if o is None:
            continue
        c.unknown_keys(o, {"id", "skus", "states", "warehouses"}, field)
        oid = c.text(o, "id", field) or field
        warehouses = _codes(c, o, "warehouses", field, codes, "warehouses")
        skus = frozenset(map(str, _list(c, o, "skus", field)))
        states = set()
        for text in _list(c, o, "states", field):
            code = state_code(str(text))
            if code is None:
                c.error(o, "states", f"{field}.states", f"{text!r} is not a US state", "use a code such as HI")
            states.add(code or "")
        if not skus and not states:
            c.error(o, "id", field, "applies to nothing", "list `skus:` or `states:` it applies to")
        overrides.append(Override(oid, warehouses, skus, frozenset(states)))
    return Policy(mode, radius, bool(split), tuple(overrides))


def _list(c: Checker, m: LineDict, key: str, field: str) -> list[object]:
    """The list under `key` (empty if absent); anything else is an error naming the field."""
    value = m.get(key) or []
    if isinstance(value, list):
        return value
    c.error(m, key, f"{field}.{key}", f"expected a list, got {value!r}", f"{key}: [..]")
    return []


def _alerts(c: Checker, doc: LineDict) -> AlertRules:
    m = c.mapping(doc["alerts"], doc, "alerts", "alerts") if "alerts" in doc else None
    if m is None:
        return AlertRules()
    c.unknown_keys(m, {"low_stock_below", "skus", "stockout_within_hours"}, "alerts")
    below = c.number(m, "low_stock_below", "alerts")
    per_sku: dict[str, int] = {}
    skus = m.get("skus", {})
    if not isinstance(skus, dict):
        c.error(m, "skus", "alerts.skus", "expected a mapping of SKU to threshold")
        skus = {}
    for sku, value in skus.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            c.error(skus if isinstance(skus, LineDict) else m, sku, f"alerts.skus.{sku}", "expected a whole number ≥ 0")
            continue
        per_sku[str(sku)] = value
    hours = c.number(m, "stockout_within_hours", "alerts") if "stockout_within_hours" in m else 24.0
    return AlertRules(int(below if below is not None else 10), per_sku, hours or None)


def load_warehouses(path: Path, carriers: dict[str, Carrier] | None) -> WarehouseRules:
    """Read warehouses.yaml; raises ConfigInvalid with every error.

    Carrier and service codes are checked against `carriers` (skipped when None: carriers.yaml itself is broken).
    """
    c = Checker(path)
    doc = c.mapping(load_yaml(path), None, "", "(file)")
    if doc is None:
        raise ConfigInvalid(c.errors)
    c.unknown_keys(doc, {"warehouses", "policy", "overrides", "alerts"}, "(file)")
    result: list[WarehouseConfig] = []
    items = doc.get("warehouses")
    if not isinstance(items, list):
        c.error(doc, "warehouses", "warehouses", "expected a list of warehouses")
        items = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        field = f"warehouses[{i}]"
        m = c.mapping(item, doc, "warehouses", field)
        if m is None:
            continue
        code = c.text(m, "code", field)
        if code in seen:
            c.error(m, "code", f"{field}.code", f"warehouse {code!r} is listed twice")
        seen.add(code)
        warehouse = _warehouse(c, m, field, code, carriers)
        if warehouse:
            result.append(warehouse)
    if not items:
        c.error(doc, "warehouses", "warehouses", "no warehouses defined", "list at least one warehouse")
    policy = _policy(c, doc, seen)
    alerts = _alerts(c, doc)
    if c.errors:
        raise ConfigInvalid(c.errors)
    return WarehouseRules(tuple(result), policy, alerts)
