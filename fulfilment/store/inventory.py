"""Catalog, warehouses and stock in the database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.domain.orders import RowError
from fulfilment.rules import WarehouseConfig
from fulfilment.store.models import CatalogItem, Stock, Warehouse


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


def set_stock(session: Session, rows: Iterable[tuple[int, dict[str, object]]]) -> tuple[int, list[RowError]]:
    """Set on-hand counts; a row naming an unknown warehouse, or going below what is reserved, is refused."""
    known = set(session.scalars(select(Warehouse.code)))
    applied, errors = 0, []
    for line, row in rows:
        code, sku, on_hand = str(row["warehouse"]), str(row["sku"]), int(row["on_hand"])  # type: ignore[call-overload]
        if code not in known:
            errors.append(
                RowError(line, "warehouse", f"unknown warehouse {code!r} (known: {', '.join(sorted(known))})")
            )
            continue
        if on_hand < 0:
            errors.append(RowError(line, "on_hand", f"on_hand {on_hand} is negative"))
            continue
        stock = session.get(Stock, (code, sku)) or Stock(warehouse_code=code, sku=sku, on_hand=0, reserved=0)
        if on_hand < stock.reserved:
            errors.append(
                RowError(
                    line,
                    "on_hand",
                    f"on_hand {on_hand} is below the {stock.reserved} units reserved for orders",
                )
            )
            continue
        stock.on_hand = on_hand
        session.add(stock)
        applied += 1
    return applied, errors
