"""connectors: a task's brief (who it is about, what to do), sealed, while it is open

Revision ID: 0003_connectors
Revises: 0002_connectors
Create Date: 2026-11-29 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_connectors"
down_revision: str | Sequence[str] | None = "0002_connectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connector_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brief_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("brief_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connector_tasks", schema=None) as batch_op:
        batch_op.drop_column("brief_sealed")
        batch_op.drop_column("brief_key")
