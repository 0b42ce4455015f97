"""The personal-data registry and the audit log.

Revision ID: 0001_registry
Revises: (none; the root every domain's branch starts from)
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Same as privacyops.store.base.BigIntPK: BIGINT on PostgreSQL, SQLite's INTEGER PRIMARY KEY.
_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS_HASH = "0" * 64
# privacyops.audit.models.LINE_SQL as of this revision: the hashed text of an audit event.
_LINE_SQL = (
    "prev_hash || '\x1e' || CAST(seq AS VARCHAR(20)) || '\x1f' || ts || '\x1f' || actor"
    " || '\x1f' || action || '\x1f' || COALESCE(subject_ref, '') || '\x1f'"
    " || COALESCE(reason, '') || '\x1f' || details"
)

revision: str = "0001_registry"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", _BIGINT_PK, autoincrement=False, nullable=False),
        sa.Column("ts", sa.String(length=27), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Text(), sa.Computed(_LINE_SQL, persisted=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_events_subject_ref"), ["subject_ref"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_events_ts"), ["ts"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash")),
        [{"id": 1, "seq": 0, "hash": GENESIS_HASH}],
    )
    op.create_table(
        "data_subjects",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_subjects")),
        sa.UniqueConstraint("public_id", name=op.f("uq_data_subjects_public_id")),
    )
    op.create_table(
        "marketing_suppressions",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("email_hmac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_suppressions")),
        sa.UniqueConstraint("email_hmac", name=op.f("uq_marketing_suppressions_email_hmac")),
    )
    op.create_table(
        "identities",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("subject_id", _BIGINT_PK, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(length=32), nullable=False),
        sa.Column("value_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.id"],
            name=op.f("fk_identities_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("kind", "blind_index", name=op.f("uq_identities_kind_blind_index")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identities_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "legal_holds",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("subject_id", _BIGINT_PK, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.id"],
            name=op.f("fk_legal_holds_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_holds_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "personal_data_records",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("subject_id", _BIGINT_PK, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("legal_basis", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_registration_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_service_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_system", sa.String(length=128), nullable=True),
        sa.Column("payload_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.id"],
            name=op.f("fk_personal_data_records_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_records")),
    )
    with op.batch_alter_table("personal_data_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personal_data_records_channel_policy_version_id"),
            ["channel", "policy_version", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_personal_data_records_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "processing_restrictions",
        sa.Column("id", _BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("subject_id", _BIGINT_PK, nullable=False),
        sa.Column("ground", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.id"],
            name=op.f("fk_processing_restrictions_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processing_restrictions")),
    )
    with op.batch_alter_table("processing_restrictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processing_restrictions_subject_id"), ["subject_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("processing_restrictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processing_restrictions_subject_id"))

    op.drop_table("processing_restrictions")
    with op.batch_alter_table("personal_data_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_data_records_subject_id"))
        batch_op.drop_index(batch_op.f("ix_personal_data_records_channel_policy_version_id"))

    op.drop_table("personal_data_records")
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_holds_subject_id"))

    op.drop_table("legal_holds")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_subject_id"))

    op.drop_table("identities")
    op.drop_table("marketing_suppressions")
    op.drop_table("data_subjects")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_ts"))
        batch_op.drop_index(batch_op.f("ix_audit_events_subject_ref"))

    op.drop_table("audit_events")
