"""SQLAlchemy 2 typed models: the database is the source of truth for every order and batch."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2)
Id = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LiveSession(Base):
    """A TikTok LIVE session whose orders are shipped together."""

    __tablename__ = "live_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Buyer(Base):
    """A buyer by channel handle, with history imported from before the tool."""

    __tablename__ = "buyers"
    handle: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prior_orders: Mapped[int] = mapped_column(Integer, default=0)
    prior_returns: Mapped[int] = mapped_column(Integer, default=0)
    last_return_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CatalogItem(Base):
    """A SKU's shipping facts: weight in ounces and box dimensions in inches."""

    __tablename__ = "catalog"
    sku: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    weight_oz: Mapped[float] = mapped_column()
    length_in: Mapped[float] = mapped_column()
    width_in: Mapped[float] = mapped_column()
    height_in: Mapped[float] = mapped_column()
    category: Mapped[str] = mapped_column(String(100), default="")
    bin: Mapped[str] = mapped_column(String(50), default="")


class Warehouse(Base):
    """A warehouse as configured in rules/warehouses.yaml (synced on load); `rank` is its place in the file."""

    __tablename__ = "warehouses"
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    rank: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)
    address: Mapped[dict[str, str]] = mapped_column(JSON)


class Stock(Base):
    """Units of a SKU in a warehouse: available = on_hand - reserved."""

    __tablename__ = "stock"
    warehouse_code: Mapped[str] = mapped_column(ForeignKey("warehouses.code"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(100), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Batch(Base):
    """One run of the pipeline over a set of claimed orders, split into chunks."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    trigger: Mapped[str] = mapped_column(String(50), default="staff")
    session_name: Mapped[str | None] = mapped_column(String(200))
    order_count: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    outputs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    alerts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Chunk(Base):
    """A slice of a batch's orders that moves through the stages as one unit of work."""

    __tablename__ = "batch_chunks"
    __table_args__ = (UniqueConstraint("batch_id", "seq"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Order(Base):
    """An order to ship; `status` goes pending → claimed → screened|held → allocated|backordered → routed → labelled.

    A held order is decided by a reviewer: ``approved`` (the next batch claims it straight to ``screened``) or
    ``rejected``; `hold_until` parks it out of the review queue. `address_key` is the normalised ship-to address
    that burst checks group on. `address_flags` are the routing flags (`AddressFlags.bits`) the screen read of
    that address, so routing need not read its street lines again; every change of the address (an import, a
    review edit) clears them, and routing reads the address itself when they are empty. A release that changes
    what `classify` reads off an address (its rules, the ZIP table) must clear them too, in a migration.
    """

    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), index=True)
    buyer: Mapped[str] = mapped_column(String(200), index=True)
    buyer_ip: Mapped[str | None] = mapped_column(String(64), index=True)
    ship_name: Mapped[str] = mapped_column(String(200))
    ship_street1: Mapped[str] = mapped_column(String(300))
    ship_street2: Mapped[str] = mapped_column(String(300), default="")
    ship_city: Mapped[str] = mapped_column(String(100))
    ship_state: Mapped[str] = mapped_column(String(10))
    ship_zip: Mapped[str] = mapped_column(String(20))
    ship_country: Mapped[str] = mapped_column(String(10), default="US")
    ship_phone: Mapped[str] = mapped_column(String(40), default="")
    address_key: Mapped[str] = mapped_column(String(400), default="", index=True)
    address_flags: Mapped[int | None] = mapped_column(SmallInteger)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    buyer_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("live_sessions.id"), index=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), index=True)
    chunk_id: Mapped[int | None] = mapped_column(ForeignKey("batch_chunks.id"), index=True)
    source: Mapped[str] = mapped_column(String(300), default="")
    source_line: Mapped[int | None] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), default="")
    warehouse_code: Mapped[str | None] = mapped_column(String(50))
    carrier: Mapped[str | None] = mapped_column(String(20))
    service: Mapped[str | None] = mapped_column(String(60))
    rule_id: Mapped[str | None] = mapped_column(String(100))
    billable_weight_oz: Mapped[float | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    allocation_reason: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    route: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLineRow]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLineRow.id"
    )


class OrderLineRow(Base):
    """One SKU line of an order."""

    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    unit_weight_oz: Mapped[float | None] = mapped_column()
    order: Mapped[Order] = relationship(back_populates="lines")


class Hold(Base):
    """Why an order waits for a reviewer: a code, a human reason and the values that triggered it."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    code: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(String(50))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class Reservation(Base):
    """Units of one SKU held in one warehouse for one order; unique so a redelivery cannot reserve twice."""

    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("order_id", "warehouse_code", "sku"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    warehouse_code: Mapped[str] = mapped_column(ForeignKey("warehouses.code"))
    sku: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="reserved")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LabelFile(Base):
    """Label bytes: one file per chunk from the local renderer, one per label from Shippo (page = shipment)."""

    __tablename__ = "label_files"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(50), default="application/pdf")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Shipment(Base):
    """One parcel with one label and one tracking number."""

    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    warehouse_code: Mapped[str] = mapped_column(ForeignKey("warehouses.code"))
    carrier: Mapped[str] = mapped_column(String(20))
    service: Mapped[str] = mapped_column(String(60))
    rule_id: Mapped[str] = mapped_column(String(100))
    weight_oz: Mapped[float] = mapped_column()
    tracking_number: Mapped[str | None] = mapped_column(String(50), unique=True)
    label_file_id: Mapped[int | None] = mapped_column(ForeignKey("label_files.id"))
    label_page: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="labelled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    label_provider: Mapped[str] = mapped_column(String(20), default="local", server_default="local")
    rate_amount: Mapped[Decimal | None] = mapped_column(Money)
    rate_currency: Mapped[str | None] = mapped_column(String(3))
    shippo_shipment_id: Mapped[str | None] = mapped_column(String(64))
    shippo_rate_id: Mapped[str | None] = mapped_column(String(64))
    shippo_transaction_id: Mapped[str | None] = mapped_column(String(64))


class LabelPurchase(Base):
    """The intent to obtain one shipment's label, written and committed before any call to a provider.

    `status` goes open → bought | failed; `attempts` counts purchase calls made (a call whose answer was lost
    may have bought: the next attempt reconciles with the provider first); `lease_until` keeps two workers off
    the same purchase; `order_ref` is what the provider's `metadata` carries; `rate_id` is the provider's rate
    the purchase is for, `earlier_rate_ids` the rates it was for before it was quoted again (a call on one of
    them whose answer was lost may still land a label there).
    """

    __tablename__ = "label_purchases"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), unique=True)
    chunk_id: Mapped[int] = mapped_column(ForeignKey("batch_chunks.id"), index=True)
    order_ref: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_shipment_id: Mapped[str | None] = mapped_column(String(64))
    rate_id: Mapped[str | None] = mapped_column(String(64))
    earlier_rate_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ShipmentOrder(Base):
    """Which orders a shipment carries (several when combined) and which shipments an order has (split)."""

    __tablename__ = "shipment_orders"
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True, index=True)


class Outbox(Base):
    """A tracking number to hand back to a sales channel; written with the label, sent by the push stage."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("order_id", "shipment_id", "channel"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    channel: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(64))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    """What of this order the parcel carries: ``{"sku", "quantity"}`` each, with the channel's
    ``line_item_ids`` for those units when the order has them (a split order's parcels each name their own)."""


class WebhookEvent(Base):
    """A channel notification already handled, by its id (TikTok's `tts_notification_id`): a replay is ignored."""

    __tablename__ = "webhook_events"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledRun(Base):
    """A run to start at `run_at` (a live session's post-stream batch, or one fire of a `schedules.yaml` entry);
    `status` due → running → done|failed. A fire is unique per (schedule, time): two schedulers record it once."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("schedule", "run_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    session_name: Mapped[str | None] = mapped_column(String(200))
    schedule: Mapped[str | None] = mapped_column(String(100))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), default="due", index=True)
    batch_id: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelCursor(Base):
    """Where a channel's next incremental pull starts (for TikTok: unix seconds of `update_time_ge`)."""

    __tablename__ = "channel_cursors"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One state change: what (entity), from → to, who or what made it, when and why."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")


class User(Base):
    """A staff account of the console: `role` is packer, reviewer or admin; only a hash of the password."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token for scripts, stored as its SHA-256 (the token itself is shown once)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser: the cookie's SHA-256, its user, its CSRF token and when it expires."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
