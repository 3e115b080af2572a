"""Routing throughput: facts and a decision for each of `n` simulated orders, with the sample rules (pure, no I/O)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fulfilment.domain.orders import ImportedOrder
from fulfilment.domain.parcel import Item, pack
from fulfilment.domain.routing import Facts, choose_service
from fulfilment.rules import Rules, load_rules
from fulfilment.simulate import SAMPLE_CATALOG, simulate_session
from fulfilment.stages.route import destination_facts

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
CATALOG = {c.sku: c for c in SAMPLE_CATALOG}


def _facts(order: ImportedOrder, rules: Rules, warehouse_index: int) -> Facts:
    items = [
        Item(line.sku, line.quantity, c.weight_oz, c.length_in, c.width_in, c.height_in)
        for line in order.lines
        if (c := CATALOG.get(line.sku))
    ]
    warehouse = rules.warehouses[warehouse_index % len(rules.warehouses)]
    return Facts(
        parcel=pack(items),
        order_value=float(order.amount),
        skus=frozenset(line.sku for line in order.lines),
        categories=frozenset(CATALOG[line.sku].category for line in order.lines if line.sku in CATALOG),
        **destination_facts(order.ship_to, warehouse, rules),
    )


def run(n: int = 10_000) -> dict[str, Any]:
    """Simulate `n` orders, then time building their facts (packing, zone, flags) and choosing their service."""
    rules = load_rules(RULES_DIR)
    orders = simulate_session(n, seed=42, start=datetime(2026, 11, 22, 18, tzinfo=UTC), bad_address_rate=0)
    destination_facts(orders[0].ship_to, rules.warehouses[0], rules)  # build the ZIP tables outside the timing
    started = time.perf_counter()
    facts = [_facts(order, rules, i) for i, order in enumerate(orders)]
    facts_s = time.perf_counter() - started
    on = date(2026, 11, 22)
    started = time.perf_counter()
    decisions = [choose_service(rules.routes, rules.carriers, rules.rates, f, on) for f in facts]
    decide_s = time.perf_counter() - started
    return {
        "benchmark": "route",
        "orders": n,
        "facts_s": round(facts_s, 3),
        "decide_s": round(decide_s, 3),
        "orders_per_s": round(n / (facts_s + decide_s)),
        "decisions_per_s": round(n / decide_s),
        "by_rule": dict(Counter(d.rule_id or "none" for d in decisions).most_common()),
    }
