"""Tables of the accountability registers: breaches and the letters sent to the people they
affect. No personal data: people are referred to by their subject's pseudonymous ``public_id``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store.base import Base, BigIntPK, UTCDateTime, utcnow

__all__ = ["Breach", "BreachLetter", "Dpia", "ProcessorContract"]


class Breach(Base):
    """A personal-data breach (GDPR Art. 4(12), 33(5): facts, effects, remedial action)."""

    __tablename__ = "breaches"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    aware_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The zone the organisation lives in (IANA name), for showing local times.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    systems: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    data_categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    consequences: Mapped[str | None] = mapped_column(sa.Text, default=None)
    measures: Mapped[str | None] = mapped_column(sa.Text, default=None)
    likelihood: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    severity: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    decision: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    decision_reasons: Mapped[str | None] = mapped_column(sa.Text, default=None)
    late_reasons: Mapped[str | None] = mapped_column(sa.Text, default=None)
    authority_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Art. 33(4): each phase of the notification: {"at", "note"}.
    phases: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class BreachLetter(Base):
    """The Art. 34 letter to one affected person, and whether it was delivered."""

    __tablename__ = "breach_letters"
    __table_args__ = (sa.UniqueConstraint("breach_id", "subject_ref"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    breach_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("breaches.id", ondelete="CASCADE"), index=True
    )
    subject_ref: Mapped[str] = mapped_column(sa.String(32))
    #: ``sent``, ``failed`` (mail server refused; retried on the next send) or ``no_address``.
    status: Mapped[str] = mapped_column(sa.String(16))
    message_id: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dpia(Base):
    """A data protection impact assessment of one activity (channel × purpose, Art. 35(7))."""

    __tablename__ = "dpias"
    __table_args__ = (sa.UniqueConstraint("channel", "purpose"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(sa.String(64))
    purpose: Mapped[str] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.Text)
    necessity: Mapped[str] = mapped_column(sa.Text)
    risks: Mapped[str] = mapped_column(sa.Text)
    measures: Mapped[str] = mapped_column(sa.Text)
    dpo_advice: Mapped[str] = mapped_column(sa.Text)
    review_date: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessorContract(Base):
    """The contract with one processor or joint controller (Art. 28(3) DPA, Art. 26
    arrangement) and its transfer safeguards (Art. 44-46), keyed by the manifest's processor id."""

    __tablename__ = "processor_contracts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    processor_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: ``art28_dpa`` or ``art26_arrangement``.
    kind: Mapped[str] = mapped_column(sa.String(32))
    signed_on: Mapped[date | None] = mapped_column(sa.Date, default=None)
    review_on: Mapped[date | None] = mapped_column(sa.Date, default=None)
    #: SCC module of Decision 2021/914 (1 C2C, 2 C2P, 3 P2P, 4 P2C), when SCCs are used.
    scc_module: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    tia_on: Mapped[date | None] = mapped_column(sa.Date, default=None)
    tia_outcome: Mapped[str | None] = mapped_column(sa.Text, default=None)
    tia_measures: Mapped[str | None] = mapped_column(sa.Text, default=None)
    dpf_checked_on: Mapped[date | None] = mapped_column(sa.Date, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
