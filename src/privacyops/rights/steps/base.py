"""What every step gets and may raise: :class:`Step`, :class:`Wait` and :class:`Pending`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.rights.identity import Message
from privacyops.rights.lookahead import Lookahead
from privacyops.rights.models import StaffTask
from privacyops.rights.outcome import Outcome, SystemStatus
from privacyops.rights.workflow import TaskKind

if TYPE_CHECKING:
    from privacyops.rights.service import RequestContext, RightsService

__all__ = ["Pending", "Step", "StepFunction", "Wait"]


class Wait(Exception):
    """Raised by a step that needs a staff decision first; the request waits for review."""

    def __init__(self, task: TaskKind) -> None:
        super().__init__(task.value)
        self.task = task


class Pending(Exception):
    """Raised by a step while other systems have not done their part (a manual or e-mail
    task is open, or a connector failed): the request stays ``in_progress`` with a
    ``waiting_for`` list, and is looked at again (failures with back-off).

    Unlike :class:`Wait` and errors, the work the step did before raising is committed
    (without the step's record, so the step runs again): what a system answered meanwhile,
    and a task e-mail that went, are kept and not asked or sent again."""

    def __init__(self, other_systems: list[SystemStatus]) -> None:
        super().__init__("waiting for other systems")
        self.other_systems = other_systems

    @property
    def waiting_for(self) -> list[str]:
        return [s.system for s in self.other_systems if s.status != "done"]

    @property
    def failed(self) -> bool:
        return any(s.status == "failed" for s in self.other_systems)


class Step:
    """What a step function gets: the service, the open session and the request."""

    def __init__(
        self,
        service: RightsService,
        session: Session,
        ctx: RequestContext,
        shreds: list[str] | None = None,
        after: list[Callable[[], None]] | None = None,
        look: Lookahead | None = None,
    ) -> None:
        self.service = service
        self.session = session
        self.ctx = ctx
        self.row = ctx.row
        #: The batch's look-ups, fetched for every request of the position at once.
        self.look = look or Lookahead(service, session, {ctx.row.id: ctx.row}, {}, {})
        #: Subjects to crypto-shred when the step's transaction ends (batched key deletion).
        self.shreds: list[str] = shreds if shreds is not None else []
        #: Work to do once the step's transaction has committed (sending Art. 19 notices).
        self.after: list[Callable[[], None]] = after if after is not None else []

    @property
    def outcome(self) -> Outcome:
        """The request's outcome so far (a copy: change it, then :meth:`Outcome.store` it)."""
        return Outcome.of(self.row)

    def decision(self, kind: TaskKind) -> StaffTask:
        """The decided task of ``kind``; opens it and raises :class:`Wait` when undecided."""
        task = self.session.scalar(
            sa.select(StaffTask).where(
                StaffTask.request_id == self.row.id, StaffTask.kind == kind.value
            )
        )
        if task is not None and task.decision is not None:
            return task
        raise Wait(kind)

    def say(self, purpose: str, subject: str, body: str, *, channel: str = "email") -> None:
        """Queue a message to the person (once per request and ``purpose``)."""
        to = self.ctx.details["phone"] if channel == "phone" else self.ctx.details["email"]
        self.service.queue_message(
            self.session,
            self.row,
            purpose,
            channel,
            Message(to, subject, body),
            queued=self.look.queued(self.row.id, purpose),
        )


#: A step: runs inside its transaction and returns what its audit event records.
StepFunction = Callable[[Step], dict[str, Any]]
