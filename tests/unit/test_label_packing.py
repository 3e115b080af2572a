"""The box of a label's parts: catalog weights and sizes first, else the weight the order's source gave."""

from __future__ import annotations

import pytest

from fulfilment.stages.label import Part, _packed
from fulfilment.stages.route import MissingWeight
from fulfilment.store.models import CatalogItem, Order, OrderLineRow


def test_catalog_weights_come_first_then_the_sources_unit_weight() -> None:
    lines = [
        OrderLineRow(sku="X", quantity=1, unit_weight_oz=9.0),
        OrderLineRow(sku="X", quantity=1, unit_weight_oz=3.0),
        OrderLineRow(sku="Y", quantity=1, unit_weight_oz=100.0),
        OrderLineRow(sku="Z", quantity=1, unit_weight_oz=None),
    ]
    order = Order(id="A", lines=lines)
    catalog = {"Y": CatalogItem(sku="Y", weight_oz=5.0, length_in=4.0, width_in=3.0, height_in=2.0)}

    box = _packed([Part(order, "WH-EAST", [("X", 2), ("Y", 1)])], catalog)

    assert box.weight_oz == 11.0, "X at its last line's 3 oz, Y at the catalog's 5 oz"
    assert (box.length_in, box.width_in) == (4.0, 3.0)
    with pytest.raises(MissingWeight):
        _packed([Part(order, "WH-EAST", [("Z", 1)])], catalog)
