"""The marketing outbox: every electronic marketing message goes through `consent check` and
carries an opt-out.

A message is refused, and nothing is sent, when the check refuses it: an erased or restricted
person, an address on the suppression list, no confirmed consent, or e-mail marketing on
another basis outside the soft opt-in for customers (ePrivacy Art. 13(1)-(2); see
:mod:`privacyops.consent.electronic`). A message that is sent ends with the opt-out the soft
opt-in requires in every message (Art. 13(2)) and GDPR Art. 21(2)-(3) gives everyone: a link to
the objection form, whose request puts the address on the suppression list at once.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from privacyops.audit import AuditLog
from privacyops.audit.actions import MARKETING_SEND
from privacyops.consent.banner import Banner
from privacyops.consent.check import Decision, check_use
from privacyops.errors import InvalidInput, ProcessingRestricted
from privacyops.mail import send_mail
from privacyops.policy.schema import Manifest
from privacyops.settings import Settings
from privacyops.store import Database, Registry

__all__ = ["opt_out_footer", "send_marketing"]


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("privacyops.consent", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(default_for_string=False, default=False),  # plain text
        keep_trailing_newline=True,
    )


def opt_out_footer(settings: Settings, manifest: Manifest, purpose_id: str) -> str:
    """The opt-out every marketing message carries (no personal data in the link)."""
    return (
        _env()
        .get_template("marketing_opt_out.txt.j2")
        .render(
            organization=manifest.organization,
            purpose=manifest.purpose(purpose_id).name,
            opt_out_url=f"{settings.base_url.rstrip('/')}/privacy/requests/new?type=objection",
        )
    )


def send_marketing(
    db: Database,
    settings: Settings,
    *,
    manifest: Manifest,
    banner: Banner,
    purpose_id: str,
    email: str,
    subject: str,
    body: str,
) -> Decision:
    """Send one marketing e-mail for ``purpose_id`` to ``email`` when `consent check` allows it,
    with the opt-out appended; return the check's decision.

    Raises:
        InvalidInput: the purpose is not direct marketing.
        ProcessingRestricted: the check refuses (its reason is the error's message).
        DependencyUnavailable: the mail server failed (the audit entry is rolled back).
    """
    try:
        purpose = manifest.purpose(purpose_id)
    except KeyError:
        purpose = None
    if purpose is None or not purpose.direct_marketing:
        raise InvalidInput(
            "Only a direct-marketing purpose of the policy can be sent through the outbox.",
            details=[{"loc": ["purpose"], "msg": "not a direct-marketing purpose"}],
        )
    registry = Registry(db)
    with db.session() as session:
        decision = check_use(
            session,
            manifest=manifest,
            banner=banner,
            registry=registry,
            purpose=purpose_id,
            email=email,
        )
        if not decision.allow:
            raise ProcessingRestricted(decision.reason)
        subject_row = registry.find_subject("email", email, session=session)
        AuditLog(db).append(
            MARKETING_SEND,
            actor="system",
            subject_ref=subject_row.public_id if subject_row else None,
            details={"purpose": purpose_id, "rule": decision.rule},
            session=session,
        )
        session.flush()
        footer = opt_out_footer(settings, manifest, purpose_id)
        send_mail(settings, email, subject, f"{body.rstrip()}\n\n{footer}")
    return decision
