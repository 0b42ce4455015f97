"""rights: identity in doubt (the clock waits for review) and the uploaded identity document

Revision ID: idcheck_0001
Revises: 0002_rights
Create Date: 2026-12-04 16:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "idcheck_0001"
down_revision: str | Sequence[str] | None = "0002_rights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("identity_doubt_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "rights_identity_documents",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rights_requests.id"],
            name=op.f("fk_rights_identity_documents_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_identity_documents")),
        sa.UniqueConstraint("request_id", name=op.f("uq_rights_identity_documents_request_id")),
    )


def downgrade() -> None:
    op.drop_table("rights_identity_documents")
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.drop_column("identity_doubt_at")
