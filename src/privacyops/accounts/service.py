"""Staff accounts: creating users, checking passwords, sessions and API tokens.

Every function takes an open SQLAlchemy ``Session`` and leaves committing to the caller (the
``with db.session()`` block), so an act either happens whole or not at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from privacyops.accounts.models import ApiToken, SpentCsrfNonce, StaffSession, StaffUser
from privacyops.accounts.roles import ROLE_SCOPES, ROLES, SCOPES
from privacyops.errors import AuthenticationRequired, Conflict, InvalidInput, NotFound
from privacyops.identities import email_key
from privacyops.store.base import utcnow

__all__ = [
    "ROLES",
    "ROLE_SCOPES",
    "SCOPES",
    "TOKEN_PREFIX",
    "Principal",
    "authenticate",
    "create_api_token",
    "create_session",
    "create_user",
    "end_session",
    "hash_secret",
    "prepare_password_checks",
    "principal_for_session",
    "principal_for_token",
    "purge_expired",
    "revoke_api_token",
    "set_password",
    "spend_nonce",
]

TOKEN_PREFIX = "pops_"  # noqa: S105 -- a public prefix that marks tokens, not a secret
MAX_PASSWORD_CHARS = 1024
MIN_PASSWORD_CHARS = 12

# argon2id with the library's RFC 9106 "low memory" profile: 64 MiB, 3 passes.
_hasher = PasswordHasher()
# Verifying against this keeps unknown e-mails as slow as wrong passwords (no user oracle).
# Computed on first use, not at import: every command that imports this module would otherwise
# pay one argon2 hash (~0.4 s of CPU) before doing anything.
_dummy_hash: str | None = None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not a password of anyone")
    return _dummy_hash


def prepare_password_checks() -> None:
    """Make the dummy hash now (``serve`` calls this once it accepts connections), so that the
    first login with an unknown e-mail takes no longer than the next ones."""
    _dummy()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a member of staff by session, or an API token.

    Attributes:
        kind: ``"session"`` or ``"token"``.
        user_id: the staff user (``None`` for a token created without an owner).
        email: the user's e-mail, or the token's name.
        role: the user's role (``None`` for a token).
        scopes: what the caller may do in the JSON API.
        session_hash: the session's digest (CSRF tokens are bound to it).
    """

    kind: str
    user_id: int | None
    email: str
    role: str | None
    scopes: frozenset[str]
    session_hash: str | None = None

    def has_role(self, *roles: str) -> bool:
        """True when the principal is staff with one of ``roles`` (``admin`` has every role)."""
        return self.role is not None and (self.role == "admin" or self.role in roles)

    @property
    def actor(self) -> str:
        """How the audit log names this caller (``staff:<id>`` or ``token:<name>``)."""
        return f"staff:{self.user_id}" if self.kind == "session" else f"token:{self.email}"


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a high-entropy secret (session cookie, API token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"The password must have at least {MIN_PASSWORD_CHARS} characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"The password must have at most {MAX_PASSWORD_CHARS} characters.")


def normalise_email(email: str) -> str:
    """Lower-cased, trimmed e-mail; raises :class:`InvalidInput` when it is not one."""
    return email_key(email, check=True)


def create_user(session: Session, email: str, password: str, role: str) -> StaffUser:
    """Create a member of staff.

    Raises:
        InvalidInput: bad e-mail, unknown role or a password that is too short/long.
        Conflict: a user with that e-mail exists.
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    _check_password(password)
    if session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise Conflict("A staff user with this e-mail already exists.")
    user = StaffUser(email=email, password_hash=_hasher.hash(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, email: str, password: str) -> None:
    """Replace a user's password and end every session of theirs."""
    _check_password(password)
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == normalise_email(email)))
    if user is None:
        raise NotFound("No staff user with this e-mail.")
    user.password_hash = _hasher.hash(password)
    session.execute(sa.delete(StaffSession).where(StaffSession.user_id == user.id))


def authenticate(session: Session, email: str, password: str) -> StaffUser:
    """The active user with this e-mail and password.

    Raises:
        AuthenticationRequired: unknown e-mail, wrong password or disabled account (one message
            for all three, so the answer does not reveal which accounts exist).
    """
    failure = AuthenticationRequired("The e-mail or password is not right.")
    if len(password) > MAX_PASSWORD_CHARS or len(email) > 254:
        raise failure
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy(), password)
        raise failure
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise failure from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def create_session(session: Session, user: StaffUser, *, ttl_seconds: int) -> str:
    """Open a session for ``user``; returns the cookie value (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=hash_secret(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    # Opportunistic clean-up: expired sessions are of no use to anyone.
    session.execute(sa.delete(StaffSession).where(StaffSession.expires_at < now))
    return token


def end_session(session: Session, token: str) -> None:
    """Log out: forget the session whose cookie is ``token``."""
    session.execute(sa.delete(StaffSession).where(StaffSession.token_hash == hash_secret(token)))


def principal_for_session(
    session: Session, token: str, *, idle_seconds: int, now: datetime | None = None
) -> Principal | None:
    """The principal of a live session, or ``None`` when it is unknown, expired or idle too long.

    Touches ``last_seen_at`` at most once a minute (a page view is not a write).
    """
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    digest = hash_secret(token)
    row = session.execute(
        sa.select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.user_id)
        .where(StaffSession.token_hash == digest)
    ).first()
    if row is None:
        return None
    staff_session, user = row[0], row[1]
    if (
        not user.active
        or staff_session.expires_at <= now
        or staff_session.last_seen_at + timedelta(seconds=idle_seconds) <= now
    ):
        session.delete(staff_session)
        return None
    if now - staff_session.last_seen_at > timedelta(seconds=60):
        staff_session.last_seen_at = now
    return Principal(
        kind="session",
        user_id=user.id,
        email=user.email,
        role=user.role,
        scopes=ROLE_SCOPES[user.role],
        session_hash=digest,
    )


def create_api_token(
    session: Session,
    name: str,
    scopes: list[str],
    *,
    user: StaffUser | None = None,
    ttl_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token; returns the row and the token text (shown once, stored hashed).

    Raises:
        InvalidInput: no scope, an unknown scope, or a scope the owner's role lacks.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("Give the token a name of 1 to 100 characters.")
    if not scopes:
        raise InvalidInput(f"Give at least one scope: {', '.join(SCOPES)}.")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(f"Unknown scope(s): {', '.join(unknown)}.")
    if user is not None:
        beyond = sorted(set(scopes) - ROLE_SCOPES[user.role])
        if beyond:
            raise InvalidInput(f"The owner's role does not allow: {', '.join(beyond)}.")
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        prefix=text[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_secret(text),
        scopes=" ".join(sorted(set(scopes))),
        user_id=user.id if user is not None else None,
        expires_at=utcnow() + timedelta(days=ttl_days) if ttl_days else None,
    )
    session.add(row)
    session.flush()
    return row, text


def revoke_api_token(session: Session, token_id: int) -> None:
    """Revoke a token by id (it stops working at once)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("No API token with this id.")
    row.revoked_at = utcnow()


def principal_for_token(session: Session, text: str) -> Principal | None:
    """The principal of a valid bearer token, or ``None``."""
    if not text.startswith(TOKEN_PREFIX) or len(text) > 128:
        return None
    row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_secret(text)))
    now = utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    scopes = frozenset(row.scopes.split())
    role: str | None = None
    if row.user_id is not None:
        owner = session.get(StaffUser, row.user_id)
        if owner is None or not owner.active:
            return None
        # A token never outgrows its owner's current role.
        scopes &= ROLE_SCOPES[owner.role]
    if row.last_used_at is None or now - row.last_used_at > timedelta(seconds=60):
        row.last_used_at = now
    return Principal(kind="token", user_id=row.user_id, email=row.name, role=role, scopes=scopes)


def spend_nonce(session: Session, nonce: str, *, max_age_seconds: int) -> bool:
    """Record a CSRF nonce as used; ``False`` when it was used before (a replay)."""
    if session.get(SpentCsrfNonce, nonce) is not None:
        return False
    now = utcnow()
    try:
        with session.begin_nested():  # a concurrent replay loses the race on the primary key
            session.add(SpentCsrfNonce(nonce=nonce, spent_at=now))
    except sa.exc.IntegrityError:
        return False
    # Nonces older than any token's lifetime can never come back valid: forget them.
    session.execute(
        sa.delete(SpentCsrfNonce).where(
            SpentCsrfNonce.spent_at < now - timedelta(seconds=max_age_seconds * 2)
        )
    )
    return True


def purge_expired(session: Session, *, max_age_seconds: int) -> int:
    """Delete expired sessions and spent CSRF nonces too old to matter; returns how many."""
    now = utcnow()
    gone = session.execute(sa.delete(StaffSession).where(StaffSession.expires_at < now))
    old = session.execute(
        sa.delete(SpentCsrfNonce).where(
            SpentCsrfNonce.spent_at < now - timedelta(seconds=max_age_seconds * 2)
        )
    )
    # execute() is typed as Result; a DELETE gives a CursorResult, which has rowcount.
    return int(gone.rowcount or 0) + int(old.rowcount or 0)  # type: ignore[attr-defined]
