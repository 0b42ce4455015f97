"""Art. 19 enforced: every recipient is told, or the DPO decides why not.

GDPR Art. 19, first sentence: the controller communicates a rectification, erasure or
restriction to each recipient to whom the data were disclosed, "unless this proves impossible
or involves disproportionate effort". A recipient the policy gives no address for is recorded
``unreachable`` by the ``notify`` step; the request then waits (``answer`` raises
:class:`~privacyops.rights.steps.base.Wait` with the ``recipients`` task) until the DPO has,
for each one, either told it another way (``other_route``, saying how) or recorded that telling
it is ``impossible`` or ``disproportionate`` (saying why). Only then is the request answered.

Second sentence: the person is told those recipients if they ask; the answer offers it and
:func:`recipients_for_person` gives the list to whoever holds the request's key.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import Conflict, InvalidInput
from privacyops.rights import transitions
from privacyops.rights.models import RecipientNotice, StaffTask
from privacyops.rights.verification import counted_request
from privacyops.rights.views import staff_row
from privacyops.rights.workflow import RequestState, TaskKind
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = [
    "DECISIONS",
    "UNREACHABLE",
    "decide_recipient",
    "notices_view",
    "recipients_for_person",
    "record_unreachable",
    "staff_recipients",
    "undecided",
]

#: The status of a recipient with no address, until the DPO decides.
UNREACHABLE = "unreachable"
#: What the DPO may record for it (the note says how it was told, or why not).
DECISIONS = frozenset({"other_route", "impossible", "disproportionate"})
NOTE_MAX = 2000


def record_unreachable(
    session: Session,
    *,
    action: str,
    request_ref: str,
    recipients: Iterable[tuple[str, str]],
    subject_ref: str | None,
) -> None:
    """Record (once) each ``(id, name)`` that has no address as ``unreachable``, in the
    caller's transaction."""
    for rid, name in recipients:
        exists = session.scalar(
            sa.select(RecipientNotice.id).where(
                RecipientNotice.request_ref == request_ref,
                RecipientNotice.recipient_id == rid,
                RecipientNotice.action == action,
            )
        )
        if exists is None:
            session.add(
                RecipientNotice(
                    request_ref=request_ref,
                    subject_ref=subject_ref,
                    action=action,
                    recipient_id=rid,
                    recipient_name=name,
                    channel="none",
                    target="",
                    ack_token=secrets.token_urlsafe(32),  # never sent: no ack
                    status=UNREACHABLE,
                    attempts=0,
                    reminders=0,
                )
            )
    session.flush()


def undecided(notices: Iterable[RecipientNotice]) -> list[RecipientNotice]:
    """The notices still waiting for the DPO's Art. 19 decision."""
    return [n for n in notices if n.status == UNREACHABLE]


def notices_view(notices: Iterable[RecipientNotice], *, staff: bool) -> list[dict[str, Any]]:
    """Each recipient and where its notice stands. The person sees the name, the status and,
    for an exemption, the reason recorded; staff also see how another route was used, who
    decided and the channel."""
    out: list[dict[str, Any]] = []
    for n in notices:
        item: dict[str, Any] = {
            "recipient_id": n.recipient_id,
            "recipient": n.recipient_name,
            "action": n.action,
            "status": n.status,
            "sent_at": n.sent_at.isoformat() if n.sent_at else None,
            "acknowledged_at": n.acknowledged_at.isoformat() if n.acknowledged_at else None,
        }
        if n.status in ("impossible", "disproportionate") or staff:
            item["note"] = n.note
        if staff:
            item |= {
                "channel": n.channel,
                "decided_by": n.decided_by,
                "decided_at": n.decided_at.isoformat() if n.decided_at else None,
            }
        out.append(item)
    return out


def _notices(session: Session, request_ref: str) -> list[RecipientNotice]:
    return list(
        session.scalars(
            sa.select(RecipientNotice)
            .where(RecipientNotice.request_ref == request_ref)
            .order_by(RecipientNotice.id)
        )
    )


def decide_recipient(
    service: RightsService,
    request_id: str,
    recipient_id: str,
    decision: str,
    note: str,
    *,
    actor: str,
) -> dict[str, Any]:
    """Record the DPO's Art. 19 decision on one unreachable recipient of a request. When no
    recipient is left undecided, the ``recipients`` task closes and the request moves on to
    its answer.

    Raises:
        InvalidInput: unknown decision, or no note (how it was told / why not).
        NotFound: no such request. Conflict: that recipient is not waiting for a decision.
    """
    if decision not in DECISIONS:
        raise InvalidInput(
            "Unknown decision.",
            details=[{"loc": ["decision"], "msg": f"one of: {', '.join(sorted(DECISIONS))}"}],
        )
    note = (note or "").strip()
    if not note or len(note) > NOTE_MAX:
        raise InvalidInput(
            "Say how the recipient was told, or why telling it is impossible or disproportionate.",
            details=[{"loc": ["note"], "msg": f"required, at most {NOTE_MAX} characters"}],
        )
    now = utcnow()
    with service.write_session() as session:
        row = staff_row(service, session, request_id)
        notices = _notices(session, row.public_id)
        target = next(
            (n for n in notices if n.recipient_id == recipient_id and n.status == UNREACHABLE),
            None,
        )
        if target is None:
            raise Conflict("That recipient does not wait for an Art. 19 decision.")
        target.status = decision
        target.note = note
        target.decided_by = actor
        target.decided_at = now
        service.record(
            session,
            "notice.decided",
            row,
            actor=actor,
            reason=note,
            recipient=recipient_id,
            decision=decision,
        )
        if not undecided(notices):
            _close_task(service, session, row.id, actor=actor, now=now)
            if row.state == RequestState.AWAITING_REVIEW.value:
                transitions.move(service, session, row, RequestState.IN_PROGRESS, actor=actor)
        view = service.view(row, staff=True)
        view["recipients"] = notices_view(notices, staff=True)
    return view


def _close_task(
    service: RightsService, session: Session, request_id: int, *, actor: str, now: Any
) -> None:
    task = session.scalar(
        sa.select(StaffTask).where(
            StaffTask.request_id == request_id, StaffTask.kind == TaskKind.RECIPIENTS.value
        )
    )
    if task is None or task.decision is not None:
        return
    task.decision = "decided"
    task.reason = "Every recipient was notified or an Art. 19 decision was recorded."
    task.decided_by = actor
    task.decided_at = now


def recipients_for_person(
    service: RightsService, request_id: str, token: str, *, client: str = "local"
) -> list[dict[str, Any]]:
    """The recipients of the request's Art. 19 notices, for the person holding its key
    (Art. 19, second sentence). Empty until the request has reached them."""
    with counted_request(service, request_id, token, client=client, write=False) as (session, row):
        if row.verified_at is None:
            return []
        return notices_view(_notices(session, row.public_id), staff=False)


def staff_recipients(service: RightsService, request_id: str) -> list[dict[str, Any]]:
    """The request's recipients and their Art. 19 status, for staff.

    Raises:
        NotFound: no request has that reference.
    """
    with service.db.session() as session:
        row = staff_row(service, session, request_id)
        return notices_view(_notices(session, row.public_id), staff=True)
