"""Load and validate rules/*.yaml into domain objects; every error names the file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fulfilment.domain.risk import RiskRules
from fulfilment.domain.routing import Carrier, RouteRule
from fulfilment.rules.carriers import load_carriers
from fulfilment.rules.risk import load_risk
from fulfilment.rules.warehouses import WarehouseConfig, load_warehouses
from fulfilment.yamlfile import ConfigError, ConfigInvalid

__all__ = ["Rules", "WarehouseConfig", "load_rules"]


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the stages decide with, loaded from one rules directory."""

    warehouses: tuple[WarehouseConfig, ...]
    carriers: dict[str, Carrier]
    routes: tuple[RouteRule, ...]
    risk: RiskRules


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
    risk: RiskRules | None = None
    try:
        risk = load_risk(rules_dir / "risk.yaml")
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
    if errors or carriers is None or risk is None:
        raise ConfigInvalid(errors)
    return Rules(warehouses, carriers, routes, risk)
