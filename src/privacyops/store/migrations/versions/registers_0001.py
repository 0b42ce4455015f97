"""Accountability registers: personal-data breaches and the letters to the people affected.

Revision ID: registers_0001
Revises: 0001_registry
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from privacyops.store.base import UTCDateTime

_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "registers_0001"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("registers",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breaches",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=True),
        sa.Column("aware_at", UTCDateTime(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=True),
        sa.Column("window_end", UTCDateTime(), nullable=True),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("consequences", sa.Text(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("likelihood", sa.String(length=16), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_reasons", sa.Text(), nullable=True),
        sa.Column("late_reasons", sa.Text(), nullable=True),
        sa.Column("authority_notified_at", UTCDateTime(), nullable=True),
        sa.Column("phases", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breaches")),
        sa.UniqueConstraint("ref", name=op.f("uq_breaches_ref")),
    )
    op.create_table(
        "breach_letters",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("breach_id", _BIGINT_PK, nullable=False),
        sa.Column("subject_ref", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["breach_id"],
            ["breaches.id"],
            name=op.f("fk_breach_letters_breach_id_breaches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_letters")),
        sa.UniqueConstraint(
            "breach_id", "subject_ref", name=op.f("uq_breach_letters_breach_id_subject_ref")
        ),
    )
    op.create_index(op.f("ix_breach_letters_breach_id"), "breach_letters", ["breach_id"])


def downgrade() -> None:
    op.drop_table("breach_letters")
    op.drop_table("breaches")
