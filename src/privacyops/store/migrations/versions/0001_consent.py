"""Consent records (banner choices, chained per visitor) and marketing double opt-in.

Revision ID: 0001_consent
Revises: 0001_registry
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_consent"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("consent",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_marketing",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=80), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip_truncated", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'withdrawn', 'expired')",
            name=op.f("ck_consent_marketing_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_marketing")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_consent_marketing_token_hash")),
    )
    with op.batch_alter_table("consent_marketing", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_marketing_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "consent_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("analytics", sa.Boolean(), nullable=False),
        sa.Column("advertising", sa.Boolean(), nullable=False),
        sa.Column("widgets", sa.Boolean(), nullable=False),
        sa.Column("vendors", sa.Text(), nullable=False),
        sa.Column("gpc", sa.Boolean(), nullable=False),
        sa.Column("banner_version", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("page_url", sa.String(length=2048), nullable=True),
        sa.Column("ip_truncated", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "action IN ('accept', 'reject', 'custom', 'withdraw', 'gpc')",
            name=op.f("ck_consent_records_action"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["consent_records.id"],
            name=op.f("fk_consent_records_previous_id_consent_records"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
        sa.UniqueConstraint("record_id", name=op.f("uq_consent_records_record_id")),
    )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_records_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consent_records_subject_id"), ["subject_id"], unique=False
        )
        batch_op.create_index(
            "ix_consent_records_visitor_id_id", ["visitor_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_records_visitor_id_id")
        batch_op.drop_index(batch_op.f("ix_consent_records_subject_id"))
        batch_op.drop_index(batch_op.f("ix_consent_records_created_at"))

    op.drop_table("consent_records")
    with op.batch_alter_table("consent_marketing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_marketing_subject_id"))

    op.drop_table("consent_marketing")
