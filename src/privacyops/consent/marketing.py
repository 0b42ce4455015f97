"""Marketing e-mail consent by double opt-in (GDPR Art. 7(1); ePrivacy Directive Art. 13(1)).

1. :func:`request_opt_in`: the address is kept encrypted in the registry (the subject's
   ``email`` identity), a ``pending`` row is written, and a link with a one-time token goes to
   the address. The token itself is never stored, only its SHA-256.
2. :func:`confirm_opt_in`: following the link makes the consent ``confirmed`` (and takes the
   address off the suppression list: the person asked again, explicitly).
3. :func:`withdraw_opt_in`: the same link withdraws it at any time (Art. 7(3): as easy as
   giving it).

Nothing is stored when the e-mail cannot be sent.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from jinja2 import Environment
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog
from privacyops.consent.banner import canonical_json
from privacyops.consent.models import MarketingConsent
from privacyops.errors import InvalidInput, VerificationFailed
from privacyops.identities import email_address
from privacyops.mail import send_mail
from privacyops.policy.schema import Manifest, Purpose
from privacyops.settings import Settings
from privacyops.store import Database, IdentityIn, Registry, utcnow
from privacyops.templating import people_environment, render_message

__all__ = [
    "LINK_TTL",
    "confirm_opt_in",
    "marketing_history",
    "marketing_purpose",
    "request_opt_in",
    "withdraw_opt_in",
    "withdraw_subject_opt_ins",
]

#: How long a confirmation link works.
LINK_TTL = timedelta(hours=72)

#: The opt-in e-mail's template (``consent/templates/``).
_TEMPLATE = "marketing_opt_in.txt.j2"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return people_environment("privacyops.consent")


def _opt_in_message(texts: dict[str, str], confirm: str, withdraw: str) -> tuple[str, str, str]:
    """Subject, body and the SHA-256 of the text shown (template and values, no links)."""
    env = _environment()
    source = env.loader.get_source(env, _TEMPLATE)[0] if env.loader else ""
    shown = hashlib.sha256(canonical_json({"template": source, **texts})).hexdigest()
    subject, body = render_message(
        env, _TEMPLATE, {**texts, "confirm": confirm, "withdraw": withdraw}
    )
    return subject, body, shown


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def marketing_purpose(manifest: Manifest, purpose_id: str | None = None) -> Purpose:
    """The direct-marketing purpose the opt-in is for (the named one, or the policy's first).

    Raises:
        InvalidInput: the policy declares no such direct-marketing purpose.
    """
    for purpose in manifest.purposes:
        if purpose.direct_marketing and purpose_id in (None, purpose.id):
            return purpose
    raise InvalidInput(
        "The policy declares no such direct-marketing purpose.",
        details=[{"loc": ["purpose"], "msg": "not a direct-marketing purpose of the policy"}],
    )


def request_opt_in(
    db: Database,
    settings: Settings,
    manifest: Manifest,
    email: str,
    *,
    purpose_id: str | None = None,
    language: str = "en",
    ip_truncated: str | None = None,
    user_agent: str | None = None,
    policy_url: str,
    visitor_id: str | None = None,
) -> None:
    """Record a pending marketing consent and send the confirmation link.

    The caller's answer is the same whether the address is new or known (nothing reveals it).

    Raises:
        InvalidInput: malformed address or no such purpose.
        DependencyUnavailable: the e-mail could not be sent (nothing is stored).
    """
    # Asked and recorded even where the policy claims another basis: consent is the stronger
    # ground for direct marketing by e-mail, and the check endpoint decides by the basis.
    purpose = marketing_purpose(manifest, purpose_id)
    email = email_address(email)
    registry = Registry(db)
    token = secrets.token_urlsafe(32)
    base = settings.base_url.rstrip("/")
    texts = {
        "organization": manifest.organization,
        "purpose": purpose.name,
        "policy": policy_url,
    }
    subject_line, body, shown = _opt_in_message(
        texts,
        confirm=f"{base}/api/v1/consent/marketing/confirm?token={token}",
        withdraw=f"{base}/api/v1/consent/marketing/withdraw?token={token}",
    )
    now = utcnow()
    with db.session() as session:
        identities = [IdentityIn("email", email)]
        if visitor_id:
            identities.append(IdentityIn("visitor_id", visitor_id))
        subject = registry.get_or_create_subject(identities, session=session)
        session.add(
            MarketingConsent(
                subject_id=subject.public_id,
                token_hash=_token_hash(token),
                status="pending",
                purpose=purpose.id,
                language=language,
                policy_version=manifest.version.id,
                text_hash=shown,
                requested_at=now,
                link_expires_at=now + LINK_TTL,
                ip_truncated=ip_truncated,
                user_agent=(user_agent or "")[:512] or None,
            )
        )
        AuditLog(db).append(
            "consent.marketing.request",
            actor="subject",
            subject_ref=subject.public_id,
            details={"purpose": purpose.id, "policy_version": manifest.version.id},
            session=session,
        )
        session.flush()
        # Sent inside the transaction: when the mail fails, the pending row is rolled back.
        send_mail(settings, email, subject_line, body)


def _by_token(session: Session, token: str) -> MarketingConsent:
    row = session.scalars(
        sa.select(MarketingConsent)
        .where(MarketingConsent.token_hash == _token_hash(token))
        .with_for_update()
    ).first()
    if row is None:
        raise VerificationFailed("This link is not valid.")
    return row


def confirm_opt_in(db: Database, token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Confirm the consent the link was sent for.

    Raises:
        VerificationFailed: unknown, expired or withdrawn link.
    """
    moment = now or utcnow()
    registry = Registry(db)
    with db.session() as session:
        row = _by_token(session, token)
        if row.status == "confirmed":
            return {"status": "confirmed", "purpose": row.purpose}
        if row.status != "pending":
            raise VerificationFailed("This link is no longer valid.")
        if row.link_expires_at <= moment:
            row.status = "expired"
            session.flush()
            raise VerificationFailed("This link has expired; ask again.")
        row.status = "confirmed"
        row.confirmed_at = moment
        subject = registry.get_subject(row.subject_id, session=session)
        for kind, value in registry.identities_of(subject, session=session):
            if kind == "email":
                registry.unsuppress(value, session=session)
        AuditLog(db).append(
            "consent.marketing.confirm",
            actor="subject",
            subject_ref=row.subject_id,
            details={"purpose": row.purpose},
            session=session,
        )
        return {"status": "confirmed", "purpose": row.purpose}


def withdraw_opt_in(db: Database, token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Withdraw the consent the link belongs to (pending or confirmed).

    Raises:
        VerificationFailed: unknown link.
    """
    moment = now or utcnow()
    with db.session() as session:
        row = _by_token(session, token)
        if row.status != "withdrawn":
            row.status = "withdrawn"
            row.withdrawn_at = moment
            AuditLog(db).append(
                "consent.marketing.withdraw",
                actor="subject",
                subject_ref=row.subject_id,
                details={"purpose": row.purpose},
                session=session,
            )
        return {"status": "withdrawn", "purpose": row.purpose}


def marketing_history(session: Session, subject_id: str) -> list[dict[str, Any]]:
    """A subject's marketing consents, oldest first (for receipts)."""
    rows = session.scalars(
        sa.select(MarketingConsent)
        .where(MarketingConsent.subject_id == subject_id)
        .order_by(MarketingConsent.id)
    ).all()

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    return [
        {
            "purpose": r.purpose,
            "status": r.status,
            "method": "double opt-in by e-mail",
            "requested_at": iso(r.requested_at),
            "confirmed_at": iso(r.confirmed_at),
            "withdrawn_at": iso(r.withdrawn_at),
            "policy_version": r.policy_version,
            "text_hash": r.text_hash,
            "language": r.language,
        }
        for r in rows
    ]


def withdraw_subject_opt_ins(
    session: Session, subject_id: str, *, now: datetime | None = None
) -> int:
    """Withdraw every pending or confirmed marketing consent of a subject, in the caller's
    transaction (a consent-withdrawal request, GDPR Art. 7(3)); returns how many it withdrew.
    The caller records the act in the audit log."""
    withdrawn = session.execute(
        sa.update(MarketingConsent)
        .where(
            MarketingConsent.subject_id == subject_id,
            MarketingConsent.status.in_(("pending", "confirmed")),
        )
        .values(status="withdrawn", withdrawn_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return cast(sa.CursorResult[Any], withdrawn).rowcount
