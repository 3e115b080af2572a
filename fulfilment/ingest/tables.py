"""Small CSV tables (catalog, stock): required columns, typed cells, a per-row report of what is wrong."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fulfilment.domain.orders import NotAnExportError, RowError
from fulfilment.ingest.storable import limit, text_problem, time_problem, whole_number_problem, without_nul
from fulfilment.store.models import Buyer, CatalogItem, Stock, Warehouse

Parser = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its header, how to parse a cell, and whether it may be left empty."""

    name: str
    parse: Parser
    required: bool = True


def text(cell: str) -> str:
    return text_up_to(None)(cell)


def text_up_to(most: int | None) -> Parser:
    """Non-empty text without NUL characters that fits a column of length `most` (None: any length)."""

    def parse(cell: str) -> str:
        if not cell:
            raise ValueError("is empty")
        problem = text_problem(cell, most)
        if problem:
            raise ValueError(problem)
        return cell

    return parse


def non_negative_number(cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{cell!r} is not a number") from None
    if value != value or value < 0 or value in (float("inf"),):
        raise ValueError(f"{cell!r} must be a number ≥ 0")
    return value


def positive_number(cell: str) -> float:
    value = non_negative_number(cell)
    if value == 0:
        raise ValueError("must be above 0")
    return value


def whole_number(cell: str) -> int:
    try:
        value = int(cell)
    except ValueError:
        raise ValueError(f"{cell!r} is not a whole number") from None
    problem = whole_number_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def iso_datetime(cell: str) -> datetime:
    """An ISO 8601 time; a date or a time without an offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(cell)
    except ValueError:
        raise ValueError(f"{cell!r} is not an ISO 8601 date or time") from None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    problem = time_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def read_table(path: Path, columns: list[Column]) -> Iterator[tuple[int, dict[str, Any]] | RowError]:
    """Yield (line, parsed row) for good rows and a RowError per bad cell; a file without the columns, or that
    stops being readable CSV or UTF-8 part way, is refused (NotAnExportError)."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
        first = handle.readline()
    except UnicodeDecodeError:
        raise NotAnExportError(f"{path}: not a UTF-8 CSV file") from None
    except OSError as exc:
        raise NotAnExportError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        header = [h.strip().casefold() for h in next(csv.reader([first]), [])]
        missing = [c.name for c in columns if c.required and c.name not in header]
        if missing:
            raise NotAnExportError(f"{path}: missing column(s) {', '.join(missing)}; the header is {first.strip()!r}")
        reader = csv.reader(without_nul(handle))
        line = 1
        for cells in _rows(path, reader):
            start, line = line + 1, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            row = dict(zip(header, (c.strip() for c in cells), strict=False))
            parsed, bad = {}, False
            for column in columns:
                cell = row.get(column.name, "")
                if not cell and not column.required:
                    continue
                try:
                    parsed[column.name] = column.parse(cell)
                except ValueError as exc:
                    bad = True
                    yield RowError(start, column.name, f"{column.name} {exc}")
            if not bad:
                yield start, parsed


def _rows(path: Path, reader: Any) -> Iterator[list[str]]:
    try:
        yield from reader
    except (csv.Error, UnicodeDecodeError) as exc:
        raise NotAnExportError(f"{path}: line {reader.line_num + 1}: not a readable UTF-8 CSV file ({exc})") from None


TABLES: dict[str, list[Column]] = {
    "catalog": [
        Column("sku", text_up_to(limit(CatalogItem.sku))),
        Column("weight_oz", positive_number),
        Column("length_in", non_negative_number),
        Column("width_in", non_negative_number),
        Column("height_in", non_negative_number),
        Column("name", text_up_to(limit(CatalogItem.name)), required=False),
        Column("category", text_up_to(limit(CatalogItem.category)), required=False),
        Column("bin", text_up_to(limit(CatalogItem.bin)), required=False),
    ],
    "stock": [
        Column("warehouse", text_up_to(limit(Warehouse.code))),
        Column("sku", text_up_to(limit(Stock.sku))),
        Column("on_hand", whole_number),
    ],
    "buyers": [
        Column("buyer", text_up_to(limit(Buyer.handle))),
        Column("orders", whole_number),
        Column("returns", whole_number),
        Column("last_return_at", iso_datetime, required=False),
    ],
}
