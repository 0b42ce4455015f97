"""What a request looks like to the person and to staff: state, legal clock, outcome, and
after a refusal the further actions open to the person (GDPR Art. 12(4)); no personal data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import InvalidInput, NotFound, VerificationFailed
from privacyops.policy.establishment import clock_country
from privacyops.rights.authorities import answer_complaint
from privacyops.rights.clocks import RequestClock, request_clock
from privacyops.rights.documents import document_state
from privacyops.rights.idcheck import question_open, question_options
from privacyops.rights.messages import further_actions
from privacyops.rights.models import RightsRequest, StaffTask
from privacyops.rights.verification import BAD_CODE, load_request
from privacyops.rights.workflow import RequestState
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = [
    "clock",
    "list_requests",
    "show",
    "staff_row",
    "staff_views",
    "status",
    "view",
]


def clock(service: RightsService, row: RightsRequest) -> RequestClock:
    """The legal clock of ``row`` (clock start per the ``clock_start`` setting). When the
    identity was found genuinely in doubt (staff review a document), it runs from the review's
    acceptance instead, and is paused until then (Art. 12(3) with 12(6))."""
    if row.identity_doubt_at is not None:
        return request_clock(
            received_at=row.received_at,
            verified_at=row.second_factor_at,
            country=clock_country(service.policy.current).country,
            mode="verification",
            extended=row.extended_at is not None,
        )
    return request_clock(
        received_at=row.received_at,
        verified_at=row.verified_at,
        country=clock_country(service.policy.current).country,
        mode=service.settings.clock_start,
        extended=row.extended_at is not None,
    )


def view(service: RightsService, row: RightsRequest, *, staff: bool = False) -> dict[str, Any]:
    """What the requester (or staff) sees of a request; no personal data."""
    out: dict[str, Any] = {
        "request_id": row.public_id,
        "type": row.type,
        "state": row.state,
        "received_at": row.received_at.astimezone(UTC).isoformat(),
        "clock": service.clock(row).as_dict(),
        "extension_reason": row.extension_reason,
        "refusal": None,
        "outcome": row.outcome,
    }
    overridden = (row.outcome or {}).get("decision") == "override"  # Art. 21(1)
    if row.state == RequestState.REFUSED.value or overridden:
        authority = answer_complaint(None, service.policy.current.contact_point.country)
        out["remedies"] = {
            "further_actions": further_actions(service.policy.current, service.settings),
            "authority": authority.authority.as_dict(),
        }
    if row.state == RequestState.REFUSED.value:
        out["refusal"] = {"reason": row.refusal_reason, **out["remedies"]}
    if row.state == RequestState.AWAITING_IDENTITY.value:
        out["next"] = (
            "Enter the code we sent to your phone."
            if row.verified_at is not None
            else "Enter the code we sent to your e-mail address."
        )
        if row.verified_at is not None and question_open(row):
            out["next"] = "Answer the question below to confirm it is you."
            out["question"] = {"options": question_options(service)}
    document = document_state(row)
    if document is not None:  # staff review: the person may upload an identity document
        out["document"] = document
    if staff:
        out["flagged"] = row.flagged
        out["subject_ref"] = row.subject_ref
        out["verified_at"] = row.verified_at.isoformat() if row.verified_at else None
    return out


def status(
    service: RightsService, request_id: str, token: str, *, client: str = "local"
) -> dict[str, Any]:
    """The requester's view of a request, given its bearer token."""
    with service.db.read_session() as session:
        try:
            row = load_request(service, session, request_id, token)
        except VerificationFailed:
            pass  # counted below, once the session is closed (no write inside a read)
        else:
            return service.view(row)
    service.count_failure(client, utcnow())
    raise VerificationFailed(BAD_CODE)


def staff_row(service: RightsService, session: Session, request_id: str) -> RightsRequest:
    """The request ``request_id``, locked for a staff decision.

    Raises:
        NotFound: no request has that reference."""
    row = session.scalar(
        sa.select(RightsRequest).where(RightsRequest.public_id == request_id).with_for_update()
    )
    if row is None:
        raise NotFound("No request has that reference.")
    return row


def staff_views(
    service: RightsService, session: Session, rows: Sequence[RightsRequest]
) -> list[dict[str, Any]]:
    """The staff views of ``rows``, each with its tasks."""
    views = [service.view(r, staff=True) for r in rows]
    for view, row in zip(views, rows, strict=True):
        tasks = session.scalars(sa.select(StaffTask).where(StaffTask.request_id == row.id))
        view["tasks"] = [
            {"kind": t.kind, "decision": t.decision, "reason": t.reason} for t in tasks
        ]
    return views


def list_requests(
    service: RightsService, *, state: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Requests for staff, the nearest deadline first.

    Raises:
        InvalidInput: ``state`` is not a request state.
    """
    if state is not None and state not in {s.value for s in RequestState}:
        raise InvalidInput(
            "Unknown request state.",
            details=[{"loc": ["state"], "msg": "one of " + ", ".join(RequestState)}],
        )
    with service.db.session() as session:
        query = sa.select(RightsRequest).order_by(RightsRequest.received_at).limit(limit)
        if state:
            query = query.where(RightsRequest.state == state)
        views = staff_views(service, session, list(session.scalars(query)))
    return sorted(views, key=lambda v: v["clock"]["deadline"] or "9999")


def show(service: RightsService, request_id: str) -> dict[str, Any]:
    """One request for staff, with its open and decided tasks.

    Raises:
        NotFound: no request has that reference.
    """
    with service.db.session() as session:
        row = session.scalar(sa.select(RightsRequest).where(RightsRequest.public_id == request_id))
        if row is None:
            raise NotFound("No request has that reference.")
        return staff_views(service, session, [row])[0]
