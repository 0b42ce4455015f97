"""Every change of a request's state, in one place.

The states and the moves allowed between them are declared in
:mod:`privacyops.rights.workflow`; the functions here make a move (checked against that
table), record it in the audit log in the same transaction, and keep the lease columns that
go with it consistent: a request leaves a worker's hands when it waits for review, completes
or is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit import NewEvent
from privacyops.rights.models import RightsRequest, StaffTask
from privacyops.rights.workflow import RequestState, TaskKind, check_transition

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["await_review", "complete", "move", "open_task", "release", "start"]


def move(
    service: RightsService,
    session: Session,
    row: RightsRequest,
    target: RequestState,
    *,
    actor: str = "system",
    reason: str | None = None,
    pending: list[NewEvent] | None = None,
) -> None:
    """Move ``row`` to ``target`` and record ``rights.request.<target>``.

    Raises:
        InvalidTransition: the workflow does not allow the move.
    """
    check_transition(row.state, target)
    previous = row.state
    row.state = target.value
    service.record(
        session,
        f"rights.request.{target.value}",
        row,
        actor=actor,
        reason=reason,
        pending=pending,
        previous=previous,
    )


def open_task(
    service: RightsService, session: Session, row: RightsRequest, kind: TaskKind
) -> StaffTask:
    """The staff task of ``kind`` on ``row``, opened (and recorded) if it is not yet."""
    task = session.scalar(
        sa.select(StaffTask).where(StaffTask.request_id == row.id, StaffTask.kind == kind.value)
    )
    if task is None:
        task = StaffTask(request_id=row.id, kind=kind.value)
        session.add(task)
        session.flush()
        service.record(session, "rights.task.opened", row, task=kind.value)
    return task


def release(row: RightsRequest) -> None:
    """No worker holds the request any more."""
    row.lease_owner = None
    row.lease_until = None


def start(
    service: RightsService,
    session: Session,
    row: RightsRequest,
    *,
    actor: str,
    pending: list[NewEvent] | None = None,
) -> None:
    """A worker took a verified request: it is ``in_progress`` (already there: unchanged)."""
    if row.state == RequestState.VERIFIED.value:
        move(service, session, row, RequestState.IN_PROGRESS, actor=actor, pending=pending)


def await_review(
    service: RightsService, session: Session, row: RightsRequest, task: TaskKind, *, actor: str
) -> None:
    """A step needs a staff decision first: open its task and wait for it, lease released."""
    open_task(service, session, row, task)
    move(service, session, row, RequestState.AWAITING_REVIEW, actor=actor)
    release(row)


def complete(
    service: RightsService,
    session: Session,
    row: RightsRequest,
    *,
    actor: str,
    pending: list[NewEvent] | None = None,
) -> None:
    """The request's last step ran: it is ``completed``, lease released."""
    move(service, session, row, RequestState.COMPLETED, actor=actor, pending=pending)
    release(row)
