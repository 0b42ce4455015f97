"""Tables of the intake: the spam gate's blocklist and rules, and the quarantine.

Blocked e-mail addresses and accounts are personal data of the sender too: they are kept as a
keyed hash (the registry's blind index) and a masked form for display, never in plaintext.
Domains and IP ranges are kept as written (they name networks, not people). A quarantined
payload is sealed with a data key of its own, wrapped by the master key; rejecting the item
deletes both.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store import Base, BigIntPK, UTCDateTime, utcnow

__all__ = ["BLOCK_KINDS", "QUARANTINE_STATES", "RULE_KINDS", "Block", "QuarantineItem", "SpamRule"]

#: What a blocklist entry matches: an account (Skype id, LinkedIn URL, phone, visitor id…), an
#: e-mail address, an e-mail domain (and its subdomains) or an IP network (CIDR).
BLOCK_KINDS = ("account", "email", "domain", "ip_range")
#: A keyword matches case-insensitively inside any text value; a regex is searched in each.
RULE_KINDS = ("keyword", "regex")
#: States of a quarantined submission:
#:   ``pending``  — waiting for a person to review it (policy §8 "filtered … manually");
#:   ``released`` — judged legitimate and stored as a normal submission;
#:   ``rejected`` — judged spam; its payload and key were deleted.
QUARANTINE_STATES = ("pending", "released", "rejected")


class Block(Base):
    """One blocklist entry of the spam and swindler gate (policy §8)."""

    __tablename__ = "intake_blocks"
    __table_args__ = (sa.UniqueConstraint("kind", "match_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    # The blind index (hex) for e-mail addresses and accounts; the normalised text otherwise.
    match_key: Mapped[str] = mapped_column(sa.String(128))
    display: Mapped[str] = mapped_column(sa.String(128))
    note: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"Block({self.kind}:{self.display})"


class SpamRule(Base):
    """A keyword or regular-expression rule of the spam gate (policy §8)."""

    __tablename__ = "intake_spam_rules"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    pattern: Mapped[str] = mapped_column(sa.String(500))
    note: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"SpamRule({self.kind}:{self.pattern!r})"


class QuarantineItem(Base):
    """A submission held for manual review because it matched the spam gate.

    ``reasons`` names what matched (``"blocklist:domain#3"``, ``"rule:keyword#5"``) without
    personal data. ``payload_sealed`` is the submission (payload, client address, options)
    sealed under ``key_wrapped``; both are set to null when the item is decided.
    """

    __tablename__ = "intake_quarantine"
    __table_args__ = (sa.Index(None, "status", "received_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(64))
    policy_version: Mapped[str] = mapped_column(sa.String(64))
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    key_wrapped: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    payload_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    decision_note: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    subject_ref: Mapped[str | None] = mapped_column(sa.String(64), default=None)

    def __repr__(self) -> str:
        return f"QuarantineItem({self.public_id!r}, {self.status})"
