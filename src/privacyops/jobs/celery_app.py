"""Celery tasks running the jobs of :mod:`privacyops.jobs.registry` on workers.

Start a worker and the beat that schedules the passes::

    PRIVACYOPS_CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        celery -A privacyops.jobs.celery_app worker --beat --loglevel=INFO

Every job of the registry is a task (named by its ``JobSpec.task``) and an entry of the beat
schedule, so a scaled-out deployment runs what ``privacyops serve`` runs in-process. Besides,
``privacyops.rights.process`` runs one request's remaining steps: the web tier sends it when a
request becomes runnable (:mod:`privacyops.jobs.dispatch`). Every pass is idempotent (the step
records in the database make a repeated or redelivered task harmless), so tasks are
acknowledged late.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.schedules import crontab

from privacyops.jobs.registry import JOBS, JobContext, JobSpec
from privacyops.settings import get_settings

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["app", "beat_schedule", "process_request"]


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The beat schedule: one entry per job of the registry."""
    settings = get_settings()
    schedule: dict[str, dict[str, Any]] = {}
    for spec in JOBS:
        every: Any
        if spec.daily_at_hour is not None:
            every = crontab(minute=0, hour=spec.daily_at_hour(settings))
        else:
            every = spec.beat_every_seconds or spec.every_seconds
        schedule[spec.name] = {"task": spec.task, "schedule": every}
    return schedule


app = Celery("privacyops", broker=get_settings().celery_broker_url or "memory://")
app.conf.update(
    task_default_queue=get_settings().celery_queue,  # beat sends and workers listen here
    task_acks_late=True,  # a worker that dies mid-task leaves it for another
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    beat_schedule=beat_schedule(),
)


@lru_cache(maxsize=1)
def _context() -> JobContext:
    """This worker process's settings, database and policy, opened on first use."""
    from privacyops.policy import load_configured_policy
    from privacyops.store import open_database

    settings = get_settings()
    return JobContext(settings, open_database(settings), load_configured_policy(settings))


@cache
def _pass(name: str) -> Callable[[], int]:
    """The pass of one job, made once per worker process."""
    spec = next(s for s in JOBS if s.name == name)
    return spec.make(_context())


def _register(spec: JobSpec) -> None:
    def run() -> int:
        return _pass(spec.name)()

    run.__name__ = run.__qualname__ = spec.name.replace("-", "_")
    run.__doc__ = f"One pass of the {spec.name} job; returns how many items it handled."
    app.task(name=spec.task)(run)


for _spec in JOBS:
    _register(_spec)


@lru_cache(maxsize=1)
def _rights() -> RightsService:
    from privacyops.rights.factory import build_service

    ctx = _context()
    return build_service(ctx.settings, db=ctx.db)


@app.task(name="privacyops.rights.process")  # type: ignore[untyped-decorator]  # celery has no types
def process_request(request_id: int) -> str:
    """Run the remaining steps of one request; returns its state."""
    from privacyops.rights.engine import process

    return process(_rights(), request_id)
