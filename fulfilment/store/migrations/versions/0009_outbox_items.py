"""Each push names its parcel's units; cron schedule fires are recorded once

Revision ID: 0009_outbox_items
Revises: 0008_shippo
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_outbox_items"
down_revision: str | None = "0008_shippo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("items", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("scheduled_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_scheduled_runs_schedule"), ["schedule", "run_at"])


def downgrade() -> None:
    with op.batch_alter_table("scheduled_runs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_scheduled_runs_schedule"), type_="unique")
        batch_op.drop_column("schedule")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("items")
