"""Load and validate the rules directory into domain objects; every error names the file, line and field.

`carriers.yaml` (carriers, services, routing rules), `warehouses.yaml`, `rates/*.yaml` (dated rate cards),
`zones/<origin ZIP3>.csv` (optional zone charts) and `schedules.yaml` (optional, what `fulfil scheduler` runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from fulfilment.domain.alerts import AlertRules
from fulfilment.domain.allocation import Policy
from fulfilment.domain.rates import RateCard
from fulfilment.domain.risk import RiskRules
from fulfilment.domain.routing import Carrier, RouteRule
from fulfilment.rules.carriers import load_carriers
from fulfilment.rules.rates import load_rates
from fulfilment.rules.risk import load_risk
from fulfilment.rules.schedules import Schedule, load_schedules
from fulfilment.rules.warehouses import WarehouseConfig, WarehouseRules, load_warehouses
from fulfilment.rules.zones import load_zone_charts
from fulfilment.yamlfile import ConfigError, ConfigInvalid

__all__ = ["Rules", "WarehouseConfig", "load_rules"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the stages decide with, loaded from one rules directory."""

    warehouses: tuple[WarehouseConfig, ...]
    carriers: dict[str, Carrier]
    routes: tuple[RouteRule, ...]
    rates: dict[tuple[str, str], tuple[RateCard, ...]]
    zone_charts: dict[str, dict[str, int]]
    risk: RiskRules
    allocation: Policy = Policy()
    alerts: AlertRules = AlertRules()
    schedules: tuple[Schedule, ...] = ()

    def warehouse(self, code: str | None) -> WarehouseConfig | None:
        return next((w for w in self.warehouses if w.code == code), None)


def _collect(errors: list[ConfigError], load: Callable[[], T], fallback: T) -> T:
    try:
        return load()
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
        return fallback


def load_rules(rules_dir: Path) -> Rules:
    """Load every rule file of a directory; raises ConfigInvalid listing all errors of all files."""
    if not rules_dir.is_dir():
        hint = "set FULFILMENT_RULES_DIR to your rules folder, or run from the project folder that holds rules/"
        raise ConfigInvalid([ConfigError(str(rules_dir), 0, "(folder)", "no rules folder here", hint)])
    errors: list[ConfigError] = []
    cards = _collect(errors, lambda: load_rates(rules_dir / "rates"), ())
    charts = _collect(errors, lambda: load_zone_charts(rules_dir / "zones"), {})
    priced = {(card.carrier, card.service) for card in cards}
    carriers, routes = _collect(errors, lambda: load_carriers(rules_dir / "carriers.yaml", priced), (None, ()))
    warehouses: WarehouseRules | None = _collect(
        errors, lambda: load_warehouses(rules_dir / "warehouses.yaml", carriers), None
    )
    risk = _collect(errors, lambda: load_risk(rules_dir / "risk.yaml"), None)
    schedules = _collect(errors, lambda: load_schedules(rules_dir / "schedules.yaml"), ())
    for card in cards:
        offered = carriers[card.carrier].services if carriers and card.carrier in carriers else {}
        if carriers is not None and card.service not in offered:
            known = ", ".join(f"{c}/{s}" for c in carriers for s in carriers[c].services)
            message = f"{card.carrier}/{card.service} is not a service in carriers.yaml"
            errors.append(ConfigError(card.source, 0, "service", message, f"known: {known}"))
    if errors or carriers is None or risk is None or warehouses is None:
        raise ConfigInvalid(errors)
    rates: dict[tuple[str, str], tuple[RateCard, ...]] = {}
    for card in cards:
        rates[(card.carrier, card.service)] = (*rates.get((card.carrier, card.service), ()), card)
    return Rules(
        warehouses.warehouses, carriers, routes, rates, charts, risk, warehouses.policy, warehouses.alerts, schedules
    )
