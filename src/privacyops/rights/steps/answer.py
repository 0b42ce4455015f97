"""``answer``: the request is answered (GDPR Art. 12(3)).

For an erasure, rectification or restriction, the systems that had not done their part are
asked again first (the request waits while any has not) and the recipients notified under
Art. 19 are named. Access and portability were answered by the ``export`` step's message;
an erasure gets its answer from its template (:mod:`privacyops.rights.erasure`), every other
type gets its answer here. The request is then complete.
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.erasure import render_erasure_answer
from privacyops.rights.messages import answer_message
from privacyops.rights.steps.base import Step
from privacyops.rights.steps.notify import NOTICE_ACTIONS
from privacyops.rights.systems import recheck
from privacyops.rights.workflow import RequestType
from privacyops.store import utcnow

__all__ = ["answer"]


def answer(step: Step) -> dict[str, Any]:
    """Write the answer to the outbox and mark the request answered."""
    row = step.row
    kind = RequestType(row.type)
    if kind in NOTICE_ACTIONS:  # erasure, rectification, restriction
        recheck(step)
        notices = step.look.notices(row.public_id)
        outcome = step.outcome
        outcome.recipients_notified = [
            n.recipient_name for n in notices if n.status in ("sent", "acknowledged")
        ]
        outcome.store(row)
    if kind is RequestType.ERASURE:
        # the erasure answer's words: rights/templates/erasure_answer.txt.j2
        subject, body = render_erasure_answer(
            row.public_id, step.outcome, step.service.policy.current, step.ctx.details.get("ground")
        )
        step.say("answer", subject, body)
    elif kind not in (RequestType.ACCESS, RequestType.PORTABILITY):
        service = step.service
        step.say(
            "answer",
            *answer_message(
                service.policy.current,
                service.settings,
                row.type,
                row.public_id,
                row.outcome or {},
                step.ctx.details,
            ),
        )
    row.completed_at = utcnow()
    return {}
