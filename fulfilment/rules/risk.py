"""risk.yaml: which risk checks hold orders, and their thresholds and time windows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from fulfilment.domain.risk import BurstRule, ReturnRule, RiskRules, Threshold
from fulfilment.rules.checker import Checker
from fulfilment.yamlfile import ConfigInvalid, LineDict, load_yaml

CHECKS = {
    "address": {"enabled"},
    "high_return_rate": {"enabled", "rate", "min_orders"},
    "ip_burst": {"enabled", "min_orders", "min_buyers", "window_minutes"},
    "address_burst": {"enabled", "min_buyers", "window_minutes"},
    "buyer_burst": {"enabled", "min_addresses", "window_minutes"},
    "remote_destination": {"enabled", "action"},
    "high_value": {"enabled", "above"},
    "high_quantity": {"enabled", "above"},
    "buyer_cancel_request": {"enabled"},
    "address_changed": {"enabled"},
}
REMOTE_ACTIONS = ("hold", "route_only")


def _check(c: Checker, checks: LineDict, name: str) -> LineDict:
    """The mapping of one check (an empty one when the check is left out: defaults apply)."""
    field = f"checks.{name}"
    m = c.mapping(checks[name], checks, name, field) if name in checks else None
    if m is None:
        m = LineDict()
        m.line, m.key_lines = checks.line_of(name), {}
    c.unknown_keys(m, CHECKS[name], field)
    return m


def _burst(c: Checker, checks: LineDict, name: str, default: BurstRule, distinct_key: str) -> BurstRule:
    m, field = _check(c, checks, name), f"checks.{name}"
    distinct = c.whole(m, distinct_key, field, default.min_distinct)
    minutes = c.whole(m, "window_minutes", field, int(default.window.total_seconds() // 60))
    min_orders = c.whole(m, "min_orders", field, default.min_orders) if "min_orders" in CHECKS[name] else distinct
    return BurstRule(c.flag(m, "enabled", field), min_orders, distinct, timedelta(minutes=minutes))


def _threshold(c: Checker, checks: LineDict, name: str, default: Threshold) -> Threshold:
    m, field = _check(c, checks, name), f"checks.{name}"
    above = c.number(m, "above", field)
    return Threshold(c.flag(m, "enabled", field), default.above if above is None else Decimal(str(above)))


def _switch(c: Checker, checks: LineDict, name: str) -> bool:
    return c.flag(_check(c, checks, name), "enabled", f"checks.{name}")


def load_risk(path: Path) -> RiskRules:
    """Read risk.yaml: a `checks:` mapping, one entry per check; a check left out keeps its defaults.

    Raises ConfigInvalid with every error.
    """
    c = Checker(path)
    doc = c.mapping(load_yaml(path), None, "", "(file)")
    defaults = RiskRules()
    checks = c.mapping(doc.get("checks"), doc, "checks", "checks") if doc is not None else None
    if doc is None or checks is None:
        raise ConfigInvalid(c.errors)
    c.unknown_keys(doc, {"checks"}, "(file)")
    c.unknown_keys(checks, set(CHECKS), "checks")

    returns = _check(c, checks, "high_return_rate")
    rate = c.number(returns, "rate", "checks.high_return_rate")
    if rate is not None and not 0 < rate <= 1:
        c.error(returns, "rate", "checks.high_return_rate.rate", f"{rate:g} is not a share", "use 0.3 for 30%")
        rate = None
    high_return = ReturnRule(
        c.flag(returns, "enabled", "checks.high_return_rate"),
        defaults.high_return.rate if rate is None else rate,
        c.whole(returns, "min_orders", "checks.high_return_rate", defaults.high_return.min_orders),
    )
    remote = _check(c, checks, "remote_destination")
    action = remote.get("action", "hold")
    if action not in REMOTE_ACTIONS:
        c.error(
            remote,
            "action",
            "checks.remote_destination.action",
            f"unknown action {action!r}",
            f"use one of: {', '.join(REMOTE_ACTIONS)}",
        )
        action = "hold"
    rules = RiskRules(
        address=_switch(c, checks, "address"),
        high_return=high_return,
        ip_burst=_burst(c, checks, "ip_burst", defaults.ip_burst, "min_buyers"),
        address_burst=_burst(c, checks, "address_burst", defaults.address_burst, "min_buyers"),
        buyer_burst=_burst(c, checks, "buyer_burst", defaults.buyer_burst, "min_addresses"),
        remote=c.flag(remote, "enabled", "checks.remote_destination"),
        remote_action=action,
        high_value=_threshold(c, checks, "high_value", defaults.high_value),
        high_quantity=_threshold(c, checks, "high_quantity", defaults.high_quantity),
        buyer_cancel_request=_switch(c, checks, "buyer_cancel_request"),
        address_changed=_switch(c, checks, "address_changed"),
    )
    if c.errors:
        raise ConfigInvalid(c.errors)
    return rules
