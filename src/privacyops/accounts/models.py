"""Tables of staff accounts: users, their server-side sessions, API tokens, spent CSRF nonces.

Nothing secret is stored in the clear: passwords as argon2id hashes, session cookies and API
tokens as SHA-256 digests (a copy of the database lets no one log in), CSRF nonces only once
they are spent (so a replayed form is refused).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store import Base
from privacyops.store.base import BigIntPK, UTCDateTime, utcnow

__all__ = ["ApiToken", "SpentCsrfNonce", "StaffSession", "StaffUser"]


class StaffUser(Base):
    """A member of staff who logs in to the dashboard.

    ``role`` is one of :data:`privacyops.accounts.ROLES`: ``admin`` (everything, accounts
    included), ``dpo`` (decides requests, holds, policy), ``operator`` (works requests and
    review queues), ``auditor`` (reads everything, changes nothing).
    """

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StaffSession(Base):
    """A logged-in browser: the cookie's SHA-256 digest, its absolute and idle expiry."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ApiToken(Base):
    """A bearer token for the JSON API, limited to ``scopes`` (space-separated)."""

    __tablename__ = "staff_api_tokens"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(1000))
    user_id: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SpentCsrfNonce(Base):
    """A CSRF token's nonce once a form carrying it was accepted: a second use is a replay."""

    __tablename__ = "staff_csrf_spent"

    nonce: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    spent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
