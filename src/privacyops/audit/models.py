"""Tables of the audit log: the events and the head of the chain.

Every column an event shows is covered by its hash (see :mod:`privacyops.audit.log`), so none
can change unseen. ``ts`` is kept as fixed-width ISO 8601 UTC text
(``2026-01-31T12:00:00.000000Z``): it sorts correctly and hashes the same on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store.base import Base, BigIntPK

__all__ = ["LINE_SQL", "AuditEvent", "AuditHead"]

#: The text each event's hash covers, as the database computes it from the event's columns
#: (U+001E after the previous hash, U+001F between fields). A generated column cannot be
#: written, only recomputed: it always matches the columns, so verify() reads it alone.
LINE_SQL = (
    "prev_hash || '\x1e' || CAST(seq AS VARCHAR(20)) || '\x1f' || ts || '\x1f' || actor"
    " || '\x1f' || action || '\x1f' || COALESCE(subject_ref, '') || '\x1f'"
    " || COALESCE(reason, '') || '\x1f' || details"
)


class AuditEvent(Base):
    """One act on personal data or configuration, chained to the one before it."""

    __tablename__ = "audit_events"

    # SQLite's INTEGER PRIMARY KEY is the rowid: ordered scans by seq read the table itself.
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(sa.String(27), index=True)
    actor: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_ref: Mapped[str | None] = mapped_column(sa.String(64), index=True, default=None)
    reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    line: Mapped[str | None] = mapped_column(sa.Text, sa.Computed(LINE_SQL, persisted=True))

    @property
    def timestamp(self) -> datetime:
        """``ts`` as a timezone-aware datetime."""
        return datetime.strptime(self.ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def __repr__(self) -> str:
        return f"AuditEvent(seq={self.seq}, action={self.action!r})"


class AuditHead(Base):
    """The single row (``id = 1``) naming the last event: appends lock it, so they serialise,
    and verification compares it with the last event, so a truncated tail is detected."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))
