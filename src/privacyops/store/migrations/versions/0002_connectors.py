"""connectors: records staff attach to an access task (sealed)

Revision ID: 0002_connectors
Revises: 0001_connectors
Create Date: 2026-11-29 08:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_connectors"
down_revision: str | Sequence[str] | None = "0001_connectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connector_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("records_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connector_tasks", schema=None) as batch_op:
        batch_op.drop_column("records_sealed")
        batch_op.drop_column("wrapped_key")
