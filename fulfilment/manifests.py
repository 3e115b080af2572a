"""End-of-day manifests: the parcels one warehouse labelled on one shop day, per carrier, handed to a
`ManifestProvider` (the local default records nothing more; Shippo creates a SCAN form per carrier) and listed
in a manifest PDF."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.labels.manifest_pdf import render_manifest
from fulfilment.pipeline import Context
from fulfilment.rules.warehouses import WarehouseConfig
from fulfilment.store.models import Shipment, ShipmentOrder


@dataclass(frozen=True, slots=True)
class ManifestParcel:
    """One parcel on a manifest."""

    shipment_id: int
    tracking_number: str
    carrier: str
    service: str
    weight_oz: float
    order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CarrierManifest:
    """One carrier's parcels of the day; `reference` and `documents` are what the provider returned (a
    manifest id, SCAN form files or addresses), empty for the local default."""

    carrier: str
    parcels: tuple[ManifestParcel, ...]
    reference: str | None = None
    documents: tuple[str, ...] = ()


class ManifestProvider(Protocol):
    """Where a carrier's end-of-day parcels are declared (one call per carrier)."""

    def close_out(
        self, warehouse: WarehouseConfig, day: date, carrier: str, parcels: Sequence[ManifestParcel]
    ) -> CarrierManifest: ...


class LocalManifests:
    """The local default: nothing to declare; the manifest PDF is the record."""

    def close_out(
        self, warehouse: WarehouseConfig, day: date, carrier: str, parcels: Sequence[ManifestParcel]
    ) -> CarrierManifest:
        return CarrierManifest(carrier, tuple(parcels))


class ManifestError(ValueError):
    """A manifest that cannot be made: an unknown warehouse."""


def day_parcels(ctx: Context, session: Session, warehouse: str, day: date) -> dict[str, list[ManifestParcel]]:
    """The labelled parcels of `warehouse` made on shop day `day`, per carrier (carriers and parcels sorted)."""
    start = datetime.combine(day, time(0), ctx.settings.shop_timezone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), ctx.settings.shop_timezone).astimezone(UTC)
    rows = session.execute(
        select(Shipment, ShipmentOrder.order_id)
        .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
        .where(
            Shipment.warehouse_code == warehouse,
            Shipment.status == "labelled",
            Shipment.created_at >= start,
            Shipment.created_at < end,
        )
        .order_by(Shipment.carrier, Shipment.tracking_number, ShipmentOrder.order_id)
    ).all()
    orders: dict[int, list[str]] = {}
    shipments: dict[int, Shipment] = {}
    for shipment, order_id in rows:
        shipments[shipment.id] = shipment
        orders.setdefault(shipment.id, []).append(order_id)
    by_carrier: dict[str, list[ManifestParcel]] = {}
    for shipment_id, s in shipments.items():
        by_carrier.setdefault(s.carrier, []).append(
            ManifestParcel(
                shipment_id, s.tracking_number or "", s.carrier, s.service, s.weight_oz, tuple(orders[shipment_id])
            )
        )
    return by_carrier


def create_manifests(
    ctx: Context, warehouse_code: str, day: date, provider: ManifestProvider | None = None
) -> tuple[Path, list[CarrierManifest]]:
    """Declare the day's parcels of a warehouse per carrier through `provider` (default: local) and write
    ``manifests/<warehouse>-<day>.pdf`` under the output folder; returns its path and the carriers' manifests."""
    warehouse = ctx.rules.warehouse(warehouse_code)
    if warehouse is None:
        known = ", ".join(w.code for w in ctx.rules.warehouses)
        raise ManifestError(f"no warehouse {warehouse_code!r} in the rules (known: {known})")
    provider = provider or LocalManifests()
    with ctx.session() as session:
        by_carrier = day_parcels(ctx, session, warehouse.code, day)
    manifests = [provider.close_out(warehouse, day, carrier, parcels) for carrier, parcels in by_carrier.items()]
    path = ctx.batch_dir("manifests") / f"{warehouse.code}-{day.isoformat()}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    render_manifest(manifests, path, title=f"End-of-day manifest \u2014 {warehouse.code} {warehouse.name} \u2014 {day}")
    return path, manifests
