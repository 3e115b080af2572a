"""A purchase quoted again keeps the rates it was for before, so a late label on one of them is found

Revision ID: 0010_purchase_rates
Revises: 0009_outbox_items
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_purchase_rates"
down_revision: str | None = "0009_outbox_items"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("label_purchases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("earlier_rate_ids", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("label_purchases", schema=None) as batch_op:
        batch_op.drop_column("earlier_rate_ids")
