"""risk screening and the review queue: address key, parking, buyer return dates, hold decisions

Revision ID: 0002_risk
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_risk"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_key", sa.String(length=400), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_address_key"), ["address_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_buyer_ip"), ["buyer_ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_return_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("resolved_by")
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_column("last_return_at")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_created_at"))
        batch_op.drop_index(batch_op.f("ix_orders_buyer_ip"))
        batch_op.drop_index(batch_op.f("ix_orders_address_key"))
        batch_op.drop_column("hold_until")
        batch_op.drop_column("address_key")
