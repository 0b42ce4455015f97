"""The rights engine: runs a request's steps once each, resumable after a crash (GDPR
Art. 12(3): every request is answered, within the time the clocks of
:mod:`privacyops.rights.clocks` allow).

:func:`process_batch` claims requests with a lease (so two workers never run one at once; a
dead worker's lease expires and another takes over), then runs the steps of their type
(:data:`~privacyops.rights.workflow.PLANS`, functions in :mod:`privacyops.rights.steps`) in
order, one step position for the whole batch at a time. Each step runs in one transaction with
the record ``(request, step)`` that marks it done, its audit event and the messages it decides
to send (outbox): a crash before the commit undoes all of it, a crash after it leaves it done,
so a restarted worker does each step exactly once. Connected systems reached over the network
are asked just before that transaction (:func:`privacyops.rights.systems.call_ahead`). A step
that needs staff first waits for review (:class:`~privacyops.rights.steps.base.Wait`); one
that needs other systems first rests and is looked at again
(:class:`~privacyops.rights.steps.base.Pending`). The same functions run in the in-process
background thread (``privacyops.jobs``) and in Celery tasks (``privacyops.jobs.celery_app``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from privacyops.audit import NewEvent
from privacyops.errors import NotFound, PrivacyOpsError
from privacyops.rights import transitions
from privacyops.rights.lookahead import Lookahead
from privacyops.rights.models import RightsRequest, StepRecord
from privacyops.rights.outcome import Outcome
from privacyops.rights.service import RightsService
from privacyops.rights.steps.base import Pending, Step, Wait
from privacyops.rights.steps.registry import STEPS
from privacyops.rights.systems import Answers, call_ahead
from privacyops.rights.workflow import PLANS, RequestState, RequestType, TaskKind
from privacyops.store import utcnow

__all__ = [
    "RECHECK_WAITING",
    "RETRY_FIRST",
    "RETRY_MAX",
    "StepHook",
    "lease",
    "process",
    "process_batch",
    "runnable",
    "tick",
    "worker_id",
]

log = logging.getLogger(__name__)

RUNNABLE = (RequestState.VERIFIED.value, RequestState.IN_PROGRESS.value)

#: Back-off of a request waiting for a failed system: first retry, and the longest wait.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=6)
#: How long a request waiting for staff or a processor rests before it is looked at again: a
#: task completed through ``complete_task`` wakes it at once, so this only bounds the wait for
#: one completed some other way. Without it every waiting request was re-run on every tick.
RECHECK_WAITING = timedelta(minutes=10)

#: Called inside each step's transaction, after its work and before the commit (progress
#: reporting; tests use it to stop a worker at an exact point).
StepHook = Callable[[str, str], None]


def lease(service: RightsService) -> timedelta:
    """How long a worker holds a request between two steps before another may take it."""
    return timedelta(seconds=service.settings.rights_lease_seconds)


def worker_id() -> str:
    """A name for this worker process (host and pid)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def _claim_many(
    service: RightsService, request_ids: Sequence[int], worker: str, now: datetime
) -> tuple[dict[int, tuple[str, ...]], dict[int, str]]:
    """Take the lease of every request in ``request_ids`` that is free and move the verified
    ones to ``in_progress``, in one transaction; returns the plans and states of those taken."""
    plans: dict[int, tuple[str, ...]] = {}
    states: dict[int, str] = {}
    if not request_ids:
        return plans, states
    with service.write_session() as session:
        session.execute(
            sa.update(RightsRequest)
            .where(
                RightsRequest.id.in_(request_ids),
                RightsRequest.state.in_(RUNNABLE),
                sa.or_(
                    RightsRequest.lease_until.is_(None),
                    RightsRequest.lease_until < now,
                    RightsRequest.lease_owner == worker,
                ),
            )
            .values(lease_owner=worker, lease_until=now + lease(service))
            .execution_options(synchronize_session=False)
        )
        started: list[NewEvent] = []
        for row in session.scalars(
            sa.select(RightsRequest).where(
                RightsRequest.id.in_(request_ids),
                RightsRequest.lease_owner == worker,
                RightsRequest.state.in_(RUNNABLE),
            )
        ):
            transitions.start(service, session, row, actor=f"job:{worker}", pending=started)
            plans[row.id] = PLANS[RequestType(row.type)]
            states[row.id] = row.state
        service.audit.append_many(started, session=session)
    return plans, states


class _Fallback(Exception):
    """A batched step position must be redone one request at a time."""


class _Position:
    """Runs one step position (the n-th step of each request) in one transaction."""

    def __init__(
        self,
        service: RightsService,
        worker: str,
        plans: dict[int, tuple[str, ...]],
        states: dict[int, str],
        hook: StepHook | None,
    ) -> None:
        self.service, self.worker, self.plans = service, worker, plans
        self.states, self.hook = states, hook
        self.active = set(plans)
        self.waiting: dict[int, TaskKind] = {}
        self.pending: dict[int, Pending] = {}
        self.actor = f"job:{worker}"
        #: per position: what external systems answered, asked before its transaction (kept
        #: for the one-at-a-time rerun after a fallback, so nothing is asked twice)
        self.answers: dict[int, Answers] = {}

    def call_ahead(self, ids: list[int], index: int) -> None:
        """Ask the external systems the steps at ``index`` will ask, before their transaction."""
        answers = self.answers.setdefault(index, {})
        call_ahead(self.service, self.worker, self.plans, ids, index, answers)

    def __call__(self, ids: list[int], index: int, *, batch: bool) -> None:
        service, worker, actor = self.service, self.worker, self.actor
        ran: list[tuple[str, str]] = []
        with service.write_session() as session:
            done = {
                (r.request_id, r.step): r.result
                for r in session.execute(
                    sa.select(StepRecord.request_id, StepRecord.step, StepRecord.result).where(
                        StepRecord.request_id.in_(ids)
                    )
                )
            }
            rows = {
                r.id: r
                for r in session.scalars(
                    sa.select(RightsRequest).where(RightsRequest.id.in_(ids)).with_for_update()
                )
            }
            names = {rid: self.plans[rid][index] for rid in ids}
            look = Lookahead(
                service,
                session,
                {rid: row for rid, row in rows.items() if (rid, names[rid]) not in done},
                {rid: name for rid, name in names.items() if (rid, name) not in done},
                done,
                self.answers.get(index, {}),
            )
            shreds: list[str] = []
            after: list[Callable[[], None]] = []
            events: list[NewEvent] = []
            # one flush for the batch at the end, not one before each query of each step
            with session.no_autoflush:
                for rid in ids:
                    name = self.plans[rid][index]
                    if (rid, name) in done:
                        continue
                    row = rows[rid]
                    if row.state != RequestState.IN_PROGRESS.value or row.lease_owner != worker:
                        self.active.discard(rid)  # refused or taken over meanwhile
                        self.states[rid] = row.state
                        continue
                    try:
                        result = STEPS[name](
                            Step(service, session, look.context(rid), shreds, after, look)
                        )
                    except (Wait, Pending, PrivacyOpsError) as exc:
                        if batch:
                            session.rollback()
                            raise _Fallback from None
                        if not isinstance(exc, Pending):
                            session.rollback()
                        after.clear()
                        self.active.discard(rid)
                        if isinstance(exc, Wait):
                            self.waiting[rid] = exc.task
                        elif isinstance(exc, Pending):
                            self.pending[rid] = exc
                        else:  # left in progress; retried when the lease ends
                            log.warning("request %s step %s: %s", row.public_id, name, exc.code)
                        return
                    session.add(StepRecord(request_id=rid, step=name, result=result, worker=worker))
                    service.record(
                        session, f"rights.step.{name}", row, actor=actor, pending=events, **result
                    )
                    if name == self.plans[rid][-1]:
                        transitions.complete(service, session, row, actor=actor, pending=events)
                        self.states[rid] = RequestState.COMPLETED.value
                    else:
                        row.lease_until = utcnow() + lease(service)
                    ran.append((row.public_id, name))
            if shreds:  # one key-store transaction for every erasure of the batch
                service.registry.shred_subjects(session, shreds)
            service.audit.append_many(events, session=session)  # one lock of the chain
            if self.hook is not None:
                for public_id, name in ran:
                    self.hook(public_id, name)
        for job in after:  # committed: send what the steps decided (Art. 19 notices)
            try:
                job()
            except PrivacyOpsError as exc:  # the notices stay pending; reminders retry them
                log.warning("after-step work failed: %s", exc.code)


def process_batch(
    service: RightsService,
    request_ids: Sequence[int],
    *,
    worker: str | None = None,
    hook: StepHook | None = None,
) -> dict[int, str]:
    """Run the remaining steps of several requests, one transaction per step position for
    the whole batch (each request inside its own savepoint); returns each request's state.

    Safe to call from several workers at once and again after a crash: the lease lets one
    worker in, and each step's record, written in the step's transaction, makes it run once.
    """
    worker = worker or worker_id()
    plans, states = _claim_many(service, request_ids, worker, utcnow())
    run = _Position(service, worker, plans, states, hook)
    for index in range(max((len(p) for p in plans.values()), default=0)):
        ids = sorted(i for i in run.active if index < len(plans[i]))
        if not ids:
            continue
        run.call_ahead(ids, index)
        try:
            # optimistic: the whole batch in one transaction
            run(ids, index, batch=len(ids) > 1)
        except _Fallback:
            # a step waits or failed: the batch's transaction was undone; one at a time
            for rid in ids:
                run([rid], index, batch=False)
    for rid, task in run.waiting.items():
        _wait(service, rid, task, worker)
        states[rid] = RequestState.AWAITING_REVIEW.value
    for rid, why in run.pending.items():
        _rest(service, rid, why, worker)
    service.deliver_outbox()
    return states


def process(
    service: RightsService,
    request_id: int,
    *,
    worker: str | None = None,
    hook: StepHook | None = None,
) -> str:
    """Run the remaining steps of one request; returns its state afterwards (see
    :func:`process_batch`)."""
    states = process_batch(service, [request_id], worker=worker, hook=hook)
    if request_id in states:
        return states[request_id]
    with service.db.session() as session:
        row = session.get(RightsRequest, request_id)
        return row.state if row else "missing"


def _wait(service: RightsService, request_id: int, task: TaskKind, worker: str) -> None:
    """The request waits for the staff decision ``task`` (opened now)."""
    with service.write_session() as session:
        row = session.get(RightsRequest, request_id, with_for_update=True)
        if row is None:
            raise NotFound("No such request.")
        # effects a waiting step made before asking (an interim restriction) are redone
        # idempotently when it runs again; only the task and the state change are kept here
        transitions.await_review(service, session, row, task, actor=f"job:{worker}")
    service.deliver_outbox(request_id=request_id)


def _rest(service: RightsService, request_id: int, why: Pending, worker: str) -> None:
    """Keep the request ``in_progress`` and show what it waits for (``outcome.waiting_for``).
    A request waiting for open tasks rests until one of them is completed (which wakes it) or
    :data:`RECHECK_WAITING` has passed; a failed system is retried with exponential back-off
    (the lease holds the request until then)."""
    with service.write_session() as session:
        row = session.get(RightsRequest, request_id, with_for_update=True)
        if row is None or row.lease_owner != worker:
            return
        outcome = Outcome.of(row)
        changed = outcome.waiting_for != why.waiting_for
        retries = outcome.retries or 0
        outcome.other_systems = why.other_systems
        outcome.waiting_for = why.waiting_for
        if why.failed:
            outcome.retries = retries + 1
            row.lease_until = utcnow() + min(RETRY_FIRST * 2**retries, RETRY_MAX)
        else:
            outcome = outcome.without("retries")
            row.lease_until = utcnow() + RECHECK_WAITING
        outcome.store(row)
        row.lease_owner = None
        if changed:
            service.record(
                session,
                "rights.waiting",
                row,
                actor=f"job:{worker}",
                waiting_for=why.waiting_for,
            )


def runnable(service: RightsService, *, limit: int = 50, now: datetime | None = None) -> list[int]:
    """Ids of requests a worker may take now: verified, or in progress with no live lease."""
    now = now or utcnow()
    with service.db.session() as session:
        return list(
            session.scalars(
                sa.select(RightsRequest.id)
                .where(
                    RightsRequest.state.in_(RUNNABLE),
                    sa.or_(RightsRequest.lease_until.is_(None), RightsRequest.lease_until < now),
                )
                .order_by(RightsRequest.id)
                .limit(limit)
            )
        )


def tick(service: RightsService, *, worker: str | None = None, limit: int = 200) -> int:
    """One pass of the engine: run what is runnable (in batches), send what is queued.
    Returns how many requests it took."""
    ids = runnable(service, limit=limit)
    for start in range(0, len(ids), 100):
        process_batch(service, ids[start : start + 100], worker=worker)
    if not ids:
        service.deliver_outbox()
    return len(ids)
