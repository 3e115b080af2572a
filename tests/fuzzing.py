"""Hypothesis set-up and generators for the importer fuzz suites: valid inputs, then mutations of some of their
rows (wrong types, huge numbers, unicode, empty cells, extra or missing columns, duplicated ids, BOMs,
formula-like cells, 18-digit ids). Each generated file records which rows were left untouched, so a test can
require them stored exactly while the mutated ones are either stored or named in the report.

CI runs a few dozen cases per property; `scripts/bench fuzz` runs 10,000 per reader (HYPOTHESIS_PROFILE=bench,
FULFIL_FUZZ_EXAMPLES=N), a tenth for the rules loader and a twentieth per database through the import path."""

from __future__ import annotations

import csv
import io
import json
import os
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from fulfilment.ingest.tiktok_export import HEADER
from tests.conftest import FIXTURES

settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile(
    "bench",
    max_examples=int(os.environ.get("FULFIL_FUZZ_EXAMPLES", "10000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

RULES_EXAMPLES = settings(max_examples=max(10, settings().max_examples // 10))
"""Each rules case loads the whole folder (~0.15 s): a tenth of the cases."""

STORE_EXAMPLES = settings(max_examples=int(os.environ.get("FULFIL_FUZZ_STORE_EXAMPLES", "15")))
"""Cases per importer and database through the real import path (`scripts/bench fuzz` runs n/20)."""

MUTANT_TEXT = (
    "",
    " ",
    "abc",
    "1.5",
    "-1",
    "0",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "1e308",
    "true",
    "9" * 12,
    "9" * 25,
    "99999999999.99",
    str(2**31),
    str(2**63),
    "577100000000000001",
    "=1+2",
    "+1-1",
    "@SUM(A1:A9)",
    '=HYPERLINK("http://x","y")',
    "Zoë Ñandú 北京 🚚",
    "\u202eevil",
    "a\u0000b",
    "\u00a0",
    "x" * 70,
    "y" * 301,
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "line\nbreak",
    '"quoted, comma"',
)
mutant_text = st.one_of(st.sampled_from(MUTANT_TEXT), st.text(max_size=40))
"""A replacement cell: a known-nasty value or any text."""

mutant_json = st.one_of(
    mutant_text,
    st.sampled_from([None, True, False, 0, -1, 1.5, 10**30, -(10**30), 1e308, [], {}, [1], {"a": 1}]),
    st.integers(),
    st.floats(allow_nan=False),
)
"""A replacement JSON value of any type."""


@dataclass
class Generated:
    """A generated input file: its bytes, the rows (or records) left untouched, and whether the header changed."""

    data: bytes
    suffix: str
    untouched: dict[str, Any] = field(default_factory=dict)
    header_changed: bool = False


# --- TikTok export ------------------------------------------------------------------------------------------

_SAMPLE = list(csv.reader(io.StringIO((FIXTURES / "tiktok-export-sample.csv").read_text(encoding="utf-8-sig"))))
GOOD_ROW = dict(zip(_SAMPLE[0], _SAMPLE[1], strict=True))


@st.composite
def tiktok_rows(draw: st.DrawFn) -> tuple[list[str], list[list[str]], dict[str, dict[str, int]], bool]:
    """(header, rows, untouched orders as {order id: {sku: quantity}}, header changed) of a mutated export."""
    orders = draw(st.integers(min_value=0, max_value=5))
    rows: list[dict[str, str]] = []
    ids: list[str] = []
    for n in range(orders):
        order_id = f"5771{draw(st.integers(min_value=10**13, max_value=10**14 - 1))}{n}"
        ids.append(order_id)
        for k in range(draw(st.integers(min_value=1, max_value=3))):
            quantity = draw(st.integers(min_value=1, max_value=5))
            rows.append({**GOOD_ROW, "Order ID": order_id, "Seller SKU": f"SKU-{k}", "Quantity": str(quantity)})
    mutated: set[str] = set()
    for _ in range(draw(st.integers(min_value=0, max_value=4)) if rows else 0):
        row = draw(st.sampled_from(rows))
        column = draw(st.sampled_from(HEADER))
        row[column] = draw(mutant_text)
        mutated.add(row["Order ID"] if column != "Order ID" else "")
        if column == "Order ID":
            mutated.update(ids)  # the row may now belong to any order
    if rows and draw(st.booleans()):
        row = dict(draw(st.sampled_from(rows)))  # a duplicated row: its order's quantity changes
        rows.insert(draw(st.integers(min_value=0, max_value=len(rows))), row)
        mutated.add(row["Order ID"])
    header = list(HEADER)
    changed = False
    if draw(st.booleans()):
        extra = draw(st.sampled_from(["Extra", "Notes", "", "Order ID"]))
        header.insert(draw(st.integers(0, len(header))), extra)
        changed = extra == "Order ID"  # columns are found by name: only a second "Order ID" may change meaning
    if draw(st.integers(0, 9)) == 0:
        header.remove(draw(st.sampled_from(HEADER)))
        changed = True
    table = [[row.get(h, "") if h in HEADER else draw(mutant_text) for h in header] for row in rows]
    untouched: dict[str, dict[str, int]] = {}
    for row in rows:
        if row["Order ID"] in ids and row["Order ID"] not in mutated:
            lines = untouched.setdefault(row["Order ID"], {})
            lines[row["Seller SKU"]] = lines.get(row["Seller SKU"], 0) + int(row["Quantity"])
    return header, table, untouched, changed


@st.composite
def tiktok_csv(draw: st.DrawFn) -> Generated:
    """A mutated Seller Center export as CSV: LF or CRLF, with or without a BOM."""
    header, rows, untouched, changed = draw(tiktok_rows())
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([header, *rows])
    bom = "\ufeff" if draw(st.booleans()) else ""
    return Generated((bom + buffer.getvalue()).encode(), ".csv", untouched, changed)


@st.composite
def tiktok_xlsx(draw: st.DrawFn) -> Generated:
    """A mutated export as XLSX; an 18-digit id may be stored as a (rounded) number as spreadsheets do."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    header, rows, untouched, changed = draw(tiktok_rows())
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "OrderSKUList"
    sheet.append(header)
    as_number = draw(st.booleans())
    for row in rows:
        cells: list[object] = [ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row]  # an XLSX cannot hold them
        if as_number and "Order ID" in header:
            at = header.index("Order ID")
            if cells[at] in untouched:
                untouched.pop(str(cells[at]))
            with suppress(ValueError):
                cells[at] = float(str(cells[at]))
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return Generated(buffer.getvalue(), ".xlsx", untouched, changed)


# --- JSON orders ----------------------------------------------------------------------------------------------


def json_record(order_id: str, skus: dict[str, int]) -> dict[str, Any]:
    """A valid JSON import record of order `order_id` with `skus` (SKU → quantity) as its lines."""
    return {
        "id": order_id,
        "buyer": f"buyer-{order_id}",
        "buyer_ip": "203.0.113.5",
        "created_at": "2026-11-21T19:05:00-08:00",
        "ship_to": {
            "name": "Kim Park",
            "street1": "12 Oak St",
            "street2": "Apt 3",
            "city": "Cambridge",
            "state": "MA",
            "zip": "02139",
            "country": "US",
            "phone": "6175550101",
        },
        "lines": [{"sku": sku, "quantity": q, "unit_price": "12.50"} for sku, q in skus.items()],
    }


_JSON_PATHS = (
    ("id",),
    ("buyer",),
    ("buyer_ip",),
    ("created_at",),
    ("channel",),
    ("ship_to",),
    ("ship_to", "name"),
    ("ship_to", "street1"),
    ("ship_to", "street2"),
    ("ship_to", "city"),
    ("ship_to", "state"),
    ("ship_to", "zip"),
    ("ship_to", "country"),
    ("ship_to", "phone"),
    ("lines",),
    ("lines", 0),
    ("lines", 0, "sku"),
    ("lines", 0, "quantity"),
    ("lines", 0, "unit_price"),
    ("buyer_cancel_request",),
    ("address_changed",),
    ("loyalty_tier",),
)


@st.composite
def json_orders(draw: st.DrawFn) -> Generated:
    """A mutated JSON array or JSON Lines file of orders."""
    records: list[Any] = []
    for n in range(draw(st.integers(min_value=0, max_value=5))):
        skus = {f"SKU-{k}": draw(st.integers(1, 5)) for k in range(draw(st.integers(1, 3)))}
        records.append(json_record(f"J{n}-{draw(st.integers(0, 10**6))}", skus))
    ids = [r["id"] for r in records]
    untouched = {r["id"]: {line["sku"]: line["quantity"] for line in r["lines"]} for r in records}
    for _ in range(draw(st.integers(min_value=0, max_value=4)) if records else 0):
        at = draw(st.integers(0, len(records) - 1))
        record, path = records[at], draw(st.sampled_from(_JSON_PATHS))
        untouched.pop(ids[at], None)
        target: Any = record
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
            if isinstance(target, list):
                target = target[0] if target else None
        if isinstance(target, dict | list) and draw(st.integers(0, 4)) == 0:
            if isinstance(target, dict):
                target.pop(path[-1], None)
        elif isinstance(target, dict):
            target[path[-1]] = draw(mutant_json)
        elif isinstance(target, list) and target:
            target[0] = draw(mutant_json)
    if len(records) > 1 and draw(st.booleans()):
        first, second = sorted(draw(st.sets(st.integers(0, len(records) - 1), min_size=2, max_size=2)))
        untouched.pop(ids[second], None)
        records[second]["id"] = ids[first]  # the second is refused as a repeat; the first stays
    lines = draw(st.booleans())
    if lines:
        text = "\n".join(json.dumps(r, ensure_ascii=draw(st.booleans())) for r in records)
        if records and draw(st.integers(0, 4)) == 0:
            broken = draw(st.integers(0, len(records) - 1))
            parts = text.split("\n")
            untouched.pop(ids[broken], None)
            parts[broken] = parts[broken][: draw(st.integers(1, 40))]
            text = "\n".join(parts)
    else:
        text = json.dumps(records)
    bom = "\ufeff" if draw(st.booleans()) else ""
    return Generated((bom + text).encode(), ".json" if not lines else ".jsonl", untouched)


# --- stock, catalog, buyers ------------------------------------------------------------------------------------

WAREHOUSES = ("WH-EAST", "WH-CENTRAL", "WH-WEST")


def _table_row(kind: str, n: int) -> dict[str, str]:
    if kind == "stock":
        return {"warehouse": WAREHOUSES[n % 3], "sku": f"SKU-{n}", "on_hand": str(n * 7)}
    if kind == "catalog":
        return {
            "sku": f"SKU-{n}",
            "weight_oz": f"{n + 1}.5",
            "length_in": "10",
            "width_in": "8",
            "height_in": "2",
            "name": f"Tee {n}",
            "category": "tops",
            "bin": f"A-{n}",
        }
    return {"buyer": f"buyer-{n}", "orders": str(n + 3), "returns": str(n), "last_return_at": "2026-10-01"}


TABLE_KEYS = {"stock": ("warehouse", "sku"), "catalog": ("sku",), "buyers": ("buyer",)}


@st.composite
def table_file(draw: st.DrawFn, kind: str) -> Generated:
    """A mutated stock, catalog or buyers CSV; `untouched` maps each untouched row's key to its cells."""
    rows = [_table_row(kind, n) for n in range(draw(st.integers(min_value=0, max_value=6)))]
    header = list(rows[0]) if rows else list(_table_row(kind, 0))
    mutated: set[int] = set()
    for _ in range(draw(st.integers(min_value=0, max_value=4)) if rows else 0):
        at = draw(st.integers(0, len(rows) - 1))
        rows[at][draw(st.sampled_from(header))] = draw(mutant_text)
        mutated.add(at)
    if len(rows) > 1 and draw(st.booleans()):
        first, second = sorted(draw(st.sets(st.integers(0, len(rows) - 1), min_size=2, max_size=2)))
        for key in TABLE_KEYS[kind]:
            rows[second][key] = rows[first][key]  # a repeated key: the later row wins
        mutated.update((first, second))
    changed = False
    columns = list(header)
    if draw(st.booleans()):
        columns.insert(draw(st.integers(0, len(columns))), draw(st.sampled_from(["extra", "note", "ZZ"])))
    if draw(st.integers(0, 7)) == 0:
        columns.remove(draw(st.sampled_from(header)))
        changed = True
    short = draw(st.integers(0, len(rows))) if draw(st.booleans()) else -1
    table = []
    for at, row in enumerate(rows):
        cells = [row.get(c, "") if c in header else "x" for c in columns]
        if at == short:
            cells = cells[: draw(st.integers(0, len(cells)))]  # a row with missing cells
            mutated.add(at)
        table.append(cells)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([columns, *table])
    bom = "\ufeff" if draw(st.booleans()) else ""
    untouched = {tuple(row[k] for k in TABLE_KEYS[kind]): row for at, row in enumerate(rows) if at not in mutated}
    return Generated((bom + buffer.getvalue()).encode(), ".csv", untouched, changed)
