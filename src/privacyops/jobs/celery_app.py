"""Celery tasks running the same steps as the in-process runner, on workers.

Start a worker and the beat that schedules the passes::

    PRIVACYOPS_CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
        celery -A privacyops.jobs.celery_app worker --beat --loglevel=INFO

``process_request`` runs one request's remaining steps (idempotent: the step records in the
database make a repeated or redelivered task harmless, so tasks are acknowledged late);
``rights_tick`` runs whatever is runnable and sends queued messages, every 10 seconds;
``retention_sweep`` runs the retention sweep daily at ``PRIVACYOPS_RETENTION_SWEEP_HOUR`` UTC.
"""

from __future__ import annotations

from functools import lru_cache

from celery import Celery
from celery.schedules import crontab

from privacyops.connectors import SQLConnector, load_connectors
from privacyops.policy import load_configured_policy
from privacyops.retention import sweep
from privacyops.rights.engine import process, tick
from privacyops.rights.factory import build_service
from privacyops.rights.service import RightsService
from privacyops.settings import get_settings
from privacyops.store import open_database

__all__ = ["app", "process_request", "retention_sweep", "rights_tick"]

app = Celery("privacyops", broker=get_settings().celery_broker_url or "memory://")
app.conf.update(
    task_acks_late=True,  # a worker that dies mid-task leaves it for another
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    beat_schedule={
        "rights-tick": {"task": "privacyops.rights.tick", "schedule": 10.0},
        "retention-sweep": {
            "task": "privacyops.retention.sweep",
            "schedule": crontab(minute=0, hour=get_settings().retention_sweep_hour),
        },
    },
)


@lru_cache(maxsize=1)
def _service() -> RightsService:
    return build_service(get_settings())


@app.task(name="privacyops.rights.process")  # type: ignore[untyped-decorator]  # celery has no types
def process_request(request_id: int) -> str:
    """Run the remaining steps of one request; returns its state."""
    return process(_service(), request_id)


@app.task(name="privacyops.rights.tick")  # type: ignore[untyped-decorator]  # celery has no types
def rights_tick() -> int:
    """One pass over runnable requests and queued messages."""
    return tick(_service())


@app.task(name="privacyops.retention.sweep")  # type: ignore[untyped-decorator]  # celery has no types
def retention_sweep() -> int:
    """One retention sweep (resumes an interrupted one); returns records deleted/anonymised."""
    settings = get_settings()
    db = open_database(settings)
    try:
        connectors = [c for c in load_connectors(settings, db) if isinstance(c, SQLConnector)]
        report = sweep(
            db, load_configured_policy(settings), actor="job:retention", connectors=connectors
        )
    finally:
        db.dispose()
    return report.total("deleted") + report.total("anonymised")
