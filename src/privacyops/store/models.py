"""Tables of the personal-data registry.

Nothing here holds personal data in plaintext: identity values and record payloads are sealed
with the subject's data key (:mod:`privacyops.store.crypto`), and identities and suppressed
e-mail addresses are found through keyed hashes (HMAC blind indexes).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from privacyops.store.base import Base, BigIntPK, UTCDateTime, utcnow

__all__ = [
    "DataSubject",
    "Identity",
    "IdentityReview",
    "LegalHold",
    "LocalMail",
    "MarketingSuppression",
    "PersonalDataRecord",
    "ProcessingRestriction",
]


class DataSubject(Base):
    """A natural person the registry holds data about, known outside by ``public_id`` only.

    ``erased_at`` is set when the subject was crypto-shredded: the row stays as a tombstone so
    references (audit events, requests) still resolve, but nothing of the person remains.
    """

    __tablename__ = "data_subjects"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="subject", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"DataSubject({self.public_id!r})"


class Identity(Base):
    """One way to recognise a subject: an e-mail address, phone number, visitor id...

    ``kind`` is one of :data:`privacyops.identities.IDENTITY_KINDS`; ``blind_index`` is the
    HMAC of the kind and the normalised value; ``value_sealed`` the value itself, encrypted.
    """

    __tablename__ = "identities"
    __table_args__ = (
        # Many subjects may share a corroborating identity (a phone line), never an identifying
        # one (an e-mail address): see docs/registry.md.
        sa.UniqueConstraint("kind", "blind_index", "subject_id"),
        sa.Index(
            "uq_identities_identifying",
            "kind",
            "blind_index",
            unique=True,
            sqlite_where=sa.text("identifies"),
            postgresql_where=sa.text("identifies"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(
        sa.ForeignKey("data_subjects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    blind_index: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    value_sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: True when the identity finds its subject on its own (e-mail, customer id); false when
    #: it only corroborates (phone, name): the manifest's ``identifies`` or the kind's default.
    identifies: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subject: Mapped[DataSubject] = relationship(back_populates="identities")


class IdentityReview(Base):
    """A submission whose identifying identities pointed at more than one known subject (the
    e-mail says one person, the customer id another). Its record waits on a subject of its own
    (``subject_id``) until staff decide: merge it into one of the candidates, or keep it apart.

    ``matches`` holds ``{"subject": public id, "kinds": [identity kinds]}`` items: no values.
    """

    __tablename__ = "identity_reviews"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(
        sa.ForeignKey("data_subjects.id", ondelete="CASCADE"), index=True
    )
    matches: Mapped[list[dict[str, object]]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    #: "merged" (into ``merged_into``) or "separate"
    outcome: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    merged_into: Mapped[str | None] = mapped_column(sa.String(32), default=None)


class PersonalDataRecord(Base):
    """A piece of personal data collected through one channel, with why and until when.

    The clock columns are the events a retention rule can start from (policy manifest:
    collection, last contact, last event registration, last service delivery).
    """

    __tablename__ = "personal_data_records"
    # Retention sweeps walk one (channel, policy version) group in id order, in chunks; the
    # few records an erasure kept are found by a partial index of their own (retention.kept).
    __table_args__ = (
        sa.Index(None, "channel", "policy_version", "id"),
        sa.Index(
            "ix_personal_data_records_keep_until",
            "keep_until",
            sqlite_where=sa.text("keep_until IS NOT NULL"),
            postgresql_where=sa.text("keep_until IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(
        sa.ForeignKey("data_subjects.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(64))
    data_categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    purposes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    legal_basis: Mapped[str] = mapped_column(sa.String(64))
    policy_version: Mapped[str] = mapped_column(sa.String(64))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_event_registration_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_service_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    source_system: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    payload_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when retention anonymised the record: payload and source gone, clocks coarsened to
    #: the month, the subject erased; what remains is statistics.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Set when an erasure kept the record under a GDPR Art. 17(3) exception (a statutory
    #: keep-period): the moment the exception ends and retention erases it. ``kept_under`` names
    #: the exception (``legal_obligation``, ``legal_claims``, ...); no personal data.
    keep_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    kept_under: Mapped[str | None] = mapped_column(sa.String(64), default=None)


class ProcessingRestriction(Base):
    """A restriction of processing (GDPR Art. 18) on a subject; active while ``lifted_at`` is
    null. ``ground`` is one of :class:`privacyops.policy.restriction.RestrictionGround`."""

    __tablename__ = "processing_restrictions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(
        sa.ForeignKey("data_subjects.id", ondelete="CASCADE"), index=True
    )
    ground: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class LegalHold(Base):
    """Keeps a subject's data past its retention (e.g. for legal claims, GDPR Art. 17(3)(e)).

    Active while ``lifted_at`` is null and ``until`` (when set) is in the future. ``reason``
    must not contain personal data: it is shown in reports and the audit log.
    """

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(
        sa.ForeignKey("data_subjects.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(sa.Text)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MarketingSuppression(Base):
    """An e-mail address that must never receive marketing again (objection, GDPR Art. 21(3)).

    Kept as an HMAC only; it survives the erasure of the subject, by design.
    """

    __tablename__ = "marketing_suppressions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    email_hmac: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    reason: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LocalMail(Base):
    """A message kept instead of sent while no SMTP server is configured (see
    :mod:`privacyops.store.mailbox`): recipient, subject and text sealed with a key of its own,
    wrapped by the master key. Staff read it at ``/dashboard/outbox`` (audited)."""

    __tablename__ = "local_mail"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    data_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
