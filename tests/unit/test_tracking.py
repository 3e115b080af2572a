"""Tracking-number check digits, local test numbers, and the TikTok bulk tracking upload file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fulfilment.channels.bulk_file import HEADER, NOTE, SHEET, read_tracking_upload, write_tracking_upload
from fulfilment.domain.shipments import TrackingRow
from fulfilment.domain.tracking import (
    PROVIDER_NAMES,
    fedex_check_digit,
    is_local_tracking_number,
    is_valid,
    local_tracking_number,
    ups_check_digit,
    usps_check_digit,
)

KNOWN_VALID = {
    "usps": "9400111201080805483016",
    "ups": "1Z5R89390357567127",
    "fedex": "986578788855",
}


@pytest.mark.parametrize(("carrier", "number"), KNOWN_VALID.items())
def test_known_valid_numbers_are_accepted(carrier: str, number: str) -> None:
    assert is_valid(carrier, number)


def test_check_digit_functions_match_the_examples() -> None:
    assert usps_check_digit(KNOWN_VALID["usps"][:21]) == 6
    assert ups_check_digit(KNOWN_VALID["ups"][2:17]) == 7
    assert fedex_check_digit(KNOWN_VALID["fedex"][:11]) == 5


def _one_digit_changes(number: str) -> list[str]:
    """Every number that differs from `number` in exactly one digit position (letters left alone)."""
    out = []
    for i, ch in enumerate(number):
        if ch.isdigit() and not (number.startswith("1Z") and i < 2):
            for d in "0123456789":
                if d != ch:
                    out.append(number[:i] + d + number[i + 1 :])
    return out


@pytest.mark.parametrize(("carrier", "number"), KNOWN_VALID.items())
def test_a_single_changed_digit_is_rejected(carrier: str, number: str) -> None:
    for position in (-1, -3, -6):  # the check digit and two body digits
        digit = number[position]
        changed = number[:position] + str((int(digit) + 1) % 10) + (number[position + 1 :] if position != -1 else "")
        assert len(changed) == len(number)
        assert not is_valid(carrier, changed), changed


@pytest.mark.parametrize(("carrier", "number"), KNOWN_VALID.items())
def test_single_digit_changes_are_nearly_all_caught(carrier: str, number: str) -> None:
    changed = _one_digit_changes(number)
    missed = [n for n in changed if is_valid(carrier, n)]
    if carrier == "usps":
        assert missed == []  # weights 3 and 1 are prime to 10: every single-digit error is caught
    elif carrier == "ups":
        # weight 2 misses a +-5 change at an even position of the body; every other change is caught
        for n in missed:
            i = next(i for i, (a, b) in enumerate(zip(n, number, strict=True)) if a != b)
            assert (i - 2) % 2 == 1 and abs(int(n[i]) - int(number[i])) == 5
    else:
        # mod 11 folded to one digit misses a few changes (sum moved so that it lands on 10 vs 0)
        assert len(missed) <= 0.1 * len(changed)
    for d in "0123456789":
        if d != number[-1]:
            assert not is_valid(carrier, number[:-1] + d)


@pytest.mark.parametrize(
    ("carrier", "number"),
    [
        ("usps", "940011120108080548301"),  # 21 digits
        ("usps", "1400111201080805483016"),  # not an IMpb prefix
        ("ups", "1Z5R8939035756712"),  # too short
        ("ups", "2Z5R89390357567127"),
        ("fedex", "98657878885"),
        ("fedex", "98657878885X"),
        ("dhl", "986578788855"),
        ("usps", KNOWN_VALID["ups"]),
    ],
)
def test_malformed_numbers_are_rejected(carrier: str, number: str) -> None:
    assert not is_valid(carrier, number)


def test_spaces_and_lower_case_are_tolerated() -> None:
    assert is_valid("usps", "9400 1112 0108 0805 4830 16")
    assert is_valid("ups", "1z5r89390357567127")


@pytest.mark.parametrize("carrier", ["usps", "ups", "fedex"])
def test_local_numbers_are_valid_unique_and_recognisable(carrier: str) -> None:
    serials = [*range(0, 3000), *range(10**9 - 1000, 10**9 + 1), 123_456_789, 987_654_321]
    numbers = [local_tracking_number(carrier, s) for s in serials]
    assert len(set(numbers)) == len(set(serials))
    for n in numbers:
        assert is_valid(carrier, n), n
    below = [n for s, n in zip(serials, numbers, strict=True) if s < 10**9]
    assert all(is_local_tracking_number(carrier, n) for n in below)
    if carrier != "fedex":  # 12-digit FedEx has room for the ``99`` marker only below 10**9
        assert all(is_local_tracking_number(carrier, n) for n in numbers)
    assert local_tracking_number(carrier, 42) == local_tracking_number(carrier, 42)


def test_local_number_shapes() -> None:
    assert local_tracking_number("usps", 427).startswith("94999999999")
    assert len(local_tracking_number("usps", 427)) == 22
    assert local_tracking_number("ups", 427).startswith("1Z999999")
    assert len(local_tracking_number("ups", 427)) == 18
    assert local_tracking_number("fedex", 427).startswith("99")
    assert len(local_tracking_number("fedex", 427)) == 12


def test_known_purchased_numbers_are_not_local() -> None:
    for carrier, number in KNOWN_VALID.items():
        assert not is_local_tracking_number(carrier, number)


def test_local_number_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        local_tracking_number("dhl", 1)
    with pytest.raises(ValueError):
        local_tracking_number("usps", -1)


def test_provider_names_are_tiktoks() -> None:
    assert PROVIDER_NAMES == {"usps": "USPS", "ups": "UPS", "fedex": "FedEx"}


# --- bulk tracking upload -------------------------------------------------------------------------------


def _rows() -> list[TrackingRow]:
    return [
        TrackingRow("576653688135258178", local_tracking_number("usps", 1), "USPS"),
        TrackingRow("576653688135258179", local_tracking_number("ups", 2), "UPS"),
        TrackingRow("000653688135258180", local_tracking_number("fedex", 3), "FedEx", "7380066284010030890"),
        TrackingRow("576653688135258181", local_tracking_number("fedex", 3), "FedEx", "7380066284010030890"),
    ]


def test_upload_xlsx_layout_is_tiktoks(tmp_path: Path) -> None:
    rows = _rows()
    xlsx, csv_path = tmp_path / "upload.xlsx", tmp_path / "upload.csv"
    write_tracking_upload(rows, xlsx, csv_path)

    wb = load_workbook(xlsx)
    assert wb.sheetnames == [SHEET] == ["Shipping info"]
    ws = wb[SHEET]
    assert ws["A1"].value == NOTE == "Review the examples before you fill out this sheet."
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:D1"]
    assert [c.value for c in ws[2]] == list(HEADER)
    assert list(HEADER) == ["Order ID", "Tracking ID", "Shipping Provider Name", "Auto Combine Group ID"]
    assert ws.max_row == 2 + len(rows)
    for r, row in enumerate(rows, start=3):
        cells = ws[r]
        assert [c.value for c in cells] == [
            row.order_id,
            row.tracking_number,
            row.provider_name,
            row.combine_group_id,
        ]
        for c in cells:
            assert c.data_type == "s"  # a string cell, never a number
            assert c.number_format == "@"
    assert ws["A5"].value == "000653688135258180"  # leading zeros kept
    assert ws["D3"].value == "N/A"


def test_upload_reads_back_and_csv_matches(tmp_path: Path) -> None:
    rows = _rows()
    xlsx, csv_path = tmp_path / "upload.xlsx", tmp_path / "upload.csv"
    write_tracking_upload(rows, xlsx, csv_path)
    assert read_tracking_upload(xlsx) == rows

    raw = csv_path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with csv_path.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == list(HEADER)
    assert table[1:] == [[r.order_id, r.tracking_number, r.provider_name, r.combine_group_id] for r in rows]


def test_empty_upload(tmp_path: Path) -> None:
    xlsx, csv_path = tmp_path / "u.xlsx", tmp_path / "u.csv"
    write_tracking_upload([], xlsx, csv_path)
    assert read_tracking_upload(xlsx) == []
    assert csv_path.read_text(encoding="utf-8").splitlines() == [",".join(HEADER)]


def test_read_refuses_a_number_typed_order_id(tmp_path: Path) -> None:
    xlsx = tmp_path / "u.xlsx"
    write_tracking_upload(_rows(), xlsx, tmp_path / "u.csv")
    wb = load_workbook(xlsx)
    wb[SHEET]["A3"] = 5.766536881352582e17
    wb.save(xlsx)
    with pytest.raises(ValueError, match="row 3"):
        read_tracking_upload(xlsx)


def test_upload_text_is_escaped_and_control_characters_refused(tmp_path: Path) -> None:
    rows = [TrackingRow("576653688135258178", "1Z&<2>\"'", "UPS", " group ")]
    xlsx = tmp_path / "u.xlsx"
    write_tracking_upload(rows, xlsx, tmp_path / "u.csv")
    assert read_tracking_upload(xlsx) == [TrackingRow("576653688135258178", "1Z&<2>\"'", "UPS", "group")]
    with pytest.raises(ValueError, match="cannot hold"):
        write_tracking_upload([TrackingRow("1", "bad\x01", "UPS")], xlsx, tmp_path / "u.csv")
