"""registry: identifying and corroborating identities, and the identity review queue

Many subjects may now share a corroborating identity (a phone line, a name); an identifying one
(an e-mail address, a customer id) still belongs to one subject only. Existing identities get
the role their kind has by default (docs/registry.md).

Revision ID: 0002_registry
Revises: 0001_registry
Create Date: 2026-12-04 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_registry"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("registry",)
depends_on: str | Sequence[str] | None = None

_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# privacyops.identities.IDENTIFYING_KINDS as of this revision
_IDENTIFYING = ("email", "customer_id", "account_id", "skype", "linkedin")


def upgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("identifies", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    identities = sa.table("identities", sa.column("kind"), sa.column("identifies"))
    op.execute(
        identities.update()
        .where(identities.c.kind.not_in(_IDENTIFYING))
        .values(identifies=sa.false())
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.alter_column("identifies", server_default=None)
        batch_op.drop_constraint("uq_identities_kind_blind_index", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_identities_kind_blind_index_subject_id"),
            ["kind", "blind_index", "subject_id"],
        )
        batch_op.create_index(
            "uq_identities_identifying",
            ["kind", "blind_index"],
            unique=True,
            sqlite_where=sa.text("identifies"),
            postgresql_where=sa.text("identifies"),
        )

    op.create_table(
        "identity_reviews",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("subject_id", _BIGINT_PK, nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("merged_into", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.id"],
            name=op.f("fk_identity_reviews_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_reviews")),
    )
    with op.batch_alter_table("identity_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_reviews_subject_id"), ["subject_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_reviews_subject_id"))
    op.drop_table("identity_reviews")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index("uq_identities_identifying")
        batch_op.drop_constraint("uq_identities_kind_blind_index_subject_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_identities_kind_blind_index"), ["kind", "blind_index"]
        )
        batch_op.drop_column("identifies")
