"""The background scheduler: due jobs run once per turn, failures are contained, daily jobs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from privacyops.jobs import Job, Scheduler


def test_interval_job_runs_when_due() -> None:
    calls: list[int] = []
    scheduler = Scheduler([Job("count", lambda: calls.append(1) or 1, every_seconds=60)])
    t0 = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert set(scheduler.run_due(t0)) == {"count"}
    assert scheduler.run_due(t0 + timedelta(seconds=30)) == {}
    assert set(scheduler.run_due(t0 + timedelta(seconds=61))) == {"count"}
    assert len(calls) == 2
    assert scheduler.last["count"].runs == 2


def test_daily_job_runs_once_a_day_at_its_hour() -> None:
    calls: list[int] = []
    scheduler = Scheduler([Job("sweep", lambda: calls.append(1) or 0, daily_at_hour=3)])
    day = datetime(2026, 11, 29, 2, 59, tzinfo=UTC)
    assert scheduler.run_due(day) == {}
    assert set(scheduler.run_due(day + timedelta(minutes=1))) == {"sweep"}
    assert scheduler.run_due(day + timedelta(hours=5)) == {}
    assert set(scheduler.run_due(day + timedelta(days=1, minutes=2))) == {"sweep"}
    assert len(calls) == 2


def test_a_failing_job_does_not_stop_the_others_and_is_retried() -> None:
    def boom() -> int:
        raise RuntimeError("secret personal detail")

    ok: list[int] = []
    scheduler = Scheduler(
        [Job("boom", boom, daily_at_hour=0), Job("ok", lambda: ok.append(1) or 1, every_seconds=1)]
    )
    now = datetime(2026, 11, 29, 5, tzinfo=UTC)
    ran = scheduler.run_due(now)
    assert ran["boom"].error == "RuntimeError"
    assert ran["ok"].error is None
    assert "boom" in scheduler.run_due(now + timedelta(seconds=2))  # retried, not tomorrow
    assert [s["last_error"] for s in scheduler.status()] == ["RuntimeError", None]


def test_thread_starts_and_stops() -> None:
    calls: list[float] = []
    scheduler = Scheduler(
        [Job("tick", lambda: calls.append(time.monotonic()) or 0, every_seconds=0.01)],
        tick_seconds=0.01,
    )
    scheduler.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.stop()
    assert len(calls) >= 3
    assert not scheduler.running


def test_a_job_needs_exactly_one_schedule() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Job("x", lambda: 0)
    with pytest.raises(ValueError, match="exactly one"):
        Job("x", lambda: 0, every_seconds=1, daily_at_hour=1)
