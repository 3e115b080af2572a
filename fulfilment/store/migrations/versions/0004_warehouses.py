"""warehouses: why each order ships from where it does, and a batch's low-stock alerts

Revision ID: 0004_warehouses
Revises: 0003_routing
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_warehouses"
down_revision: str | None = "0003_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allocation_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alerts", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_column("alerts")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("allocation_reason")
