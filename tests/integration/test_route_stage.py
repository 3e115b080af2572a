"""The route stage on a real database: each shipment keeps the rule that chose its service, a hold rule moves
the order to review with a ROUTE_HOLD row and gives its stock back."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, update

from fulfilment.config import load_settings
from fulfilment.demo import prepare_demo
from fulfilment.domain.address import AddressFlags, classify
from fulfilment.pipeline import context
from fulfilment.review import approve, edit_address
from fulfilment.runner import run_batch
from fulfilment.stages.route import ROUTE_HOLD, route_chunk
from fulfilment.stages.shipping import ship_to
from fulfilment.store.models import CatalogItem, Hold, Order, Reservation, Shipment, ShipmentOrder
from tests.conftest import ROOT, fulfil_env

HOLD_KITCHEN = """rules:
  - id: kitchen-review
    when: {category: [Kitchen]}
    hold: kitchen items are checked for breakage before they ship
    tag: [fragile]
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    carriers = (rules / "carriers.yaml").read_text()
    (rules / "carriers.yaml").write_text(carriers.replace("rules:\n", HOLD_KITCHEN, 1))
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in fulfil_env(tmp_path, url, FULFILMENT_RULES_DIR=str(rules)).items():
        monkeypatch.setenv(key, value)
    return context(load_settings())


def test_hold_rule_sends_orders_to_review_and_shipments_keep_their_rule(ctx) -> None:
    session_name, _export, _ = prepare_demo(ctx, 120, seed=4)
    summary = run_batch(ctx, session_name, timeout_s=300)
    assert summary["counts"]["labelled"] > 30
    with ctx.session() as s:
        kitchen = set(s.scalars(select(CatalogItem.sku).where(CatalogItem.category == "Kitchen")))
        held = list(s.scalars(select(Order).where(Order.rule_id == "kitchen-review")))
        assert held and all(o.status == "held" and "fragile" in o.tags for o in held)
        assert all(kitchen & {line.sku for line in o.lines} for o in held)
        holds = {h.order_id: h for h in s.scalars(select(Hold).where(Hold.code == ROUTE_HOLD))}
        assert set(holds) == {o.id for o in held}
        assert all(h.details == {"rule_id": "kitchen-review"} and "breakage" in h.reason for h in holds.values())
        reserved = s.scalars(select(Reservation).where(Reservation.order_id.in_(holds))).all()
        assert reserved and all(r.status == "released" for r in reserved)

        rows = s.execute(
            select(Shipment, Order)
            .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
            .join(Order, Order.id == ShipmentOrder.order_id)
        ).all()
        per_shipment = Counter(sh.id for sh, _ in rows)
        per_order = Counter(o.id for _, o in rows)
        alone = [(sh, o) for sh, o in rows if per_shipment[sh.id] == 1 and per_order[o.id] == 1]
        assert alone and all(sh.rule_id == o.rule_id and sh.service == o.service for sh, o in alone)
        known = {rule.id for rule in ctx.rules.routes}
        assert all(sh.rule_id in known for sh, _ in rows), "a combined or split parcel is routed by a rule too"
        assert {o.rule_id for _, o in rows} >= {"light-usps", "mid-usps"}
        assert all(o.route and o.route["zone"].startswith("zone ") for _, o in rows)

        # a reviewer approves one hold; when the order comes back to routing, that rule no longer holds it
        order = held[0]
        holds[order.id].resolution = "approved"
        s.execute(update(Order).where(Order.id == order.id).values(status="allocated"))
        route_chunk(ctx, s, order.chunk_id)
    with ctx.session() as s:
        again = s.get(Order, order.id)
        assert again.status == "routed" and again.rule_id != "kitchen-review" and again.service


def test_routing_reads_the_flags_the_screen_stored_and_an_edited_address_again(ctx) -> None:
    session_name, _export, _ = prepare_demo(ctx, 120, seed=4)
    run_batch(ctx, session_name, timeout_s=300)
    with ctx.session() as s:
        labelled = s.scalars(select(Order).where(Order.status == "labelled")).all()
        assert labelled and all(o.address_flags == classify(ship_to(o)).bits for o in labelled)
        assert {o.rule_id for o in labelled if o.address_flags == AddressFlags(is_po_box=True).bits} == {"po-box-usps"}
        held = next(o for o in s.scalars(select(Order).where(Order.rule_id == "kitchen-review")) if not o.address_flags)
        assert held.address_flags == 0, "a route hold passed the screen, which stored what it read"
        # route takes the stored flags as they are: flags saying PO Box route a street address as one
        kitchen = set(s.scalars(select(CatalogItem.sku).where(CatalogItem.category == "Kitchen")))
        street = next(o for o in labelled if not o.address_flags and not kitchen & {ln.sku for ln in o.lines})
        s.execute(
            update(Order)
            .where(Order.id == street.id)
            .values(status="allocated", address_flags=AddressFlags(is_po_box=True).bits)
        )
        route_chunk(ctx, s, street.chunk_id)
        s.expire_all()  # route changed the rows in SQL, not through these objects
        assert s.get(Order, street.id).rule_id == "po-box-usps"
        # a reviewer corrects the address to a PO Box and approves: routing must read the new address, not the
        # flags of the old one
        assert edit_address(s, held.id, {"street1": "PO Box 4471", "street2": ""}, "reviewer").ok
        assert approve(s, held.id, "reviewer").ok
    run_batch(ctx, session_name, timeout_s=300)
    with ctx.session() as s:
        again = s.get(Order, held.id)
        assert (again.status, again.rule_id, again.carrier) == ("labelled", "po-box-usps", "usps")
        assert again.address_flags is None, "an approved order skips the screen"
