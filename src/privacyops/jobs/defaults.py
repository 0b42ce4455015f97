"""The jobs ``privacyops serve`` runs in its background thread.

Each capability that has background work contributes one builder here: a function of the
:class:`JobContext` that returns its :class:`~privacyops.jobs.runner.Job` objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from privacyops.accounts.service import purge_expired
from privacyops.connectors import (
    ManualConnector,
    SQLConnector,
    load_connectors,
    remind_notices,
    remind_tasks,
)
from privacyops.connectors.opendsr import process_pending
from privacyops.jobs.runner import Job
from privacyops.policy.schema import PolicyBook
from privacyops.retention import sweep
from privacyops.rights.engine import tick
from privacyops.rights.factory import build_service
from privacyops.settings import Settings
from privacyops.store import Database

__all__ = ["BUILDERS", "JobContext", "default_jobs"]


@dataclass
class JobContext:
    """What a job builder gets: the settings, the open database and the policy book."""

    settings: Settings
    db: Database
    policy: PolicyBook


def _session_cleanup(ctx: JobContext) -> list[Job]:
    def run() -> int:
        with ctx.db.session() as session:
            return purge_expired(session, max_age_seconds=ctx.settings.form_token_ttl_seconds)

    return [Job("staff-session-cleanup", run, every_seconds=3600)]


def _rights(ctx: JobContext) -> list[Job]:
    # Data-subject requests: run runnable steps, send queued messages (privacyops.rights).
    service = build_service(ctx.settings, db=ctx.db)
    return [Job("rights-requests", lambda: tick(service), every_seconds=2)]


def _connectors(ctx: JobContext) -> list[Job]:
    # OpenDSR requests from controllers; reminders to processors and Art. 19 recipients.
    connectors = load_connectors(ctx.settings, ctx.db)
    specs = [c.spec for c in connectors if isinstance(c, ManualConnector)]

    def reminders() -> int:
        return remind_tasks(ctx.db, ctx.settings, specs) + remind_notices(ctx.db, ctx.settings)

    return [
        Job(
            "opendsr-requests",
            lambda: process_pending(ctx.db, ctx.settings, connectors),
            every_seconds=5,
        ),
        Job("connector-reminders", reminders, every_seconds=3600),
    ]


def _retention(ctx: JobContext) -> list[Job]:
    # The daily retention sweep (privacyops.retention): resumes an interrupted run first.
    def run() -> int:
        connectors = [
            c for c in load_connectors(ctx.settings, ctx.db) if isinstance(c, SQLConnector)
        ]
        report = sweep(ctx.db, ctx.policy, actor="job:retention", connectors=connectors)
        return report.total("deleted") + report.total("anonymised")

    return [Job("retention-sweep", run, daily_at_hour=ctx.settings.retention_sweep_hour)]


#: Builders of the default jobs, in order; a capability appends its own.
BUILDERS: list[Callable[[JobContext], list[Job]]] = [
    _session_cleanup,
    _rights,
    _retention,
    _connectors,
]


def default_jobs(ctx: JobContext) -> list[Job]:
    """Every default job for this service."""
    jobs: list[Job] = []
    for build in BUILDERS:
        jobs.extend(build(ctx))
    return jobs
