"""rights: what each connected system answered to an access request

Revision ID: 0002_rights
Revises: 0001_rights
Create Date: 2026-11-29 08:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_rights"
down_revision: str | Sequence[str] | None = "0001_rights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rights_connector_answers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("connector", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("records_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rights_requests.id"],
            name=op.f("fk_rights_connector_answers_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_connector_answers")),
        sa.UniqueConstraint(
            "request_id", "connector", name=op.f("uq_rights_connector_answers_request_id_connector")
        ),
    )
    with op.batch_alter_table("rights_connector_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rights_connector_answers_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rights_connector_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_connector_answers_request_id"))
    op.drop_table("rights_connector_answers")
