"""Plain data for one parcel's label and for the documents of a batch."""

from __future__ import annotations

from dataclasses import dataclass

from fulfilment.domain.orders import Address


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """Everything drawn on one 4x6 label.

    `carrier` is ``usps``/``ups``/``fedex``; `service` a service token (``usps_ground_advantage``);
    `items` are (sku, quantity) pairs; `order_ids` has several entries for a combined shipment.
    """

    shipment_id: int
    order_ids: tuple[str, ...]
    warehouse: str
    ship_from: Address
    ship_to: Address
    carrier: str
    service: str
    service_name: str
    tracking_number: str
    weight_oz: float
    items: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class PickLine:
    """One SKU to pick in a warehouse: total quantity over the batch, and the picks that need it (one entry per
    parcel: an order id, or the ids of a combined parcel joined by ``+``)."""

    sku: str
    name: str
    quantity: int
    order_ids: tuple[str, ...]
    bin: str = ""


@dataclass(frozen=True, slots=True)
class TrackingRow:
    """One row of the tracking upload: TikTok's provider name (``USPS``, ``UPS``, ``FedEx``)."""

    order_id: str
    tracking_number: str
    provider_name: str
    combine_group_id: str = "N/A"


@dataclass(frozen=True, slots=True)
class PackingSlip:
    """What goes in one parcel, for the packer and the buyer: its orders, lines (sku, name, units) and addresses."""

    order_ids: tuple[str, ...]
    warehouse: str
    ship_from: Address
    ship_to: Address
    tracking_number: str
    lines: tuple[tuple[str, str, int], ...]
