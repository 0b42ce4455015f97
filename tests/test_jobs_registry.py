"""One job registry: the in-process scheduler and the Celery beat run the same jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery.schedules import crontab

from privacyops.jobs import JOBS, JobContext, default_jobs
from privacyops.policy import load_configured_policy
from privacyops.settings import Settings
from privacyops.store import open_database

#: Every background job privacyops has (issue 14): a job dropped from the registry fails here.
EXPECTED = {
    "staff-session-cleanup",
    "rights-requests",
    "retention-sweep",
    "opendsr-requests",
    "processor-reminders",
    "recipient-reminders",
}


@pytest.fixture
def in_process(tmp_path: Path) -> list[str]:
    settings = Settings(data_dir=tmp_path / "data", retention_sweep_hour=5)
    db = open_database(settings)
    try:
        jobs = default_jobs(JobContext(settings, db, load_configured_policy(settings)))
        daily = {j.name: j.daily_at_hour for j in jobs if j.daily_at_hour is not None}
        assert daily == {"retention-sweep": 5}
        return [j.name for j in jobs]
    finally:
        db.dispose()


def test_the_registry_holds_every_job_once() -> None:
    names = [spec.name for spec in JOBS]
    tasks = [spec.task for spec in JOBS]
    assert sorted(names) == sorted(EXPECTED)
    assert len(set(tasks)) == len(tasks)


def test_the_in_process_scheduler_runs_every_job(in_process: list[str]) -> None:
    assert in_process == [spec.name for spec in JOBS]


def test_the_celery_beat_schedules_every_job_and_the_worker_knows_its_task() -> None:
    from privacyops.jobs.celery_app import app

    beat = app.conf.beat_schedule
    assert set(beat) == EXPECTED
    for spec in JOBS:
        assert beat[spec.name]["task"] == spec.task
        assert spec.task in app.tasks
    ours = {name for name in app.tasks if name.startswith("privacyops.")}
    assert ours == {spec.task for spec in JOBS} | {"privacyops.rights.process"}
    assert isinstance(beat["retention-sweep"]["schedule"], crontab)
    # scaled out, verified requests are dispatched; the tick is the safety net
    assert beat["rights-requests"]["schedule"] == 10
