"""Orders keep the routing flags the screen read of their address (`orders.address_flags`), so the route stage,
often on another worker process, does not parse the street lines a second time.

Revision ID: 0012_address_flags
Revises: 0011_label_lz4
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_address_flags"
down_revision: str | None = "0011_label_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("address_flags", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("address_flags")
