"""Load and validate rules/*.yaml into domain objects; every error names the file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fulfilment.domain.alerts import AlertRules
from fulfilment.domain.allocation import Policy
from fulfilment.domain.routing import Carrier, RouteRule
from fulfilment.rules.carriers import load_carriers
from fulfilment.rules.warehouses import WarehouseConfig, WarehouseRules, load_warehouses
from fulfilment.yamlfile import ConfigError, ConfigInvalid

__all__ = ["Rules", "WarehouseConfig", "load_rules"]


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the stages decide with, loaded from one rules directory."""

    warehouses: tuple[WarehouseConfig, ...]
    carriers: dict[str, Carrier]
    routes: tuple[RouteRule, ...]
    allocation: Policy = Policy()
    alerts: AlertRules = AlertRules()


def load_rules(rules_dir: Path) -> Rules:
    """Load every rule file of a directory; raises ConfigInvalid listing all errors of all files."""
    errors: list[ConfigError] = []
    carriers: dict[str, Carrier] | None = None
    routes: tuple[RouteRule, ...] = ()
    warehouses: WarehouseRules | None = None
    try:
        carriers, routes = load_carriers(rules_dir / "carriers.yaml")
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
    try:
        warehouses = load_warehouses(rules_dir / "warehouses.yaml", carriers)
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
    if errors or carriers is None or warehouses is None:
        raise ConfigInvalid(errors)
    return Rules(warehouses.warehouses, carriers, routes, warehouses.policy, warehouses.alerts)
