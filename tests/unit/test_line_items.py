"""Handing an order's line item ids out to the parcels it ships in (a split order's packages each name their own)."""

import pytest

from fulfilment.domain import line_items


def test_ids_are_handed_out_parcel_by_parcel_without_reuse() -> None:
    by_sku = {"A": ["a1", "a2", "a3"], "C": ["c1"]}
    assert line_items.hand_out(by_sku, [[("A", 2)], [("A", 1), ("C", 1)]]) == [[["a1", "a2"]], [["a3"], ["c1"]]]


def test_more_units_than_line_items_is_refused() -> None:
    with pytest.raises(ValueError, match="A: 3 units shipped but the order has 2 line items"):
        line_items.hand_out({"A": ["a1", "a2"]}, [[("A", 2)], [("A", 1)]])


def test_encode_decode_round_trip_and_unreadable_values() -> None:
    assert line_items.decode(line_items.encode({"A": ("1", "2")})) == {"A": ["1", "2"]}
    assert line_items.decode("li1,li2") == {} and line_items.decode("") == {} and line_items.decode("[1]") == {}
