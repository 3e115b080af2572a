"""label purchases (intent before the call) and Shippo's ids, rate and cost on shipments

Revision ID: 0008_shippo
Revises: 0006_tiktok
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_shippo"
down_revision: str | None = "0006_tiktok"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_provider", sa.String(length=20), nullable=False, server_default="local"))
        batch_op.add_column(sa.Column("rate_amount", sa.Numeric(12, 2), nullable=True))
        batch_op.add_column(sa.Column("rate_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("shippo_shipment_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("shippo_rate_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("shippo_transaction_id", sa.String(length=64), nullable=True))
    op.create_table(
        "label_purchases",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("shipment_id", Id, nullable=False),
        sa.Column("chunk_id", Id, nullable=False),
        sa.Column("order_ref", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_shipment_id", sa.String(length=64), nullable=True),
        sa.Column("rate_id", sa.String(length=64), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chunk_id"], ["batch_chunks.id"], name=op.f("fk_label_purchases_chunk_id_batch_chunks")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_label_purchases_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_purchases")),
        sa.UniqueConstraint("shipment_id", name=op.f("uq_label_purchases_shipment_id")),
    )
    with op.batch_alter_table("label_purchases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_purchases_chunk_id"), ["chunk_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("label_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_purchases_chunk_id"))
    op.drop_table("label_purchases")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        for column in (
            "shippo_transaction_id",
            "shippo_rate_id",
            "shippo_shipment_id",
            "rate_currency",
            "rate_amount",
            "label_provider",
        ):
            batch_op.drop_column(column)
