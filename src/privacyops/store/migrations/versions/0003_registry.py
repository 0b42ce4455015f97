"""registry: records an erasure kept under a GDPR Art. 17(3) exception, and until when

Revision ID: 0003_registry
Revises: 0002_registry
Create Date: 2026-12-04 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_registry"
down_revision: str | Sequence[str] | None = "0002_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("personal_data_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keep_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("kept_under", sa.String(length=64), nullable=True))
    # partial: only the few records an erasure kept are in it
    op.create_index(
        "ix_personal_data_records_keep_until",
        "personal_data_records",
        ["keep_until"],
        sqlite_where=sa.text("keep_until IS NOT NULL"),
        postgresql_where=sa.text("keep_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_personal_data_records_keep_until", table_name="personal_data_records")
    with op.batch_alter_table("personal_data_records", schema=None) as batch_op:
        batch_op.drop_column("kept_under")
        batch_op.drop_column("keep_until")
