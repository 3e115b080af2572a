"""Property tests of the importers' readers (no database): any input either parses or is refused with a
per-row or per-field message; nothing crashes; an order with a bad row is left out whole. The same generated
files go through the real import path into SQLite and PostgreSQL in tests/integration/test_fuzz_import_store.py.
CI runs a few dozen cases per property; `scripts/bench fuzz` runs 10,000 (see tests/fuzzing.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from hypothesis import given
from hypothesis import strategies as st

from fulfilment.domain.orders import NotAnExportError, RowError
from fulfilment.ingest.json_orders import parse_json_orders
from fulfilment.ingest.tables import TABLES, read_table
from fulfilment.ingest.tiktok_export import parse_tiktok_export
from fulfilment.rules import load_rules
from fulfilment.yamlfile import ConfigInvalid
from tests.conftest import ROOT
from tests.fuzzing import (
    RULES_EXAMPLES,
    Generated,
    json_orders,
    mutant_json,
    mutant_text,
    table_file,
    tiktok_csv,
    tiktok_xlsx,
)

PACIFIC = ZoneInfo("America/Los_Angeles")


def _write(tmp_path_factory: Any, generated: Generated) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / f"input{generated.suffix}"
    path.write_bytes(generated.data)
    return path


def check_parse(path: Path, rows: int, parse: Any = None) -> None:
    """Either the whole file is refused, or every order returned is whole and every bad row is named."""
    try:
        result = parse(path) if parse else parse_tiktok_export(path, PACIFIC)
    except NotAnExportError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
        return
    bad_orders = {e.order_id for e in result.errors}
    for order in result.orders:
        assert order.id and (parse or order.id not in bad_orders), "an order with a bad row was half-imported"
        assert order.lines and all(line.quantity > 0 and line.sku for line in order.lines)
        assert order.created_at.tzinfo is not None
    for error in result.errors:
        assert isinstance(error, RowError) and error.line >= 1 and error.reason
    assert len(result.orders) + len(bad_orders) + sum(result.skipped.values()) <= max(rows, 1) + 1


@given(generated=tiktok_csv())
def test_tiktok_csv_imports_or_names_rows(tmp_path_factory, generated: Generated) -> None:
    check_parse(_write(tmp_path_factory, generated), generated.data.count(b"\n") + 1)


@given(generated=tiktok_xlsx())
def test_tiktok_xlsx_imports_or_names_rows(tmp_path_factory, generated: Generated) -> None:
    check_parse(_write(tmp_path_factory, generated), 40)


@given(data=st.binary(max_size=400))
def test_random_bytes_are_refused_or_parsed(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "garbage.csv"
    path.write_bytes(data)
    check_parse(path, data.count(b"\n") + 1)


@given(generated=json_orders())
def test_json_imports_or_names_records(tmp_path_factory, generated: Generated) -> None:
    path = _write(tmp_path_factory, generated)
    check_parse(path, generated.data.count(b"\n") + 7, parse_json_orders)
    if path.suffix == ".json":
        assert {o.id for o in parse_json_orders(path).orders} >= set(generated.untouched)


@given(kind=st.sampled_from(sorted(TABLES)), data=st.data())
def test_tables_import_or_name_rows(tmp_path_factory, kind: str, data: st.DataObject) -> None:
    generated = data.draw(table_file(kind))
    path = _write(tmp_path_factory, generated)
    header = [c.name for c in TABLES[kind]]
    good_lines, bad_lines = set(), set()
    try:
        items = list(read_table(path, TABLES[kind]))
    except NotAnExportError:
        assert generated.header_changed, "a table with every column was refused"
        return
    for item in items:
        if isinstance(item, RowError):
            assert item.column in header and item.reason
            bad_lines.add(item.line)
        else:
            line, parsed = item
            assert all(parsed[c.name] is not None for c in TABLES[kind] if c.required)
            good_lines.add(line)
    assert not good_lines & bad_lines, "a row was both imported and rejected"
    assert len(good_lines) >= len(generated.untouched)


RULE_FILES = ("carriers.yaml", "warehouses.yaml", "risk.yaml", "rates/usps_priority-2026-01-18.yaml")
RULES_TEXT = {name: (ROOT / "rules" / name).read_text() for name in RULE_FILES}
RULES_DATA = {name: yaml.safe_load(text) for name, text in RULES_TEXT.items()}


def _write_rules(folder: Path, changed: dict[str, str]) -> None:
    for name, text in RULES_TEXT.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(changed.get(name, text))
    for card in (ROOT / "rules" / "rates").iterdir():
        if not (folder / "rates" / card.name).exists():
            (folder / "rates" / card.name).write_text(card.read_text())


def _check_rules(folder: Path) -> None:
    try:
        load_rules(folder)
    except ConfigInvalid as exc:
        assert exc.errors and all(e.file and e.message and e.line >= 0 for e in exc.errors)


@RULES_EXAMPLES
@given(
    name=st.sampled_from(RULE_FILES),
    cut=st.integers(min_value=0, max_value=4000),
    insert=st.sampled_from(["", ":", "- ", "  x: 1\n", "{", "]", "\t", "up_to: -1", "carrier: zz", "\n- id: x\n"]),
)
def test_rules_load_or_name_file_and_line(tmp_path_factory, name: str, cut: int, insert: str) -> None:
    text = RULES_TEXT[name]
    at = min(cut, len(text))
    folder = tmp_path_factory.mktemp("rules")
    _write_rules(folder, {name: text[:at] + insert + text[at:]})
    _check_rules(folder)


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside parsed YAML."""
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _nodes(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _nodes(inner, (*path, i))
    return found


@RULES_EXAMPLES
@given(name=st.sampled_from(RULE_FILES), data=st.data())
def test_rules_with_a_mutated_value_load_or_name_the_field(tmp_path_factory, name: str, data: st.DataObject) -> None:
    """A value anywhere in a rule file replaced (wrong type, huge number, unicode, empty), removed or duplicated."""
    document = copy.deepcopy(RULES_DATA[name])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_nodes(document)[1:]))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "remove", "duplicate"]))
        if action == "replace":
            parent[path[-1]] = data.draw(st.one_of(mutant_json, st.dictionaries(mutant_text, mutant_json, max_size=2)))
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        if not isinstance(document, dict | list) or not _nodes(document)[1:]:
            break
    folder = tmp_path_factory.mktemp("rules")
    _write_rules(folder, {name: yaml.safe_dump(document, allow_unicode=True)})
    _check_rules(folder)
