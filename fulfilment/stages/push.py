"""Push: hand the batch's tracking numbers back to the sales channel (here: TikTok's bulk upload file)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfilment.channels.bulk_file import write_tracking_upload
from fulfilment.domain.shipments import TrackingRow
from fulfilment.domain.tracking import PROVIDER_NAMES
from fulfilment.pipeline import Context
from fulfilment.stages.label import OUTBOX_CHANNEL
from fulfilment.store.models import Outbox, Shipment, utcnow


def push_tracking(ctx: Context, session: Session, batch_id: str) -> dict[str, str]:
    """Write the tracking upload (XLSX and CSV) with every sent or pending row of the batch; mark them sent."""
    rows = session.execute(
        select(Outbox.id, Outbox.order_id, Shipment.tracking_number, Shipment.carrier)
        .join(Shipment, Shipment.id == Outbox.shipment_id)
        .where(
            Outbox.batch_id == batch_id,
            Outbox.channel == OUTBOX_CHANNEL,
            Outbox.status.in_(["pending", "sent"]),
        )
        .order_by(Outbox.order_id)
    ).all()
    folder = ctx.batch_dir(batch_id)
    xlsx, csv = folder / "tracking-upload.xlsx", folder / "tracking-upload.csv"
    write_tracking_upload(
        [TrackingRow(order_id, tracking or "", PROVIDER_NAMES[carrier]) for _, order_id, tracking, carrier in rows],
        xlsx,
        csv,
    )
    session.execute(
        update(Outbox)
        .where(Outbox.batch_id == batch_id, Outbox.channel == OUTBOX_CHANNEL, Outbox.status == "pending")
        .values(status="sent", sent_at=utcnow(), attempts=Outbox.attempts + 1)
    )
    return {"tracking_xlsx": str(xlsx), "tracking_csv": str(csv)}
