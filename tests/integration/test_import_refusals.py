"""Values the database cannot hold (too long for a column, a NUL character, a number out of range, a time that
cannot be converted to UTC) are refused per row with the field named, and the rest of the file imports — on
SQLite, which would have stored them, and on PostgreSQL, which used to fail the whole import."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fulfilment.cli import app
from fulfilment.ingest.tiktok_export import HEADER
from fulfilment.pipeline import Context
from fulfilment.store.models import Buyer, CatalogItem, Order, Stock
from tests.fuzzing import GOOD_ROW, json_record

runner = CliRunner()


def _run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _orders(ctx: Context) -> set[str]:
    with ctx.session() as db:
        return set(db.scalars(select(Order.id)))


def _tiktok(path: Path, *changes: dict[str, str]) -> Path:
    """An export with one order per change (ids …1, …2, …), each the sample row with the change applied."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for n, change in enumerate(changes, 1):
        row = {**GOOD_ROW, "Order ID": f"57710000000000000{n}", "Shipping Information": "", **change}
        writer.writerow([row[h] for h in HEADER])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"Recipient": "R" * 201}, "Recipient"),
        ({"Buyer Message": "leave at\x00door"}, "Buyer Message"),
        ({"Quantity": "99999999999"}, "Quantity"),
        ({"Order Amount": "123456789012"}, "Order Amount"),
        ({"Seller SKU": "S" * 101}, "Seller SKU"),
    ],
)
def test_tiktok_order_with_an_unstorable_value_is_named_and_the_rest_import(
    ctx: Context, tmp_path: Path, change: dict[str, str], column: str
) -> None:
    result = _run("import", "tiktok", str(_tiktok(tmp_path / "export.csv", {}, change, {})), "--json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert [(r["line"], r["column"], r["order_id"]) for r in report["rejected_rows"]] == [
        (3, column, "577100000000000002")
    ]
    assert _orders(ctx) == {"577100000000000001", "577100000000000003"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "X" * 65}, "id"),
        ({"lines": [{"sku": "MUG", "quantity": 10**12, "unit_price": 1}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "MUG", "quantity": 1, "unit_price": 1e11}]}, "lines[0].unit_price"),
        ({"created_at": "0001-01-01T00:00:00+05:00"}, "created_at"),
        ({"buyer": "kim\u0000"}, "buyer"),
    ],
)
def test_json_record_with_an_unstorable_value_is_named_and_the_rest_import(
    ctx: Context, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    records = [json_record("A", {"MUG": 1}), {**json_record("B", {"MUG": 1}), **change}, json_record("C", {"CAP": 2})]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(records))
    result = _run("import", "json", str(path), "--json")
    assert result.exit_code == 2, result.output
    assert [(r["line"], r["column"]) for r in json.loads(result.stdout)["rejected_rows"]] == [(2, field)]
    assert _orders(ctx) == {"A", "C"}


def test_json_lines_split_only_at_line_feeds(ctx: Context, tmp_path: Path) -> None:
    """U+2028 and friends are line breaks to str.splitlines but ordinary characters inside a JSON string."""
    path = tmp_path / "orders.jsonl"
    records = [json_record("A", {"MUG": 1}), json_record("B", {"CAP": 1})]
    records[0]["ship_to"]["street2"] = "Unit\u20287\x85"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    result = _run("import", "json", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert _orders(ctx) == {"A", "B"}


@pytest.mark.parametrize(
    ("kind", "text", "bad_line", "column"),
    [
        ("stock", f"warehouse,sku,on_hand\nWH-EAST,A,5\nWH-EAST,B,{2**31}\nWH-WEST,C,7\n", 3, "on_hand"),
        ("stock", f"warehouse,sku,on_hand\nWH-EAST,A,5\nWH-EAST,{'B' * 101},1\nWH-WEST,C,7\n", 3, "sku"),
        (
            "catalog",
            f"sku,weight_oz,length_in,width_in,height_in\nA,1,1,1,1\n{'B' * 101},1,1,1,1\nC,2,2,2,2\n",
            3,
            "sku",
        ),
        ("buyers", "buyer,orders,returns\nA,3,1\nB,99999999999,0\nC,4,0\n", 3, "orders"),
        ("buyers", "buyer,orders,returns\nA,3,1\nB\x00,1,0\nC,4,0\n", 3, "buyer"),
        (
            "buyers",
            "buyer,orders,returns,last_return_at\nA,3,1,\nB,1,0,0001-01-01T00:00+01:00\nC,4,0,\n",
            3,
            "last_return_at",
        ),
    ],
)
def test_table_row_with_an_unstorable_value_is_named_and_the_rest_apply(
    ctx: Context, tmp_path: Path, kind: str, text: str, bad_line: int, column: str
) -> None:
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    result = _run(kind, "import", str(path))
    assert result.exit_code == 2, result.output
    assert f"line {bad_line}, column '{column}'" in result.stderr and "2 rows applied, 1 rejected" in result.stdout
    model, key = {
        "stock": (Stock, Stock.sku),
        "catalog": (CatalogItem, CatalogItem.sku),
        "buyers": (Buyer, Buyer.handle),
    }[kind]
    with ctx.session() as db:
        assert set(db.scalars(select(key))) == {"A", "C"}


def test_a_table_that_stops_being_csv_part_way_is_refused_whole(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_text(f'warehouse,sku,on_hand\nWH-EAST,A,5\nWH-EAST,B,"{"x" * 200_000}"\n', encoding="utf-8")
    result = _run("stock", "import", str(path))
    assert result.exit_code == 1 and "nothing imported" in result.stderr and "line 3" in result.stderr
    with ctx.session() as db:
        assert not db.scalars(select(Stock)).all()
