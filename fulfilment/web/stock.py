"""The stock page: on hand, reserved and available per warehouse and SKU, and the low-stock alerts of the
last batch that finished."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from fulfilment.store.models import Batch, Stock, Warehouse
from fulfilment.web.auth import Packer, context_of
from fulfilment.web.views import render

router = APIRouter()


@router.get("/stock")
def stock_page(request: Request, staff: Packer, sku: str = "") -> Response:
    query = (
        select(Stock.sku, Stock.warehouse_code, Stock.on_hand, Stock.reserved)
        .join(Warehouse, Warehouse.code == Stock.warehouse_code)
        .order_by(Stock.sku, Warehouse.rank)
    )
    if sku.strip():
        query = query.where(Stock.sku.contains(sku.strip()))
    with context_of(request).session() as session:
        rows = session.execute(query).all()
        last = session.execute(
            select(Batch.id, Batch.alerts)
            .where(Batch.finished_at.is_not(None))
            .order_by(Batch.finished_at.desc())
            .limit(1)
        ).first()
    alerts = list(last.alerts or []) if last else []
    return render(
        request, "stock.html", staff, rows=rows, sku=sku, alerts=alerts, alerts_batch=last.id if last else None
    )
