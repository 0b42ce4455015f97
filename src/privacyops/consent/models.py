"""Consent tables: banner choices (one row per choice, chained per visitor) and marketing e-mail
consent with double opt-in.

A consent record is evidence (GDPR Art. 7(1)): rows are only ever inserted, never updated;
a new choice is a new row whose ``previous_id`` points at the visitor's last one.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store import Base, BigIntPK, UTCDateTime

__all__ = ["ConsentRecord", "MarketingConsent"]


class ConsentRecord(Base):
    """One choice made on the banner (or a GPC signal, or a withdrawal).

    ``analytics``/``advertising``/``widgets`` hold each category's state (``necessary`` is
    always on and not stored); ``vendors`` is the canonical JSON of every vendor's state,
    refusals included. ``page_url`` keeps only scheme, host and path (a query string can carry
    personal data); ``ip_truncated`` keeps the /24 (IPv4) or /48 (IPv6) network only.
    """

    __tablename__ = "consent_records"
    __table_args__ = (
        sa.Index("ix_consent_records_visitor_id_id", "visitor_id", "id"),
        sa.CheckConstraint(
            "action IN ('accept', 'reject', 'custom', 'withdraw', 'gpc')", name="action"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    visitor_id: Mapped[str] = mapped_column(sa.String(64))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    analytics: Mapped[bool] = mapped_column(sa.Boolean())
    advertising: Mapped[bool] = mapped_column(sa.Boolean())
    widgets: Mapped[bool] = mapped_column(sa.Boolean())
    vendors: Mapped[str] = mapped_column(sa.Text())
    gpc: Mapped[bool] = mapped_column(sa.Boolean())
    banner_version: Mapped[str] = mapped_column(sa.String(64))
    text_hash: Mapped[str] = mapped_column(sa.String(64))
    language: Mapped[str] = mapped_column(sa.String(16))
    policy_version: Mapped[str] = mapped_column(sa.String(80))
    page_url: Mapped[str | None] = mapped_column(sa.String(2048))
    ip_truncated: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    previous_id: Mapped[int | None] = mapped_column(
        sa.BigInteger(), sa.ForeignKey("consent_records.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(sa.String(16))


class MarketingConsent(Base):
    """Consent to marketing e-mail (GDPR Art. 6(1)(a), ePrivacy Art. 13(1)), given by double
    opt-in: ``pending`` until the link sent to the address is followed.

    States: ``pending`` (asked, link sent) -> ``confirmed`` (link followed) -> ``withdrawn``;
    ``pending`` -> ``expired`` when the link is not followed in time. The address itself lives
    encrypted in the registry (the subject's ``email`` identity); here only the subject's
    pseudonymous id and a hash of the one-time token are kept.
    """

    __tablename__ = "consent_marketing"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'withdrawn', 'expired')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    purpose: Mapped[str] = mapped_column(sa.String(80))
    language: Mapped[str] = mapped_column(sa.String(16))
    policy_version: Mapped[str] = mapped_column(sa.String(80))
    text_hash: Mapped[str] = mapped_column(sa.String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    link_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip_truncated: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
