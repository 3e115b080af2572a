"""Printing again what was already bought: a batch's documents, or one order's labels, from stored label files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from fulfilment.pipeline import Context
from fulfilment.stages.documents import write_documents, write_order_labels
from fulfilment.store.document_options import batch_options
from fulfilment.store.models import Batch, Chunk, Order


class ReprintError(ValueError):
    """Nothing to reprint: an unknown id, a batch still labelling, an order without a label."""


def reprint(ctx: Context, target: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write again the documents of batch `target` (with its stored options, `overrides` replacing some for this
    print only) or the label(s) of order `target`; never buys a label. Returns what was written."""
    with ctx.session() as session:
        batch = session.get(Batch, target)
        if batch is not None:
            open_chunks = session.scalar(select(func.count()).where(Chunk.batch_id == target, Chunk.stage != "done"))
            if open_chunks:
                raise ReprintError(f"batch {target} is still labelling ({open_chunks} chunks left): resume it first")
            options = batch_options(session, target, ctx.settings.documents).with_overrides(**(overrides or {}))
            written = write_documents(ctx, session, target, options)
            batch.outputs = {**batch.outputs, **written}
            return {"batch_id": target, "outputs": {k: v for k, v in written.items() if v}}
        order = session.get(Order, target)
        if order is None:
            raise ReprintError(f"no batch or order {target!r}")
        found = write_order_labels(ctx, session, target)
        if found is None:
            raise ReprintError(f"order {target} has no label (it is {order.status})")
        path, count = found
        return {"order_id": target, "labels": count, "path": str(path)}
