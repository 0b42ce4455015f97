"""mail: the local outbox, messages kept (sealed) while no SMTP server is configured

Revision ID: mail_0001
Revises: 0001_registry
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from privacyops.store.base import UTCDateTime

_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "mail_0001"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("mail",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "local_mail",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("data_key", sa.LargeBinary(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_mail")),
    )
    op.create_index(op.f("ix_local_mail_created_at"), "local_mail", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_local_mail_created_at"), table_name="local_mail")
    op.drop_table("local_mail")
