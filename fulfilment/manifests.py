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
    transaction_id: str | None = None
    """The provider's id of the bought label (Shippo's transaction), None for local labels."""


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


class ShippoManifests:
    """Shippo: one SCAN form per carrier account through ``/manifests`` (the day's labels bought from it), its
    PDF documents saved beside the manifest as ``WAREHOUSE-DATE-CARRIER-scan-N.pdf``."""

    def __init__(self, ctx: Context, folder: Path) -> None:
        from fulfilment.labels.provider import provider_for
        from fulfilment.labels.shippo import ShippoProvider

        provider = provider_for(ctx.settings)
        assert isinstance(provider, ShippoProvider)
        self.provider = provider
        self.folder = folder
        self.timezone = ctx.settings.shop_timezone

    def close_out(
        self, warehouse: WarehouseConfig, day: date, carrier: str, parcels: Sequence[ManifestParcel]
    ) -> CarrierManifest:
        from fulfilment.labels.shippo import PermanentFailure, RetryableFailure

        bought = [p.transaction_id for p in parcels if p.transaction_id]
        if not bought:
            return CarrierManifest(carrier, tuple(parcels))
        shipment_date = datetime.combine(day, time(12), self.timezone)
        try:
            forms = self.provider.create_manifest(carrier, shipment_date, warehouse.address, bought)
        except (PermanentFailure, RetryableFailure) as exc:
            raise ManifestError(f"{warehouse.code} {day} {carrier}: {exc}") from None
        paths = []
        for n, content in enumerate(forms, 1):
            path = self.folder / f"{warehouse.code}-{day.isoformat()}-{carrier}-scan-{n}.pdf"
            path.write_bytes(content)
            paths.append(str(path))
        return CarrierManifest(carrier, tuple(parcels), f"{len(bought)} labels on Shippo SCAN form", tuple(paths))


class ManifestError(ValueError):
    """A manifest that cannot be made: an unknown warehouse, or the provider refused a carrier's form."""


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
                shipment_id,
                s.tracking_number or "",
                s.carrier,
                s.service,
                s.weight_oz,
                tuple(orders[shipment_id]),
                s.shippo_transaction_id,
            )
        )
    return by_carrier


def create_manifests(
    ctx: Context, warehouse_code: str, day: date, provider: ManifestProvider | None = None
) -> tuple[Path, list[CarrierManifest]]:
    """Declare the day's parcels of a warehouse per carrier through `provider` (default: Shippo's SCAN forms with
    the Shippo label provider, else nothing) and write ``manifests/<warehouse>-<day>.pdf`` under the output
    folder; returns its path and the carriers' manifests."""
    warehouse = ctx.rules.warehouse(warehouse_code)
    if warehouse is None:
        known = ", ".join(w.code for w in ctx.rules.warehouses)
        raise ManifestError(f"no warehouse {warehouse_code!r} in the rules (known: {known})")
    path = ctx.batch_dir("manifests") / f"{warehouse.code}-{day.isoformat()}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    if provider is None:
        shippo = ctx.settings.label_provider == "shippo"
        provider = ShippoManifests(ctx, path.parent) if shippo else LocalManifests()
    with ctx.session() as session:
        by_carrier = day_parcels(ctx, session, warehouse.code, day)
    manifests = [provider.close_out(warehouse, day, carrier, parcels) for carrier, parcels in by_carrier.items()]
    render_manifest(manifests, path, title=f"End-of-day manifest \u2014 {warehouse.code} {warehouse.name} \u2014 {day}")
    return path, manifests
