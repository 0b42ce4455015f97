"""``resolve``: find the person the request is about (GDPR Art. 11(2), 12(6)).

The registry is consulted only now, after the identity was confirmed: by the confirmed
e-mail address, and with a phone second factor the phone must be an identity of the same
person, else staff review the identity (Art. 12(6): additional information).
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.steps.base import Step
from privacyops.rights.workflow import TaskKind

__all__ = ["resolve"]


def resolve(step: Step) -> dict[str, Any]:
    """Set the request's subject; a phone of someone else waits for an identity review."""
    service, session, details = step.service, step.session, step.ctx.details
    subject = step.look.subject_by_email(details["email"])
    step.row.subject_ref = subject
    if (
        subject is not None
        and step.row.second_factor_at is not None
        and service.settings.second_factor == "phone_code"
        and details.get("phone")
        # a phone may be shared (an office line): it must be one of this person's identities
        and not service.registry.holds_identity(session, subject, "phone", details["phone"])
    ):
        step.decision(TaskKind.IDENTITY_DOCUMENT)
    return {"known": subject is not None}
