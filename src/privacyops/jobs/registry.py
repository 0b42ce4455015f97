"""Every background job of privacyops, declared once.

Each :class:`JobSpec` names a job, the Celery task that runs it when the service is scaled out,
its schedule, and how to make its pass from a :class:`JobContext`. Both ways of running the
jobs are built from :data:`JOBS`:

- ``privacyops serve`` (embedded default): :func:`default_jobs` gives the in-process
  :class:`~privacyops.jobs.scheduler.Scheduler` its jobs;
- scaled out: :mod:`privacyops.jobs.celery_app` registers one task per job and builds the beat
  schedule from the same list.

A new capability with background work adds one entry here; ``tests/test_jobs_registry.py``
fails when a job is missing from either side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from privacyops.jobs.scheduler import Job
from privacyops.policy.schema import PolicyBook
from privacyops.settings import Settings
from privacyops.store import Database

__all__ = ["JOBS", "JobContext", "JobSpec", "default_jobs", "job_named"]


@dataclass
class JobContext:
    """What a job's pass is made from: the settings, the open database and the policy book."""

    settings: Settings
    db: Database
    policy: PolicyBook


Pass = Callable[[], int]


@dataclass(frozen=True)
class JobSpec:
    """One background job.

    Attributes:
        name: shown in logs, ``privacyops serve``'s start-up lines and the scheduler status.
        task: the Celery task name that runs one pass on a worker.
        make: builds the pass (a function doing one bounded, idempotent pass of work and
            returning how many items it handled) from a context; called once per process.
        every_seconds: run this often; or
        daily_at_hour: once a UTC day at the hour the settings give.
        beat_every_seconds: the beat's interval when it differs from the in-process one.
    """

    name: str
    task: str
    make: Callable[[JobContext], Pass]
    every_seconds: float | None = None
    daily_at_hour: Callable[[Settings], int] | None = None
    beat_every_seconds: float | None = None

    def __post_init__(self) -> None:
        if (self.every_seconds is None) == (self.daily_at_hour is None):
            raise ValueError(f"job {self.name!r}: give exactly one of every_seconds/daily_at_hour")

    def job(self, ctx: JobContext) -> Job:
        """The in-process job of this spec."""
        hour = self.daily_at_hour(ctx.settings) if self.daily_at_hour is not None else None
        return Job(self.name, self.make(ctx), every_seconds=self.every_seconds, daily_at_hour=hour)


def _session_cleanup(ctx: JobContext) -> Pass:
    from privacyops.accounts.service import purge_expired

    def run() -> int:
        with ctx.db.session() as session:
            return purge_expired(session, max_age_seconds=ctx.settings.form_token_ttl_seconds)

    return run


def _rights(ctx: JobContext) -> Pass:
    # Data-subject requests: run runnable steps, send queued messages (privacyops.rights).
    from privacyops.rights.engine import tick
    from privacyops.rights.factory import build_service

    service = build_service(ctx.settings, db=ctx.db)
    return lambda: tick(service)


def _opendsr(ctx: JobContext) -> Pass:
    # Requests controllers sent us over OpenDSR, as their processor (privacyops.processor).
    from privacyops.connectors import load_connectors
    from privacyops.processor.opendsr import process_pending

    connectors = load_connectors(ctx.settings, ctx.db)
    return lambda: process_pending(ctx.db, ctx.settings, connectors)


def _processor_reminders(ctx: JobContext) -> Pass:
    # E-mail connectors: remind processors that have not answered, retry unsent e-mails.
    from privacyops.connectors import ManualConnector, load_connectors, remind_tasks

    specs = [
        c.spec for c in load_connectors(ctx.settings, ctx.db) if isinstance(c, ManualConnector)
    ]
    return lambda: remind_tasks(ctx.db, ctx.settings, specs)


def _recipient_reminders(ctx: JobContext) -> Pass:
    # Art. 19 notices not yet acknowledged by their recipient (privacyops.rights.notices).
    from privacyops.rights.notices import remind_notices

    return lambda: remind_notices(ctx.db, ctx.settings)


def _retention(ctx: JobContext) -> Pass:
    # The daily retention sweep (privacyops.retention): resumes an interrupted run first.
    from privacyops.connectors import SQLConnector, load_connectors
    from privacyops.retention import sweep

    def run() -> int:
        connectors = [
            c for c in load_connectors(ctx.settings, ctx.db) if isinstance(c, SQLConnector)
        ]
        report = sweep(ctx.db, ctx.policy, actor="job:retention", connectors=connectors)
        return report.total("deleted") + report.total("anonymised")

    return run


def _sweep_hour(settings: Settings) -> int:
    return settings.retention_sweep_hour


#: Every background job, in the order the in-process scheduler runs them.
JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "staff-session-cleanup",
        "privacyops.accounts.purge_sessions",
        _session_cleanup,
        every_seconds=3600,
    ),
    # Scaled out, a request is dispatched to a worker when it becomes runnable
    # (privacyops.jobs.dispatch), so the beat's tick is the safety net only.
    JobSpec(
        "rights-requests",
        "privacyops.rights.tick",
        _rights,
        every_seconds=2,
        beat_every_seconds=10,
    ),
    JobSpec("retention-sweep", "privacyops.retention.sweep", _retention, daily_at_hour=_sweep_hour),
    JobSpec("opendsr-requests", "privacyops.processor.opendsr", _opendsr, every_seconds=5),
    JobSpec(
        "processor-reminders",
        "privacyops.connectors.remind_tasks",
        _processor_reminders,
        every_seconds=3600,
    ),
    JobSpec(
        "recipient-reminders",
        "privacyops.rights.remind_notices",
        _recipient_reminders,
        every_seconds=3600,
    ),
)


def job_named(name: str) -> JobSpec:
    """The spec of the job ``name`` (KeyError when there is none)."""
    for spec in JOBS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def default_jobs(ctx: JobContext) -> list[Job]:
    """Every job for the in-process scheduler of this service."""
    return [spec.job(ctx) for spec in JOBS]
