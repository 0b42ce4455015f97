"""``answer``: the request is answered (GDPR Art. 12(3)).

For an erasure, rectification or restriction, the systems that had not done their part are
asked again first (the request waits while any has not); a recipient that could not be
notified waits for the DPO's Art. 19 decision (the request waits for review with the
``recipients`` task), and the answer offers the person the list of recipients. Access and
portability were answered by the ``export`` step's message; every other type gets its answer
here. The request is then complete.
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.erasure import render_erasure_answer
from privacyops.rights.messages import answer_message
from privacyops.rights.models import RecipientNotice
from privacyops.rights.recipients import undecided
from privacyops.rights.steps.base import Step, Wait
from privacyops.rights.steps.notify import NOTICE_ACTIONS
from privacyops.rights.systems import recheck
from privacyops.rights.texts import render_text
from privacyops.rights.workflow import RequestType, TaskKind
from privacyops.store import utcnow

__all__ = ["answer"]


def answer(step: Step) -> dict[str, Any]:
    """Write the answer to the outbox and mark the request answered."""
    row = step.row
    kind = RequestType(row.type)
    notices: list[RecipientNotice] = []
    if kind in NOTICE_ACTIONS:  # erasure, rectification, restriction
        recheck(step)
        notices = step.look.notices(row.public_id)
        if undecided(notices):  # Art. 19: told, or the DPO decides why not, before answering
            raise Wait(TaskKind.RECIPIENTS)
        outcome = step.outcome
        outcome.recipients_notified = [
            n.recipient_name for n in notices if n.status in ("sent", "acknowledged", "other_route")
        ]
        # after the DPO's Art. 19 decisions: only those exempted are left not notified
        outcome.not_notified = [
            n.recipient_name for n in notices if n.status in ("impossible", "disproportionate")
        ]
        outcome.store(row)
    if kind is RequestType.ERASURE:
        # the erasure answer's words: rights/templates/erasure_answer.txt.j2
        subject, text = render_erasure_answer(
            row.public_id, step.outcome, step.service.policy.current, step.ctx.details.get("ground")
        )
    elif kind not in (RequestType.ACCESS, RequestType.PORTABILITY):
        service = step.service
        subject, text = answer_message(
            service.policy.current,
            service.settings,
            row.type,
            row.public_id,
            row.outcome or {},
            step.ctx.details,
        )
    else:  # answered by the export step's message
        row.completed_at = utcnow()
        return {}
    if notices:  # Art. 19, second sentence: the person may ask who the recipients are
        text = f"{text}\n\n{_recipients_offer(step, notices)}"
    step.say("answer", subject, text)
    row.completed_at = utcnow()
    return {}


def _recipients_offer(step: Step, notices: list[RecipientNotice]) -> str:
    """The Art. 19 paragraph: recipients were told, and the person may ask who they are."""
    base = step.service.settings.base_url.rstrip("/")
    return render_text(
        "recipients_offer.txt",
        other_route=any(n.status == "other_route" for n in notices),
        exempt=any(n.status in ("impossible", "disproportionate") for n in notices),
        url=f"{base}/privacy/requests/{step.row.public_id}",
    )
