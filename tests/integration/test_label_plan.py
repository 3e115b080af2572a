"""The label stage's plan: the labels it hands straight to the provider are the ones a later run reads back."""

from __future__ import annotations

from collections import Counter

from fulfilment import batches, steps
from fulfilment.demo import prepare_demo
from fulfilment.simulate import SAMPLE_CATALOG
from fulfilment.stages.label import label_requests, plan_shipments
from fulfilment.store.inventory import set_stock

WAREHOUSES = ("WH-EAST", "WH-CENTRAL", "WH-WEST")


def test_planned_label_requests_are_what_a_later_run_reads_back(ctx) -> None:
    session_name, _export, _ = prepare_demo(ctx, 160, seed=11)
    with ctx.session() as s:  # each SKU in one warehouse only: an order of SKUs from two warehouses splits
        rows = [
            {"warehouse": w, "sku": item.sku, "on_hand": 1000 if w == WAREHOUSES[n % 3] else 0}
            for n, item in enumerate(SAMPLE_CATALOG)
            for w in WAREHOUSES
        ]
        assert set_stock(s, enumerate(rows, 2))[1] == []
    _batch_id, queue = batches.start_batch(ctx, session_name)
    planned = {}
    while queue:
        step = queue.pop(0)
        if step.stage == "label":
            planned.update(plan_shipments(ctx, step.target, "zpl"))
        else:
            queue.extend(steps.run_chunk_stage(ctx, step.target, step.stage))

    assert planned
    assert label_requests(ctx, list(planned), "zpl") == list(planned.values())
    assert any(len(r.spec.order_ids) > 1 for r in planned.values()), "a combined parcel"
    shipments = Counter(o for r in planned.values() for o in r.spec.order_ids)
    assert any(n > 1 for n in shipments.values()), "a split order"
