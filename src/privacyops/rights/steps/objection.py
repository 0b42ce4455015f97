"""``object``: the right to object (GDPR Art. 21).

Direct marketing stops at once (Art. 21(3): the suppression list is consulted by every
sender). An objection to legitimate-interest processing restricts it while staff weigh it
(Art. 18(1)(d)), decided in the ``balance`` step.
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.outcome import Outcome
from privacyops.rights.steps.base import Step
from privacyops.rights.workflow import OBJECTION_KINDS

__all__ = ["object_to_processing"]


def object_to_processing(step: Step) -> dict[str, Any]:
    """Suppress direct marketing, or restrict pending the balancing test."""
    service, session, row = step.service, step.session, step.row
    kind = step.ctx.details.get("objection", "direct_marketing")
    if kind == "direct_marketing":
        service.registry.suppress_email(session, step.ctx.details["email"], "objection")
        Outcome(objection=OBJECTION_KINDS[kind], result="direct marketing stopped").store(row)
        return {"suppressed": True}
    restriction = None
    if row.subject_ref is not None:
        restriction = service.registry.restrict(
            session, row.subject_ref, "objection_pending", row.public_id
        )
    Outcome(objection=OBJECTION_KINDS[kind], restriction=restriction).store(row)
    return {"restriction": restriction}
