"""Event-driven steps: a request that becomes runnable wakes the in-process scheduler at once
(the tick is the safety net only); scaled out, the same call sends the Celery task."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests._rights import submit_and_verify_http
from tests._web import database, make_app, wait_for
from tests.conftest import SmtpSink
from tests.test_rights_workflow import ingest

from privacyops.jobs import Job, JobContext, Scheduler, default_jobs, dispatch
from privacyops.policy import load_configured_policy
from privacyops.rights.factory import build_service
from privacyops.settings import Settings


def test_a_woken_job_runs_before_its_turn_and_the_others_keep_their_schedule() -> None:
    ran: list[str] = []
    done = threading.Event()

    def rights() -> int:
        ran.append("rights")
        if ran.count("rights") == 2:
            done.set()
        return 1

    scheduler = Scheduler(
        [
            Job("hourly", lambda: ran.append("hourly") or 0, every_seconds=3600),
            Job("rights", rights, every_seconds=3600),
        ],
        tick_seconds=3600,  # without the wake, nothing would run again for an hour
    )
    scheduler.start()
    try:
        assert wait_for(lambda: ran == ["hourly", "rights"])  # the first pass runs every job
        scheduler.wake("rights")
        assert done.wait(30), ran
        assert ran == ["hourly", "rights", "rights"]  # only the woken job ran again
        scheduler.wake("no-such-job")  # unknown names are ignored, not an error
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert scheduler.last["rights"].runs == 2


def test_wakes_during_a_pass_make_one_more_pass() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        started.set()
        release.wait(30)
        return 0

    scheduler = Scheduler([Job("slow", slow, every_seconds=3600)], tick_seconds=3600)
    scheduler.start()
    try:
        assert started.wait(30)
        for _ in range(5):
            scheduler.wake("slow")
        release.set()
        assert wait_for(lambda: len(calls) == 2)
        time.sleep(0.3)
        assert len(calls) == 2
    finally:
        scheduler.stop()


def test_dispatch_wakes_the_scheduler_of_this_process_only_when_it_runs_the_jobs(
    tmp_path: Path,
) -> None:
    woken: list[str] = []
    embedded = Settings(data_dir=tmp_path, runner_enabled=True)
    scaled_out_without_broker = Settings(data_dir=tmp_path, runner_enabled=False)
    dispatch.use_scheduler(woken.append)
    try:
        assert dispatch.dispatch_request(embedded, None, "r-1")  # type: ignore[arg-type]
        assert woken == ["rights-requests"]
        assert not dispatch.dispatch_request(scaled_out_without_broker, None, "r-1")  # type: ignore[arg-type]
        assert woken == ["rights-requests"]
    finally:
        dispatch.use_scheduler(None)
    assert not dispatch.dispatch_request(embedded, None, "r-1")  # type: ignore[arg-type]


@pytest.fixture
def embedded(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> Iterator[tuple[TestClient, Scheduler]]:
    """An app with its own scheduler thread whose tick is an hour away: only a wake runs
    a request's steps after the first pass."""
    app = make_app(tmp_path, db_url, smtp_port=smtp_server.port, second_factor="none")
    settings = app.state.settings
    ingest(build_service(settings, db=database(app)), "ada@example.com", phone=None)
    ctx = JobContext(settings, database(app), load_configured_policy(settings))
    scheduler = Scheduler(default_jobs(ctx), tick_seconds=3600)
    dispatch.use_scheduler(scheduler.wake)
    scheduler.start()
    try:
        assert wait_for(lambda: "rights-requests" in scheduler.last)  # the first pass is over
        yield TestClient(app), scheduler
    finally:
        dispatch.use_scheduler(None)
        scheduler.stop()
        database(app).dispose()


def test_a_request_verified_over_http_runs_at_once_not_at_the_tick(
    embedded: tuple[TestClient, Scheduler], smtp_server: SmtpSink
) -> None:
    client, scheduler = embedded
    runs = scheduler.last["rights-requests"].runs
    # an objection to direct marketing: no recipient to notify (Art. 19 would wait for the DPO)
    receipt = submit_and_verify_http(
        client,
        smtp_server,
        type="objection",
        email="ada@example.com",
        details={"objection": "direct_marketing"},
    )
    headers = {"X-Request-Token": receipt["token"]}
    url = f"/api/v1/rights/requests/{receipt['request_id']}"
    assert wait_for(lambda: client.get(url, headers=headers).json()["state"] == "completed")
    assert wait_for(lambda: scheduler.last["rights-requests"].runs > runs)
    assert any("answered" in m["Subject"] for m in smtp_server.to("ada@example.com"))
