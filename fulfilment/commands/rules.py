"""`fulfil rules check | explain | test`: validate the rule files, explain an order's route, try rules on a table."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fulfilment.domain.orders import Address, NotAnExportError, RowError
from fulfilment.domain.parcel import Parcel
from fulfilment.domain.routing import Facts, RouteDecision, choose_service
from fulfilment.domain.zips import lookup
from fulfilment.ingest.tables import Column, non_negative_number, read_table, text
from fulfilment.rules import Rules, load_rules
from fulfilment.yamlfile import ConfigInvalid

rules_app = typer.Typer(help="Check, explain and try the routing rules.", no_args_is_help=True)

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}


def _flag(cell: str) -> bool:
    if cell.casefold() in YES | NO:
        return cell.casefold() in YES
    raise ValueError(f"{cell!r} is not yes or no")


def _items(cell: str) -> frozenset[str]:
    return frozenset(v.strip() for v in cell.replace("|", ";").split(";") if v.strip())


def _date(cell: str) -> date:
    try:
        return date.fromisoformat(cell)
    except ValueError:
        raise ValueError(f"{cell!r} is not a date like 2026-07-12") from None


TEST_COLUMNS = [
    Column("zip", text),
    Column("weight_oz", non_negative_number),
    Column("length_in", non_negative_number, required=False),
    Column("width_in", non_negative_number, required=False),
    Column("height_in", non_negative_number, required=False),
    Column("state", text, required=False),
    Column("warehouse", text, required=False),
    Column("po_box", _flag, required=False),
    Column("residential", _flag, required=False),
    Column("order_value", non_negative_number, required=False),
    Column("sku", _items, required=False),
    Column("category", _items, required=False),
    Column("session", text, required=False),
    Column("ship_by_hours", non_negative_number, required=False),
    Column("tags", _items, required=False),
    Column("date", _date, required=False),
]
"""`rules test` columns: zip and weight_oz are required; lists (sku, category, tags) are separated by `;`."""


def _load(rules_dir: Path | None) -> Rules:
    from fulfilment.cli import fail
    from fulfilment.config import load_settings

    try:
        return load_rules(rules_dir or load_settings().rules_dir)
    except ConfigInvalid as exc:
        raise fail(exc.report()) from None


def facts_summary(facts: Facts) -> dict[str, Any]:
    """The facts as plain JSON values, in the order `explain` shows them."""
    p = facts.parcel
    return {
        "weight_oz": p.weight_oz,
        "dimensions_in": [p.length_in, p.width_in, p.height_in],
        "length_girth_in": p.length_plus_girth_in,
        "state": facts.state,
        "zip": facts.zip,
        "zone": facts.zone,
        "zone_how": facts.zone_how,
        "region": facts.region,
        "po_box": facts.po_box,
        "military": facts.military,
        "residential": facts.residential,
        "order_value": facts.order_value,
        "sku": sorted(facts.skus),
        "category": sorted(facts.categories),
        "warehouse": facts.warehouse,
        "session": facts.session,
        "ship_by_hours": facts.ship_by_hours,
        "tag": sorted(facts.tags),
    }


def decision_summary(decision: RouteDecision) -> dict[str, Any]:
    """The decision as plain JSON values: the winner, each rule's outcome, and the quotes compared."""
    return {
        "rule_id": decision.rule_id,
        "carrier": decision.carrier,
        "service": decision.service,
        "hold": decision.hold,
        "billable_weight_oz": decision.billable_weight_oz,
        "billable_how": decision.billable_how,
        "package": decision.package,
        "signature": decision.signature,
        "insurance": decision.insurance,
        "tags": list(decision.tags),
        "rules": [{"rule_id": s.rule_id, "outcome": s.outcome, "reason": s.reason} for s in decision.steps],
        "quotes": [q.as_dict() for q in decision.quotes],
    }


def _verdict(d: dict[str, Any]) -> str:
    if d["rule_id"] is None:
        return "no service can take it"
    return f"HOLD: {d['hold']}" if d["hold"] else f"{d['carrier']} {d['service']}"


def _print_explanation(summary: dict[str, Any]) -> None:
    from fulfilment.cli import out

    facts, d = summary["facts"], summary["decision"]
    out.print(f"Order {summary['order_id']} (routed as of {summary['on']}, from {facts['warehouse'] or '?'})")
    for key, value in facts.items():
        if key != "zone_how":
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            out.print(f"  {key:16} {shown}", highlight=False)
    out.print(f"  {'zone from':16} {facts['zone_how']}", highlight=False)
    out.print(f"  {'billable':16} {d['billable_weight_oz']} oz: {d['billable_how']}", highlight=False)
    out.print("Rules, in order:")
    for step in d["rules"]:
        out.print(f"  {step['rule_id']:24} {step['outcome']:8} {step['reason']}", highlight=False)
    out.print(f"Decision: {_verdict(d)}" + (f" (rule {d['rule_id']})" if d["rule_id"] else ""), highlight=False)
    stored = summary["stored"]
    if stored["rule_id"]:
        kept = f"{stored['carrier']} {stored['service']}" if stored["service"] else "held"
        out.print(f"Stored when it was routed: {kept} (rule {stored['rule_id']})", highlight=False)
    if d["quotes"]:
        table = Table("service", "billable oz", "price", "transit days", "left out because")
        for q in d["quotes"]:
            price = f"${q['price']}" if q["price"] else "—"
            table.add_row(q["service"], f"{q['billable_oz']:g}", price, str(q["transit_days"] or "—"), q["excluded"])
        out.print(table)


@rules_app.command("check")
def check(
    rules_dir: Annotated[Path | None, typer.Argument(help="The rules folder (default: FULFILMENT_RULES_DIR).")] = None,
) -> None:
    """Validate every rule file; each error names its file, line, rule and field with a hint (exit code 1)."""
    from fulfilment.cli import out

    rules = _load(rules_dir)
    cards = sum(len(c) for c in rules.rates.values())
    out.print(
        f"rules OK: {len(rules.routes)} routing rules, {len(rules.carriers)} carriers, {cards} rate cards, "
        f"{len(rules.zone_charts)} zone charts, {len(rules.warehouses)} warehouses, {len(rules.schedules)} schedules",
        highlight=False,
    )


@rules_app.command("explain")
def explain(
    order_id: Annotated[str, typer.Argument(help="The order id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")] = False,
) -> None:
    """Show an order's facts, each rule in turn with the first condition that failed, the winner and the rates."""
    from fulfilment.cli import _context, fail
    from fulfilment.stages.route import MissingWeight, order_facts, routing_inputs
    from fulfilment.store.claims import stage_orders
    from fulfilment.store.models import Order, utcnow

    ctx = _context()
    with ctx.session() as session:
        found = stage_orders(session, Order.id == order_id)
        if not found:
            raise fail(f"no order {order_id!r}")
        order = found[0]
        inputs = routing_inputs(session, [order])
        now = utcnow()
        on = now.astimezone(ctx.settings.shop_timezone).date()
        warehouse = ctx.rules.warehouse(order.warehouse_code) or ctx.rules.warehouses[0]
        try:
            facts = order_facts(
                order, inputs.catalog, ctx.rules, inputs.session_of(order), now, ctx.settings.handling_days, warehouse
            )
        except MissingWeight as exc:
            raise fail(str(exc)) from None
        approved = inputs.approved.get(order.id, frozenset())
        decision = choose_service(ctx.rules.routes, ctx.rules.carriers, ctx.rules.rates, facts, on, approved)
        summary = {
            "order_id": order.id,
            "status": order.status,
            "on": on.isoformat(),
            "facts": facts_summary(facts),
            "decision": decision_summary(decision),
            "stored": {"rule_id": order.rule_id, "carrier": order.carrier, "service": order.service},
        }
    if as_json:
        print(json.dumps(summary))
    else:
        _print_explanation(summary)


def _row_facts(rules: Rules, row: dict[str, Any]) -> Facts:
    """The facts of one `rules test` row; the warehouse defaults to the first in warehouses.yaml."""
    from fulfilment.stages.route import destination_facts

    state = row.get("state") or ((info := lookup(row["zip"])) and info.state) or ""
    warehouse = rules.warehouse(row.get("warehouse")) if row.get("warehouse") else rules.warehouses[0]
    if warehouse is None:
        known = ", ".join(w.code for w in rules.warehouses)
        raise ValueError(f"warehouse {row['warehouse']!r} is not in warehouses.yaml (known: {known})")
    where = destination_facts(Address("", "", "", state, row["zip"]), warehouse, rules)
    if "po_box" in row:
        where["po_box"] = row["po_box"]
    if "residential" in row:
        where["residential"] = row["residential"]
    dims = sorted((row.get("length_in", 0.0), row.get("width_in", 0.0), row.get("height_in", 0.0)), reverse=True)
    return Facts(
        parcel=Parcel(row["weight_oz"], *dims),
        order_value=row.get("order_value", 0.0),
        skus=row.get("sku", frozenset()),
        categories=row.get("category", frozenset()),
        session=row.get("session", ""),
        ship_by_hours=row.get("ship_by_hours"),
        tags=row.get("tags", frozenset()),
        **where,
    )


@rules_app.command("test")
def test(
    file: Annotated[Path, typer.Argument(help="CSV of hypothetical parcels: zip,weight_oz[,length_in,…] (README).")],
    rules_dir: Annotated[Path | None, typer.Option(help="Rules folder to try (default: FULFILMENT_RULES_DIR).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per row.")] = False,
) -> None:
    """Run the rules over a table of hypothetical parcels and print the decision per row (exit 2 on bad rows)."""
    from fulfilment.cli import EXIT_PARTIAL, _report_rows, fail, out
    from fulfilment.config import load_settings

    rules = _load(rules_dir)
    try:
        rows = list(read_table(file, TEST_COLUMNS))
    except NotAnExportError as exc:
        raise fail(str(exc)) from None
    errors = [r for r in rows if isinstance(r, RowError)]
    if not as_json:
        out.print(f"{'line':>5}  {'zip':5}  zone  {'billable':>9}  {'rule':20}  decision", highlight=False)
    today = datetime.now(load_settings().shop_timezone).date()
    for row in rows:
        if isinstance(row, RowError):
            continue
        line, values = row
        try:
            facts = _row_facts(rules, values)
        except ValueError as exc:
            errors.append(RowError(line, "warehouse", str(exc)))
            continue
        decision = decision_summary(
            choose_service(rules.routes, rules.carriers, rules.rates, facts, values.get("date", today))
        )
        price = next((q["price"] for q in decision["quotes"] if q["service"] == decision["service"]), None)
        if as_json:
            print(json.dumps({"line": line, "facts": facts_summary(facts), "decision": decision}))
            continue
        billable = f"{decision['billable_weight_oz']:g} oz" if decision["billable_weight_oz"] is not None else "—"
        verdict = _verdict(decision) + (f" at ${price}" if price else "")
        out.print(
            f"{line:>5}  {facts.zip:5}  {facts.zone:>4}  {billable:>9}  {decision['rule_id'] or '—':20}  {verdict}",
            highlight=False,
        )
    if errors:
        _report_rows(sorted(errors, key=lambda e: e.line), file)
        raise typer.Exit(EXIT_PARTIAL)


def register(app: typer.Typer) -> None:
    """Add `fulfil rules …`."""
    app.add_typer(rules_app, name="rules")
