"""Hand work to a worker the moment it becomes runnable: steps are event-driven, the tick is
the safety net.

Whenever a request becomes runnable — verified, a staff decision recorded, a connected system's
task completed — the web tier calls :func:`dispatch_request`:

- embedded (``privacyops serve``, ``PRIVACYOPS_RUNNER_ENABLED=true``): it wakes the in-process
  scheduler's ``rights-requests`` job (:meth:`~privacyops.jobs.scheduler.Scheduler.wake`, which
  ``serve`` registers with :func:`use_scheduler`), which runs at once instead of at its tick;
- scaled out (``PRIVACYOPS_RUNNER_ENABLED=false``, ``PRIVACYOPS_CELERY_BROKER_URL`` set): it
  sends ``privacyops.rights.process`` to a Celery worker instead of waiting for the beat.

A broker that cannot be reached is logged and left to the tick: the database, not the queue,
holds the truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlalchemy as sa

from privacyops.rights.models import RightsRequest
from privacyops.rights.workflow import RequestState
from privacyops.settings import Settings
from privacyops.store import Database, utcnow

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["PROCESS_TASK", "QUEUE", "RIGHTS_JOB", "dispatch_request", "use_scheduler"]

log = logging.getLogger(__name__)

#: The task that runs one request's remaining steps (:mod:`privacyops.jobs.celery_app`).
PROCESS_TASK = "privacyops.rights.process"
#: The queue it goes to when the settings name none other (``celery_queue``): Celery's default.
QUEUE = "celery"
#: The in-process job that runs requests' steps (:data:`privacyops.jobs.registry.JOBS`).
RIGHTS_JOB = "rights-requests"
#: The states a worker takes a request in (:data:`privacyops.rights.engine.RUNNABLE`).
_RUNNABLE = (RequestState.VERIFIED.value, RequestState.IN_PROGRESS.value)

#: The wake of this process's scheduler (``privacyops serve``), when it runs the jobs.
_local_wake: Callable[[str], None] | None = None


def use_scheduler(wake: Callable[[str], None] | None) -> None:
    """Make :func:`dispatch_request` wake this process's scheduler (``wake`` is
    :meth:`Scheduler.wake <privacyops.jobs.scheduler.Scheduler.wake>`; None forgets it)."""
    global _local_wake
    _local_wake = wake


@lru_cache(maxsize=4)
def _client(broker_url: str) -> Celery:
    """A sending-only Celery app (it does not import the tasks; celery is the ``scale``
    extra, imported only when a broker is configured)."""
    from celery import Celery

    return Celery("privacyops-web", broker=broker_url)


def _queue(settings: Settings) -> str:
    """The settings' queue; :data:`QUEUE` (tests replace it) when they keep the default."""
    return settings.celery_queue if settings.celery_queue != "celery" else QUEUE


def dispatch_request(settings: Settings, db: Database, public_id: str) -> bool:
    """Have the request ``public_id`` run now; True when a worker was woken or a task sent.

    Embedded, it wakes the in-process scheduler (when this process runs one). Scaled out, it
    sends the task when the request is runnable (verified, or in progress and not held by a
    worker): nothing is sent for one still awaiting its second factor or staff review.
    """
    if settings.runner_enabled:
        wake = _local_wake
        if wake is None:
            return False
        wake(RIGHTS_JOB)
        return True
    if not settings.celery_broker_url:
        return False
    now = utcnow()
    with db.session() as session:
        request_id = session.scalar(
            sa.select(RightsRequest.id).where(
                RightsRequest.public_id == public_id,
                RightsRequest.state.in_(_RUNNABLE),
                sa.or_(RightsRequest.lease_until.is_(None), RightsRequest.lease_until < now),
            )
        )
    if request_id is None:
        return False
    try:
        _client(settings.celery_broker_url).send_task(
            PROCESS_TASK, args=[request_id], queue=_queue(settings), retry=False
        )
    except Exception as exc:  # the broker is down: the beat's tick picks the request up
        log.warning("could not dispatch a request to Celery: %s", type(exc).__name__)
        return False
    return True
