"""Intake: the spam gate's blocklist and rules, and the quarantine of held submissions.

Revision ID: 0001_intake
Revises: 0001_registry
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Same as privacyops.store.base.BigIntPK: BIGINT on PostgreSQL, SQLite's INTEGER PRIMARY KEY.
_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
revision: str = "0001_intake"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("intake",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_blocks",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("match_key", sa.String(length=128), nullable=False),
        sa.Column("display", sa.String(length=128), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_blocks")),
        sa.UniqueConstraint("kind", "match_key", name=op.f("uq_intake_blocks_kind_match_key")),
    )
    op.create_table(
        "intake_quarantine",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("payload_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decision_note", sa.String(length=300), nullable=True),
        sa.Column("subject_ref", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_quarantine")),
        sa.UniqueConstraint("public_id", name=op.f("uq_intake_quarantine_public_id")),
    )
    with op.batch_alter_table("intake_quarantine", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_quarantine_status_received_at"),
            ["status", "received_at"],
            unique=False,
        )

    op.create_table(
        "intake_spam_rules",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pattern", sa.String(length=500), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_spam_rules")),
    )


def downgrade() -> None:
    op.drop_table("intake_spam_rules")
    with op.batch_alter_table("intake_quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_quarantine_status_received_at"))

    op.drop_table("intake_quarantine")
    op.drop_table("intake_blocks")
