"""Label files are compressed with lz4 on PostgreSQL: a PDF label file does not compress (its page streams are zlib
already) and pglz, the default, spent ~0.12 CPU-s per 10,000 labels finding that out on every insert; lz4 gives up
at once and still compresses ZPL files. Servers without lz4 (built without it, or before PostgreSQL 14) and SQLite
keep their default.

Revision ID: 0011_label_lz4
Revises: 0010_purchase_rates
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_label_lz4"
down_revision: str | None = "0010_purchase_rates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# no row before PostgreSQL 14
LZ4 = sa.text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")


def _has_lz4() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == "postgresql" and bool(bind.execute(LZ4).scalar())


def upgrade() -> None:
    if _has_lz4():
        op.execute("ALTER TABLE label_files ALTER COLUMN content SET COMPRESSION lz4")


def downgrade() -> None:
    if _has_lz4():
        op.execute("ALTER TABLE label_files ALTER COLUMN content SET COMPRESSION default")
