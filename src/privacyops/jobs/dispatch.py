"""Hand work to a Celery worker the moment it becomes runnable (scaled-out deployments).

Scaled out (``PRIVACYOPS_RUNNER_ENABLED=false``, ``PRIVACYOPS_CELERY_BROKER_URL`` set), the web
tier calls :func:`dispatch_request` when a request has been verified: a worker runs its steps at
once instead of at the beat's next tick. Otherwise it does nothing: ``privacyops serve``'s own
scheduler picks the request up (a broker URL alone may only share rate-limit counts). A
broker that cannot be reached is logged and left to the tick: the database, not the queue,
holds the truth.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlalchemy as sa

from privacyops.rights.models import RightsRequest
from privacyops.rights.workflow import RequestState
from privacyops.settings import Settings
from privacyops.store import Database

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["PROCESS_TASK", "QUEUE", "dispatch_request"]

log = logging.getLogger(__name__)

#: The task that runs one request's remaining steps (:mod:`privacyops.jobs.celery_app`).
PROCESS_TASK = "privacyops.rights.process"
#: The queue it goes to: Celery's default, which ``celery -A privacyops.jobs.celery_app worker``
#: listens on.
QUEUE = "celery"


@lru_cache(maxsize=4)
def _client(broker_url: str) -> Celery:
    """A sending-only Celery app (it does not import the tasks; celery is the ``scale``
    extra, imported only when a broker is configured)."""
    from celery import Celery

    return Celery("privacyops-web", broker=broker_url)


def dispatch_request(settings: Settings, db: Database, public_id: str) -> bool:
    """Send the verified request ``public_id`` to a worker; True when a task was sent.

    Nothing is sent when the in-process scheduler runs the steps or there is no broker, nor
    when the request is not waiting to run (still awaiting its second factor or staff review).
    """
    if settings.runner_enabled or not settings.celery_broker_url:
        return False
    with db.session() as session:
        request_id = session.scalar(
            sa.select(RightsRequest.id).where(
                RightsRequest.public_id == public_id,
                RightsRequest.state == RequestState.VERIFIED.value,
            )
        )
    if request_id is None:
        return False
    try:
        _client(settings.celery_broker_url).send_task(
            PROCESS_TASK, args=[request_id], queue=QUEUE, retry=False
        )
    except Exception as exc:  # the broker is down: the beat's tick picks the request up
        log.warning("could not dispatch a request to Celery: %s", type(exc).__name__)
        return False
    return True
