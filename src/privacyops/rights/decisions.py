"""Staff decisions on a request: extend the period (GDPR Art. 12(3)), refuse with reasons
(Art. 12(4)), lift a restriction after telling the person (Art. 18(3)), and decide the open
tasks (identity document, balancing test of Art. 21(1), excessive requests of Art. 12(5))."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.connectors import cancel_tasks
from privacyops.errors import Conflict, DependencyUnavailable, InvalidInput, NotFound
from privacyops.policy.establishment import clock_country
from privacyops.rights import transitions
from privacyops.rights.clocks import local_day
from privacyops.rights.documents import forget_document
from privacyops.rights.identity import Message
from privacyops.rights.messages import people_context, render_message
from privacyops.rights.models import ConnectorAnswer, OutboxMessage, RightsRequest, StaffTask
from privacyops.rights.verification import after_identity
from privacyops.rights.views import staff_row
from privacyops.rights.workflow import FINAL_STATES, RequestState, TaskKind
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["TASK_DECISIONS", "decide", "extend", "lift_restriction", "refuse", "refuse_row"]

#: The decisions staff may record on each kind of task.
TASK_DECISIONS: dict[str, frozenset[str]] = {
    TaskKind.IDENTITY_DOCUMENT.value: frozenset({"accept", "reject"}),
    TaskKind.BALANCING.value: frozenset({"uphold", "override"}),
    TaskKind.EXCESSIVE.value: frozenset({"proceed", "fee", "refuse"}),
}


def extend(
    service: RightsService,
    request_id: str,
    reason: str,
    *,
    actor: str,
    today: datetime | None = None,
) -> dict[str, Any]:
    """Extend the period by two months (GDPR Art. 12(3)), telling the person the reason.

    Raises:
        InvalidInput: no reason given.
        Conflict: already extended, final, or the first month is over (the person must be
            told within it).
    """
    if not reason or not reason.strip():
        raise InvalidInput(
            "An extension needs a reason told to the person.",
            details=[{"loc": ["reason"], "msg": "required"}],
        )
    now = today or utcnow()
    with service.write_session() as session:
        row = staff_row(service, session, request_id)
        if row.state in FINAL_STATES:
            raise Conflict("The request is already answered.")
        if row.extended_at is not None:
            raise Conflict("The request was already extended.")
        clock = service.clock(row)
        country = clock_country(service.policy.current).country
        if clock.notice_by is not None and local_day(now, country) > clock.notice_by:
            raise Conflict(
                "The first month is over: an extension must be told within it (Art. 12(3))."
            )
        row.extended_at = now
        row.extension_reason = reason.strip()
        new = service.clock(row)
        details = service.context(row).details
        service.queue_message(
            session,
            row,
            "extension",
            "email",
            Message(
                details["email"],
                *render_message(
                    "extension",
                    {
                        **people_context(service.policy.current, service.settings),
                        "request_ref": row.public_id,
                        "reason": row.extension_reason,
                        "deadline": new.deadline,
                    },
                ),
            ),
        )
        service.record(
            session,
            "rights.request.extended",
            row,
            actor=actor,
            reason=row.extension_reason,
            deadline=str(new.deadline),
        )
        view = service.view(row, staff=True)
    service.deliver_outbox(request_id=row.id)
    return view


def refuse(service: RightsService, request_id: str, reason: str, *, actor: str) -> dict[str, Any]:
    """Refuse a request with reasons; the person is told them and the further actions
    (complaint to a supervisory authority, judicial remedy; GDPR Art. 12(4))."""
    if not reason or not reason.strip():
        raise InvalidInput(
            "A refusal needs its reasons.", details=[{"loc": ["reason"], "msg": "required"}]
        )
    with service.write_session() as session:
        row = staff_row(service, session, request_id)
        refuse_row(service, session, row, reason.strip(), actor=actor)
        view = service.view(row, staff=True)
    service.deliver_outbox(request_id=row.id)
    return view


def refuse_row(
    service: RightsService, session: Session, row: RightsRequest, reason: str, *, actor: str
) -> None:
    """Refuse ``row`` in the caller's transaction: open tasks cancelled, records the systems
    returned forgotten, and the person told the reasons and further actions (Art. 12(4))."""
    transitions.move(service, session, row, RequestState.REFUSED, actor=actor, reason=reason)
    forget_document(service, session, row, actor=actor)
    # nothing more to ask of connected systems: open tasks are cancelled, records they
    # returned for the request are forgotten
    cancel_tasks(service.db, row.public_id, actor=actor, session=session)
    session.execute(
        sa.update(ConnectorAnswer)
        .where(ConnectorAnswer.request_id == row.id)
        .values(records_sealed=None)
        .execution_options(synchronize_session=False)
    )
    row.refusal_reason = reason
    row.completed_at = utcnow()
    row.lease_owner = None
    row.lease_until = None
    details = service.context(row).details
    words = people_context(service.policy.current, service.settings, details.get("country"))
    service.queue_message(
        session,
        row,
        "refusal",
        "email",
        Message(
            details["email"],
            *render_message("refusal", {**words, "request_ref": row.public_id, "reason": reason}),
        ),
    )


def lift_restriction(
    service: RightsService, request_id: str, restriction_id: int, reason: str, *, actor: str
) -> dict[str, Any]:
    """Lift a restriction made for a request, telling the person first (GDPR Art. 18(3)):
    the notice is sent, and only when it went out is the restriction lifted.

    Raises:
        InvalidInput: no reason; NotFound: unknown request or restriction;
        DependencyUnavailable: the notice could not be sent (nothing lifted).
    """
    if not reason or not reason.strip():
        raise InvalidInput(
            "Lifting a restriction needs a reason told to the person.",
            details=[{"loc": ["reason"], "msg": "required"}],
        )
    with service.write_session() as session:
        row = staff_row(service, session, request_id)
        if row.subject_ref is None:
            raise NotFound("This request restricted nothing.")
        details = service.context(row).details
        purpose = f"lift:{restriction_id}"
        service.queue_message(
            session,
            row,
            purpose,
            "email",
            Message(
                details["email"],
                *render_message(
                    "lift",
                    {
                        **people_context(service.policy.current, service.settings),
                        "request_ref": row.public_id,
                        "reason": reason.strip(),
                    },
                ),
            ),
        )
        service.record(session, "rights.restriction.notice", row, actor=actor, reason=reason)
    service.deliver_outbox(request_id=row.id)
    with service.write_session() as session:
        row = staff_row(service, session, request_id)
        sent = session.scalar(
            sa.select(OutboxMessage.sent_at).where(
                OutboxMessage.request_id == row.id, OutboxMessage.purpose == purpose
            )
        )
        if sent is None:
            raise DependencyUnavailable(
                "The person could not be told; the restriction stays until they are."
            )
        service.registry.lift_restriction(session, row.subject_ref or "", restriction_id)
        service.record(
            session,
            "rights.restriction.lifted",
            row,
            actor=actor,
            reason=reason,
            restriction=restriction_id,
        )
        return service.view(row, staff=True)


def decide(
    service: RightsService, request_id: str, kind: str, decision: str, reason: str, *, actor: str
) -> dict[str, Any]:
    """Record a staff decision on an open task and move the request on.

    ``identity_document``: accept | reject; ``balancing`` (Art. 21(1)): uphold (the
    objection stands) | override (compelling legitimate grounds, with the reason);
    ``excessive`` (Art. 12(5)): proceed | fee (a reasonable fee, amount in the reason) |
    refuse.
    """
    allowed = TASK_DECISIONS.get(kind)
    if allowed is None or decision not in allowed:
        raise InvalidInput(
            "Unknown task or decision.",
            details=[{"loc": ["decision"], "msg": f"for {kind}: {sorted(allowed or [])}"}],
        )
    if not reason or not reason.strip():
        raise InvalidInput(
            "A decision needs its reason.", details=[{"loc": ["reason"], "msg": "required"}]
        )
    now = utcnow()
    with service.write_session() as session:
        row = staff_row(service, session, request_id)
        task = session.scalar(
            sa.select(StaffTask)
            .where(StaffTask.request_id == row.id, StaffTask.kind == kind)
            .with_for_update()
        )
        if task is None or task.decision is not None:
            raise Conflict("There is no open task of that kind on this request.")
        task.decision = decision
        task.reason = reason.strip()
        task.decided_by = actor
        task.decided_at = now
        service.record(
            session,
            "rights.task.decided",
            row,
            actor=actor,
            reason=task.reason,
            task=kind,
            decision=decision,
        )
        if kind == TaskKind.IDENTITY_DOCUMENT.value:  # decided: the copy is not kept
            forget_document(service, session, row, actor=actor)
        if decision in ("reject", "refuse"):
            refuse_row(service, session, row, task.reason, actor=actor)
        elif kind == TaskKind.IDENTITY_DOCUMENT.value:
            if row.verified_at is not None and row.second_factor_at is None:
                row.second_factor_at = now
            if row.state == RequestState.AWAITING_REVIEW.value and row.subject_ref is None:
                after_identity(service, session, row, now)
            elif row.state == RequestState.AWAITING_REVIEW.value:
                transitions.move(service, session, row, RequestState.IN_PROGRESS, actor=actor)
        elif row.state == RequestState.AWAITING_REVIEW.value:
            in_steps = bool(row.lease_owner) or kind == TaskKind.BALANCING.value
            target = RequestState.IN_PROGRESS if in_steps else RequestState.VERIFIED
            transitions.move(service, session, row, target, actor=actor)
        view = service.view(row, staff=True)
    service.deliver_outbox(request_id=row.id)
    return view
