"""Buyer history imported from before the tool."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from fulfilment.domain.orders import RowError
from fulfilment.store.models import Buyer


def set_history(session: Session, rows: Iterable[tuple[int, dict[str, Any]]]) -> tuple[int, list[RowError]]:
    """Set each buyer's prior orders and returns (a later row for a buyer wins); a row with negative counts or
    more returns than orders is refused."""
    applied, errors = 0, []
    for line, row in rows:
        handle, orders, returns = str(row["buyer"]), int(row["orders"]), int(row["returns"])
        if orders < 0 or returns < 0:
            errors.append(RowError(line, "orders" if orders < 0 else "returns", "counts cannot be negative"))
            continue
        if returns > orders:
            errors.append(RowError(line, "returns", f"returns {returns} is more than orders {orders}"))
            continue
        buyer = session.get(Buyer, handle) or Buyer(handle=handle)
        buyer.prior_orders, buyer.prior_returns = orders, returns
        buyer.last_return_at = row.get("last_return_at")
        session.add(buyer)
        applied += 1
    return applied, errors
