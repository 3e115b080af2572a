"""Catalog, warehouses and stock in the database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict

from sqlalchemy import literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fulfilment.domain.orders import RowError
from fulfilment.rules import WarehouseConfig
from fulfilment.store.db import is_sqlite
from fulfilment.store.models import CatalogItem, Stock, Warehouse, utcnow


def sync_warehouses(session: Session, warehouses: Sequence[WarehouseConfig]) -> None:
    """Make the warehouses table match the rules file (order, names, addresses, active flags)."""
    stored = {w.code: w for w in session.scalars(select(Warehouse))}
    for rank, config in enumerate(warehouses):
        row = stored.pop(config.code, None) or Warehouse(code=config.code)
        row.name, row.rank, row.active, row.address = config.name, rank, config.active, asdict(config.address)
        session.add(row)
    for leftover in stored.values():
        leftover.active = False


def upsert_catalog(session: Session, rows: Iterable[tuple[int, dict[str, object]]]) -> int:
    """Insert or update catalog items from parsed rows; returns how many rows were applied."""
    count = 0
    for _line, row in rows:
        item = session.get(CatalogItem, row["sku"]) or CatalogItem(sku=row["sku"])
        item.name = str(row.get("name") or item.name or "")
        item.weight_oz = float(row["weight_oz"])  # type: ignore[arg-type]
        item.length_in, item.width_in, item.height_in = (float(row[k]) for k in ("length_in", "width_in", "height_in"))  # type: ignore[arg-type]
        item.category = str(row.get("category") or item.category or "")
        item.bin = str(row.get("bin") or item.bin or "")
        session.add(item)
        count += 1
    return count


def set_stock(
    session: Session, rows: Iterable[tuple[int, dict[str, object]]], delta: bool = False
) -> tuple[int, list[RowError]]:
    """Set on-hand counts (or, with `delta`, add the row's signed change to them).

    A row naming an unknown warehouse, or that would take on hand below zero or below the units reserved for
    orders not yet labelled, is refused with a message; each change is one guarded UPDATE, so a reservation
    made meanwhile is never undercut.
    """
    known = set(session.scalars(select(Warehouse.code)))
    dialect = sqlite if is_sqlite(session.get_bind()) else postgresql  # type: ignore[arg-type]
    applied, errors = 0, []
    for line, row in rows:
        code, sku, count = str(row["warehouse"]), str(row["sku"]), int(row["on_hand"])  # type: ignore[call-overload]
        if code not in known:
            errors.append(
                RowError(line, "warehouse", f"unknown warehouse {code!r} (known: {', '.join(sorted(known))})")
            )
            continue
        if count < 0 and not delta:
            errors.append(RowError(line, "on_hand", f"on_hand {count} is negative"))
            continue
        session.execute(
            dialect.insert(Stock)
            .values(warehouse_code=code, sku=sku, on_hand=0, reserved=0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["warehouse_code", "sku"])
        )
        new = Stock.on_hand + count if delta else literal(count)
        done = session.execute(
            update(Stock)
            .where(Stock.warehouse_code == code, Stock.sku == sku, new >= Stock.reserved, new >= 0)
            .values(on_hand=new, updated_at=utcnow())
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            applied += 1
            continue
        on_hand, reserved = session.execute(
            select(Stock.on_hand, Stock.reserved).where(Stock.warehouse_code == code, Stock.sku == sku)
        ).one()
        result = on_hand + count if delta else count
        errors.append(
            RowError(
                line,
                "on_hand",
                f"refused: {sku} at {code} would have {result} on hand, below the {reserved} units reserved for "
                f"orders not yet labelled (or below zero); count again, or cancel orders first",
            )
        )
    return applied, errors
