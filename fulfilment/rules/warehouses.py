"""warehouses.yaml: the warehouses in allocation order, their ship-from addresses and carriers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fulfilment.domain.orders import Address
from fulfilment.domain.routing import Carrier
from fulfilment.rules.checker import Checker, kind, load_address
from fulfilment.yamlfile import ConfigInvalid, load_yaml


@dataclass(frozen=True, slots=True)
class WarehouseConfig:
    """A warehouse: its code, name, ship-from address and the carriers it ships with."""

    code: str
    name: str
    address: Address
    active: bool
    carriers: tuple[str, ...]


def load_warehouses(path: Path, carriers: dict[str, Carrier] | None) -> tuple[WarehouseConfig, ...]:
    """Read warehouses.yaml: an ordered list under `warehouses:`; raises ConfigInvalid with every error.

    Carrier codes are checked against `carriers` (skipped when None: carriers.yaml itself is broken).
    """
    c = Checker(path)
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
        address = load_address(c, address_map, f"{field}.address") if address_map else None
        active = m.get("active", True)
        if not isinstance(active, bool):
            c.error(m, "active", f"{field}.active", f"expected true or false, got {active!r}")
        ships = m.get("carriers", sorted(carriers or ()))
        if not isinstance(ships, list) or not ships:
            c.error(m, "carriers", f"{field}.carriers", "expected a list of carrier codes")
            ships = []
        for code_ in ships:
            if not isinstance(code_, str):
                c.error(m, "carriers", f"{field}.carriers", f"expected a carrier code, got {kind(code_)}")
            elif carriers is not None and code_ not in carriers:
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
