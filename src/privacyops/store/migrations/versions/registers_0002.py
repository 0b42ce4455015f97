"""Accountability registers: DPIA records (GDPR Art. 35).

Revision ID: registers_0002
Revises: registers_0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from privacyops.store.base import UTCDateTime

_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "registers_0002"
down_revision: str | Sequence[str] | None = "registers_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dpias",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("necessity", sa.Text(), nullable=False),
        sa.Column("risks", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("dpo_advice", sa.Text(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dpias")),
        sa.UniqueConstraint("channel", "purpose", name=op.f("uq_dpias_channel_purpose")),
    )


def downgrade() -> None:
    op.drop_table("dpias")
