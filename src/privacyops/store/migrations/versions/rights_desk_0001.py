"""rights: an assignee per request, and staff's internal comments (sealed)

Revision ID: rights_desk_0001
Revises: idcheck_0001
Create Date: 2026-12-04 16:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "rights_desk_0001"
down_revision: str | Sequence[str] | None = "idcheck_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.String(length=254), nullable=True))
        batch_op.create_index(batch_op.f("ix_rights_requests_assignee"), ["assignee"], unique=False)
    op.create_table(
        "rights_comments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rights_requests.id"],
            name=op.f("fk_rights_comments_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_comments")),
    )
    with op.batch_alter_table("rights_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rights_comments_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rights_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_comments_request_id"))
    op.drop_table("rights_comments")
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_requests_assignee"))
        batch_op.drop_column("assignee")
