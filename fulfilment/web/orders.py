"""The order page: the order, its lines, holds, parcels and its audit trail."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from fulfilment.store.models import AuditEntry, Hold, Order, Shipment, ShipmentOrder
from fulfilment.web.auth import Packer, context_of
from fulfilment.web.views import render

router = APIRouter()


@router.get("/orders/{order_id}")
def order_page(request: Request, staff: Packer, order_id: str) -> Response:
    with context_of(request).session() as session:
        order = session.get(Order, order_id)
        if order is None:
            raise HTTPException(404, f"no order {order_id!r}")
        lines = list(order.lines)
        holds = list(session.scalars(select(Hold).where(Hold.order_id == order_id).order_by(Hold.id)))
        shipments = list(
            session.scalars(
                select(Shipment)
                .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
                .where(ShipmentOrder.order_id == order_id)
            )
        )
        trail = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "order", AuditEntry.entity_id == order_id)
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        )
    return render(request, "order.html", staff, order=order, lines=lines, holds=holds, shipments=shipments, trail=trail)
