"""Accountability registers: processor contracts and transfer assessments (GDPR Art. 26, 28,
44-46).

Revision ID: registers_0003
Revises: registers_0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from privacyops.store.base import UTCDateTime

_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "registers_0003"
down_revision: str | Sequence[str] | None = "registers_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processor_contracts",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("processor_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("scc_module", sa.Integer(), nullable=True),
        sa.Column("tia_on", sa.Date(), nullable=True),
        sa.Column("tia_outcome", sa.Text(), nullable=True),
        sa.Column("tia_measures", sa.Text(), nullable=True),
        sa.Column("dpf_checked_on", sa.Date(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processor_contracts")),
        sa.UniqueConstraint("processor_id", name=op.f("uq_processor_contracts_processor_id")),
    )


def downgrade() -> None:
    op.drop_table("processor_contracts")
